// The involution kernels of the CUDA backends and the host code that plans and launches
// them. involution.cu compiles this with nvcc and launches on a stream; the CPU emulator
// test (tests/engine_cuda_emulated_test.cpp) compiles the very same code with g++ and runs
// it, so the tiling, halo and barrier logic is tested on machines without a GPU.
//
// Layouts: x [B, C, H, W]; kernels [B, G, K*K, H_out, W_out] (= [B, G*K*K, H_out, W_out]);
// y [B, C, H_out, W_out]; weights as in ks::InvolutionWeights with BN folded
// (GenerationWeights). Reference: engine/src/cpu_ref/involution_ref.cpp.
//
// `Launch` is a callable with StreamLauncher's signature (cuda/stream_launcher.h).
#pragma once

#include <algorithm>
#include <cstdint>

#include "cuda/index_math.h"
#include "cuda/kernel_compat.h"
#include "cuda/kernel_dims.h"

namespace ks::cuda {
namespace {

// --- cuda-naive: each step is one thread per output element reading global memory only.
// The aggregation is the algorithm of the official involution CuPy kernel (d-li14/involution):
// a thread decomposes its flat index into (b, c, h, w) and sums K*K products of its pixel's
// generated kernel with the input window.

constexpr int kInvNaiveThreads = 256;

inline unsigned naive_blocks_for(int64_t total) {
  return static_cast<unsigned>(ceil_div64(total, kInvNaiveThreads));
}

// reduced[b, m, i, j] = ReLU(BN(sum_c W0[m, c] * pool(x)[b, c, i, j]))
__global__ void reduce_naive_kernel(InvolutionDims d, const float* __restrict__ x,
                                    GenerationWeights w, float* __restrict__ reduced,
                                    int64_t total) {
  const int64_t flat = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  if (flat >= total) return;
  const Nchw o = nchw_unflatten(flat, d.reduced_channels, d.out_height, d.out_width);
  const int i = static_cast<int>(o.y), j = static_cast<int>(o.x), m = static_cast<int>(o.c);
  const int y0 = pool_begin(i, d.stride), y1 = pool_end(i, d.stride, d.height);
  const int x0 = pool_begin(j, d.stride), x1 = pool_end(j, d.stride, d.width);
  const float inv_count = 1.0f / static_cast<float>((y1 - y0) * (x1 - x0));
  float sum = 0.0f;
  for (int c = 0; c < d.channels; ++c) {
    float pooled = 0.0f;
    for (int yy = y0; yy < y1; ++yy)
      for (int xx = x0; xx < x1; ++xx)
        pooled += x[nchw_index(o.n, c, yy, xx, d.channels, d.height, d.width)];
    sum += w.reduce_weight[static_cast<int64_t>(m) * d.channels + c] * (pooled * inv_count);
  }
  const float v = sum * w.bn_scale[m] + w.bn_shift[m];
  reduced[flat] = v > 0.0f ? v : 0.0f;
}

// kernels[b, r, i, j] = b1[r] + sum_m W1[r, m] * reduced[b, m, i, j]
__global__ void span_naive_kernel(InvolutionDims d, const float* __restrict__ reduced,
                                  GenerationWeights w, float* __restrict__ kernels, int64_t total) {
  const int64_t flat = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  if (flat >= total) return;
  const int rows = d.groups * d.kernel * d.kernel;
  const Nchw o = nchw_unflatten(flat, rows, d.out_height, d.out_width);
  const int r = static_cast<int>(o.c);
  float v = w.span_bias[r];
  for (int m = 0; m < d.reduced_channels; ++m)
    v += w.span_weight[static_cast<int64_t>(r) * d.reduced_channels + m] *
         reduced[nchw_index(o.n, m, o.y, o.x, d.reduced_channels, d.out_height, d.out_width)];
  kernels[flat] = v;
}

__global__ void aggregate_naive_kernel(InvolutionDims d, const float* __restrict__ x,
                                       const float* __restrict__ kernels, float* __restrict__ y,
                                       int64_t total) {
  const int64_t flat = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  if (flat >= total) return;
  const Nchw o = nchw_unflatten(flat, d.channels, d.out_height, d.out_width);
  const int g = involution_group(static_cast<int>(o.c), d.group_channels);
  const int taps = d.kernel * d.kernel;
  float sum = 0.0f;
  for (int ky = 0; ky < d.kernel; ++ky) {
    const int yy = input_coord(static_cast<int>(o.y), ky, d.stride, d.padding, d.dilation);
    if (!in_range(yy, d.height)) continue;
    for (int kx = 0; kx < d.kernel; ++kx) {
      const int xx = input_coord(static_cast<int>(o.x), kx, d.stride, d.padding, d.dilation);
      if (!in_range(xx, d.width)) continue;
      sum += kernels[kernels_index(o.n, g, ky * d.kernel + kx, o.y, o.x, d.groups, taps,
                                   d.out_height, d.out_width)] *
             x[nchw_index(o.n, o.c, yy, xx, d.channels, d.height, d.width)];
    }
  }
  y[flat] = sum;
}

// Floats of the reduced vector the naive generation keeps between its two steps.
inline long long naive_generation_scratch_floats(const InvolutionDims& d) {
  return static_cast<long long>(d.batch) * d.reduced_channels * d.out_height * d.out_width;
}

template <class Launch>
void launch_involution_generate_naive(const Launch& launch, const InvolutionDims& d, const float* x,
                                      const GenerationWeights& w, float* kernels, float* scratch) {
  const int64_t reduced_total = naive_generation_scratch_floats(d);
  if (reduced_total == 0) return;
  KS_LAUNCH(launch, reduce_naive_kernel, dim3(naive_blocks_for(reduced_total)),
            dim3(kInvNaiveThreads), 0, d, x, w, scratch, reduced_total);
  const int64_t kernels_total =
      static_cast<int64_t>(d.batch) * d.groups * d.kernel * d.kernel * d.out_height * d.out_width;
  KS_LAUNCH(launch, span_naive_kernel, dim3(naive_blocks_for(kernels_total)),
            dim3(kInvNaiveThreads), 0, d, scratch, w, kernels, kernels_total);
}

template <class Launch>
void launch_involution_aggregate_naive(const Launch& launch, const InvolutionDims& d,
                                       const float* x, const float* kernels, float* y) {
  const int64_t total = static_cast<int64_t>(d.batch) * d.channels * d.out_height * d.out_width;
  if (total == 0) return;
  KS_LAUNCH(launch, aggregate_naive_kernel, dim3(naive_blocks_for(total)), dim3(kInvNaiveThreads),
            0, d, x, kernels, y, total);
}

// --- both variants: the kernel-sum map, so a screen downloads G floats per pixel instead of
// G*K*K. kernel_sum[b, g, i, j] = sum_k kernels[b, g, k, i, j], in tap order; one thread per
// output pixel and group, reading consecutive pixels across a warp.
__global__ void kernel_sum_kernel(InvolutionDims d, const float* __restrict__ kernels,
                                  float* __restrict__ kernel_sum, int64_t total) {
  const int64_t flat = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  if (flat >= total) return;
  const int64_t plane = static_cast<int64_t>(d.out_height) * d.out_width;
  const int64_t bg = flat / plane, q = flat % plane;
  const int taps = d.kernel * d.kernel;
  const float* rows = kernels + bg * taps * plane + q;
  float sum = 0.0f;
  for (int k = 0; k < taps; ++k) sum += rows[k * plane];
  kernel_sum[flat] = sum;
}

template <class Launch>
void launch_involution_kernel_sum(const Launch& launch, const InvolutionDims& d,
                                  const float* kernels, float* kernel_sum) {
  const int64_t total = static_cast<int64_t>(d.batch) * d.groups * d.out_height * d.out_width;
  if (total == 0) return;
  KS_LAUNCH(launch, kernel_sum_kernel, dim3(naive_blocks_for(total)), dim3(kInvNaiveThreads), 0, d,
            kernels, kernel_sum, total);
}

// --- cuda, generation: one fused kernel. A block takes 32 consecutive output pixels,
// average-pools their s x s windows (ceil mode: only in-bounds pixels count) for a chunk of
// channels into shared memory, accumulates the reduce 1x1 there, applies the folded BN and
// the ReLU, then writes the span 1x1 rows straight into the kernels tensor. The reduced
// vector never goes to global memory, and the 32 pixels of a warp write 32 consecutive
// floats.

constexpr int kGenPixels = 32;  // one pixel per lane
constexpr int kGenRows = 8;     // warps per block; each takes every 8th channel or row
constexpr int kGenMaxChannelChunk = 64;
constexpr int kGenMinChannelChunk = 8;
constexpr int kGenRegisterReduced = 32;  // C/r up to this keeps the reduced vector in registers

// Channels pooled per stage, or 0 when the reduced vector alone overflows shared memory.
inline int generation_channel_chunk(const InvolutionDims& d) {
  const int64_t room = kSmemBudgetFloats / kGenPixels - d.reduced_channels;
  const int64_t chunk = std::min<int64_t>({room, kGenMaxChannelChunk, d.channels});
  return chunk >= std::min(kGenMinChannelChunk, d.channels) ? static_cast<int>(chunk) : 0;
}

__global__ void generate_fused_kernel(InvolutionDims d, const float* __restrict__ x,
                                      GenerationWeights w, float* __restrict__ kernels,
                                      int channel_chunk) {
  KS_DYNAMIC_SHARED_FLOATS(smem);
  float* pooled = smem;                                // [channel_chunk][kGenPixels]
  float* reduced = smem + channel_chunk * kGenPixels;  // [C/r][kGenPixels]
  const int lane = threadIdx.x, row = threadIdx.y;
  const int64_t plane = static_cast<int64_t>(d.out_height) * d.out_width;
  const int64_t pixel = static_cast<int64_t>(blockIdx.x) * kGenPixels + lane;
  const bool valid = pixel < d.batch * plane;
  int b = 0, i = 0, j = 0;
  if (valid) {
    b = static_cast<int>(pixel / plane);
    const int64_t rest = pixel - b * plane;
    i = static_cast<int>(rest / d.out_width);
    j = static_cast<int>(rest - static_cast<int64_t>(i) * d.out_width);
  }
  const int y0 = pool_begin(i, d.stride), y1 = pool_end(i, d.stride, d.height);
  const int x0 = pool_begin(j, d.stride), x1 = pool_end(j, d.stride, d.width);
  const float inv_count = valid ? 1.0f / static_cast<float>((y1 - y0) * (x1 - x0)) : 0.0f;

  for (int m = row; m < d.reduced_channels; m += kGenRows) reduced[m * kGenPixels + lane] = 0.0f;
  for (int c0 = 0; c0 < d.channels; c0 += channel_chunk) {
    const int n_ch = min_int(channel_chunk, d.channels - c0);
    for (int cc = row; cc < n_ch; cc += kGenRows) {
      float sum = 0.0f;
      if (valid)
        for (int yy = y0; yy < y1; ++yy)
          for (int xx = x0; xx < x1; ++xx)
            sum += x[nchw_index(b, c0 + cc, yy, xx, d.channels, d.height, d.width)];
      pooled[cc * kGenPixels + lane] = sum * inv_count;
    }
    __syncthreads();
    // Every lane of a warp reads the same weight: a broadcast, no bank conflict.
    for (int m = row; m < d.reduced_channels; m += kGenRows) {
      const float* wr = w.reduce_weight + static_cast<int64_t>(m) * d.channels + c0;
      float sum = 0.0f;
      for (int cc = 0; cc < n_ch; ++cc) sum += wr[cc] * pooled[cc * kGenPixels + lane];
      reduced[m * kGenPixels + lane] += sum;
    }
    __syncthreads();
  }
  for (int m = row; m < d.reduced_channels; m += kGenRows) {
    const float v = reduced[m * kGenPixels + lane] * w.bn_scale[m] + w.bn_shift[m];
    reduced[m * kGenPixels + lane] = v > 0.0f ? v : 0.0f;  // ReLU
  }
  __syncthreads();
  if (!valid) return;
  const int taps = d.kernel * d.kernel;
  const int rows = d.groups * taps;
  const int64_t ij = pixel - b * plane;
  // Row r of the span layer is (group r / K*K, tap r % K*K).
  float* out =
      kernels + kernels_index(b, 0, 0, 0, 0, d.groups, taps, d.out_height, d.out_width) + ij;
  if (d.reduced_channels <= kGenRegisterReduced) {
    // The pixel's reduced vector in registers (fully unrolled, so no local memory): each of
    // the G*K*K / 8 span rows this thread computes reuses it, one load per multiply-add.
    float rv[kGenRegisterReduced];
    KS_UNROLL
    for (int m = 0; m < kGenRegisterReduced; ++m)
      rv[m] = m < d.reduced_channels ? reduced[m * kGenPixels + lane] : 0.0f;
    for (int r = row; r < rows; r += kGenRows) {
      const float* ws = w.span_weight + static_cast<int64_t>(r) * d.reduced_channels;
      float v = w.span_bias[r];
      KS_UNROLL
      for (int m = 0; m < kGenRegisterReduced; ++m)
        if (m < d.reduced_channels) v += ws[m] * rv[m];
      out[static_cast<int64_t>(r) * plane] = v;
    }
    return;
  }
  for (int r = row; r < rows; r += kGenRows) {
    const float* ws = w.span_weight + static_cast<int64_t>(r) * d.reduced_channels;
    float v = w.span_bias[r];
    for (int m = 0; m < d.reduced_channels; ++m) v += ws[m] * reduced[m * kGenPixels + lane];
    out[static_cast<int64_t>(r) * plane] = v;
  }
}

// Device scratch the generation needs: none, unless the fused kernel's shared-memory plan
// does not fit (huge C/r) and the naive path takes over.
inline long long fused_generation_scratch_floats(const InvolutionDims& d) {
  return generation_channel_chunk(d) > 0 ? 0 : naive_generation_scratch_floats(d);
}

template <class Launch>
void launch_involution_generate_fused(const Launch& launch, const InvolutionDims& d, const float* x,
                                      const GenerationWeights& w, float* kernels, float* scratch) {
  const int chunk = generation_channel_chunk(d);
  if (chunk == 0) {
    launch_involution_generate_naive(launch, d, x, w, kernels, scratch);
    return;
  }
  const int64_t pixels = static_cast<int64_t>(d.batch) * d.out_height * d.out_width;
  if (pixels == 0) return;
  const size_t smem_bytes = sizeof(float) * static_cast<size_t>(generation_smem_floats(
                                                chunk, d.reduced_channels, kGenPixels));
  KS_LAUNCH(launch, generate_fused_kernel,
            dim3(static_cast<unsigned>(ceil_div64(pixels, kGenPixels))), dim3(kGenPixels, kGenRows),
            smem_bytes, d, x, w, kernels, chunk);
}

// --- cuda, aggregation: a block takes a tile of output pixels (32 x R, or 16 x R and 8 x R
// for narrow images, so a 14-pixel-wide layer does not leave most of a 32-wide tile idle)
// of one group of one image. It stages the K*K generated kernels of each pixel in shared
// memory once and reuses them for all gc channels of the group; for each stage of up to 8
// channels it stages the input tile with its halo, so every input value is read from
// global memory about once per block. The tap loop is outside the channel loop: each
// kernel value is read from shared memory once per stage and feeds up to 8 accumulators,
// about 1.1 shared-memory loads per multiply-add instead of 2.

constexpr int kAggMaxChannelsPerStage = 8;

// A kernel size as a type, for with_kernel_size.
template <int K>
struct KernelSize {
  static constexpr int value = K;
};
constexpr int kAggMaxThreads = 256;

// One stage of the tiled aggregation, shared by aggregate_tiled_kernel and the one-pass
// kernel: the block stages n_ch channels (from channel0) of its input tile with the halo,
// zero padding living in the tile; then each valid thread multiplies its pixel's kernel
// (`kernel`: the K*K taps, n_pixels floats apart in shared memory) into them, taps outside
// channels so each kernel value feeds up to 8 accumulators, and writes its n_ch outputs.
// Every thread of the block calls it: the barriers after staging and before the next stage
// overwrites the tiles are inside. KT: the kernel size known at compile time (its tap loops
// unroll), or 0 for d.kernel. The staging walks rows and columns with the block's own
// shape, so no thread divides, and a warp reads consecutive floats of a row.
template <int KT>
KS_DEVICE inline void aggregate_stage(const InvolutionDims& d, const float* __restrict__ x,
                                      float* __restrict__ y, float* tiles, const float* kernel,
                                      int b, int channel0, int n_ch, int iy0, int ix0, int oy,
                                      int ox, bool valid) {
  const int K = KT > 0 ? KT : d.kernel;
  const int n_pixels = blockDim.x * blockDim.y;
  const int halo_w = halo_extent(blockDim.x, K, d.stride, d.dilation);
  const int halo_h = halo_extent(blockDim.y, K, d.stride, d.dilation);
  const int halo = halo_h * halo_w;
  for (int c = 0; c < n_ch; ++c) {
    const float* plane = x + nchw_index(b, channel0 + c, 0, 0, d.channels, d.height, d.width);
    for (int r = threadIdx.y; r < halo_h; r += blockDim.y) {
      const int yy = iy0 + r;
      const bool row_in = in_range(yy, d.height);
      float* tile_row = tiles + c * halo + r * halo_w;
      for (int col = threadIdx.x; col < halo_w; col += blockDim.x) {
        const int xx = ix0 + col;
        tile_row[col] = row_in && in_range(xx, d.width)
                            ? plane[static_cast<int64_t>(yy) * d.width + xx]
                            : 0.0f;  // zero padding lives in the tile
      }
    }
  }
  __syncthreads();
  if (valid) {
    const float* t = tiles + threadIdx.y * d.stride * halo_w + threadIdx.x * d.stride;
    float acc[kAggMaxChannelsPerStage] = {};
    // Rows rolled, columns unrolled when K is known: unrolling all K*K taps lets the
    // compiler hoist every load and run out of registers.
    KS_NO_UNROLL
    for (int ky = 0; ky < K; ++ky) {
      KS_UNROLL
      for (int kx = 0; kx < K; ++kx) {
        const float kv = kernel[(ky * K + kx) * n_pixels];
        const float* tk = t + ky * d.dilation * halo_w + kx * d.dilation;
        KS_UNROLL
        for (int c = 0; c < kAggMaxChannelsPerStage; ++c)
          if (c < n_ch) acc[c] += kv * tk[c * halo];
      }
    }
    KS_UNROLL
    for (int c = 0; c < kAggMaxChannelsPerStage; ++c)
      if (c < n_ch)
        y[nchw_index(b, channel0 + c, oy, ox, d.channels, d.out_height, d.out_width)] = acc[c];
  }
  __syncthreads();
}

// Calls launch_with(std::integral_constant-like tag) for the compiled kernel sizes: K = 3, 5
// and 7 (the sizes of the paper and of most layers) get their own unrolled instance, any
// other K the generic one (0).
template <class Fn>
void with_kernel_size(int kernel, const Fn& fn) {
  switch (kernel) {
    case 3:
      return fn(KernelSize<3>{});
    case 5:
      return fn(KernelSize<5>{});
    case 7:
      return fn(KernelSize<7>{});
    default:
      return fn(KernelSize<0>{});
  }
}

template <int KT>
__global__ void aggregate_tiled_kernel(InvolutionDims d, const float* __restrict__ x,
                                       const float* __restrict__ kernels, float* __restrict__ y,
                                       int batch_offset, int channels_per_stage) {
  KS_DYNAMIC_SHARED_FLOATS(smem);
  const int taps = d.kernel * d.kernel;
  const int n_pixels = blockDim.x * blockDim.y;
  float* pixel_kernels = smem;            // [taps][n_pixels]
  float* tiles = smem + taps * n_pixels;  // [stage][halo_h][halo_w]

  const int g = blockIdx.z % d.groups;
  const int b = blockIdx.z / d.groups + batch_offset;
  const int oy0 = blockIdx.y * blockDim.y, ox0 = blockIdx.x * blockDim.x;
  const int iy0 = input_coord(oy0, 0, d.stride, d.padding, d.dilation);
  const int ix0 = input_coord(ox0, 0, d.stride, d.padding, d.dilation);
  const int oy = oy0 + threadIdx.y, ox = ox0 + threadIdx.x;
  const bool valid = oy < d.out_height && ox < d.out_width;
  const int tid = threadIdx.y * blockDim.x + threadIdx.x;

  // Each thread stages the kernel of its own pixel (consecutive floats per warp and tap).
  for (int k = 0; k < taps; ++k)
    pixel_kernels[k * n_pixels + tid] =
        valid ? kernels[kernels_index(b, g, k, oy, ox, d.groups, taps, d.out_height, d.out_width)]
              : 0.0f;

  for (int c0 = 0; c0 < d.group_channels; c0 += channels_per_stage) {
    const int n_ch = min_int(channels_per_stage, d.group_channels - c0);
    aggregate_stage<KT>(d, x, y, tiles, pixel_kernels + tid, b, g * d.group_channels + c0, n_ch,
                        iy0, ix0, oy, ox, valid);
  }
}

// How the tiled aggregation is launched for a shape; `rows == 0` means the naive kernel.
struct AggregationPlan {
  int cols = 0, rows = 0;  // the tile, cols x rows output pixels, one thread each
  int channels_per_stage = 0;
  int images_per_launch = 0;  // gridDim.z holds (image, group): split batches that overflow it
  size_t smem_bytes = 0;
};

// Tile width: a warp's worth of columns unless the image is narrower.
inline int aggregation_tile_cols(int out_width) {
  if (out_width > 16) return 32;
  return out_width > 8 ? 16 : 8;
}

inline AggregationPlan plan_involution_aggregate_tiled(const InvolutionDims& d) {
  AggregationPlan p;
  const int cols = aggregation_tile_cols(d.out_width);
  // The tallest tile (at most 256 threads) whose kernels and one channel's halo fit.
  for (int r = kAggMaxThreads / cols; r >= 1; r /= 2) {
    const int64_t base = involution_tile_smem_floats(r, cols, d.kernel, d.stride, d.dilation, 0);
    const int64_t one = involution_tile_smem_floats(r, cols, d.kernel, d.stride, d.dilation, 1);
    if (one <= kSmemBudgetFloats) {
      p.cols = cols;
      p.rows = r;
      p.channels_per_stage = static_cast<int>(std::min<int64_t>(
          {(kSmemBudgetFloats - base) / (one - base), d.group_channels, kAggMaxChannelsPerStage}));
      break;
    }
  }
  if (p.rows == 0 || ceil_div64(d.out_height, p.rows) > kMaxGridYZ || d.groups > kMaxGridYZ)
    return AggregationPlan{};
  p.smem_bytes =
      sizeof(float) * static_cast<size_t>(involution_tile_smem_floats(
                          p.rows, p.cols, d.kernel, d.stride, d.dilation, p.channels_per_stage));
  p.images_per_launch =
      static_cast<int>(std::min<int64_t>(d.batch, std::max<int64_t>(1, kMaxGridYZ / d.groups)));
  return p;
}

template <class Launch>
void launch_involution_aggregate_tiled(const Launch& launch, const InvolutionDims& d,
                                       const float* x, const float* kernels, float* y) {
  if (static_cast<int64_t>(d.batch) * d.channels * d.out_height * d.out_width == 0) return;
  const AggregationPlan p = plan_involution_aggregate_tiled(d);
  if (p.rows == 0) {
    launch_involution_aggregate_naive(launch, d, x, kernels, y);
    return;
  }
  for (int b0 = 0; b0 < d.batch; b0 += p.images_per_launch) {
    const int n_images = std::min(p.images_per_launch, d.batch - b0);
    const dim3 grid(static_cast<unsigned>(ceil_div(d.out_width, p.cols)),
                    static_cast<unsigned>(ceil_div(d.out_height, p.rows)),
                    static_cast<unsigned>(n_images * d.groups));
    with_kernel_size(d.kernel, [&](auto k) {
      KS_LAUNCH_AS(launch, "aggregate_tiled_kernel", aggregate_tiled_kernel<decltype(k)::value>,
                   grid, dim3(p.cols, p.rows), p.smem_bytes, d, x, kernels, y, b0,
                   p.channels_per_stage);
    });
  }
}

// --- cuda, one pass: generation and aggregation in one kernel, so the kernels tensor is
// neither written nor read back unless the caller asks for it (KernelsMode::Full). A block
// takes a tile of output pixels (as the tiled aggregation: cols x rows) of one image and a
// range of groups. Each thread owns one pixel: it pools the pixel's window, makes the reduced
// vector (reduce 1x1 -> BN -> ReLU), and for each group generates the K*K kernel values into
// its own column of shared memory, adds them up for the kernel-sum map and writes them out
// only when asked. The block then stages the group's input tile with its halo, a few
// channels at a time, and each thread multiplies its own kernel in. The arithmetic is in the
// reference's order (reduce over c, span over m, taps in ky, kx order).
//
// The span, for a reduced vector of at most kGenRegisterReduced values (every RGB image and
// most layers): the vector stays in registers, and the group's span weights are staged in
// shared memory with each row padded to a multiple of 4 (zeros), so one 128-bit load feeds
// four multiply-adds and no weight is read from global memory per pixel. Wider vectors keep
// theirs in a shared-memory column and read the weights from global memory.

// Blocks the one-pass plan aims for when the device's SM count is not known: small maps
// split the groups over blocks (each recomputes the reduced vector) until there are this
// many, two per SM of a 132-SM H100.
constexpr int64_t kOnePassTargetBlocks = 264;

// The span weights a one-pass block stages (0: none, the vector is too wide): K*K rows of
// the reduced width rounded up to 4, then the K*K biases, rounded up to 4 so what follows
// stays 16-byte aligned.
KS_HD inline int64_t one_pass_weight_floats(int kernel, int reduced_channels) {
  if (reduced_channels > kGenRegisterReduced) return 0;
  const int64_t taps = static_cast<int64_t>(kernel) * kernel;
  return taps * ((reduced_channels + 3) / 4 * 4) + (taps + 3) / 4 * 4;
}

struct OnePassPlan {
  int cols = 0, rows = 0;  // the tile; rows == 0: no plan fits, use the two passes
  int channels_per_stage = 0;
  int groups_per_block = 0;
  int group_splits = 0;  // blocks along z per image
  size_t smem_bytes = 0;
};

inline int64_t one_pass_smem_floats(int rows, int cols, const InvolutionDims& d,
                                    int channels_per_stage) {
  const int64_t pixels = static_cast<int64_t>(rows) * cols;
  const int64_t columns = (static_cast<int64_t>(d.reduced_channels) + d.kernel * d.kernel) * pixels;
  return one_pass_weight_floats(d.kernel, d.reduced_channels) + columns +
         involution_tile_smem_floats(rows, cols, d.kernel, d.stride, d.dilation,
                                     channels_per_stage) -
         static_cast<int64_t>(d.kernel) * d.kernel * pixels;  // the tile counts the kernels
}

// smem_budget_floats: the shared memory a block may have, kSmemBudgetFloats (48 KiB) unless
// the device lets kernels opt in to more (one_pass_smem_budget_floats).
inline OnePassPlan plan_involution_one_pass(const InvolutionDims& d,
                                            int64_t target_blocks = kOnePassTargetBlocks,
                                            int64_t smem_budget_floats = kSmemBudgetFloats) {
  OnePassPlan p;
  const int cols = aggregation_tile_cols(d.out_width);
  for (int r = kAggMaxThreads / cols; r >= 1; r /= 2) {
    const int64_t base = one_pass_smem_floats(r, cols, d, 0);
    const int64_t one = one_pass_smem_floats(r, cols, d, 1);
    if (one <= smem_budget_floats) {
      p.cols = cols;
      p.rows = r;
      p.channels_per_stage = static_cast<int>(std::min<int64_t>(
          {(smem_budget_floats - base) / (one - base), d.group_channels, kAggMaxChannelsPerStage}));
      break;
    }
  }
  if (p.rows == 0 || ceil_div64(d.out_height, p.rows) > kMaxGridYZ) return OnePassPlan{};
  const int64_t tiles =
      ceil_div64(d.out_width, p.cols) * ceil_div64(d.out_height, p.rows) * std::max(d.batch, 1);
  int splits = 1;
  while (splits < d.groups && tiles * splits < target_blocks) splits *= 2;
  p.groups_per_block = static_cast<int>(ceil_div64(d.groups, std::min(splits, d.groups)));
  p.group_splits = static_cast<int>(ceil_div64(d.groups, p.groups_per_block));
  if (static_cast<int64_t>(d.batch) * p.group_splits > kMaxGridYZ) return OnePassPlan{};
  p.smem_bytes = sizeof(float) *
                 static_cast<size_t>(one_pass_smem_floats(p.rows, p.cols, d, p.channels_per_stage));
  return p;
}

// The one-pass budget on a device whose kernels may opt in to optin_bytes of dynamic shared
// memory per block (0: unknown): up to 96 KiB, so two blocks still share an SM of any GPU
// that offers that much; never below the 48 KiB every GPU gives.
inline int64_t one_pass_smem_budget_floats(int64_t optin_bytes) {
  return std::clamp<int64_t>(optin_bytes, kSmemBudgetFloats * 4, 96 * 1024) / 4;
}

// KT: K known at compile time (3, 5, 7; with_kernel_size), or 0 for d.kernel.
template <int KT>
__global__ void involution_one_pass_kernel(InvolutionDims d, const float* __restrict__ x,
                                           GenerationWeights w, float* __restrict__ y,
                                           float* __restrict__ kernels,
                                           float* __restrict__ kernel_sum, int channels_per_stage,
                                           int groups_per_block, int group_splits) {
  KS_DYNAMIC_SHARED_FLOATS(smem);
  const int K = KT > 0 ? KT : d.kernel;
  const int taps = K * K;
  const int R = d.reduced_channels;
  const int n_pixels = blockDim.x * blockDim.y;
  // Short reduced vectors: registers, with the span weights staged (see above).
  const bool in_registers = R <= kGenRegisterReduced;
  const int R4 = (R + 3) / 4 * 4;  // a staged weight row
  const int weight_floats = static_cast<int>(one_pass_weight_floats(K, R));
  float* span_w = smem;                            // [taps][R4], when in_registers
  float* span_b = smem + taps * R4;                // [taps]
  float* reduced = smem + weight_floats;           // [R][n_pixels]
  float* pixel_kernels = reduced + R * n_pixels;   // [taps][n_pixels]
  float* tiles = pixel_kernels + taps * n_pixels;  // [stage][halo_h][halo_w]

  const int b = blockIdx.z / group_splits;
  const int g0 = (blockIdx.z % group_splits) * groups_per_block;
  const int g1 = min_int(d.groups, g0 + groups_per_block);
  const int oy0 = blockIdx.y * blockDim.y, ox0 = blockIdx.x * blockDim.x;
  const int iy0 = input_coord(oy0, 0, d.stride, d.padding, d.dilation);
  const int ix0 = input_coord(ox0, 0, d.stride, d.padding, d.dilation);
  const int oy = oy0 + threadIdx.y, ox = ox0 + threadIdx.x;
  const bool valid = oy < d.out_height && ox < d.out_width;
  const int tid = threadIdx.y * blockDim.x + threadIdx.x;
  float* my_reduced = reduced + tid;
  float* my_kernels = pixel_kernels + tid;

  if (valid) {
    // pool (ceil mode) -> reduce 1x1, accumulated over the channels in their order.
    const int y0 = pool_begin(oy, d.stride), y1 = pool_end(oy, d.stride, d.height);
    const int x0 = pool_begin(ox, d.stride), x1 = pool_end(ox, d.stride, d.width);
    const float inv_count = 1.0f / static_cast<float>((y1 - y0) * (x1 - x0));
    for (int m = 0; m < R; ++m) my_reduced[m * n_pixels] = 0.0f;
    for (int c = 0; c < d.channels; ++c) {
      float pooled = 0.0f;
      for (int yy = y0; yy < y1; ++yy)
        for (int xx = x0; xx < x1; ++xx)
          pooled += x[nchw_index(b, c, yy, xx, d.channels, d.height, d.width)];
      pooled *= inv_count;
      for (int m = 0; m < R; ++m)
        my_reduced[m * n_pixels] +=
            w.reduce_weight[static_cast<int64_t>(m) * d.channels + c] * pooled;
    }
    for (int m = 0; m < R; ++m) {
      const float v = my_reduced[m * n_pixels] * w.bn_scale[m] + w.bn_shift[m];
      my_reduced[m * n_pixels] = v > 0.0f ? v : 0.0f;  // ReLU
    }
  }

  // Zeros past R, so the padded weight columns add nothing.
  float rv[kGenRegisterReduced];
  KS_UNROLL
  for (int m = 0; m < kGenRegisterReduced; ++m)
    rv[m] = valid && in_registers && m < R ? my_reduced[m * n_pixels] : 0.0f;

  for (int g = g0; g < g1; ++g) {
    if (in_registers) {
      // The group's span weights. The previous group's were last read before its
      // aggregation, whose stages end with barriers; this one's are read after the next.
      for (int k = threadIdx.y; k < taps; k += blockDim.y)
        for (int m = threadIdx.x; m < R4; m += blockDim.x)
          span_w[k * R4 + m] =
              m < R ? w.span_weight[(static_cast<int64_t>(g) * taps + k) * R + m] : 0.0f;
      for (int k = tid; k < taps; k += n_pixels) span_b[k] = w.span_bias[g * taps + k];
      __syncthreads();
    }
    if (valid) {
      // span 1x1: the K*K kernel values of this pixel and group.
      float sum = 0.0f;
      for (int k = 0; k < taps; ++k) {
        float v;
        if (in_registers) {
          v = span_b[k];
          const float* ws = span_w + k * R4;
          KS_UNROLL
          for (int m = 0; m < kGenRegisterReduced; m += 4)
            if (m < R4) {
              float w4[4];
              load_float4(ws + m, w4);
              v += w4[0] * rv[m];
              v += w4[1] * rv[m + 1];
              v += w4[2] * rv[m + 2];
              v += w4[3] * rv[m + 3];
            }
        } else {
          const int r = g * taps + k;
          const float* ws = w.span_weight + static_cast<int64_t>(r) * R;
          v = w.span_bias[r];
          for (int m = 0; m < R; ++m) v += ws[m] * my_reduced[m * n_pixels];
        }
        my_kernels[k * n_pixels] = v;
        sum += v;
        if (kernels)
          kernels[kernels_index(b, g, k, oy, ox, d.groups, taps, d.out_height, d.out_width)] = v;
      }
      if (kernel_sum)
        kernel_sum[nchw_index(b, g, oy, ox, d.groups, d.out_height, d.out_width)] = sum;
    }
    for (int c0 = 0; c0 < d.group_channels; c0 += channels_per_stage) {
      const int n_ch = min_int(channels_per_stage, d.group_channels - c0);
      aggregate_stage<KT>(d, x, y, tiles, my_kernels, b, g * d.group_channels + c0, n_ch, iy0, ix0,
                          oy, ox, valid);
    }
  }
}

// Runs the one-pass kernel and returns true, or returns false (nothing launched) when no
// tile fits shared memory: the caller then generates into a kernels tensor and aggregates.
// kernels (the full tensor) and kernel_sum may be null: they are written only when given.
// target_blocks and smem_budget_floats: plan_involution_one_pass's (the launcher must allow
// the budget: StreamLauncher opts in above 48 KiB).
template <class Launch>
bool launch_involution_one_pass(const Launch& launch, const InvolutionDims& d, const float* x,
                                const GenerationWeights& w, float* y, float* kernels,
                                float* kernel_sum, int64_t target_blocks = kOnePassTargetBlocks,
                                int64_t smem_budget_floats = kSmemBudgetFloats) {
  const OnePassPlan p = plan_involution_one_pass(d, target_blocks, smem_budget_floats);
  if (p.rows == 0) return false;
  if (static_cast<int64_t>(d.batch) * d.out_height * d.out_width == 0) return true;
  const dim3 grid(static_cast<unsigned>(ceil_div(d.out_width, p.cols)),
                  static_cast<unsigned>(ceil_div(d.out_height, p.rows)),
                  static_cast<unsigned>(d.batch * p.group_splits));
  with_kernel_size(d.kernel, [&](auto k) {
    KS_LAUNCH_AS(launch, "involution_one_pass_kernel",
                 involution_one_pass_kernel<decltype(k)::value>, grid, dim3(p.cols, p.rows),
                 p.smem_bytes, d, x, w, y, kernels, kernel_sum, p.channels_per_stage,
                 p.groups_per_block, p.group_splits);
  });
  return true;
}

}  // namespace
}  // namespace ks::cuda
