// AVX2/FMA build of the involution backward's row loop (involution_backward_impl.h): the same
// source, each 8-lane loop one ymm register. Called only when the CPU has AVX2 and FMA.
#include "cpu/involution_backward_impl.h"

namespace ks::cpu {

void involution_backward_rows_avx2(const InvolutionBackwardRows& a) {
  involution_backward_rows_any(a);
}

}  // namespace ks::cpu
