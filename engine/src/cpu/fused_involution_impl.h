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

constexpr int kFusedLanes = 8;

// CR: reduced channels known at compile time (0: f.reduced_channels at run time, at most
// kFusedMaxReduced). CB: channels aggregated per pass.
template <int CR, int CB>
void fused_block(const FusedInvolution& f) {
  const int cr = CR > 0 ? CR : static_cast<int>(f.reduced_channels);
  for (int64_t j0 = 0; j0 < f.width; j0 += kFusedLanes) {
    const int lanes = static_cast<int>(std::min<int64_t>(kFusedLanes, f.width - j0));
    float t[CR > 0 ? CR : kFusedMaxReduced][kFusedLanes];
    for (int m = 0; m < cr; ++m)
      for (int l = 0; l < kFusedLanes; ++l) t[m][l] = f.reduced[m * f.reduced_stride + j0 + l];
    float acc[CB][kFusedLanes] = {};
    float sum[kFusedLanes] = {};
    for (int64_t k = 0; k < f.tap_count; ++k) {
      // This tap's kernel value at 8 pixels, made in registers and used at once.
      float kv[kFusedLanes];
      const float bias = f.span_bias[k];
      for (int l = 0; l < kFusedLanes; ++l) kv[l] = bias;
      const float* w = f.span_weight + k * cr;
      for (int m = 0; m < cr; ++m)
        for (int l = 0; l < kFusedLanes; ++l) kv[l] += w[m] * t[m][l];
      for (int l = 0; l < kFusedLanes; ++l) sum[l] += kv[l];
      for (int c = 0; c < CB; ++c) {
        const float* x = f.in + c * f.in_channel_stride + f.taps[k] + j0;
        for (int l = 0; l < kFusedLanes; ++l) acc[c][l] += kv[l] * x[l];
      }
    }
    for (int c = 0; c < CB; ++c)
      std::memcpy(f.out + c * f.out_channel_stride + j0, acc[c],
                  sizeof(float) * static_cast<size_t>(lanes));
    if (f.sum) std::memcpy(f.sum + j0, sum, sizeof(float) * static_cast<size_t>(lanes));
  }
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
