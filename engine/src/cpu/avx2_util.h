// Helpers shared by the *_avx2.cpp files; include only from files built with -mavx2 -mfma.
// Those files avoid standard-library templates: an out-of-line copy instantiated there would
// carry AVX2 code that the linker could pick for the portable path too.
#pragma once

#include <immintrin.h>

#include <cstdint>

namespace ks::cpu {

// Stores the first `lanes` floats of y (all 8 when lanes >= 8, none when lanes <= 0), so
// the tail of a row never writes past its end.
inline void store_lanes(float* dst, __m256 y, int64_t lanes) {
  if (lanes >= 8) {
    _mm256_storeu_ps(dst, y);
  } else if (lanes > 0) {
    const __m256i index = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
    const __m256i mask = _mm256_cmpgt_epi32(_mm256_set1_epi32(static_cast<int>(lanes)), index);
    _mm256_maskstore_ps(dst, mask, y);
  }
}

}  // namespace ks::cpu
