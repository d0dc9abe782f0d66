// AVX-512 build of the fused involution loop (kernels.h, FusedInvolution), written with
// intrinsics: the portable source (fused_involution_impl.h) compiled for 16-float vectors
// kept its per-lane arrays on the stack and, once it also stored the full tensor's kernels,
// reloaded every pointer of the struct after each store (a float store may alias them), and
// ran slower than the unfused path. Here the struct is read once into locals and every
// vector lives in a register.
//
// Compiled for the baseline ISA like row_product_avx512.cpp: only the code after the target
// pragma uses AVX-512, and it only runs when cpu_has_avx512().
#include <immintrin.h>

#include <algorithm>
#include <cstdint>

#include "cpu/kernels.h"

#pragma GCC push_options
#pragma GCC target("avx512f,avx2,fma")

namespace ks::cpu {
namespace {

struct FusedArgs {
  const float* reduced;
  int64_t reduced_stride;
  const float* span_weight;
  const float* span_bias;
  const float* in;
  int64_t in_channel_stride;
  const int64_t* taps;
  int64_t tap_count;
  float* out;
  int64_t out_channel_stride;
  float* sum;
  const float* span_weight_sum;
  float span_bias_sum;
  float* kernels;
  int64_t kernels_stride;
  // Image mode (kernels.h); in band mode tap_columns is null, in_offset 0 and every tap adds.
  const int64_t* tap_columns;
  int64_t in_offset, column, image_width, tap_begin, tap_end;
  int64_t column_min, column_max;  // of tap_columns
};

inline __m512 load(const float* p, __mmask16 mask, bool whole) {
  return whole ? _mm512_loadu_ps(p) : _mm512_maskz_loadu_ps(mask, p);
}
inline void store(float* p, __m512 v, __mmask16 mask, bool whole) {
  if (whole)
    _mm512_storeu_ps(p, v);
  else
    _mm512_mask_storeu_ps(p, mask, v);
}

// base + index for an index that may lie before the image (image mode, a window hanging over
// its top-left corner): only loads under a mask that leaves those lanes out use it.
inline const float* at(const float* base, int64_t index) {
  return reinterpret_cast<const float*>(reinterpret_cast<uintptr_t>(base) +
                                        static_cast<uintptr_t>(index) * sizeof(float));
}

// NV vectors of 16 pixels from j0; the last holds `last` of them (a mask). kEdge: in image
// mode, some of the step's windows hang over the image's left or right border, so each
// tap's loads are masked to the columns inside it. The arguments come by value: a float
// store could alias a referenced struct, which would make the compiler reload every pointer
// after each kernels store.
template <int CR, int CB, int NV, bool kKernels, bool kEdge>
inline void step(const FusedArgs a, int64_t j0, __mmask16 last) {
  auto whole = [&](int v) { return v < NV - 1 || last == __mmask16(0xFFFF); };
  __m512 t[CR][NV];
#pragma GCC unroll 16
  for (int m = 0; m < CR; ++m)
#pragma GCC unroll 16
    for (int v = 0; v < NV; ++v)
      t[m][v] = load(a.reduced + m * a.reduced_stride + j0 + 16 * v, last, whole(v));
  __m512 acc[CB][NV];
#pragma GCC unroll 16
  for (int c = 0; c < CB; ++c)
#pragma GCC unroll 16
    for (int v = 0; v < NV; ++v) acc[c][v] = _mm512_setzero_ps();
  // kEdge: the vectors with a window over the left or right border, and the columns of
  // their lanes at tap column 0 (32 bits: images are far narrower than 2^31 columns). A
  // lane is inside when its column, plus the tap's, is below the width as an unsigned
  // number (a column left of the image wraps round to a large one).
  unsigned edge_vectors = 0;
  __m512i columns[NV];
  const __m512i width = _mm512_set1_epi32(static_cast<int32_t>(a.image_width));
  if constexpr (kEdge) {
    const __m512i lane = _mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15);
#pragma GCC unroll 16
    for (int v = 0; v < NV; ++v) {
      const int64_t first = a.column + j0 + 16 * v;
      if (first + a.column_min < 0 || first + 15 + a.column_max >= a.image_width)
        edge_vectors |= 1u << v;
      columns[v] = _mm512_add_epi32(lane, _mm512_set1_epi32(static_cast<int32_t>(first)));
    }
  }
  // Without the kernels to store, the taps on rows outside the image are not made at all.
  const int64_t k_first = kKernels ? 0 : a.tap_begin, k_end = kKernels ? a.tap_count : a.tap_end;
  const float* w = a.span_weight + k_first * CR;
  for (int64_t k = k_first; k < k_end; ++k, w += CR) {
    __m512 kv[NV];
    const __m512 bias = _mm512_set1_ps(a.span_bias[k]);
#pragma GCC unroll 16
    for (int v = 0; v < NV; ++v) kv[v] = bias;
#pragma GCC unroll 16
    for (int m = 0; m < CR; ++m) {
      const __m512 wm = _mm512_set1_ps(w[m]);
#pragma GCC unroll 16
      for (int v = 0; v < NV; ++v) kv[v] = _mm512_fmadd_ps(wm, t[m][v], kv[v]);
    }
    if constexpr (kKernels) {
      float* dst = a.kernels + k * a.kernels_stride + j0;
#pragma GCC unroll 16
      for (int v = 0; v < NV; ++v) store(dst + 16 * v, kv[v], last, whole(v));
    }
    if (kKernels && (k < a.tap_begin || k >= a.tap_end)) continue;
    const int64_t x = a.in_offset + a.taps[k] + j0;
    if constexpr (kEdge) {
      // Only the vectors over a border need their lanes worked out.
      __mmask16 mask[NV];
#pragma GCC unroll 16
      for (int v = 0; v < NV; ++v) {
        mask[v] = v == NV - 1 ? last : __mmask16(0xFFFF);
        if (edge_vectors >> v & 1)
          mask[v] = _mm512_mask_cmplt_epu32_mask(
              mask[v],
              _mm512_add_epi32(columns[v],
                               _mm512_set1_epi32(static_cast<int32_t>(a.tap_columns[k]))),
              width);
      }
#pragma GCC unroll 16
      for (int c = 0; c < CB; ++c)
#pragma GCC unroll 16
        for (int v = 0; v < NV; ++v)
          acc[c][v] = _mm512_fmadd_ps(
              kv[v], _mm512_maskz_loadu_ps(mask[v], at(a.in, x + c * a.in_channel_stride + 16 * v)),
              acc[c][v]);
    } else {
      const float* xp = a.in + x;
#pragma GCC unroll 16
      for (int c = 0; c < CB; ++c)
#pragma GCC unroll 16
        for (int v = 0; v < NV; ++v)
          acc[c][v] = _mm512_fmadd_ps(
              kv[v], load(xp + c * a.in_channel_stride + 16 * v, last, whole(v)), acc[c][v]);
    }
  }
#pragma GCC unroll 16
  for (int c = 0; c < CB; ++c)
#pragma GCC unroll 16
    for (int v = 0; v < NV; ++v)
      store(a.out + c * a.out_channel_stride + j0 + 16 * v, acc[c][v], last, whole(v));
  if (a.sum) {
    // The kernel is linear in the reduced vector: its tap sum is the summed weights times it.
#pragma GCC unroll 16
    for (int v = 0; v < NV; ++v) {
      __m512 s = _mm512_set1_ps(a.span_bias_sum);
#pragma GCC unroll 16
      for (int m = 0; m < CR; ++m)
        s = _mm512_fmadd_ps(_mm512_set1_ps(a.span_weight_sum[m]), t[m][v], s);
      store(a.sum + j0 + 16 * v, s, last, whole(v));
    }
  }
}

// The step's vector count: the reduced vector (CR), the accumulators (CB) and the kernel
// value, NV of each, fit in 28 of the 32 registers; at most 4 (more only lengthens the
// loop body).
template <int CR, int CB>
constexpr int vectors_per_step() {
  constexpr int n = 28 / (CR + CB + 1);
  return n < 1 ? 1 : (n > 4 ? 4 : n);
}

// Whether every window of pixels [j, j + n) lies inside the image's columns (always, in band
// mode).
inline bool inside(const FusedArgs& a, int64_t j, int64_t n) {
  return !a.tap_columns ||
         (a.column + j + a.column_min >= 0 && a.column + j + n - 1 + a.column_max < a.image_width);
}

template <int CR, int CB, int NV, bool kKernels>
inline void step_at(const FusedArgs& a, int64_t j, int64_t n, __mmask16 last) {
  if (inside(a, j, n))
    step<CR, CB, NV, kKernels, false>(a, j, last);
  else
    step<CR, CB, NV, kKernels, true>(a, j, last);
}

// Pixels [begin, end): whole steps of NV vectors, then the rest with as few vectors as
// cover it, the last under a mask.
template <int CR, int CB, int NV, bool kKernels>
void pixels(const FusedArgs& a, int64_t begin, int64_t end) {
  int64_t j = begin;
  for (; j + 16 * NV <= end; j += 16 * NV)
    step_at<CR, CB, NV, kKernels>(a, j, 16 * NV, __mmask16(0xFFFF));
  const int64_t rest = end - j;
  if (rest <= 0) return;
  if constexpr (NV > 1) {
    if (rest <= 16 * (NV - 1)) return pixels<CR, CB, NV - 1, kKernels>(a, j, end);
  }
  const int64_t lanes = rest - 16 * (NV - 1);  // 1..16
  step_at<CR, CB, NV, kKernels>(a, j, rest,
                                lanes >= 16 ? __mmask16(0xFFFF) : __mmask16((1u << lanes) - 1));
}

template <int CR, int CB>
void pixels(const FusedArgs& a, int64_t width) {
  constexpr int NV = vectors_per_step<CR, CB>();
  if (a.kernels)
    pixels<CR, CB, NV, true>(a, 0, width);
  else
    pixels<CR, CB, NV, false>(a, 0, width);
}

template <int CR>
void for_channels(const FusedArgs& a, int64_t channels, int64_t width) {
  switch (channels) {
    case 1:
      return pixels<CR, 1>(a, width);
    case 2:
      return pixels<CR, 2>(a, width);
    case 3:
      return pixels<CR, 3>(a, width);
    default:
      return pixels<CR, 4>(a, width);
  }
}

}  // namespace

