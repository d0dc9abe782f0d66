// What lets one kernel source serve two compilers: nvcc builds the kernels for the GPU, and
// g++ builds the same files for the CPU emulator of the tests (tests/cuda_emu), which
// provides threadIdx, __syncthreads() and friends. The kernels use these macros where the
// two differ.
#pragma once

#include <cstddef>

#if defined(__CUDACC__)
// The block's dynamic shared memory as floats (sized by the launch). __align__(16) because
// load_float4 reads it 128 bits at a time: a plain float array is only promised 4-byte
// alignment. The emulator checks float4 offsets from this base, which assumes the same.
#define KS_DYNAMIC_SHARED_FLOATS(name) extern __shared__ __align__(16) float name[]
#define KS_UNROLL _Pragma("unroll")
// A loop kept rolled: fully unrolled tap loops let the compiler hoist every load and run out
// of registers.
#define KS_NO_UNROLL _Pragma("unroll 1")
// A helper that kernels call (it may use threadIdx and __syncthreads()).
#define KS_DEVICE __device__

namespace ks::cuda {
// Four consecutive floats at a 16-byte-aligned address in one 128-bit load.
__device__ __forceinline__ void load_float4(const float* p, float* out) {
  const float4 v = *reinterpret_cast<const float4*>(p);
  out[0] = v.x;
  out[1] = v.y;
  out[2] = v.z;
  out[3] = v.w;
}
}  // namespace ks::cuda
#else
// A host compiler builds these sources only for the tests' CPU emulator (tests/cuda_emu),
// which defines dim3, threadIdx, __syncthreads(), KS_DYNAMIC_SHARED_FLOATS and an
// alignment-checked ks::cuda::load_float4; the test includes it before the kernels. The
// engine itself never includes test code.
#ifndef KS_CUDA_EMULATOR
#error "a host compiler needs the CUDA emulator (tests/cuda_emu/cuda_emu.h) included first"
#endif
#define KS_UNROLL
#define KS_NO_UNROLL
#define KS_DEVICE
#endif

// Launches `kernel` through `launch` (StreamLauncher on the GPU, the emulator's launcher in
// the tests), naming the kernel and this file:line in any error.
// KS_LAUNCH_AS names it explicitly: for template instances, reported under their template's
// name whatever the arguments.
#define KS_LAUNCH_AS(launch, name, kernel, grid, block, smem_bytes, ...) \
  (launch)(name, __FILE__, __LINE__, (grid), (block), (smem_bytes), kernel, __VA_ARGS__)
#define KS_LAUNCH(launch, kernel, grid, block, smem_bytes, ...) \
  (launch)(#kernel, __FILE__, __LINE__, (grid), (block), (smem_bytes), kernel, __VA_ARGS__)
