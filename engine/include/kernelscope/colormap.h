// Colormaps shared by PNG export (here) and the app's shaders (which sample a lookup
// table built from the same functions), so a saved figure matches the screen.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include "kernelscope/tensor.h"

namespace ks {

enum class Colormap { Diverging, Viridis, Grey };

// t in [0, 1] (clamped). Diverging maps 0.5 to a neutral mid-grey readable on dark themes.
std::array<uint8_t, 3> colormap_rgb(Colormap map, float t);
// 256 RGB entries, for a GL lookup texture.
std::vector<uint8_t> colormap_lut(Colormap map);
Colormap colormap_from_name(const std::string& name);  // "diverging" | "viridis" | "grey"
const char* colormap_name(Colormap map);

struct ValueRange {
  float lo = 0;
  float hi = 1;
};
// Widens [*lo, *hi] to the finite values among values[0, count) (start from +inf, -inf).
void widen_to_finite(const float* values, int64_t count, float* lo, float* hi);
// The range a display maps for finite extremes lo..hi (lo > hi: there were none): [0, 0]
// when there were none, and a constant widened by 0.5 each way so it still shows a colour.
ValueRange display_range(float lo, float hi);
// Range of one [H, W] plane at `offset` in the data; symmetric widens it to [-m, m].
ValueRange plane_range(const float* plane, int64_t count, bool symmetric);
// The plain (not symmetric) range of each of count planes of plane_size values, in
// parallel: what a display scans after every result.
std::vector<ValueRange> plane_ranges(const float* planes, int64_t count, int64_t plane_size);

// Colour-maps one plane into RGB bytes, values mapped linearly from range to [0, 1].
std::vector<uint8_t> colorize_plane(const float* plane, int64_t width, int64_t height, Colormap map,
                                    ValueRange range);

}  // namespace ks
