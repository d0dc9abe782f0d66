// Portable build of the row product (kernels.h): plain loops over a fixed-width chunk of
// lanes that the compiler vectorises for whatever baseline ISA the binary targets.
#include <algorithm>

#include "cpu/kernels.h"

namespace ks::cpu {
namespace {

constexpr int kLanes = 16;

template <int CO>
void row_product_block(const RowProduct& r) {
  for (int64_t j0 = 0; j0 < r.width; j0 += kLanes) {
    float acc[CO][kLanes];
    for (int c = 0; c < CO; ++c) {
      const float b = r.bias && !r.scale ? r.bias[c] : 0.0f;
      for (int l = 0; l < kLanes; ++l) acc[c][l] = b;
    }
    const float* w = r.weights;
    // Packed weights step CO floats per (channel, tap); row-major ones one per channel, the
    // rows weight_row_stride apart.
    const int64_t w_step = r.weight_row_stride ? 1 : CO;
    const int64_t w_stride = r.weight_row_stride ? r.weight_row_stride : 1;
    // Only the valid lanes are read here (unlike the AVX2 build), so the tail needs no care.
    const int lanes = static_cast<int>(std::min<int64_t>(kLanes, r.width - j0));
    for (int64_t ci = 0; ci < r.in_channels; ++ci) {
      const float* base = r.in + ci * r.in_channel_stride + j0;
      for (int64_t k = 0; k < r.tap_count; ++k, w += w_step) {
        const float* x = base + r.taps[k];
        if (lanes == kLanes) {
          for (int c = 0; c < CO; ++c)
            for (int l = 0; l < kLanes; ++l) acc[c][l] += w[c * w_stride] * x[l];
        } else {
          for (int c = 0; c < CO; ++c)
            for (int l = 0; l < lanes; ++l) acc[c][l] += w[c * w_stride] * x[l];
        }
      }
    }
    for (int c = 0; c < CO; ++c) {
      if (r.scale) {
        const float b = r.bias ? r.bias[c] : 0.0f;
        for (int l = 0; l < kLanes; ++l) acc[c][l] = acc[c][l] * r.scale[c] + b;
      }
      float* o = r.out + c * r.out_channel_stride + j0;
      for (int l = 0; l < lanes; ++l) o[l] = r.relu ? std::max(acc[c][l], 0.0f) : acc[c][l];
    }
  }
}

}  // namespace

void row_product_portable(const RowProduct& r) {
  switch (r.co_count) {
    case 1:
      return row_product_block<1>(r);
    case 2:
      return row_product_block<2>(r);
    case 3:
      return row_product_block<3>(r);
    default:
      return row_product_block<4>(r);
  }
}

}  // namespace ks::cpu
