// Run-time dispatch between the AVX2/FMA kernels and the portable ones.
#include "cpu/cpu_features.h"

#include <atomic>

#ifdef _OPENMP
#include <omp.h>
#endif

namespace ks::cpu {
namespace {
std::atomic<bool> g_force_portable{false};
}  // namespace

bool cpu_has_avx2_fma() {
#if defined(__x86_64__) || defined(__i386__)
  // Checked once: the answer cannot change while the process runs.
  static const bool supported = [] {
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
  }();
  return supported;
#else
  return false;
#endif
}

void force_portable_path(bool force) { g_force_portable.store(force); }

bool use_avx2() { return !g_force_portable.load() && cpu_has_avx2_fma(); }

const char* active_path_name() { return use_avx2() ? "avx2+fma" : "portable"; }

int thread_count() {
#ifdef _OPENMP
  return omp_get_max_threads();
#else
  return 1;
#endif
}

}  // namespace ks::cpu
