// Host-side launchers of the CUDA kernels, called by cuda_backend.cpp. Pointers are device
// pointers; every launcher is asynchronous on `stream` and checks its launches.
#pragma once

#include <cuda_runtime_api.h>

#include <string>

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

// conv2d.cu: direct convolution, input tile + halo and weights staged in shared memory.
// Falls back to the naive kernel when no tile fits in shared memory (huge K * dilation).
void conv2d_tiled(const ConvDims& d, const float* x, const float* weight, const float* bias,
                  float* y, cudaStream_t stream);
// conv2d_naive.cu: one thread per output element, global memory only.
void conv2d_naive(const ConvDims& d, const float* x, const float* weight, const float* bias,
                  float* y, cudaStream_t stream);

// involution.cu: fused kernel generation (pool -> reduce -> BN -> ReLU -> span) and the
// tiled aggregation. `scratch` needs fused_generation_scratch_floats(d) floats: 0 unless the
// fused kernel's shared-memory plan does not fit (huge C/r) and the naive path takes over.
long long fused_generation_scratch_floats(const InvolutionDims& d);
void involution_generate_fused(const InvolutionDims& d, const float* x, const GenerationWeights& w,
                               float* kernels, float* scratch, cudaStream_t stream);
void involution_aggregate_tiled(const InvolutionDims& d, const float* x, const float* kernels,
                                float* y, cudaStream_t stream);
// involution_naive.cu: one thread per element for each step, global memory only.
long long naive_generation_scratch_floats(const InvolutionDims& d);
void involution_generate_naive(const InvolutionDims& d, const float* x, const GenerationWeights& w,
                               float* kernels, float* scratch, cudaStream_t stream);
void involution_aggregate_naive(const InvolutionDims& d, const float* x, const float* kernels,
                                float* y, cudaStream_t stream);

// False (with the reason) when this binary holds no kernel image the current GPU can run,
// e.g. a build for sm_90 only on an sm_75 card.
bool kernel_image_loadable(std::string* why);

}  // namespace ks::cuda
