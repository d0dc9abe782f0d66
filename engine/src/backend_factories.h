// Factories of the built-in backends, called once by the registry.
#pragma once

#include <memory>

#include "kernelscope/backend.h"

namespace ks {

std::unique_ptr<Backend> make_cpu_ref_backend();
std::unique_ptr<Backend> make_cpu_backend();  // engine/src/cpu/
// set_gpu_device's index, read once by the GPU backends' device probe; after this call
// set_gpu_device refuses a different index.
int gpu_device_for_probe();

#ifdef KS_HAVE_CUDA
std::unique_ptr<Backend> make_cuda_backend();        // engine/src/cuda/
std::unique_ptr<Backend> make_cuda_naive_backend();  // engine/src/cuda/
#ifdef KS_HAVE_CUDNN
std::unique_ptr<Backend> make_cudnn_backend();  // engine/src/cuda/
#endif
#endif

}  // namespace ks
