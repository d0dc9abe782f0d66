// The reference operators as free functions, shared by the cpu-ref backend, the tests
// and the teaching views (which show the same arithmetic step by step).
#pragma once

#include "kernelscope/ops.h"

namespace ks::ref {

Tensor conv2d(const Tensor& input, const ConvParams& params, const ConvWeights& weights);
// [B, G, K*K, H_out, W_out]
Tensor involution_kernels(const Tensor& input, const InvolutionParams& params,
                          const InvolutionWeights& weights);
// The G*K*K kernel values generated at output pixel (i, j) of image b, row g*K*K + k, into
// out: the arithmetic of involution_kernels for one pixel.
void involution_kernels_at_pixel(const Tensor& input, const InvolutionParams& params,
                                 const InvolutionWeights& weights, int64_t b, int64_t i, int64_t j,
                                 float* out);
// [B, G, H_out, W_out]: each pixel's K*K taps summed (in double, in tap order).
Tensor involution_kernel_sum(const Tensor& kernels);
Tensor involution_aggregate(const Tensor& input, const Tensor& kernels,
                            const InvolutionParams& params);

}  // namespace ks::ref
