// Colormaps for feature maps and kernels. The diverging map is dark at zero and bright at
// both ends, so signed maps read well on the app's dark theme and on a projector.
#include "kernelscope/colormap.h"

#include <algorithm>
#if defined(__SSE2__)
#include <immintrin.h>
#endif
#include <cmath>
#include <vector>

#include "kernelscope/error.h"

namespace ks {
namespace {

using Rgb = std::array<float, 3>;

std::array<uint8_t, 3> interpolate(const Rgb* stops, int count, float t) {
  const float x = std::clamp(t, 0.0f, 1.0f) * static_cast<float>(count - 1);
  const int i = std::min(static_cast<int>(x), count - 2);
  const float f = x - static_cast<float>(i);
  std::array<uint8_t, 3> rgb{};
  for (int k = 0; k < 3; ++k)
    rgb[static_cast<size_t>(k)] = static_cast<uint8_t>(std::lround(
        stops[i][static_cast<size_t>(k)] * (1 - f) + stops[i + 1][static_cast<size_t>(k)] * f));
  return rgb;
}

// Viridis sampled at nine evenly spaced points (the colormap is CC0, by van der Walt & Smith).
constexpr Rgb kViridis[] = {{68, 1, 84},    {71, 44, 122},  {59, 81, 139},
                            {44, 113, 142}, {33, 144, 141}, {39, 173, 129},
                            {92, 200, 99},  {170, 220, 50}, {253, 231, 37}};
// Negative: sky blue, zero: near-black grey, positive: amber.
constexpr Rgb kDiverging[] = {
    {120, 200, 255}, {40, 110, 200}, {38, 38, 42}, {200, 90, 30}, {255, 200, 90}};

}  // namespace

std::array<uint8_t, 3> colormap_rgb(Colormap map, float t) {
  if (std::isnan(t)) return {255, 0, 255};  // NaN shows as magenta, never as a valid value
  switch (map) {
    case Colormap::Viridis:
      return interpolate(kViridis, 9, t);
    case Colormap::Diverging:
      return interpolate(kDiverging, 5, t);
    case Colormap::Grey:
    default: {
      auto v = static_cast<uint8_t>(std::lround(std::clamp(t, 0.0f, 1.0f) * 255.0f));
      return {v, v, v};
    }
  }
}

std::vector<uint8_t> colormap_lut(Colormap map) {
  std::vector<uint8_t> lut;
  lut.reserve(256 * 3);
  for (int i = 0; i < 256; ++i) {
    auto rgb = colormap_rgb(map, static_cast<float>(i) / 255.0f);
    lut.insert(lut.end(), rgb.begin(), rgb.end());
  }
  return lut;
}

Colormap colormap_from_name(const std::string& name) {
  if (name == "diverging") return Colormap::Diverging;
  if (name == "viridis") return Colormap::Viridis;
  if (name == "grey" || name == "gray") return Colormap::Grey;
  throw Error("unknown colormap '" + name + "' (use diverging, viridis or grey)");
}

const char* colormap_name(Colormap map) {
  switch (map) {
    case Colormap::Diverging:
      return "diverging";
    case Colormap::Viridis:
      return "viridis";
    default:
      return "grey";
  }
}

// A 4K plane is 8 M values and the app scans every map of every result, so the body runs
// on two SSE vectors (baseline x86-64; 8 lanes): non-finite values become +inf for the
// minimum and -inf for the maximum, with masks rather than branches. x - x is 0 for finite
// x and NaN otherwise, and a comparison with NaN is false. (Written as plain C++, GCC 12
// compiled the lanes to a compare and branch per value, 4x slower.)
void widen_to_finite(const float* values, int64_t count, float* lo, float* hi) {
  int64_t i = 0;
#if defined(__SSE2__)
  const __m128 zero = _mm_setzero_ps(), plus_inf = _mm_set1_ps(INFINITY),
               minus_inf = _mm_set1_ps(-INFINITY);
  __m128 lo_v[2] = {plus_inf, plus_inf}, hi_v[2] = {minus_inf, minus_inf};
  for (; i + 8 <= count; i += 8)
    for (int h = 0; h < 2; ++h) {
      const __m128 x = _mm_loadu_ps(values + i + 4 * h);
      const __m128 finite = _mm_cmpeq_ps(_mm_sub_ps(x, x), zero);
      const __m128 kept = _mm_and_ps(finite, x);
      lo_v[h] = _mm_min_ps(_mm_or_ps(kept, _mm_andnot_ps(finite, plus_inf)), lo_v[h]);
      hi_v[h] = _mm_max_ps(_mm_or_ps(kept, _mm_andnot_ps(finite, minus_inf)), hi_v[h]);
    }
  alignas(16) float lanes_lo[8], lanes_hi[8];
  for (int h = 0; h < 2; ++h) {
    _mm_store_ps(lanes_lo + 4 * h, lo_v[h]);
    _mm_store_ps(lanes_hi + 4 * h, hi_v[h]);
  }
  for (int l = 0; l < 8; ++l) {
    *lo = std::min(*lo, lanes_lo[l]);
    *hi = std::max(*hi, lanes_hi[l]);
  }
#endif
  for (; i < count; ++i) {
    const float x = values[i];
    if ((x - x) != 0.0f) continue;
    *lo = std::min(*lo, x);
    *hi = std::max(*hi, x);
  }
}

ValueRange display_range(float lo, float hi) {
  if (lo > hi) lo = hi = 0;  // empty or all non-finite
  if (hi - lo < 1e-12f) {    // a constant plane still maps to a visible colour
    lo -= 0.5f;
    hi += 0.5f;
  }
  return {lo, hi};
}

std::vector<ValueRange> plane_ranges(const float* planes, int64_t count, int64_t plane_size) {
  // Chunks of about 1 M values, so even one large plane spreads over the threads.
  const int64_t chunks_per_plane = std::max<int64_t>(1, plane_size >> 20);
  const int64_t chunk =
      (plane_size + chunks_per_plane - 1) / std::max<int64_t>(1, chunks_per_plane);
  std::vector<float> lo(static_cast<size_t>(count * chunks_per_plane), INFINITY);
  std::vector<float> hi(lo.size(), -INFINITY);
#pragma omp parallel for schedule(dynamic, 1)
  for (int64_t t = 0; t < count * chunks_per_plane; ++t) {
    const int64_t p = t / chunks_per_plane, c = t % chunks_per_plane;
    const int64_t begin = c * chunk, end = std::min(plane_size, begin + chunk);
    if (begin < end)
      widen_to_finite(planes + p * plane_size + begin, end - begin, &lo[static_cast<size_t>(t)],
                      &hi[static_cast<size_t>(t)]);
  }
  std::vector<ValueRange> ranges;
  for (int64_t p = 0; p < count; ++p) {
    float l = INFINITY, h = -INFINITY;
    for (int64_t c = 0; c < chunks_per_plane; ++c) {
      l = std::min(l, lo[static_cast<size_t>(p * chunks_per_plane + c)]);
      h = std::max(h, hi[static_cast<size_t>(p * chunks_per_plane + c)]);
    }
    ranges.push_back(display_range(l, h));
  }
  return ranges;
}

ValueRange plane_range(const float* plane, int64_t count, bool symmetric) {
  float lo = INFINITY, hi = -INFINITY;
  widen_to_finite(plane, count, &lo, &hi);
  if (lo > hi) lo = hi = 0;  // empty or all non-finite
  if (symmetric) {
    const float m = std::max(std::fabs(lo), std::fabs(hi));
    lo = -m;
    hi = m;
  }
  return display_range(lo, hi);
}

std::vector<uint8_t> colorize_plane(const float* plane, int64_t width, int64_t height, Colormap map,
                                    ValueRange range) {
  std::vector<uint8_t> rgb(static_cast<size_t>(width * height * 3));
  const float scale = 1.0f / (range.hi - range.lo);
  for (int64_t i = 0; i < width * height; ++i) {
    auto c = colormap_rgb(map, (plane[i] - range.lo) * scale);
    std::copy(c.begin(), c.end(), rgb.begin() + i * 3);
  }
  return rgb;
}

}  // namespace ks
