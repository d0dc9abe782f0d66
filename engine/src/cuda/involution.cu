// Involution for the "cuda" backend: kernel generation and aggregation.
//
// Layouts: x [B, C, H, W]; kernels [B, G, K*K, H_out, W_out]; y [B, C, H_out, W_out];
// weights as in ks::InvolutionWeights. Reference: engine/src/cpu_ref/involution_ref.cpp.
//
// Generation is one fused kernel: a block takes 32 consecutive output pixels, average-pools
// their s x s windows (ceil mode: only in-bounds pixels count) for a chunk of channels into
// shared memory, accumulates the reduce 1x1 there, applies the folded BN and the ReLU, then
// writes the span 1x1 rows straight into the kernels tensor. The reduced vector never goes
// to global memory, and the 32 pixels of a warp write 32 consecutive floats.
//
// Aggregation gives a block a 32 x R tile of output pixels of one group of one image. It
// stages the K*K generated kernels of each pixel in shared memory once and reuses them for
// all gc channels of the group; for each stage of channels it stages the input tile with its
// halo, so every input value is read from global memory about once per block.
#include <algorithm>

#include "cuda/cuda_check.h"
#include "cuda/cuda_ops.h"
#include "cuda/index_math.h"

namespace ks::cuda {
namespace {

constexpr int64_t kSmemBudgetFloats = 48 * 1024 / 4;  // default limit, no opt-in needed
constexpr int64_t kMaxGridYZ = 65535;

constexpr int kGenPixels = 32;  // one pixel per lane
constexpr int kGenRows = 8;     // warps per block; each takes every 8th channel or row
constexpr int kGenMaxChannelChunk = 64;
constexpr int kGenMinChannelChunk = 8;

constexpr int kAggCols = 32;
constexpr int kAggMaxChannelsPerStage = 8;

// Channels pooled per stage, or 0 when the reduced vector alone overflows shared memory.
int generation_channel_chunk(const InvolutionDims& d) {
  const int64_t room = kSmemBudgetFloats / kGenPixels - d.reduced_channels;
  const int64_t chunk = std::min<int64_t>({room, kGenMaxChannelChunk, d.channels});
  return chunk >= std::min(kGenMinChannelChunk, d.channels) ? static_cast<int>(chunk) : 0;
}

__global__ void generate_fused_kernel(InvolutionDims d, const float* __restrict__ x,
                                      GenerationWeights w, float* __restrict__ kernels,
                                      int channel_chunk) {
  extern __shared__ float smem[];
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
  for (int r = row; r < rows; r += kGenRows) {
    const float* ws = w.span_weight + static_cast<int64_t>(r) * d.reduced_channels;
    float v = w.span_bias[r];
    for (int m = 0; m < d.reduced_channels; ++m) v += ws[m] * reduced[m * kGenPixels + lane];
    // Row r of the span layer is (group r / K*K, tap r % K*K).
    kernels[kernels_index(b, r / taps, r % taps, 0, 0, d.groups, taps, d.out_height, d.out_width) +
            ij] = v;
  }
}

__global__ void aggregate_tiled_kernel(InvolutionDims d, const float* __restrict__ x,
                                       const float* __restrict__ kernels, float* __restrict__ y,
                                       int batch_offset, int channels_per_stage) {
  extern __shared__ float smem[];
  const int taps = d.kernel * d.kernel;
  const int n_pixels = blockDim.x * blockDim.y;
  const int halo_h = halo_extent(blockDim.y, d.kernel, d.stride, d.dilation);
  const int halo_w = halo_extent(blockDim.x, d.kernel, d.stride, d.dilation);
  const int halo = halo_h * halo_w;
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

  // Each thread stages the kernel of its own pixel (32 consecutive floats per warp and tap).
  for (int k = 0; k < taps; ++k)
    pixel_kernels[k * n_pixels + tid] =
        valid ? kernels[kernels_index(b, g, k, oy, ox, d.groups, taps, d.out_height, d.out_width)]
              : 0.0f;

  for (int c0 = 0; c0 < d.group_channels; c0 += channels_per_stage) {
    const int n_ch = min_int(channels_per_stage, d.group_channels - c0);
    const int channel0 = g * d.group_channels + c0;
    for (int idx = tid; idx < n_ch * halo; idx += n_pixels) {
      const int c = idx / halo, r = idx - c * halo;
      const int yy = iy0 + r / halo_w, xx = ix0 + r % halo_w;
      tiles[idx] = in_range(yy, d.height) && in_range(xx, d.width)
                       ? x[nchw_index(b, channel0 + c, yy, xx, d.channels, d.height, d.width)]
                       : 0.0f;  // zero padding lives in the tile
    }
    __syncthreads();
    if (valid) {
      for (int c = 0; c < n_ch; ++c) {
        const float* t =
            tiles + c * halo + threadIdx.y * d.stride * halo_w + threadIdx.x * d.stride;
        float acc = 0.0f;
        for (int ky = 0; ky < d.kernel; ++ky)
          for (int kx = 0; kx < d.kernel; ++kx)
            acc += pixel_kernels[(ky * d.kernel + kx) * n_pixels + tid] *
                   t[ky * d.dilation * halo_w + kx * d.dilation];
        y[nchw_index(b, channel0 + c, oy, ox, d.channels, d.out_height, d.out_width)] = acc;
      }
    }
    __syncthreads();
  }
}

}  // namespace

long long fused_generation_scratch_floats(const InvolutionDims& d) {
  return generation_channel_chunk(d) > 0 ? 0 : naive_generation_scratch_floats(d);
}

void involution_generate_fused(const InvolutionDims& d, const float* x, const GenerationWeights& w,
                               float* kernels, float* scratch, cudaStream_t stream) {
  const int chunk = generation_channel_chunk(d);
  if (chunk == 0) {
    involution_generate_naive(d, x, w, kernels, scratch, stream);
    return;
  }
  const int64_t pixels = static_cast<int64_t>(d.batch) * d.out_height * d.out_width;
  const size_t smem_bytes = sizeof(float) * static_cast<size_t>(generation_smem_floats(
                                                chunk, d.reduced_channels, kGenPixels));
  generate_fused_kernel<<<static_cast<unsigned>(ceil_div64(pixels, kGenPixels)),
                          dim3(kGenPixels, kGenRows), smem_bytes, stream>>>(d, x, w, kernels,
                                                                            chunk);
  KS_CUDA_CHECK_LAUNCH("generate_fused_kernel");
}

void involution_aggregate_tiled(const InvolutionDims& d, const float* x, const float* kernels,
                                float* y, cudaStream_t stream) {
  int rows = 0, stage = 0;
  for (int r : {8, 4, 2, 1}) {
    const int64_t base =
        involution_tile_smem_floats(r, kAggCols, d.kernel, d.stride, d.dilation, 0);
    const int64_t one = involution_tile_smem_floats(r, kAggCols, d.kernel, d.stride, d.dilation, 1);
    if (one <= kSmemBudgetFloats) {
      rows = r;
      stage = static_cast<int>(std::min<int64_t>(
          {(kSmemBudgetFloats - base) / (one - base), d.group_channels, kAggMaxChannelsPerStage}));
      break;
    }
  }
  const int64_t grid_y = ceil_div64(d.out_height, std::max(rows, 1));
  if (rows == 0 || grid_y > kMaxGridYZ || d.groups > kMaxGridYZ) {
    involution_aggregate_naive(d, x, kernels, y, stream);
    return;
  }
  const dim3 block(kAggCols, rows);
  const size_t smem_bytes =
      sizeof(float) * static_cast<size_t>(involution_tile_smem_floats(rows, kAggCols, d.kernel,
                                                                      d.stride, d.dilation, stage));
  const int images_per_launch =
      static_cast<int>(std::min<int64_t>(d.batch, std::max<int64_t>(1, kMaxGridYZ / d.groups)));
  for (int b0 = 0; b0 < d.batch; b0 += images_per_launch) {
    const int n_images = std::min(images_per_launch, d.batch - b0);
    const dim3 grid(static_cast<unsigned>(ceil_div(d.out_width, kAggCols)),
                    static_cast<unsigned>(grid_y), static_cast<unsigned>(n_images * d.groups));
    aggregate_tiled_kernel<<<grid, block, smem_bytes, stream>>>(d, x, kernels, y, b0, stage);
    KS_CUDA_CHECK_LAUNCH("aggregate_tiled_kernel");
  }
}

}  // namespace ks::cuda
