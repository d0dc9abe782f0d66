// AVX-512 build of the involution aggregation (kernels.h), for CPUs whose 512-bit loads and
// FMAs run at full width: the aggregation is bound by its loads (each tap loads the kernel
// vector and one input vector per channel), and a 16-float vector halves their count. The
// last vector of a row segment is loaded and stored under a mask, so narrow images (a
// 14-pixel row is one masked vector) waste nothing past the segment's end.
//
// Compiled for the baseline ISA like row_product_avx512.cpp: only the functions after the
// target pragma use AVX-512, and they only run when cpu_has_avx512().
#include <immintrin.h>

#include <cstdint>

#include "cpu/kernels.h"

#pragma GCC push_options
#pragma GCC target("avx512f,avx2,fma")

namespace ks::cpu {
namespace {

template <int CB, int NV>
inline void chunk(const Aggregation& a, int64_t j0, int64_t valid) {
  const int64_t last_lanes = valid - 16 * (NV - 1);  // 1..16
  const __mmask16 last =
      last_lanes >= 16 ? __mmask16(0xFFFF) : static_cast<__mmask16>((1u << last_lanes) - 1);
  __m512 acc[CB][NV];
#pragma GCC unroll 16
  for (int c = 0; c < CB; ++c)
#pragma GCC unroll 16
    for (int v = 0; v < NV; ++v) acc[c][v] = _mm512_setzero_ps();
  const float* kern = a.kern + j0;
  const float* in = a.in + j0;
  for (int64_t k = 0; k < a.tap_count; ++k, kern += a.kern_stride) {
    __m512 kv[NV];
#pragma GCC unroll 16
    for (int v = 0; v < NV - 1; ++v) kv[v] = _mm512_loadu_ps(kern + 16 * v);
    kv[NV - 1] = _mm512_maskz_loadu_ps(last, kern + 16 * (NV - 1));
    const float* x = in + a.taps[k];
#pragma GCC unroll 16
    for (int c = 0; c < CB; ++c)
#pragma GCC unroll 16
      for (int v = 0; v < NV; ++v) {
        const float* p = x + c * a.in_channel_stride + 16 * v;
        const __m512 xv = v < NV - 1 ? _mm512_loadu_ps(p) : _mm512_maskz_loadu_ps(last, p);
        acc[c][v] = _mm512_fmadd_ps(kv[v], xv, acc[c][v]);
      }
  }
#pragma GCC unroll 16
  for (int c = 0; c < CB; ++c) {
    float* o = a.out + c * a.out_channel_stride + j0;
#pragma GCC unroll 16
    for (int v = 0; v < NV - 1; ++v) _mm512_storeu_ps(o + 16 * v, acc[c][v]);
    _mm512_mask_storeu_ps(o + 16 * (NV - 1), last, acc[c][NV - 1]);
  }
}

template <int CB, int NV>
inline void tail(const Aggregation& a, int64_t j0, int64_t valid) {
  if constexpr (NV > 1) {
    if (valid <= 16 * (NV - 1)) return tail<CB, NV - 1>(a, j0, valid);
  }
  chunk<CB, NV>(a, j0, valid);
}

template <int CB, int NV>
void row(const Aggregation& a) {
  // Vectors spread evenly over the fewest chunks (see row_product_avx2.cpp).
  const int64_t vectors = (a.width + 15) / 16, chunks = (vectors + NV - 1) / NV;
  int64_t j = 0;
  for (int64_t i = 0; i < chunks; ++i) {
    const int64_t n = 16 * (vectors / chunks + (i < vectors % chunks ? 1 : 0));
    tail<CB, NV>(a, j, n < a.width - j ? n : a.width - j);
    j += n;
  }
}

}  // namespace

void aggregate_avx512(const Aggregation& a) {
  // CB x NV accumulators (at most 16) plus NV kernel vectors fit the 32 zmm registers.
  switch (a.channels) {
    case 1:
      return row<1, 8>(a);
    case 2:
      return row<2, 6>(a);
    case 3:
      return row<3, 4>(a);
    default:
      return row<4, 4>(a);
  }
}

}  // namespace ks::cpu

#pragma GCC pop_options
