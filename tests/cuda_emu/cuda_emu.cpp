// The fiber scheduler behind cuda_emu.h. One OS thread runs everything: each CUDA thread of
// the current block is a ucontext fiber with its own stack, resumed in turn until it either
// finishes or calls __syncthreads(); when every thread waits at the barrier, all resume.
#include "cuda_emu.h"

#include <ucontext.h>

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <exception>
#include <memory>
#include <vector>

#if defined(__SANITIZE_ADDRESS__)
#include <sanitizer/common_interface_defs.h>
#define KS_EMU_ASAN 1
#endif

dim3 threadIdx, blockIdx, blockDim, gridDim;

namespace ks_emu {
namespace {

constexpr size_t kStackBytes = 256 * 1024;
constexpr size_t kGuardBytes = 4096;
constexpr unsigned char kGuardByte = 0xA5;

enum class State { Ready, AtBarrier, Done };

struct Fiber {
  ucontext_t context{};
  std::unique_ptr<char[]> stack;
  State state = State::Ready;
  dim3 index;
};

struct Scheduler {
  ucontext_t home{};
  std::vector<Fiber> fibers;
  Fiber* current = nullptr;
  const std::function<void()>* body = nullptr;
  std::exception_ptr error;
  std::vector<unsigned char> shared;
  ThreadOrder order = ThreadOrder::AscendingFirst;
  std::vector<LaunchRecord> launches;
#ifdef KS_EMU_ASAN
  const void* home_stack_bottom = nullptr;
  size_t home_stack_size = 0;
#endif
};

Scheduler& scheduler() {
  static Scheduler s;
  return s;
}

// Switches between the scheduler and a fiber, telling ASan which stack is live.
void switch_to_fiber(Fiber& f) {
  Scheduler& s = scheduler();
#ifdef KS_EMU_ASAN
  void* fake_stack = nullptr;
  __sanitizer_start_switch_fiber(&fake_stack, f.stack.get(), kStackBytes);
  swapcontext(&s.home, &f.context);
  __sanitizer_finish_switch_fiber(fake_stack, nullptr, nullptr);
#else
  swapcontext(&s.home, &f.context);
#endif
}

void switch_to_scheduler(bool finished) {
  Scheduler& s = scheduler();
#ifdef KS_EMU_ASAN
  void* fake_stack = nullptr;
  __sanitizer_start_switch_fiber(finished ? nullptr : &fake_stack, s.home_stack_bottom,
                                 s.home_stack_size);
  swapcontext(&s.current->context, &s.home);
  __sanitizer_finish_switch_fiber(fake_stack, nullptr, nullptr);
#else
  (void)finished;
  swapcontext(&s.current->context, &s.home);
#endif
}

void fiber_main() {
  Scheduler& s = scheduler();
#ifdef KS_EMU_ASAN
  __sanitizer_finish_switch_fiber(nullptr, &s.home_stack_bottom, &s.home_stack_size);
#endif
  try {
    (*s.body)();
  } catch (...) {
    if (!s.error) s.error = std::current_exception();
  }
  s.current->state = State::Done;
  switch_to_scheduler(true);
}

std::string dims_text(dim3 d) {
  return "(" + std::to_string(d.x) + ", " + std::to_string(d.y) + ", " + std::to_string(d.z) + ")";
}

// The limits of every GPU from compute capability 7.5 on; dynamic shared memory up to
// smem_limit (48 KiB without the kernel's opt-in, Launcher::shared_memory_limit).
void check_configuration(const std::string& name, dim3 grid, dim3 block, size_t smem_bytes,
                         size_t smem_limit) {
  const uint64_t threads = static_cast<uint64_t>(block.x) * block.y * block.z;
  const auto refuse = [&](const std::string& why) {
    throw LaunchError("launch of " + name + " with grid " + dims_text(grid) + ", block " +
                      dims_text(block) + ", " + std::to_string(smem_bytes) +
                      " bytes of shared memory: " + why);
  };
  if (threads == 0 || grid.x == 0 || grid.y == 0 || grid.z == 0) refuse("empty grid or block");
  if (threads > 1024 || block.x > 1024 || block.y > 1024 || block.z > 64)
    refuse("block larger than CUDA allows");
  if (grid.x > 2147483647u || grid.y > 65535 || grid.z > 65535)
    refuse("grid larger than CUDA allows");
  if (smem_bytes > smem_limit)
    refuse("more than " + std::to_string(smem_limit / 1024) + " KiB of dynamic shared memory" +
           (smem_limit == kSharedMemoryWithoutOptIn ? " (no opt-in)" : ""));
}

void run_block(Scheduler& s, const std::string& name, dim3 block, size_t smem_bytes) {
  // NaN in every float of shared memory until a thread writes it, then the guard zone.
  s.shared.assign(smem_bytes + kGuardBytes, kGuardByte);
  std::memset(s.shared.data(), 0xFF, smem_bytes);
  const size_t n = static_cast<size_t>(block.x) * block.y * block.z;
  for (size_t t = 0; t < n; ++t) {
    Fiber& f = s.fibers[t];
    f.state = State::Ready;
    f.index = dim3(static_cast<unsigned>(t % block.x), static_cast<unsigned>(t / block.x % block.y),
                   static_cast<unsigned>(t / (static_cast<size_t>(block.x) * block.y)));
    getcontext(&f.context);
    f.context.uc_stack.ss_sp = f.stack.get();
    f.context.uc_stack.ss_size = kStackBytes;
    f.context.uc_link = nullptr;
    makecontext(&f.context, fiber_main, 0);
  }
  for (int phase = 0;; ++phase) {
    const bool ascending = (phase % 2 == 0) == (s.order == ThreadOrder::AscendingFirst);
    for (size_t i = 0; i < n; ++i) {
      Fiber& f = s.fibers[ascending ? i : n - 1 - i];
      if (f.state != State::Ready) continue;
      threadIdx = f.index;
      s.current = &f;
      switch_to_fiber(f);
    }
    if (s.error) std::rethrow_exception(s.error);
    const size_t done = static_cast<size_t>(
        std::count_if(s.fibers.begin(), s.fibers.begin() + static_cast<std::ptrdiff_t>(n),
                      [](const Fiber& f) { return f.state == State::Done; }));
    if (done == n) break;
    if (done > 0)
      throw LaunchError(name + ": __syncthreads() reached by " + std::to_string(n - done) +
                        " of the " + std::to_string(n) + " threads of block " +
                        dims_text(blockIdx) + "; the others had returned");
    for (size_t t = 0; t < n; ++t) s.fibers[t].state = State::Ready;
  }
  for (size_t i = smem_bytes; i < s.shared.size(); ++i)
    if (s.shared[i] != kGuardByte)
      throw LaunchError(name + ": block " + dims_text(blockIdx) + " wrote " +
                        std::to_string(i - smem_bytes) + " bytes past its " +
                        std::to_string(smem_bytes) + " bytes of shared memory");
}

}  // namespace

void set_thread_order(ThreadOrder order) { scheduler().order = order; }

void* dynamic_shared_memory() { return scheduler().shared.data(); }

void require_aligned(const void* p, size_t alignment, const char* what) {
  const auto address = reinterpret_cast<uintptr_t>(p);
  const auto shared = reinterpret_cast<uintptr_t>(scheduler().shared.data());
  const bool in_shared = address >= shared && address < shared + scheduler().shared.size();
  const uintptr_t offset = in_shared ? address - shared : address;
  if (offset % alignment != 0)
    throw LaunchError(std::string(what) + ": address " +
                      (in_shared ? std::to_string(offset) + " bytes into shared memory"
                                 : std::to_string(address)) +
                      " is not " + std::to_string(alignment) + "-byte aligned");
}

const std::vector<LaunchRecord>& launches() { return scheduler().launches; }
void clear_launches() { scheduler().launches.clear(); }

void run_grid(const std::string& kernel_name, dim3 grid, dim3 block, size_t smem_bytes,
              size_t smem_limit, const std::function<void()>& body) {
  check_configuration(kernel_name, grid, block, smem_bytes, smem_limit);
  Scheduler& s = scheduler();
  if (s.current != nullptr) throw LaunchError("launch of " + kernel_name + " from inside a kernel");
  s.launches.push_back({kernel_name, grid, block, smem_bytes});
  const size_t n = static_cast<size_t>(block.x) * block.y * block.z;
  while (s.fibers.size() < n) {
    s.fibers.emplace_back();
    s.fibers.back().stack.reset(new char[kStackBytes]);
  }
  s.body = &body;
  s.error = nullptr;
  gridDim = grid;
  blockDim = block;
  try {
    for (unsigned z = 0; z < grid.z; ++z)
      for (unsigned y = 0; y < grid.y; ++y)
        for (unsigned x = 0; x < grid.x; ++x) {
          blockIdx = dim3(x, y, z);
          run_block(s, kernel_name, block, smem_bytes);
        }
  } catch (...) {
    s.current = nullptr;
    s.body = nullptr;
    throw;
  }
  s.current = nullptr;
  s.body = nullptr;
}

}  // namespace ks_emu

void __syncthreads() {
  ks_emu::Scheduler& s = ks_emu::scheduler();
  if (s.current == nullptr) throw ks_emu::LaunchError("__syncthreads() outside a kernel");
  s.current->state = ks_emu::State::AtBarrier;
  ks_emu::switch_to_scheduler(false);
}
