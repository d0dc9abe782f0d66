// Backward passes of the two operators: the gradients of a scalar loss with respect to every
// weight and to the input, given the gradient with respect to the output (grad_output, the
// shape of the forward's output).
//
// Free functions in ks::grad rather than Backend virtuals: the GPU backends have no backward
// yet, and a learning loop needs exactly two implementations, the oracle and a fast one.
//   *_ref   plain loops, double accumulation (the oracle; tests compare against PyTorch)
//   others  float arithmetic, multithreaded like the cpu backend, involution fused (the
//           generated kernels are recomputed per pixel, never stored as a tensor); weight
//           gradients are summed per fixed band of rows and the bands added in order, so the
//           result does not depend on the thread count or scheduling.
//
// Involution's BatchNorm is differentiated in eval mode: the running mean and variance are
// constants (no gradient), gamma and beta get one, as in PyTorch after module.eval().
#pragma once

#include "kernelscope/ops.h"

namespace ks::grad {

// What to compute besides the weight gradients. A learning loop does not need grad_input;
// chaining layers does.
struct BackwardOptions {
  bool input = true;
};

struct ConvGradients {
  Tensor weight;  // [C_out, C_in/groups, K, K]
  Tensor bias;    // [C_out], empty when the layer has no bias
  Tensor input;   // [B, C_in, H, W], empty unless asked for
};

struct InvolutionGradients {
  Tensor reduce_weight;  // [C/r, C]
  Tensor bn_gamma;       // [C/r]
  Tensor bn_beta;        // [C/r]
  Tensor span_weight;    // [K*K*G, C/r]
  Tensor span_bias;      // [K*K*G]
  Tensor input;          // [B, C, H, W], empty unless asked for
};

// Shapes are validated (the forward's shape functions, validate_*_weights, and grad_output
// against the output shape); a mismatch throws ks::Error with one line.
ConvGradients conv2d_backward_ref(const Tensor& input, const ConvParams& params,
                                  const ConvWeights& weights, const Tensor& grad_output,
                                  const BackwardOptions& options = {});
ConvGradients conv2d_backward(const Tensor& input, const ConvParams& params,
                              const ConvWeights& weights, const Tensor& grad_output,
                              const BackwardOptions& options = {});

InvolutionGradients involution2d_backward_ref(const Tensor& input, const InvolutionParams& params,
                                              const InvolutionWeights& weights,
                                              const Tensor& grad_output,
                                              const BackwardOptions& options = {});
InvolutionGradients involution2d_backward(const Tensor& input, const InvolutionParams& params,
                                          const InvolutionWeights& weights,
                                          const Tensor& grad_output,
                                          const BackwardOptions& options = {});

}  // namespace ks::grad
