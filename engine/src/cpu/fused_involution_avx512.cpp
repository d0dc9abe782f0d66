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

// NV vectors of 16 pixels from j0; the last holds `last` of them (a mask). The arguments
// come by value: a float store could alias a referenced struct, which would make the
// compiler reload every pointer after each kernels store.
template <int CR, int CB, int NV, bool kKernels>
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
  const float* w = a.span_weight;
  for (int64_t k = 0; k < a.tap_count; ++k, w += CR) {
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
    const float* x = a.in + a.taps[k] + j0;
#pragma GCC unroll 16
    for (int c = 0; c < CB; ++c)
#pragma GCC unroll 16
      for (int v = 0; v < NV; ++v)
        acc[c][v] = _mm512_fmadd_ps(
            kv[v], load(x + c * a.in_channel_stride + 16 * v, last, whole(v)), acc[c][v]);
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

// Pixels [begin, end): whole steps of NV vectors, then the rest with as few vectors as
// cover it, the last under a mask.
template <int CR, int CB, int NV, bool kKernels>
void pixels(const FusedArgs& a, int64_t begin, int64_t end) {
  int64_t j = begin;
  for (; j + 16 * NV <= end; j += 16 * NV) step<CR, CB, NV, kKernels>(a, j, __mmask16(0xFFFF));
  const int64_t rest = end - j;
  if (rest <= 0) return;
  if constexpr (NV > 1) {
    if (rest <= 16 * (NV - 1)) return pixels<CR, CB, NV - 1, kKernels>(a, j, end);
  }
  const int64_t lanes = rest - 16 * (NV - 1);  // 1..16
  step<CR, CB, NV, kKernels>(a, j, lanes >= 16 ? __mmask16(0xFFFF) : __mmask16((1u << lanes) - 1));
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
  const FusedArgs a{f.reduced,
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
                    f.kernels_stride};
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
