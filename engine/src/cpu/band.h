// The zero-padded copy of the input rows that one band of output rows reads, shared by
// convolution and involution. Padding is materialised once per band so the inner loops
// run branch-free over contiguous vectors, and columns are split by stride phase so a
// strided window still reads contiguous memory:
//   band[c][r][phase][q] = input[c][first_row + r][q * stride + phase - padding]  (0 outside)
#pragma once

#include <cstdint>
#include <limits>
#include <vector>

namespace ks::cpu {

// Saturating arithmetic on non-negative sizes: once a term is absurd the result stays
// INT64_MAX, which every budget refuses. A stride of 2^60 + 1 used to wrap the band's size
// round to a few floats, which fill_band then overran.
constexpr int64_t kSaturated = std::numeric_limits<int64_t>::max();
inline int64_t sat_mul(int64_t a, int64_t b) {
  int64_t r = 0;
  return __builtin_mul_overflow(a, b, &r) ? kSaturated : r;
}
inline int64_t sat_add(int64_t a, int64_t b) {
  int64_t r = 0;
  return __builtin_add_overflow(a, b, &r) ? kSaturated : r;
}

struct Window {
  int64_t kernel = 1;
  int64_t stride = 1;
  int64_t padding = 0;
  int64_t dilation = 1;
};

struct BandLayout {
  int64_t stride = 1;
  int64_t rows = 0;         // input rows held
  int64_t phase_width = 0;  // q extent, with slack for vector loads past the row end

  int64_t row_stride() const { return stride * phase_width; }
  int64_t channel_stride() const { return rows * row_stride(); }
  // Offset of output row `local_row` (relative to the band's first) at tap (0, 0).
  int64_t output_row_offset(int64_t local_row) const { return local_row * stride * row_stride(); }
};

// Throws ks::Error when the layout's sizes overflow 64-bit integers; callers check
// band_floats first, so that only happens for absurd parameters that slipped past it.
BandLayout band_layout(const Window& window, int64_t output_rows, int64_t output_width);

// Floats of the band of `channels` planes for `output_rows` output rows, saturated at
// INT64_MAX (never wrapped round) when an absurd stride, dilation or width overflows it.
int64_t band_floats(const Window& window, int64_t channels, int64_t output_rows,
                    int64_t output_width);

// Offsets of the K*K taps (ky-major) relative to output_row_offset(); output column j adds j.
std::vector<int64_t> tap_offsets(const Window& window, const BandLayout& layout);

// Fills the band for output rows starting at first_output_row from `channels` planes of
// height x width floats starting at `image`.
void fill_band(const float* image, int64_t channels, int64_t height, int64_t width,
               const Window& window, int64_t first_output_row, const BandLayout& layout,
               float* band);

// fill_band for band columns [column_begin, column_end) of every row only, at stride 1; the
// other columns are left as they are. For a band whose interior is read from the image
// itself: only its edges, where the window hangs over the image's borders, need the padded
// copy.
void fill_band_columns(const float* image, int64_t channels, int64_t height, int64_t width,
                       const Window& window, int64_t first_output_row, const BandLayout& layout,
                       float* band, int64_t column_begin, int64_t column_end);

}  // namespace ks::cpu
