// AVX2/FMA build of the fused involution loop (fused_involution_impl.h): the same source, each
// 8-lane loop one ymm register. Called only when the CPU has AVX2 and FMA.
#include "cpu/fused_involution_impl.h"

namespace ks::cpu {

void fused_involution_avx2(const FusedInvolution& f) { fused_involution_any(f); }

}  // namespace ks::cpu
