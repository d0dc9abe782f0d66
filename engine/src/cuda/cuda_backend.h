// The CUDA backends' host code (cuda_backend.cpp), built on a table of kernel entry points:
// the registry hands it the real kernels (device_backends.cpp), the tests the CPU emulator's.
#pragma once

#include <cstddef>
#include <memory>

#include "cuda/cuda_ops.h"
#include "kernelscope/backend.h"

namespace ks::cuda {

enum class Variant {
  Tiled,  // "cuda": shared-memory tiled kernels
  Naive,  // "cuda-naive": one thread per element, the baseline (raced, never auto)
  Cudnn,  // "cudnn": convolution only (raced, never auto)
};

struct BackendTuning {
  // Results up to this size are downloaded into the reused pinned staging buffer and copied
  // into the result tensors; larger ones go straight into the tensors, where the extra host
  // copy and a second pinned block of that size would cost more than the faster DMA saves.
  // The fake-runtime tests set it small to reach both paths.
  size_t pinned_staging_max_bytes = size_t{64} << 20;
};

std::unique_ptr<Backend> make_backend(Variant variant, const KernelTable& kernels,
                                      const BackendTuning& tuning = {});

}  // namespace ks::cuda
