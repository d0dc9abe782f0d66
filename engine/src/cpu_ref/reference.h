// The reference operators as free functions, shared by the cpu-ref backend, the tests
// and the teaching views (which show the same arithmetic step by step).
#pragma once

#include "kernelscope/ops.h"

namespace ks::ref {

Tensor conv2d(const Tensor& input, const ConvParams& params, const ConvWeights& weights);
// [B, G, K*K, H_out, W_out]
Tensor involution_kernels(const Tensor& input, const InvolutionParams& params,
                          const InvolutionWeights& weights);
Tensor involution_aggregate(const Tensor& input, const Tensor& kernels,
                            const InvolutionParams& params);

}  // namespace ks::ref
