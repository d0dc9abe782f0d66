// Launches a kernel on a CUDA stream and checks the launch, so a bad configuration (too much
// shared memory, no kernel image for this GPU) is reported at the launch site with the
// kernel's name and file:line instead of at the next synchronisation. nvcc only.
#pragma once

#include <cuda_runtime_api.h>

#include <string>

#include "cuda/cuda_check.h"
#include "cuda/index_math.h"

namespace ks::cuda {

struct StreamLauncher {
  cudaStream_t stream;

  template <class... Params, class... Args>
  void operator()(const char* kernel_name, const char* file, int line, dim3 grid, dim3 block,
                  size_t smem_bytes, void (*kernel)(Params...), Args... args) const {
    // Above what every GPU allows (kSmemBudgetFloats), the kernel opts in first; the plans ask
    // for that only within the device's cudaDevAttrMaxSharedMemoryPerBlockOptin.
    if (smem_bytes > sizeof(float) * static_cast<size_t>(kSmemBudgetFloats)) {
      const cudaError_t opt_in = cudaFuncSetAttribute(
          kernel, cudaFuncAttributeMaxDynamicSharedMemorySize, static_cast<int>(smem_bytes));
      if (opt_in != cudaSuccess)
        throw_cuda_error(opt_in, (std::string("shared-memory opt-in of ") + kernel_name).c_str(),
                         file, line);
    }
    kernel<<<grid, block, smem_bytes, stream>>>(args...);
    const cudaError_t status = cudaGetLastError();
    if (status != cudaSuccess)
      throw_cuda_error(status, (std::string("launch of ") + kernel_name).c_str(), file, line);
  }
};

}  // namespace ks::cuda
