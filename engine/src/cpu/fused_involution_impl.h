#pragma once
// The fused involution inner loop (kernels.h, FusedInvolution), included by
// fused_involution.cpp (portable) and fused_involution_avx2.cpp (AVX2/FMA). Plain loops over
// 8 lanes that the compiler turns into one vector register each; the anonymous namespace
// keeps the two ISA builds from being merged by the linker.
#include <algorithm>
#include <cstring>

#include "cpu/kernels.h"

namespace ks::cpu {
namespace {

// Pixels [j_begin, j_end) of the segment, L at a time. CR: reduced channels known at compile
// time (0: f.reduced_channels at run time, at most kFusedMaxReduced). CB: channels
// aggregated per pass. Every step loads L lanes, so a partial last step reads up to L - 1
// floats past j_end (the padding contract allows 7: L = 16 is used for whole steps only).
template <int CR, int CB, int L>
void fused_pixels(const FusedInvolution& f, int64_t j_begin, int64_t j_end) {
  const int cr = CR > 0 ? CR : static_cast<int>(f.reduced_channels);
  for (int64_t j0 = j_begin; j0 < j_end; j0 += L) {
    const int lanes = static_cast<int>(std::min<int64_t>(L, j_end - j0));
    float t[CR > 0 ? CR : kFusedMaxReduced][L];
    for (int m = 0; m < cr; ++m)
      for (int l = 0; l < L; ++l) t[m][l] = f.reduced[m * f.reduced_stride + j0 + l];
    float acc[CB][L] = {};
    float sum[L] = {};
    for (int64_t k = 0; k < f.tap_count; ++k) {
      // This tap's kernel value at L pixels, made in registers and used at once.
      float kv[L];
      const float bias = f.span_bias[k];
      for (int l = 0; l < L; ++l) kv[l] = bias;
      const float* w = f.span_weight + k * cr;
      for (int m = 0; m < cr; ++m)
        for (int l = 0; l < L; ++l) kv[l] += w[m] * t[m][l];
      for (int l = 0; l < L; ++l) sum[l] += kv[l];
      for (int c = 0; c < CB; ++c) {
        const float* x = f.in + c * f.in_channel_stride + f.taps[k] + j0;
        for (int l = 0; l < L; ++l) acc[c][l] += kv[l] * x[l];
      }
    }
    for (int c = 0; c < CB; ++c)
      std::memcpy(f.out + c * f.out_channel_stride + j0, acc[c],
                  sizeof(float) * static_cast<size_t>(lanes));
    if (f.sum) std::memcpy(f.sum + j0, sum, sizeof(float) * static_cast<size_t>(lanes));
  }
}

// 16 pixels a step (two vector registers per row, so each broadcast weight feeds two FMAs)
// while the reduced vector, the accumulators, the sum and the kernel value fit in the 16
// vector registers; 8 otherwise and for the segment's tail.
template <int CR, int CB>
void fused_block(const FusedInvolution& f) {
  constexpr bool kWide = CR > 0 && CR + CB <= 5;
  const int64_t wide_end = kWide ? f.width / 16 * 16 : 0;
  if (kWide) fused_pixels<CR, CB, 16>(f, 0, wide_end);
  fused_pixels<CR, CB, 8>(f, wide_end, f.width);
}

template <int CR>
void fused_for_channels(const FusedInvolution& f) {
  switch (f.channels) {
    case 1:
      return fused_block<CR, 1>(f);
    case 2:
      return fused_block<CR, 2>(f);
    case 3:
      return fused_block<CR, 3>(f);
    default:
      return fused_block<CR, 4>(f);
  }
}

void fused_involution_any(const FusedInvolution& f) {
  switch (f.reduced_channels) {
    case 1:
      return fused_for_channels<1>(f);
    case 2:
      return fused_for_channels<2>(f);
    case 3:
      return fused_for_channels<3>(f);
    case 4:
      return fused_for_channels<4>(f);
    default:
      return fused_for_channels<0>(f);
  }
}

}  // namespace
}  // namespace ks::cpu
