// AVX-512 build of the row product (kernels.h), for CPUs whose 512-bit FMAs double the
// AVX2 throughput. Same register blocking as row_product_avx2.cpp with 16-float vectors and
// 32 registers: CO output rows x NV vectors of accumulators. The last vector of a row is
// loaded and stored under a mask, so nothing is touched past the row's end.
//
// This file is compiled for the baseline ISA like any other; only the functions below
// (after the target pragma) use AVX-512, and they only run when cpu_has_avx512(). As in the
// AVX2 files, no standard-library templates are instantiated here.
#include <immintrin.h>

#include <cstdint>

#include "cpu/kernels.h"

#pragma GCC push_options
#pragma GCC target("avx512f,avx2,fma")

namespace ks::cpu {
namespace {

// acc[c][v] += w[c * w_stride] * p[16v .. 16v + 15] (the last vector under the mask): one
// input channel and tap.
template <int CO, int NV>
inline void multiply_add(__m512 (&acc)[CO][NV], const float* p, const float* w, int64_t w_stride,
                         __mmask16 last) {
  __m512 x[NV];
#pragma GCC unroll 16
  for (int v = 0; v < NV - 1; ++v) x[v] = _mm512_loadu_ps(p + 16 * v);
  x[NV - 1] = _mm512_maskz_loadu_ps(last, p + 16 * (NV - 1));
#pragma GCC unroll 16
  for (int c = 0; c < CO; ++c) {
    const __m512 wc = _mm512_set1_ps(w[c * w_stride]);
#pragma GCC unroll 16
    for (int v = 0; v < NV; ++v) acc[c][v] = _mm512_fmadd_ps(wc, x[v], acc[c][v]);
  }
}

template <int CO, int NV>
inline void chunk(const RowProduct& r, int64_t j0, int64_t valid) {
  const int64_t last_lanes = valid - 16 * (NV - 1);  // 1..16
  const __mmask16 last =
      last_lanes >= 16 ? __mmask16(0xFFFF) : static_cast<__mmask16>((1u << last_lanes) - 1);
  __m512 acc[CO][NV];
#pragma GCC unroll 16
  for (int c = 0; c < CO; ++c) {
    const __m512 b = r.bias && !r.scale ? _mm512_set1_ps(r.bias[c]) : _mm512_setzero_ps();
#pragma GCC unroll 16
    for (int v = 0; v < NV; ++v) acc[c][v] = b;
  }
  const float* w = r.weights;
  if (r.tap_count == 1) {
    // A 1x1 product (the involution's GEMMs): one flat loop over the input channels.
    const float* p = r.in + r.taps[0] + j0;
    if (r.weight_row_stride) {
      for (int64_t ci = 0; ci < r.in_channels; ++ci, p += r.in_channel_stride, ++w)
        multiply_add<CO, NV>(acc, p, w, r.weight_row_stride, last);
    } else {
      for (int64_t ci = 0; ci < r.in_channels; ++ci, p += r.in_channel_stride, w += CO)
        multiply_add<CO, NV>(acc, p, w, 1, last);
    }
  } else {
    for (int64_t ci = 0; ci < r.in_channels; ++ci) {
      const float* base = r.in + ci * r.in_channel_stride + j0;
      for (int64_t k = 0; k < r.tap_count; ++k, w += CO)
        multiply_add<CO, NV>(acc, base + r.taps[k], w, 1, last);
    }
  }
#pragma GCC unroll 16
  for (int c = 0; c < CO; ++c) {
    float* o = r.out + c * r.out_channel_stride + j0;
    if (r.scale) {
      const __m512 s = _mm512_set1_ps(r.scale[c]);
      const __m512 b = r.bias ? _mm512_set1_ps(r.bias[c]) : _mm512_setzero_ps();
#pragma GCC unroll 16
      for (int v = 0; v < NV; ++v) acc[c][v] = _mm512_fmadd_ps(acc[c][v], s, b);
    }
#pragma GCC unroll 16
    for (int v = 0; v < NV; ++v) {
      // maskz_max: plain _mm512_max_ps trips GCC 12's -Wmaybe-uninitialized in its own header.
      const __m512 y =
          r.relu ? _mm512_maskz_max_ps(0xFFFF, acc[c][v], _mm512_setzero_ps()) : acc[c][v];
      float* dst = o + 16 * v;
      if (v < NV - 1 || last_lanes >= 16) {
        if (r.stream && (reinterpret_cast<uintptr_t>(dst) & 63) == 0)
          _mm512_stream_ps(dst, y);
        else
          _mm512_storeu_ps(dst, y);
      } else {
        _mm512_mask_storeu_ps(dst, last, y);
      }
    }
  }
}

// A chunk of `valid` pixels with as few vectors as cover them.
template <int CO, int NV>
inline void tail(const RowProduct& r, int64_t j0, int64_t valid) {
  if constexpr (NV > 1) {
    if (valid <= 16 * (NV - 1)) return tail<CO, NV - 1>(r, j0, valid);
  }
  chunk<CO, NV>(r, j0, valid);
}

template <int CO, int NV>
void row(const RowProduct& r) {
  // Vectors spread evenly over the fewest chunks (see row_product_avx2.cpp).
  const int64_t vectors = (r.width + 15) / 16, chunks = (vectors + NV - 1) / NV;
  int64_t j = 0;
  for (int64_t i = 0; i < chunks; ++i) {
    const int64_t n = 16 * (vectors / chunks + (i < vectors % chunks ? 1 : 0));
    tail<CO, NV>(r, j, n < r.width - j ? n : r.width - j);
    j += n;
  }
  if (r.stream) _mm_sfence();  // order the weakly-ordered streaming stores before returning
}

}  // namespace

void row_product_avx512(const RowProduct& r) {
  // About 24 of the 32 zmm registers accumulate; the rest hold inputs and a weight.
  switch (r.co_count) {
    case 1:
      return row<1, 12>(r);
    case 2:
      return row<2, 10>(r);
    case 3:
      return row<3, 7>(r);
    default:
      return row<4, 6>(r);
  }
}

}  // namespace ks::cpu

#pragma GCC pop_options
