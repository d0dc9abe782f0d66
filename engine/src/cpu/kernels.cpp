// Picks the AVX2/FMA or the portable build of the inner loops, once per operator call.
#include "cpu/kernels.h"

#include "cpu/cpu_features.h"

namespace ks::cpu {

const KernelTable& kernels_for_this_cpu() {
  static const KernelTable portable{row_product_portable, aggregate_portable, copy_out_portable};
  static const KernelTable avx2{row_product_avx2, aggregate_avx2, copy_out_avx2};
  return use_avx2() ? avx2 : portable;
}

}  // namespace ks::cpu
