// A CPU emulator of the CUDA execution model, for testing the project's kernels on machines
// without a GPU. The kernel sources (engine/src/cuda/*_kernels.cuh) compile with g++ against
// this header, and Launcher runs a launch block by block with one fiber per thread:
// __syncthreads() is a real barrier, so the tiling, halo and barrier logic runs as written.
//
// What it checks that a plain CPU port would not:
// - the launch configuration against CUDA's limits (block and grid sizes, 48 KiB of dynamic
//   shared memory without opt-in);
// - missing barriers: shared memory starts as NaN in every block, and the threads of a block
//   run in ascending order between one pair of barriers and in descending order between the
//   next, so a thread that reads what another has not written yet (or has overwritten
//   already) sees the wrong value in one direction or the other;
// - a barrier reached by only part of the block (undefined behaviour on a GPU);
// - writes past the launch's shared memory (a guard zone checked after every block; the
//   ASan build also catches reads).
// Warp-level behaviour (shuffles, warp-synchronous code) is not modelled; the kernels use
// none.
#pragma once

// engine/src/cuda/kernel_compat.h checks for this before a host compiler reads the kernels.
#define KS_CUDA_EMULATOR 1

#include <cstddef>
#include <cstring>
#include <functional>
#include <stdexcept>
#include <string>
#include <tuple>
#include <type_traits>
#include <utility>
#include <vector>

struct dim3 {
  unsigned x, y, z;
  constexpr dim3(unsigned x_ = 1, unsigned y_ = 1, unsigned z_ = 1) : x(x_), y(y_), z(z_) {}
};

// The built-in variables. The scheduler sets them before it resumes each thread's fiber.
extern dim3 threadIdx, blockIdx, blockDim, gridDim;

#ifndef __global__
#define __global__
#endif
#ifndef __device__
#define __device__
#endif
#ifndef __host__
#define __host__
#endif

void __syncthreads();

#define KS_DYNAMIC_SHARED_FLOATS(name) \
  float* name = static_cast<float*>(::ks_emu::dynamic_shared_memory())

namespace ks_emu {

// A launch CUDA would refuse, or a kernel that broke the execution model.
class LaunchError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

enum class ThreadOrder { AscendingFirst, DescendingFirst };
void set_thread_order(ThreadOrder order);

void* dynamic_shared_memory();

// Throws LaunchError unless `p` is a multiple of `alignment` bytes past the start of
// dynamic shared memory (which a GPU aligns to at least 16 bytes), or of the address space
// for other memory.
void require_aligned(const void* p, size_t alignment, const char* what);

// What a kernel may launch with before cudaFuncSetAttribute raises its limit.
constexpr size_t kSharedMemoryWithoutOptIn = 48 * 1024;

// Runs `body` once per thread of every block of the grid; throws LaunchError, also for more
// than smem_limit bytes of dynamic shared memory.
void run_grid(const std::string& kernel_name, dim3 grid, dim3 block, size_t smem_bytes,
              size_t smem_limit, const std::function<void()>& body);

// Launch statistics, for tests that want to know which kernels ran.
struct LaunchRecord {
  std::string kernel_name;
  dim3 grid, block;
  size_t smem_bytes;
};
const std::vector<LaunchRecord>& launches();
void clear_launches();

// The emulator's counterpart of ks::cuda::StreamLauncher. shared_memory_limit models the
// GPU's opt-in (StreamLauncher opts a kernel in when its launch asks for more than 48 KiB):
// the default is a launch without it, what every GPU allows.
struct Launcher {
  size_t shared_memory_limit = kSharedMemoryWithoutOptIn;

  template <class... Params, class... Args>
  void operator()(const char* kernel_name, const char* file, int line, dim3 grid, dim3 block,
                  size_t smem_bytes, void (*kernel)(Params...), Args... args) const {
    // Like a launch, each thread gets its own copy of the arguments, converted as the call
    // would convert them.
    const std::tuple<std::decay_t<Params>...> copied(args...);
    try {
      run_grid(kernel_name, grid, block, smem_bytes, shared_memory_limit, [&] {
        std::tuple<std::decay_t<Params>...> mine = copied;
        std::apply(kernel, mine);
      });
    } catch (const LaunchError& e) {
      throw LaunchError(std::string(e.what()) + " (launched at " + file + ":" +
                        std::to_string(line) + ")");
    }
  }
};

}  // namespace ks_emu

namespace ks::cuda {
// kernel_compat.h's 128-bit load. The emulator refuses a misaligned address, which the GPU
// would fault on.
inline void load_float4(const float* p, float* out) {
  ks_emu::require_aligned(p, 16, "load_float4");
  std::memcpy(out, p, 4 * sizeof(float));
}
}  // namespace ks::cuda
