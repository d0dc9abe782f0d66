// Portable build of the fused involution loop (fused_involution_impl.h).
#include "cpu/fused_involution_impl.h"

namespace ks::cpu {

void fused_involution_portable(const FusedInvolution& f) { fused_involution_any(f); }

}  // namespace ks::cpu
