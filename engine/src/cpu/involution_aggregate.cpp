// Portable build of the involution aggregation and the kernels copy (kernels.h).
#include <algorithm>
#include <cstring>

#include "cpu/kernels.h"

namespace ks::cpu {
namespace {

constexpr int kLanes = 16;

template <int CB>
void aggregate_block(const Aggregation& a) {
  for (int64_t j0 = 0; j0 < a.width; j0 += kLanes) {
    const int lanes = static_cast<int>(std::min<int64_t>(kLanes, a.width - j0));
    float acc[CB][kLanes] = {};
    for (int64_t k = 0; k < a.tap_count; ++k) {
      const float* kern = a.kern + k * a.kern_stride + j0;
      for (int c = 0; c < CB; ++c) {
        const float* x = a.in + c * a.in_channel_stride + a.taps[k] + j0;
        for (int l = 0; l < lanes; ++l) acc[c][l] += kern[l] * x[l];
      }
    }
    for (int c = 0; c < CB; ++c)
      std::memcpy(a.out + c * a.out_channel_stride + j0, acc[c],
                  sizeof(float) * static_cast<size_t>(lanes));
  }
}

}  // namespace

void aggregate_portable(const Aggregation& group) {
  Aggregation a = group;
  for (int64_t c0 = 0; c0 < group.channels; c0 += kAggregateBlock) {
    a.channels = std::min<int64_t>(kAggregateBlock, group.channels - c0);
    a.in = group.in + c0 * group.in_channel_stride;
    a.out = group.out + c0 * group.out_channel_stride;
    switch (a.channels) {
      case 1:
        aggregate_block<1>(a);
        break;
      case 2:
        aggregate_block<2>(a);
        break;
      case 3:
        aggregate_block<3>(a);
        break;
      default:
        aggregate_block<4>(a);
    }
  }
}

void copy_out_portable(float* dst, const float* src, int64_t count) {
  std::memcpy(dst, src, sizeof(float) * static_cast<size_t>(count));
}

}  // namespace ks::cpu
