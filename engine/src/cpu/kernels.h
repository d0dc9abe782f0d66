// The inner loops of the "cpu" backend, in several builds: *_avx2.cpp (AVX2/FMA intrinsics),
// *_avx512.cpp, and the portable loops the compiler vectorises for the baseline
// ISA. Drivers pick one table per call with kernels_for_this_cpu().
#pragma once

#include <cstdint>

namespace ks::cpu {

// co_count output rows of a weighted sum of shifted input rows:
//   out[c][j] = act(bias[c] + sum_{ci,k} weights[(ci*tap_count + k)*co_count + c]
//                                        * in[ci*in_channel_stride + taps[k] + j])
// A convolution row has one tap per kernel position; a 1x1 GEMM (involution kernel
// generation) has a single tap at offset 0. Loads may run up to 7 floats past `width`
// (callers pad their buffers); stores never do.
struct RowProduct {
  const float* in = nullptr;
  int64_t in_channel_stride = 0;
  int64_t in_channels = 0;
  const int64_t* taps = nullptr;
  int64_t tap_count = 0;
  const float* weights = nullptr;  // packed [in_channels][tap_count][co_count]
  const float* bias = nullptr;     // co_count values, or nullptr for none
  float* out = nullptr;
  int64_t out_channel_stride = 0;
  int64_t width = 0;
  int co_count = 0;  // 1..kRowBlock
  bool relu = false;
  // Streaming (non-temporal) stores for outputs far larger than the caches: no
  // read-for-ownership of lines that are only written. The portable build ignores it.
  bool stream = false;
  // A 1x1 product (tap_count 1) may take its weights as they come, row-major
  // [co_count][in_channels] at this many floats per row, instead of packed (0): the
  // involution's generation GEMMs, whose packing cost more than a small problem's GEMM.
  int64_t weight_row_stride = 0;
  // Per-row factors applied to the sum before the bias (nullptr: none):
  //   out[c][j] = act(scale[c] * sum + bias[c]).
  const float* scale = nullptr;
};
constexpr int kRowBlock = 4;

// Involution aggregation for `channels` channels that share one generated kernel:
//   out[c][j] = sum_k kern[k*kern_stride + j] * in[c*in_channel_stride + taps[k] + j]
// Same padding contract as RowProduct, except that the dense path (below) reads whole
// aligned vectors: up to 31 floats past width in a window row.
struct Aggregation {
  const float* kern = nullptr;
  int64_t kern_stride = 0;
  const float* in = nullptr;
  int64_t in_channel_stride = 0;
  int64_t channels = 0;  // all the channels of one group, any number; blocked inside
  const int64_t* taps = nullptr;
  int64_t tap_count = 0;
  float* out = nullptr;
  int64_t out_channel_stride = 0;
  int64_t width = 0;
  // Nonzero when the taps are a dense K x K window (stride 1, dilation 1) over rows this
  // many floats apart: taps[ky * K + kx] = ky * row_stride + kx, K = dense_kernel. With `in`
  // 64-byte aligned and row_stride and in_channel_stride multiples of 16, the AVX-512 build
  // then loads each window row once, aligned, and shifts it in registers for each kx (see
  // involution_aggregate_avx512.cpp); the other builds and layouts use the taps as given.
  int64_t dense_kernel = 0;
  int64_t row_stride = 0;
};
constexpr int kAggregateBlock = 4;

// Involution generation and aggregation fused, for a small reduced width (C/r at most
// kFusedMaxReduced): each tap's kernel value is made in registers from the pixel's reduced
// vector and used at once:
//   kern_k[j] = span_bias[k] + sum_m span_weight[k*reduced_channels + m]
//                                    * reduced[m*reduced_stride + j]
//   out[c][j] = sum_k kern_k[j] * in[c*in_channel_stride + taps[k] + j]
//   sum[j]    = span_bias_sum + sum_m span_weight_sum[m] * reduced[m*reduced_stride + j]
// sum is the kernel-sum map (skipped when nullptr; span_weight_sum[m] = sum_k
// span_weight[k*reduced_channels + m] and span_bias_sum = sum_k span_bias[k]). With
// kernels, kern_k[j] is also stored at kernels[k*kernels_stride + j] (the full tensor);
// without, no kernel is ever stored.
// span_weight and span_bias point at one group's K*K rows. Same padding contract as
// RowProduct for `in` and `reduced` (loads up to 7 floats past width); the outputs are
// stored for [0, width) only.
struct FusedInvolution {
  const float* reduced = nullptr;
  int64_t reduced_stride = 0;
  int64_t reduced_channels = 0;
  const float* span_weight = nullptr;
  const float* span_bias = nullptr;
  const float* in = nullptr;
  int64_t in_channel_stride = 0;
  int64_t channels = 0;  // 1..kAggregateBlock, all of one group
  const int64_t* taps = nullptr;
  int64_t tap_count = 0;
  float* out = nullptr;
  int64_t out_channel_stride = 0;
  float* sum = nullptr;
  const float* span_weight_sum = nullptr;  // reduced_channels values
  float span_bias_sum = 0;
  float* kernels = nullptr;
  int64_t kernels_stride = 0;
  int64_t width = 0;
};
constexpr int kFusedMaxReduced = 8;

// Involution's backward (ks::grad::involution2d_backward) for output rows [row_begin, row_end)
// of one image at stride 1, kBackwardLanes pixels at a time. `in` and `grad_in` are padded
// copies of the image: channel c, padded row y, column x at c*in_channel_stride +
// y*in_row_stride + x, output pixel (i, j)'s window top-left at (i, j), the pixel itself
// `center` further on; zeros outside the image, and room for the windows of width rounded up
// to kBackwardLanes pixels. grad_out holds the image's [C, rows, width] gradient, unpadded.
// The weight gradients are added to the grad_* doubles (the layouts of the weights), each
// output row's sum in one go; grad_in (nullptr: not wanted) receives the input's.
struct InvolutionBackwardRows {
  const float* in = nullptr;
  int64_t in_channel_stride = 0;
  int64_t in_row_stride = 0;
  int64_t center = 0;
  const int64_t* taps = nullptr;  // offsets of the K*K taps from the window's top-left
  int64_t tap_count = 0;
  const float* grad_out = nullptr;
  int64_t grad_out_channel_stride = 0;
  int64_t width = 0;
  int64_t row_begin = 0, row_end = 0;
  int64_t channels = 0, group_channels = 0;
  int64_t reduced_channels = 0;          // at most kBackwardMaxReduced
  const float* reduce_weight = nullptr;  // [C/r][C]
  const float* bn_mean = nullptr;
  const float* bn_inv_std = nullptr;
  const float* bn_gamma = nullptr;
  const float* bn_beta = nullptr;
  const float* span_weight = nullptr;  // [G*K*K][C/r]
  const float* span_bias = nullptr;
  float* grad_in = nullptr;
  double* grad_reduce = nullptr;
  double* grad_gamma = nullptr;
  double* grad_beta = nullptr;
  double* grad_span = nullptr;
  double* grad_span_bias = nullptr;
};
constexpr int kBackwardLanes = 8;
constexpr int kBackwardMaxReduced = 64;

// The two builds of each loop; row_product_avx2 and friends live in *_avx2.cpp and may only
// run when cpu_has_avx2_fma().
void row_product_portable(const RowProduct& r);
void row_product_avx2(const RowProduct& r);
void row_product_avx512(const RowProduct& r);  // only when cpu_has_avx512()
void aggregate_portable(const Aggregation& a);
void aggregate_avx2(const Aggregation& a);
void aggregate_avx512(const Aggregation& a);  // only when cpu_has_avx512()
// A copy whose destination is not read again soon (the generated kernels tensor): the
// AVX2 build streams it past the caches instead of evicting the working set.
void copy_out_portable(float* dst, const float* src, int64_t count);
void fused_involution_portable(const FusedInvolution& f);
void fused_involution_avx2(const FusedInvolution& f);
void fused_involution_avx512(const FusedInvolution& f);  // only when cpu_has_avx512()
void copy_out_avx2(float* dst, const float* src, int64_t count);
void involution_backward_rows_portable(const InvolutionBackwardRows& a);
void involution_backward_rows_avx2(const InvolutionBackwardRows& a);

struct KernelTable {
  void (*row_product)(const RowProduct&);
  void (*aggregate)(const Aggregation&);
  void (*copy_out)(float* dst, const float* src, int64_t count);
  void (*fused_involution)(const FusedInvolution&);
  void (*involution_backward_rows)(const InvolutionBackwardRows&);
};

// AVX2/FMA when the CPU has it and the portable path is not forced (cpu_features.h).
const KernelTable& kernels_for_this_cpu();

}  // namespace ks::cpu
