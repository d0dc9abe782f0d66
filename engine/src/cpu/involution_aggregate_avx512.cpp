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

// The dense window (Aggregation::dense_kernel): a window row's input vectors are loaded
// once, aligned, and each kx's vector is made from two of them with valignd. On CPUs whose
// 512-bit loads split across cache lines run at half rate, the K loads of a row, K - 1 of
// them split, were what bound the aggregation (1.6-2 vector FMAs/ns from L1 against a peak
// of 6); valignd runs beside the FMAs (3.3-4.4 vector FMAs/ns).
template <int KX>
inline __m512 shifted(__m512 lo, __m512 hi) {
  if constexpr (KX == 0) {
    return lo;
  } else {
    // maskz_alignr: plain _mm512_alignr_epi32 trips GCC 12's -Wuninitialized in its header.
    return _mm512_castsi512_ps(
        _mm512_maskz_alignr_epi32(0xFFFF, _mm512_castps_si512(hi), _mm512_castps_si512(lo), KX));
  }
}

// acc[c][v] += kern(ky, kx) * x[c][v shifted by kx], for kx = KX..K-1.
template <int K, int CB, int NV, int KX>
inline void window_row(__m512 (&acc)[CB][NV], const __m512 (&x)[CB][NV + 1], const float* kern,
                       int64_t kern_stride, __mmask16 last) {
  __m512 kv[NV];
#pragma GCC unroll 16
  for (int v = 0; v < NV - 1; ++v) kv[v] = _mm512_loadu_ps(kern + 16 * v);
  kv[NV - 1] = _mm512_maskz_loadu_ps(last, kern + 16 * (NV - 1));
#pragma GCC unroll 16
  for (int c = 0; c < CB; ++c)
#pragma GCC unroll 16
    for (int v = 0; v < NV; ++v)
      acc[c][v] = _mm512_fmadd_ps(kv[v], shifted<KX>(x[c][v], x[c][v + 1]), acc[c][v]);
  if constexpr (KX + 1 < K)
    window_row<K, CB, NV, KX + 1>(acc, x, kern + kern_stride, kern_stride, last);
}

template <int K, int CB, int NV>
inline void dense_chunk(const Aggregation& a, int64_t j0, int64_t valid) {
  const int64_t last_lanes = valid - 16 * (NV - 1);  // 1..16
  const __mmask16 last =
      last_lanes >= 16 ? __mmask16(0xFFFF) : static_cast<__mmask16>((1u << last_lanes) - 1);
  __m512 acc[CB][NV];
#pragma GCC unroll 16
  for (int c = 0; c < CB; ++c)
#pragma GCC unroll 16
    for (int v = 0; v < NV; ++v) acc[c][v] = _mm512_setzero_ps();
  const float* in = a.in + j0;
  for (int ky = 0; ky < K; ++ky) {
    // The window row of each channel, aligned, one vector past the chunk for the shifts.
    __m512 x[CB][NV + 1];
#pragma GCC unroll 16
    for (int c = 0; c < CB; ++c)
#pragma GCC unroll 16
      for (int v = 0; v <= NV; ++v)
        x[c][v] = _mm512_load_ps(in + ky * a.row_stride + c * a.in_channel_stride + 16 * v);
    window_row<K, CB, NV, 0>(acc, x, a.kern + ky * K * a.kern_stride + j0, a.kern_stride, last);
  }
#pragma GCC unroll 16
  for (int c = 0; c < CB; ++c) {
    float* o = a.out + c * a.out_channel_stride + j0;
#pragma GCC unroll 16
    for (int v = 0; v < NV - 1; ++v) _mm512_storeu_ps(o + 16 * v, acc[c][v]);
    _mm512_mask_storeu_ps(o + 16 * (NV - 1), last, acc[c][NV - 1]);
  }
}

template <int K, int CB, int NV>
inline void dense_tail(const Aggregation& a, int64_t j0, int64_t valid) {
  if constexpr (NV > 1) {
    if (valid <= 16 * (NV - 1)) return dense_tail<K, CB, NV - 1>(a, j0, valid);
  }
  dense_chunk<K, CB, NV>(a, j0, valid);
}

template <int K, int CB, int NV>
void dense_row(const Aggregation& a) {
  const int64_t vectors = (a.width + 15) / 16, chunks = (vectors + NV - 1) / NV;
  int64_t j = 0;
  for (int64_t i = 0; i < chunks; ++i) {
    const int64_t n = 16 * (vectors / chunks + (i < vectors % chunks ? 1 : 0));
    dense_tail<K, CB, NV>(a, j, n < a.width - j ? n : a.width - j);
    j += n;
  }
}

// Channel blocks of CB (the last one smaller) with up to NV vectors a chunk: CB x (2 NV + 1)
// registers for the accumulators and the loaded window rows, plus NV kernel vectors.
template <int K, int CB, int NV>
void dense_blocks(const Aggregation& all) {
  Aggregation a = all;
  for (int64_t c0 = 0; c0 < all.channels; c0 += CB) {
    a.in = all.in + c0 * all.in_channel_stride;
    a.out = all.out + c0 * all.out_channel_stride;
    const int64_t left = all.channels - c0;
    if (left >= CB) {
      dense_row<K, CB, NV>(a);
      continue;
    }
    if constexpr (CB > 1) {
      a.channels = left;
      return dense_blocks<K, CB - 1, NV>(a);
    }
  }
}

template <int K>
void dense(const Aggregation& a) {
  if ((a.width + 15) / 16 <= 1) return dense_blocks<K, 8, 1>(a);
  // Wider rows in chunks of two vectors: 4 x 2 ran 3.3-3.7 vector FMAs/ns from L1 on rows
  // of 56-220 pixels, 3 x 3 2.6-3.1.
  return dense_blocks<K, 4, 2>(a);
}

bool dense_applies(const Aggregation& a) {
  return (reinterpret_cast<uintptr_t>(a.in) & 63) == 0 && a.row_stride % 16 == 0 &&
         a.in_channel_stride % 16 == 0;
}

}  // namespace

void aggregate_avx512(const Aggregation& group) {
  if (dense_applies(group)) {
    switch (group.dense_kernel) {
      case 3:
        return dense<3>(group);
      case 5:
        return dense<5>(group);
      case 7:
        return dense<7>(group);
      default:
        break;
    }
  }
  // CB x NV accumulators (at most 16) plus NV kernel vectors fit the 32 zmm registers.
  Aggregation a = group;
  for (int64_t c0 = 0; c0 < group.channels; c0 += kAggregateBlock) {
    a.channels = group.channels - c0 < kAggregateBlock ? group.channels - c0 : kAggregateBlock;
    a.in = group.in + c0 * group.in_channel_stride;
    a.out = group.out + c0 * group.out_channel_stride;
    switch (a.channels) {
      case 1:
        row<1, 8>(a);
        break;
      case 2:
        row<2, 6>(a);
        break;
      case 3:
        row<3, 4>(a);
        break;
      default:
        row<4, 4>(a);
    }
  }
}

}  // namespace ks::cpu

#pragma GCC pop_options
