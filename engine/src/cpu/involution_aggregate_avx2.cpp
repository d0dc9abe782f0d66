// AVX2/FMA build of the involution aggregation and the kernels copy (kernels.h). The CB
// channels of a group share each loaded kernel vector; CB x NV accumulators stay in
// registers over all K*K taps.
#include <immintrin.h>

#include <cstring>

#include "cpu/avx2_util.h"
#include "cpu/kernels.h"

namespace ks::cpu {
namespace {

template <int CB, int NV>
inline void chunk(const Aggregation& a, int64_t j0, int64_t valid) {
  __m256 acc[CB][NV];
#pragma GCC unroll 16
  for (int c = 0; c < CB; ++c)
#pragma GCC unroll 16
    for (int v = 0; v < NV; ++v) acc[c][v] = _mm256_setzero_ps();
  const float* kern = a.kern + j0;
  const float* in = a.in + j0;
  for (int64_t k = 0; k < a.tap_count; ++k, kern += a.kern_stride) {
    __m256 kv[NV];
#pragma GCC unroll 16
    for (int v = 0; v < NV; ++v) kv[v] = _mm256_loadu_ps(kern + 8 * v);
    const float* x = in + a.taps[k];
#pragma GCC unroll 16
    for (int c = 0; c < CB; ++c)
#pragma GCC unroll 16
      for (int v = 0; v < NV; ++v)
        acc[c][v] =
            _mm256_fmadd_ps(kv[v], _mm256_loadu_ps(x + c * a.in_channel_stride + 8 * v), acc[c][v]);
  }
#pragma GCC unroll 16
  for (int c = 0; c < CB; ++c)
#pragma GCC unroll 16
    for (int v = 0; v < NV; ++v)
      store_lanes(a.out + c * a.out_channel_stride + j0 + 8 * v, acc[c][v], valid - 8 * v);
}

template <int CB, int NV>
inline void tail(const Aggregation& a, int64_t j0, int64_t valid) {
  if constexpr (NV > 1) {
    if (valid <= 8 * (NV - 1)) return tail<CB, NV - 1>(a, j0, valid);
  }
  chunk<CB, NV>(a, j0, valid);
}

template <int CB, int NV>
void row(const Aggregation& a) {
  // Vectors spread evenly over the fewest chunks, so a row of 7 vectors runs as 3+2+2
  // rather than 3+3+1 (a 1-vector chunk reloads every weight for 8 pixels).
  const int64_t vectors = (a.width + 7) / 8, chunks = (vectors + NV - 1) / NV;
  int64_t j = 0;
  for (int64_t i = 0; i < chunks; ++i) {
    const int64_t n = 8 * (vectors / chunks + (i < vectors % chunks ? 1 : 0));
    tail<CB, NV>(a, j, n < a.width - j ? n : a.width - j);
    j += n;
  }
}

}  // namespace

void aggregate_avx2(const Aggregation& group) {
  Aggregation a = group;
  for (int64_t c0 = 0; c0 < group.channels; c0 += kAggregateBlock) {
    a.channels = group.channels - c0 < kAggregateBlock ? group.channels - c0 : kAggregateBlock;
    a.in = group.in + c0 * group.in_channel_stride;
    a.out = group.out + c0 * group.out_channel_stride;
    switch (a.channels) {
      case 1:
        row<1, 6>(a);
        break;
      case 2:
        row<2, 4>(a);
        break;
      case 3:
        row<3, 3>(a);
        break;
      default:
        row<4, 3>(a);
    }
  }
}

void copy_out_avx2(float* dst, const float* src, int64_t count) {
  // Streaming stores need 32-byte aligned destinations: plain stores up to the boundary.
  int64_t head = 0;
  while (head < count && (reinterpret_cast<uintptr_t>(dst + head) & 31) != 0) ++head;
  if (count - head < 64) {
    std::memcpy(dst, src, sizeof(float) * static_cast<size_t>(count));
    return;
  }
  std::memcpy(dst, src, sizeof(float) * static_cast<size_t>(head));
  int64_t i = head;
  for (; i + 8 <= count; i += 8) _mm256_stream_ps(dst + i, _mm256_loadu_ps(src + i));
  std::memcpy(dst + i, src + i, sizeof(float) * static_cast<size_t>(count - i));
  _mm_sfence();  // streaming stores are weakly ordered; publish them before other threads read
}

}  // namespace ks::cpu
