// Checked CUDA runtime calls: any failure becomes a ks::Error naming the call and its
// file:line, so the caller can report it in one line and fall back to the CPU.
#pragma once

#include <cuda_runtime_api.h>

#include <string>

#include "kernelscope/error.h"

namespace ks::cuda {

[[noreturn]] inline void throw_cuda_error(cudaError_t err, const char* call, const char* file,
                                          int line) {
  // Clear the (non-sticky) error so the next checked call does not report it again.
  cudaGetLastError();
  std::string where = std::string(call) + " at " + file + ":" + std::to_string(line);
  if (err == cudaErrorMemoryAllocation) throw Error("out of GPU memory in " + where);
  throw Error(std::string("CUDA error ") + cudaGetErrorName(err) + " (" + cudaGetErrorString(err) +
              ") in " + where);
}

}  // namespace ks::cuda

#define KS_CUDA_CHECK(call)                                                     \
  do {                                                                          \
    const cudaError_t ks_cuda_status_ = (call);                                 \
    if (ks_cuda_status_ != cudaSuccess)                                         \
      ::ks::cuda::throw_cuda_error(ks_cuda_status_, #call, __FILE__, __LINE__); \
  } while (0)

// After a <<<...>>> launch: catches bad configurations (too much shared memory, no kernel
// image for this GPU) at the launch site instead of at the next synchronisation.
#define KS_CUDA_CHECK_LAUNCH(kernel_name)                                                          \
  do {                                                                                             \
    const cudaError_t ks_cuda_status_ = cudaGetLastError();                                        \
    if (ks_cuda_status_ != cudaSuccess)                                                            \
      ::ks::cuda::throw_cuda_error(ks_cuda_status_, "launch of " kernel_name, __FILE__, __LINE__); \
  } while (0)
