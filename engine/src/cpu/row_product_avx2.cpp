// AVX2/FMA build of the row product (kernels.h). Register blocking: CO output rows x NV
// vectors of 8 pixels stay in ymm registers for the whole reduction, so each input vector
// loaded feeds CO FMAs and each broadcast weight feeds NV FMAs.
#include <immintrin.h>

#include <cstdint>

#include "cpu/avx2_util.h"
#include "cpu/kernels.h"

namespace ks::cpu {
namespace {

// acc[c][v] += w[c * w_stride] * p[8v .. 8v + 7]: one input channel and tap.
template <int CO, int NV>
inline void multiply_add(__m256 (&acc)[CO][NV], const float* p, const float* w, int64_t w_stride) {
  __m256 x[NV];
#pragma GCC unroll 16
  for (int v = 0; v < NV; ++v) x[v] = _mm256_loadu_ps(p + 8 * v);
#pragma GCC unroll 16
  for (int c = 0; c < CO; ++c) {
    const __m256 wc = _mm256_broadcast_ss(w + c * w_stride);
#pragma GCC unroll 16
    for (int v = 0; v < NV; ++v) acc[c][v] = _mm256_fmadd_ps(wc, x[v], acc[c][v]);
  }
}

template <int CO, int NV>
inline void chunk(const RowProduct& r, int64_t j0, int64_t valid) {
  __m256 acc[CO][NV];
#pragma GCC unroll 16
  for (int c = 0; c < CO; ++c) {
    const __m256 b = r.bias && !r.scale ? _mm256_set1_ps(r.bias[c]) : _mm256_setzero_ps();
#pragma GCC unroll 16
    for (int v = 0; v < NV; ++v) acc[c][v] = b;
  }
  const float* w = r.weights;
  if (r.tap_count == 1) {
    // A 1x1 product (the involution's reduce and span GEMMs): one flat loop over the input
    // channels, without a one-trip tap loop and its index load in the way of the FMAs.
    const float* p = r.in + r.taps[0] + j0;
    if (r.weight_row_stride) {
      for (int64_t ci = 0; ci < r.in_channels; ++ci, p += r.in_channel_stride, ++w)
        multiply_add<CO, NV>(acc, p, w, r.weight_row_stride);
    } else {
      for (int64_t ci = 0; ci < r.in_channels; ++ci, p += r.in_channel_stride, w += CO)
        multiply_add<CO, NV>(acc, p, w, 1);
    }
  } else {
    for (int64_t ci = 0; ci < r.in_channels; ++ci) {
      const float* base = r.in + ci * r.in_channel_stride + j0;
      for (int64_t k = 0; k < r.tap_count; ++k, w += CO)
        multiply_add<CO, NV>(acc, base + r.taps[k], w, 1);
    }
  }
#pragma GCC unroll 16
  for (int c = 0; c < CO; ++c) {
    float* o = r.out + c * r.out_channel_stride + j0;
    if (r.scale) {
      const __m256 s = _mm256_set1_ps(r.scale[c]);
      const __m256 b = r.bias ? _mm256_set1_ps(r.bias[c]) : _mm256_setzero_ps();
#pragma GCC unroll 16
      for (int v = 0; v < NV; ++v) acc[c][v] = _mm256_fmadd_ps(acc[c][v], s, b);
    }
#pragma GCC unroll 16
    for (int v = 0; v < NV; ++v) {
      const __m256 y = r.relu ? _mm256_max_ps(acc[c][v], _mm256_setzero_ps()) : acc[c][v];
      float* dst = o + 8 * v;
      if (r.stream && valid - 8 * v >= 8 && (reinterpret_cast<uintptr_t>(dst) & 31) == 0)
        _mm256_stream_ps(dst, y);
      else
        store_lanes(dst, y, valid - 8 * v);
    }
  }
}

// The last, partial chunk of a row: as few vectors as cover the remaining pixels.
template <int CO, int NV>
inline void tail(const RowProduct& r, int64_t j0, int64_t valid) {
  if constexpr (NV > 1) {
    if (valid <= 8 * (NV - 1)) return tail<CO, NV - 1>(r, j0, valid);
  }
  chunk<CO, NV>(r, j0, valid);
}

template <int CO, int NV>
void row(const RowProduct& r) {
  // Vectors spread evenly over the fewest chunks, so a row of 7 vectors runs as 3+2+2
  // rather than 3+3+1 (a 1-vector chunk reloads every weight for 8 pixels).
  const int64_t vectors = (r.width + 7) / 8, chunks = (vectors + NV - 1) / NV;
  int64_t j = 0;
  for (int64_t i = 0; i < chunks; ++i) {
    const int64_t n = 8 * (vectors / chunks + (i < vectors % chunks ? 1 : 0));
    tail<CO, NV>(r, j, n < r.width - j ? n : r.width - j);
    j += n;
  }
  if (r.stream) _mm_sfence();  // order the weakly-ordered streaming stores before returning
}

}  // namespace

void row_product_avx2(const RowProduct& r) {
  // About 12 accumulators per block: the rest of the 16 ymm registers hold inputs/weights.
  switch (r.co_count) {
    case 1:
      return row<1, 8>(r);
    case 2:
      return row<2, 6>(r);
    case 3:
      return row<3, 4>(r);
    default:
      return row<4, 3>(r);
  }
}

}  // namespace ks::cpu
