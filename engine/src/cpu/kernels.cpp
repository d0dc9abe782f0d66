// Picks the AVX-512, AVX2/FMA or portable build of the inner loops, once per operator call.
#include "cpu/kernels.h"

#include "cpu/cpu_features.h"

namespace ks::cpu {

const KernelTable& kernels_for_this_cpu() {
  static const KernelTable portable{row_product_portable, aggregate_portable, copy_out_portable,
                                    fused_involution_portable, involution_backward_rows_portable};
  static const KernelTable avx2{row_product_avx2, aggregate_avx2, copy_out_avx2,
                                fused_involution_avx2, involution_backward_rows_avx2};
  static const KernelTable avx512{row_product_avx512, aggregate_avx512, copy_out_avx2,
                                  fused_involution_avx512, involution_backward_rows_avx2};
  switch (active_path()) {
    case CpuPath::avx512:
      return avx512;
    case CpuPath::avx2:
      return avx2;
    default:
      return portable;
  }
}

}  // namespace ks::cpu
