#pragma once
// The fused involution inner loop (kernels.h, FusedInvolution), included by
// fused_involution.cpp (portable), fused_involution_avx2.cpp (AVX2/FMA) and
// fused_involution_avx512.cpp. Plain loops over kVectorFloats lanes that the compiler turns
// into one vector register each; the anonymous namespace keeps the ISA builds from being
// merged by the linker. An including file may set KS_FUSED_VECTOR_FLOATS and
// KS_FUSED_VECTOR_REGISTERS first (default: 8 floats, 16 registers: AVX2).
#include <cstring>

#include "cpu/kernels.h"

#ifndef KS_FUSED_VECTOR_FLOATS
#define KS_FUSED_VECTOR_FLOATS 8
#endif
#ifndef KS_FUSED_VECTOR_REGISTERS
#define KS_FUSED_VECTOR_REGISTERS 16
#endif

namespace ks::cpu {
namespace {

constexpr int kVectorFloats = KS_FUSED_VECTOR_FLOATS;
constexpr int kVectorRegisters = KS_FUSED_VECTOR_REGISTERS;

// Stores the first `lanes` of the L values of v at dst (all of them when lanes == L).
template <int L>
inline void store_first(float* dst, const float (&v)[L], int lanes) {
  if (lanes == L) {
    for (int l = 0; l < L; ++l) dst[l] = v[l];
  } else {
    std::memcpy(dst, v, sizeof(float) * static_cast<size_t>(lanes));
  }
}

// Adds tap k's contribution at pixels j0..j0+L to acc: the tap's kernel value at L pixels,
// made in registers from the reduced vector t and used at once.
// With f.kernels, the value is also stored there (`lanes` of the L pixels).
template <int CB, int L>
inline void add_tap(const FusedInvolution& f, int cr, const float (*t)[L], int64_t k, int64_t j0,
                    int lanes, float (&acc)[CB][L]) {
  float kv[L];
  const float bias = f.span_bias[k];
  for (int l = 0; l < L; ++l) kv[l] = bias;
  const float* w = f.span_weight + k * cr;
  for (int m = 0; m < cr; ++m)
    for (int l = 0; l < L; ++l) kv[l] += w[m] * t[m][l];
  if (f.kernels) store_first<L>(f.kernels + k * f.kernels_stride + j0, kv, lanes);
  for (int c = 0; c < CB; ++c) {
    const float* x = f.in + c * f.in_channel_stride + f.taps[k] + j0;
    for (int l = 0; l < L; ++l) acc[c][l] += kv[l] * x[l];
  }
}

// Pixels [j_begin, j_end) of the segment, L at a time. CR: reduced channels known at compile
// time (0: f.reduced_channels at run time, at most kFusedMaxReduced). CB: channels
// aggregated per pass. Every step loads L lanes, so a partial last step reads up to L - 1
// floats past j_end (the padding contract allows 7: a step of more than 8 lanes is used for
// whole steps only).
template <int CR, int CB, int L>
void fused_pixels(const FusedInvolution& f, int64_t j_begin, int64_t j_end) {
  const int cr = CR > 0 ? CR : static_cast<int>(f.reduced_channels);
  // With one channel a pass, even and odd taps add into separate accumulators: a single
  // accumulator's chain of dependent FMAs (one a tap) would be as long as the FMAs' whole
  // throughput time, so any stall would show.
  constexpr int kChains = CB == 1 ? 2 : 1;
  for (int64_t j0 = j_begin; j0 < j_end; j0 += L) {
    const int lanes = j_end - j0 < L ? static_cast<int>(j_end - j0) : L;
    float t[CR > 0 ? CR : kFusedMaxReduced][L];
    for (int m = 0; m < cr; ++m)
      for (int l = 0; l < L; ++l) t[m][l] = f.reduced[m * f.reduced_stride + j0 + l];
    float acc[CB][L] = {};
    float acc_odd[kChains > 1 ? CB : 1][L] = {};
    int64_t k = 0;
    if constexpr (kChains > 1)
      for (; k + 1 < f.tap_count; k += 2) {
        add_tap<CB, L>(f, cr, t, k, j0, lanes, acc);
        add_tap<CB, L>(f, cr, t, k + 1, j0, lanes, acc_odd);
      }
    for (; k < f.tap_count; ++k) add_tap<CB, L>(f, cr, t, k, j0, lanes, acc);
    for (int c = 0; c < CB; ++c) {
      float total[L];
      for (int l = 0; l < L; ++l)
        total[l] = kChains > 1 ? acc[c][l] + acc_odd[kChains > 1 ? c : 0][l] : acc[c][l];
      store_first<L>(f.out + c * f.out_channel_stride + j0, total, lanes);
    }
    if (f.sum) {
      // The kernel is linear in the reduced vector, so its sum over the taps is the summed
      // weights times that vector: CR multiply-adds a pixel instead of one add a tap.
      float sum[L];
      for (int l = 0; l < L; ++l) sum[l] = f.span_bias_sum;
      for (int m = 0; m < cr; ++m)
        for (int l = 0; l < L; ++l) sum[l] += f.span_weight_sum[m] * t[m][l];
      store_first<L>(f.sum + j0, sum, lanes);
    }
  }
}

// Two vectors of pixels a step (so each broadcast weight feeds two FMAs) while the reduced
// vector, the accumulators and the kernel value fit in the vector registers; one vector
// otherwise and for the segment's tail. The tail's vector is 8 floats (the padding contract
// allows loads 7 floats past a segment), so a 16-float build ends with an 8-float step.
template <int CR, int CB>
void fused_block(const FusedInvolution& f) {
  constexpr int kChains = CB == 1 ? 2 : 1;  // as in fused_pixels
  constexpr int V = kVectorFloats;
  constexpr bool kWide = CR > 0 && 2 * (CR + kChains * CB + 1) <= kVectorRegisters - 2;
  constexpr int kStep = kWide ? 2 * V : V;
  const int64_t whole_end = f.width / kStep * kStep;
  fused_pixels<CR, CB, kStep>(f, 0, whole_end);
  if constexpr (V > 8) {
    const int64_t vector_end = whole_end + (f.width - whole_end) / V * V;
    fused_pixels<CR, CB, V>(f, whole_end, vector_end);
    fused_pixels<CR, CB, 8>(f, vector_end, f.width);
  } else {
    fused_pixels<CR, CB, V>(f, whole_end, f.width);
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
