// The involution entry points of cuda_ops.h: the kernels of involution_kernels.cuh launched
// on a stream.
#include "cuda/cuda_ops.h"
#include "cuda/involution_kernels.cuh"
#include "cuda/stream_launcher.h"

namespace ks::cuda {

long long involution_scratch_floats(const InvolutionDims& d, bool naive) {
  return naive ? naive_generation_scratch_floats(d) : fused_generation_scratch_floats(d);
}

void involution_generate_fused(const InvolutionDims& d, const float* x, const GenerationWeights& w,
                               float* kernels, float* scratch, cudaStream_t stream) {
  launch_involution_generate_fused(StreamLauncher{stream}, d, x, w, kernels, scratch);
}

void involution_aggregate_tiled(const InvolutionDims& d, const float* x, const float* kernels,
                                float* y, cudaStream_t stream) {
  launch_involution_aggregate_tiled(StreamLauncher{stream}, d, x, kernels, y);
}

void involution_generate_naive(const InvolutionDims& d, const float* x, const GenerationWeights& w,
                               float* kernels, float* scratch, cudaStream_t stream) {
  launch_involution_generate_naive(StreamLauncher{stream}, d, x, w, kernels, scratch);
}

void involution_aggregate_naive(const InvolutionDims& d, const float* x, const float* kernels,
                                float* y, cudaStream_t stream) {
  launch_involution_aggregate_naive(StreamLauncher{stream}, d, x, kernels, y);
}

void involution_kernel_sum(const InvolutionDims& d, const float* kernels, float* kernel_sum,
                           cudaStream_t stream) {
  launch_involution_kernel_sum(StreamLauncher{stream}, d, kernels, kernel_sum);
}

namespace {

// The current device's SM count and opt-in shared memory per block, for the one-pass plan;
// 0 where a query fails (the plan then keeps its portable defaults). A failed query leaves
// no error behind for the launch check to misreport.
struct DeviceShape {
  int sms = 0;
  int optin_bytes = 0;
};

DeviceShape current_device_shape() {
  DeviceShape shape;
  int device = 0;
  if (cudaGetDevice(&device) != cudaSuccess ||
      cudaDeviceGetAttribute(&shape.sms, cudaDevAttrMultiProcessorCount, device) != cudaSuccess ||
      cudaDeviceGetAttribute(&shape.optin_bytes, cudaDevAttrMaxSharedMemoryPerBlockOptin, device) !=
          cudaSuccess) {
    cudaGetLastError();
    return DeviceShape{};
  }
  return shape;
}

}  // namespace

bool involution_one_pass(const InvolutionDims& d, const float* x, const GenerationWeights& w,
                         float* y, float* kernels, float* kernel_sum, cudaStream_t stream) {
  const DeviceShape shape = current_device_shape();
  const int64_t target_blocks = shape.sms > 0 ? 2 * int64_t{shape.sms} : kOnePassTargetBlocks;
  return launch_involution_one_pass(StreamLauncher{stream}, d, x, w, y, kernels, kernel_sum,
                                    target_blocks, one_pass_smem_budget_floats(shape.optin_bytes));
}

}  // namespace ks::cuda
