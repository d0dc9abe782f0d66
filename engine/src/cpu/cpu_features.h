// Run-time CPU feature selection and threading helpers of the "cpu" backend. One binary
// carries AVX-512, AVX2/FMA and portable builds of the inner loops; the choice is made
// here, once per call.
#pragma once

#include <cstdint>

namespace ks::cpu {

enum class CpuPath { avx512, avx2, portable };

// What the processor (and OS) supports.
bool cpu_has_avx2_fma();
bool cpu_has_avx512();
// Caps the path the kernels take, so tests cover every build on a machine that has the best
// one: avx512 (no cap, the default), avx2, or portable.
void limit_path(CpuPath highest);
// The path the kernels take now: the best the CPU supports within the cap.
CpuPath active_path();
// "avx512", "avx2+fma" or "portable", for descriptions and benchmark tables.
const char* active_path_name();
// Worker threads the parallel loops use (all cores by default).
int thread_count();

}  // namespace ks::cpu
