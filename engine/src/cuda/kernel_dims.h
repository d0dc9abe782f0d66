// The shapes and weights the CUDA kernels receive by value. Plain structs without CUDA
// types, so the kernels, their launch plans and the CPU emulator of the tests share them.
#pragma once

namespace ks::cuda {

// Shapes as ints: the kernels index planes with int and whole tensors with int64.
struct ConvDims {
  int batch, in_channels, height, width;
  int out_channels, out_height, out_width;
  int kernel, stride, padding, dilation, groups;
  bool has_bias;
};

struct InvolutionDims {
  int batch, channels, height, width;
  int out_height, out_width;
  int kernel, stride, dilation, padding;
  int group_channels, groups, reduced_channels;
};

// The generation weights with BN(eval) folded into one scale and shift per reduced channel.
struct GenerationWeights {
  const float* reduce_weight;  // [C/r, C]
  const float* bn_scale;       // [C/r] gamma / sqrt(var + eps)
  const float* bn_shift;       // [C/r] beta - mean * scale
  const float* span_weight;    // [G*K*K, C/r]
  const float* span_bias;      // [G*K*K]
};

}  // namespace ks::cuda
