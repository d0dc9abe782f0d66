// What lets one kernel source serve two compilers: nvcc builds the kernels for the GPU, and
// g++ builds the same files for the CPU emulator of the tests (tests/cuda_emu), which
// provides threadIdx, __syncthreads() and friends. The kernels use these macros where the
// two differ.
#pragma once

#include <cstddef>

#if defined(__CUDACC__)
// The block's dynamic shared memory as floats (sized by the launch).
#define KS_DYNAMIC_SHARED_FLOATS(name) extern __shared__ float name[]
#define KS_UNROLL _Pragma("unroll")
#else
#include "cuda_emu.h"
#define KS_UNROLL
#endif

// Launches `kernel` through `launch` (StreamLauncher on the GPU, the emulator's launcher in
// the tests), naming the kernel and this file:line in any error.
#define KS_LAUNCH(launch, kernel, grid, block, smem_bytes, ...) \
  (launch)(#kernel, __FILE__, __LINE__, (grid), (block), (smem_bytes), kernel, __VA_ARGS__)
