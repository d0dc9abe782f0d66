// Portable build of the involution backward's row loop (involution_backward_impl.h).
#include "cpu/involution_backward_impl.h"

namespace ks::cpu {

void involution_backward_rows_portable(const InvolutionBackwardRows& a) {
  involution_backward_rows_any(a);
}

}  // namespace ks::cpu