void fused_involution_avx512(const FusedInvolution& f) {
  static_assert(kFusedMaxReduced == 8, "one instantiation per reduced width");
  FusedArgs a{f.reduced,
              f.reduced_stride,
              f.span_weight,
              f.span_bias,
              f.in,
              f.in_channel_stride,
              f.taps,
              f.tap_count,
              f.out,
              f.out_channel_stride,
              f.sum,
              f.span_weight_sum,
              f.span_bias_sum,
              f.kernels,
              f.kernels_stride,
              f.tap_columns,
              f.tap_columns ? f.in_offset : 0,
              f.column,
              f.image_width,
              f.tap_columns ? f.tap_begin : 0,
              f.tap_columns ? f.tap_end : f.tap_count,
              0,
              0};
  if (a.tap_columns) {
    a.column_min = *std::min_element(a.tap_columns, a.tap_columns + a.tap_count);
    a.column_max = *std::max_element(a.tap_columns, a.tap_columns + a.tap_count);
  }
  switch (f.reduced_channels) {
    case 1:
      return for_channels<1>(a, f.channels, f.width);
    case 2:
      return for_channels<2>(a, f.channels, f.width);
    case 3:
      return for_channels<3>(a, f.channels, f.width);
    case 4:
      return for_channels<4>(a, f.channels, f.width);
    case 5:
      return for_channels<5>(a, f.channels, f.width);
    case 6:
      return for_channels<6>(a, f.channels, f.width);
    case 7:
      return for_channels<7>(a, f.channels, f.width);
    default:
      return for_channels<8>(a, f.channels, f.width);
  }
}

}  // namespace ks::cpu

#pragma GCC pop_options
