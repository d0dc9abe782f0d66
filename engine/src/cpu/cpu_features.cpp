// Run-time dispatch between the AVX-512, AVX2/FMA and portable builds of the inner loops.
#include "cpu/cpu_features.h"

#include <atomic>

#ifdef _OPENMP
#include <omp.h>
#endif

namespace ks::cpu {
namespace {
std::atomic<CpuPath> g_limit{CpuPath::avx512};
}  // namespace

// __builtin_cpu_supports also checks that the OS saves the wider registers (XCR0).
bool cpu_has_avx2_fma() {
#if defined(__x86_64__) || defined(__i386__)
  static const bool supported = [] {
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
  }();
  return supported;
#else
  return false;
#endif
}

bool cpu_has_avx512() {
#if defined(__x86_64__) || defined(__i386__)
  static const bool supported = [] {
    __builtin_cpu_init();
    return cpu_has_avx2_fma() && __builtin_cpu_supports("avx512f");
  }();
  return supported;
#else
  return false;
#endif
}

void limit_path(CpuPath highest) { g_limit.store(highest); }

CpuPath active_path() {
  const CpuPath limit = g_limit.load();
  if (limit == CpuPath::avx512 && cpu_has_avx512()) return CpuPath::avx512;
  if (limit != CpuPath::portable && cpu_has_avx2_fma()) return CpuPath::avx2;
  return CpuPath::portable;
}

const char* active_path_name() {
  switch (active_path()) {
    case CpuPath::avx512:
      return "avx512";
    case CpuPath::avx2:
      return "avx2+fma";
    default:
      return "portable";
  }
}

int thread_count() {
#ifdef _OPENMP
  return omp_get_max_threads();
#else
  return 1;
#endif
}

}  // namespace ks::cpu
