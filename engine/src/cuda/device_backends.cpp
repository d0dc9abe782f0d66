// The registry's CUDA backends: the host code of cuda_backend.cpp on the kernels nvcc built.
#include "backend_factories.h"
#include "cuda/cuda_backend.h"

namespace ks {

namespace cuda {
const KernelTable& device_kernels() {
  static const KernelTable table = {
      conv2d_tiled,
      conv2d_naive,
      involution_scratch_floats,
      involution_generate_fused,
      involution_aggregate_tiled,
      involution_generate_naive,
      involution_aggregate_naive,
      involution_kernel_sum,
      involution_one_pass,
      kernel_image_status,
  };
  return table;
}
}  // namespace cuda

std::unique_ptr<Backend> make_cuda_backend() {
  return cuda::make_backend(cuda::Variant::Tiled, cuda::device_kernels());
}
std::unique_ptr<Backend> make_cuda_naive_backend() {
  return cuda::make_backend(cuda::Variant::Naive, cuda::device_kernels());
}
#ifdef KS_HAVE_CUDNN
std::unique_ptr<Backend> make_cudnn_backend() {
  return cuda::make_backend(cuda::Variant::Cudnn, cuda::device_kernels());
}
#endif

}  // namespace ks
