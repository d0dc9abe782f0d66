// Host-side entry points of the CUDA kernels, and the table through which cuda_backend.cpp
// calls them. Pointers are device pointers; every call is asynchronous on `stream` and checks
// its launches. The kernels and their launch plans live in conv2d_kernels.cuh and
// involution_kernels.cuh.
#pragma once

#include <cuda_runtime_api.h>

#include <string>

#include "cuda/kernel_dims.h"

namespace ks::cuda {

// conv2d.cu. Tiled: input tile + halo and weights staged in shared memory; falls back to the
// naive kernel when no tile fits (huge K * dilation). Naive: one thread per output element,
// global memory only.
void conv2d_tiled(const ConvDims& d, const float* x, const float* weight, const float* bias,
                  float* y, cudaStream_t stream);
void conv2d_naive(const ConvDims& d, const float* x, const float* weight, const float* bias,
                  float* y, cudaStream_t stream);

// involution.cu. Fused: one kernel for pool -> reduce -> BN -> ReLU -> span, then the tiled
// aggregation. Naive: one thread per element for each step. `scratch` needs
// involution_scratch_floats(d, naive) floats.
long long involution_scratch_floats(const InvolutionDims& d, bool naive);
void involution_generate_fused(const InvolutionDims& d, const float* x, const GenerationWeights& w,
                               float* kernels, float* scratch, cudaStream_t stream);
void involution_aggregate_tiled(const InvolutionDims& d, const float* x, const float* kernels,
                                float* y, cudaStream_t stream);
void involution_generate_naive(const InvolutionDims& d, const float* x, const GenerationWeights& w,
                               float* kernels, float* scratch, cudaStream_t stream);
void involution_aggregate_naive(const InvolutionDims& d, const float* x, const float* kernels,
                                float* y, cudaStream_t stream);
// kernel_sum [B, G, H_out, W_out] from kernels [B, G, K*K, H_out, W_out] (KernelsMode::Sum).
void involution_kernel_sum(const InvolutionDims& d, const float* kernels, float* kernel_sum,
                           cudaStream_t stream);
// One pass: generation and aggregation in one kernel; writes kernels and kernel_sum only
// where they are not null. False (nothing launched) when no tile fits shared memory.
bool involution_one_pass(const InvolutionDims& d, const float* x, const GenerationWeights& w,
                         float* y, float* kernels, float* kernel_sum, cudaStream_t stream);

// Whether the current GPU can load this binary's kernels: cudaSuccess, or what loading one
// reported (no image for this architecture, PTX newer than the driver, no memory, ...), which
// the backend's device probe puts in words.
cudaError_t kernel_image_status();

// The entry points above as a table: the backend's host code (cuda_backend.cpp) calls the
// kernels only through it, so the tests can run that code on the CPU emulator's kernels
// behind a fake runtime (tests/cuda_emu) by handing it another table. A template of the
// stream type so that a build of the backend against another runtime has symbols of its own
// and links next to the real one.
template <typename Stream>
struct KernelTableFor {
  void (*conv2d_tiled)(const ConvDims&, const float* x, const float* weight, const float* bias,
                       float* y, Stream);
  void (*conv2d_naive)(const ConvDims&, const float* x, const float* weight, const float* bias,
                       float* y, Stream);
  long long (*involution_scratch_floats)(const InvolutionDims&, bool naive);
  void (*involution_generate_fused)(const InvolutionDims&, const float* x, const GenerationWeights&,
                                    float* kernels, float* scratch, Stream);
  void (*involution_aggregate_tiled)(const InvolutionDims&, const float* x, const float* kernels,
                                     float* y, Stream);
  void (*involution_generate_naive)(const InvolutionDims&, const float* x, const GenerationWeights&,
                                    float* kernels, float* scratch, Stream);
  void (*involution_aggregate_naive)(const InvolutionDims&, const float* x, const float* kernels,
                                     float* y, Stream);
  void (*involution_kernel_sum)(const InvolutionDims&, const float* kernels, float* kernel_sum,
                                Stream);
  bool (*involution_one_pass)(const InvolutionDims&, const float* x, const GenerationWeights&,
                              float* y, float* kernels, float* kernel_sum, Stream);
  cudaError_t (*kernel_image_status)();
};
using KernelTable = KernelTableFor<cudaStream_t>;

// The kernels compiled by nvcc (conv2d.cu, involution.cu).
const KernelTable& device_kernels();

}  // namespace ks::cuda
