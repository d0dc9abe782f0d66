// The convolution entry points of cuda_ops.h: the kernels of conv2d_kernels.cuh launched on
// a stream.
#include "cuda/conv2d_kernels.cuh"
#include "cuda/cuda_ops.h"
#include "cuda/stream_launcher.h"

namespace ks::cuda {

void conv2d_tiled(const ConvDims& d, const float* x, const float* weight, const float* bias,
                  float* y, cudaStream_t stream) {
  launch_conv2d_tiled(StreamLauncher{stream}, d, x, weight, bias, y);
}

void conv2d_naive(const ConvDims& d, const float* x, const float* weight, const float* bias,
                  float* y, cudaStream_t stream) {
  launch_conv2d_naive(StreamLauncher{stream}, d, x, weight, bias, y);
}

cudaError_t kernel_image_status() {
  cudaFuncAttributes attributes{};
  const cudaError_t status = cudaFuncGetAttributes(&attributes, conv2d_tiled_kernel<4, 1>);
  if (status != cudaSuccess) cudaGetLastError();
  return status;
}

}  // namespace ks::cuda
