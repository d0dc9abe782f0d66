// The padded, phase-split input band (band.h).
#include "cpu/band.h"

#include <algorithm>
#include <cstring>

#include "kernelscope/error.h"

namespace ks::cpu {
namespace {

// The layout's sizes, saturated; band_floats and band_layout share it.
struct SaturatedLayout {
  int64_t rows, phase_width, row_stride, channel_stride;
};

SaturatedLayout saturated_layout(const Window& w, int64_t output_rows, int64_t output_width) {
  SaturatedLayout l{};
  const int64_t reach = sat_mul(w.kernel - 1, w.dilation);
  l.rows = sat_add(sat_add(sat_mul(output_rows - 1, w.stride), reach), 1);
  // Kernels load whole 8-float vectors: up to 7 floats past the last output column at the
  // furthest tap, plus rounding to whole 16-float vectors, so that every row starts 64-byte
  // aligned when the band does (the involution aggregation's dense path).
  const int64_t q = sat_add(sat_add(output_width, reach / w.stride), 23);
  l.phase_width = q == kSaturated ? kSaturated : q / 16 * 16;
  l.row_stride = sat_mul(w.stride, l.phase_width);
  l.channel_stride = sat_mul(l.rows, l.row_stride);
  return l;
}

}  // namespace

BandLayout band_layout(const Window& w, int64_t output_rows, int64_t output_width) {
  const SaturatedLayout l = saturated_layout(w, output_rows, output_width);
  if (l.channel_stride == kSaturated)
    throw Error("the cpu backend's input band overflows 64-bit integers with stride " +
                std::to_string(w.stride) + " and dilation " + std::to_string(w.dilation));
  BandLayout layout;
  layout.stride = w.stride;
  layout.rows = l.rows;
  layout.phase_width = l.phase_width;
  return layout;
}

int64_t band_floats(const Window& w, int64_t channels, int64_t output_rows, int64_t output_width) {
  return sat_mul(channels, saturated_layout(w, output_rows, output_width).channel_stride);
}

std::vector<int64_t> tap_offsets(const Window& w, const BandLayout& layout) {
  std::vector<int64_t> taps;
  taps.reserve(static_cast<size_t>(w.kernel * w.kernel));
  for (int64_t ky = 0; ky < w.kernel; ++ky)
    for (int64_t kx = 0; kx < w.kernel; ++kx) {
      const int64_t dx = kx * w.dilation;
      taps.push_back(ky * w.dilation * layout.row_stride() + (dx % w.stride) * layout.phase_width +
                     dx / w.stride);
    }
  return taps;
}

void fill_band(const float* image, int64_t channels, int64_t height, int64_t width, const Window& w,
               int64_t first_output_row, const BandLayout& layout, float* band) {
  const int64_t s = w.stride, Wq = layout.phase_width, row_len = layout.row_stride();
  const int64_t first_y = first_output_row * s - w.padding;
  for (int64_t c = 0; c < channels; ++c)
    for (int64_t r = 0; r < layout.rows; ++r) {
      float* dst = band + c * layout.channel_stride() + r * row_len;
      const int64_t y = first_y + r;
      if (y < 0 || y >= height) {
        std::memset(dst, 0, sizeof(float) * static_cast<size_t>(row_len));
        continue;
      }
      const float* src = image + (c * height + y) * width;
      if (s == 1) {
        // Columns [0, padding) and past the image are zero; the rest is one memcpy.
        const int64_t lead = std::min(w.padding, row_len);
        const int64_t copy = std::max<int64_t>(0, std::min(width, row_len - lead));
        std::memset(dst, 0, sizeof(float) * static_cast<size_t>(lead));
        std::memcpy(dst + lead, src, sizeof(float) * static_cast<size_t>(copy));
        std::memset(dst + lead + copy, 0,
                    sizeof(float) * static_cast<size_t>(row_len - lead - copy));
        continue;
      }
      for (int64_t phase = 0; phase < s; ++phase)
        for (int64_t q = 0; q < Wq; ++q) {
          const int64_t x = q * s + phase - w.padding;
          dst[phase * Wq + q] = (x >= 0 && x < width) ? src[x] : 0.0f;
        }
    }
}

void fill_band_columns(const float* image, int64_t channels, int64_t height, int64_t width,
                       const Window& w, int64_t first_output_row, const BandLayout& layout,
                       float* band, int64_t column_begin, int64_t column_end) {
  if (w.stride != 1) throw Error("fill_band_columns needs stride 1");
  const int64_t row_len = layout.row_stride();
  column_begin = std::clamp<int64_t>(column_begin, 0, row_len);
  column_end = std::clamp<int64_t>(column_end, column_begin, row_len);
  const int64_t first_y = first_output_row - w.padding;
  for (int64_t c = 0; c < channels; ++c)
    for (int64_t r = 0; r < layout.rows; ++r) {
      float* dst = band + c * layout.channel_stride() + r * row_len;
      const int64_t y = first_y + r;
      const float* src = image + (c * height + std::clamp<int64_t>(y, 0, height - 1)) * width;
      for (int64_t col = column_begin; col < column_end; ++col) {
        const int64_t x = col - w.padding;
        dst[col] = (y >= 0 && y < height && x >= 0 && x < width) ? src[x] : 0.0f;
      }
    }
}

}  // namespace ks::cpu
