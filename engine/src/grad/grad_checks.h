// Shape checks shared by the backward passes: the same one-line errors as the forward's.
#pragma once

#include "kernelscope/error.h"
#include "kernelscope/ops.h"

namespace ks::grad {

// Throws ks::Error when grad_output does not have the forward output's shape.
inline void check_grad_output(const Shape& output_shape, const Tensor& grad_output) {
  if (grad_output.shape != output_shape)
    throw Error("grad_output is " + shape_to_string(grad_output.shape) +
                " but the operator's output is " + shape_to_string(output_shape));
}

inline void check_conv_backward(const Tensor& input, const ConvParams& params,
                                const ConvWeights& weights, const Tensor& grad_output) {
  if (input.rank() != 4 || input.dim(1) != params.in_channels)
    throw Error("input is " + shape_to_string(input.shape) + " but the layer takes " +
                std::to_string(params.in_channels) + " channels");
  validate_conv_weights(params, weights);
  check_grad_output(conv_output_shape(input.shape, params), grad_output);
}

inline void check_involution_backward(const Tensor& input, const InvolutionParams& params,
                                      const InvolutionWeights& weights, const Tensor& grad_output) {
  if (input.rank() != 4 || input.dim(1) != params.channels)
    throw Error("input is " + shape_to_string(input.shape) + " but the layer takes " +
                std::to_string(params.channels) + " channels");
  validate_involution_weights(params, weights);
  check_grad_output(involution_output_shape(input.shape, params), grad_output);
}

// Copies doubles into a fresh float tensor of that shape.
inline Tensor to_float_tensor(const Shape& shape, const std::vector<double>& values) {
  Tensor t = Tensor::uninitialized(shape);
  for (size_t i = 0; i < values.size(); ++i) t.data[i] = static_cast<float>(values[i]);
  return t;
}

}  // namespace ks::grad
