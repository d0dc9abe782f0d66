// Run-time CPU feature selection and threading helpers of the "cpu" backend. One binary
// carries an AVX2/FMA path and a portable path; the choice is made here, once per call.
#pragma once

#include <cstdint>

namespace ks::cpu {

// True when the processor (and OS) supports AVX2 and FMA.
bool cpu_has_avx2_fma();
// Tests force the portable path to cover it on AVX2 machines; false restores detection.
void force_portable_path(bool force);
// The path the kernels take now: AVX2/FMA when supported and not forced off.
bool use_avx2();
// "avx2+fma" or "portable", for descriptions and benchmark tables.
const char* active_path_name();
// Worker threads the parallel loops use (all cores by default).
int thread_count();

}  // namespace ks::cpu
