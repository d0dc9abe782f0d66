// Launches a kernel on a CUDA stream and checks the launch, so a bad configuration (too much
// shared memory, no kernel image for this GPU) is reported at the launch site with the
// kernel's name and file:line instead of at the next synchronisation. nvcc only.
#pragma once

#include <cuda_runtime_api.h>

#include <string>

#include "cuda/cuda_check.h"

namespace ks::cuda {

struct StreamLauncher {
  cudaStream_t stream;

  template <class... Params, class... Args>
  void operator()(const char* kernel_name, const char* file, int line, dim3 grid, dim3 block,
                  size_t smem_bytes, void (*kernel)(Params...), Args... args) const {
    kernel<<<grid, block, smem_bytes, stream>>>(args...);
    const cudaError_t status = cudaGetLastError();
    if (status != cudaSuccess)
      throw_cuda_error(status, (std::string("launch of ") + kernel_name).c_str(), file, line);
  }
};

}  // namespace ks::cuda
