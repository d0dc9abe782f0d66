// Per-element index arithmetic of the CUDA kernels, kept free of CUDA types so the same
// inline functions compile with g++ and are unit-tested on the CPU
// (tests/engine_cuda_index_math_test.cpp) even where no GPU exists.
#pragma once

#include <cstdint>

#if defined(__CUDACC__)
#define KS_HD __host__ __device__
#else
#define KS_HD
#endif

namespace ks::cuda {

KS_HD inline int ceil_div(int a, int b) { return (a + b - 1) / b; }
KS_HD inline int64_t ceil_div64(int64_t a, int64_t b) { return (a + b - 1) / b; }
KS_HD inline int min_int(int a, int b) { return a < b ? a : b; }

// Input row (or column) read by output row `out` at tap `k`; the same rule serves
// convolution and involution: out * stride - padding + k * dilation.
KS_HD inline int input_coord(int out, int k, int stride, int padding, int dilation) {
  return out * stride - padding + k * dilation;
}

// True when 0 <= v < n. Out-of-range reads are the zero padding.
KS_HD inline bool in_range(int v, int n) { return v >= 0 && v < n; }

// floor((in + 2p - d(K-1) - 1) / s) + 1, as in PyTorch; <= 0 means no output.
KS_HD inline int conv_out_size(int in, int kernel, int stride, int padding, int dilation) {
  const int span = dilation * (kernel - 1) + 1;
  if (in + 2 * padding < span) return 0;
  return (in + 2 * padding - span) / stride + 1;
}

// Input extent one tile of `tile` consecutive outputs reads: the tile plus its halo.
KS_HD inline int halo_extent(int tile, int kernel, int stride, int dilation) {
  return (tile - 1) * stride + dilation * (kernel - 1) + 1;
}

// The s x s average-pool window of output pixel `out` in ceil mode is [out*s, end): the
// last window is clipped at the border and averages only its in-bounds pixels.
KS_HD inline int pool_begin(int out, int stride) { return out * stride; }
KS_HD inline int pool_end(int out, int stride, int size) {
  return min_int(out * stride + stride, size);
}

// Flat offset of element (n, c, y, x) of an NCHW tensor.
KS_HD inline int64_t nchw_index(int64_t n, int64_t c, int64_t y, int64_t x, int64_t channels,
                                int64_t height, int64_t width) {
  return ((n * channels + c) * height + y) * width + x;
}

struct Nchw {
  int64_t n, c, y, x;
};

// Inverse of nchw_index: what one thread of a one-thread-per-element kernel works on.
KS_HD inline Nchw nchw_unflatten(int64_t flat, int64_t channels, int64_t height, int64_t width) {
  Nchw r;
  r.x = flat % width;
  flat /= width;
  r.y = flat % height;
  flat /= height;
  r.c = flat % channels;
  r.n = flat / channels;
  return r;
}

// Offset of generated kernel value (b, g, k = ky*K + kx, i, j) in [B, G, K*K, H_out, W_out].
KS_HD inline int64_t kernels_index(int64_t b, int64_t g, int64_t k, int64_t i, int64_t j,
                                   int64_t groups, int64_t taps, int64_t h_out, int64_t w_out) {
  return (((b * groups + g) * taps + k) * h_out + i) * w_out + j;
}

// Conv output channel co belongs to group co / (C_out / groups) and reads input channels
// [group * (C_in / groups), ...). Involution channel c uses the kernel of group c / gc.
KS_HD inline int conv_group(int out_channel, int out_per_group) {
  return out_channel / out_per_group;
}
KS_HD inline int involution_group(int channel, int group_channels) {
  return channel / group_channels;
}

// What every GPU from compute capability 7.5 allows without opting in: 48 KiB of dynamic
// shared memory per block (in floats) and 65535 blocks along grid y and z.
constexpr int64_t kSmemBudgetFloats = 48 * 1024 / 4;
constexpr int64_t kMaxGridYZ = 65535;

// Shared-memory plans of the tiled kernels, in floats. The host picks the largest tile
// that fits the budget and falls back to the naive kernel when none does.
// The conv tile: the staged input halos, padded to a multiple of 4 floats so the weights
// after them are 16-byte aligned for vector loads, then the weights of the stage.
KS_HD inline int64_t conv_tile_smem_floats(int tile_rows, int tile_cols, int kernel, int stride,
                                           int dilation, int channels_per_stage,
                                           int out_channels_per_block) {
  const int64_t halo = static_cast<int64_t>(halo_extent(tile_rows, kernel, stride, dilation)) *
                       halo_extent(tile_cols, kernel, stride, dilation);
  const int64_t tiles = (channels_per_stage * halo + 3) / 4 * 4;
  return tiles +
         static_cast<int64_t>(channels_per_stage) * out_channels_per_block * kernel * kernel;
}

KS_HD inline int64_t involution_tile_smem_floats(int tile_rows, int tile_cols, int kernel,
                                                 int stride, int dilation, int channels_per_stage) {
  const int64_t halo = static_cast<int64_t>(halo_extent(tile_rows, kernel, stride, dilation)) *
                       halo_extent(tile_cols, kernel, stride, dilation);
  const int64_t kernels = static_cast<int64_t>(kernel) * kernel * tile_rows * tile_cols;
  return kernels + channels_per_stage * halo;
}

// Floats of the fused kernel-generation block: a chunk of pooled input channels and the
// reduced vector, both for `pixels` pixels.
KS_HD inline int64_t generation_smem_floats(int channel_chunk, int reduced_channels, int pixels) {
  return static_cast<int64_t>(channel_chunk + reduced_channels) * pixels;
}

}  // namespace ks::cuda
