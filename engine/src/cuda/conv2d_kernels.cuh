// The convolution kernels of the CUDA backends and the host code that plans and launches
// them. conv2d.cu compiles this with nvcc and launches on a stream; the CPU emulator test
// (tests/engine_cuda_emulated_test.cpp) compiles the very same code with g++ and runs it,
// so the tiling, halo and barrier logic is tested on machines without a GPU.
//
// Layouts: x [B, C_in, H, W], weight [C_out, C_in/groups, K, K], bias [C_out],
// y [B, C_out, H_out, W_out]. Reference: ks::ref::conv2d (engine/src/cpu_ref/conv2d_ref.cpp).
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

// --- cuda-naive: one thread per output element (b, co, i, j), global memory only. It is the
// baseline the tiled kernel is raced against, and its fallback when no tile fits.

constexpr int kConvNaiveThreads = 256;

__global__ void conv2d_naive_kernel(ConvDims d, const float* __restrict__ x,
                                    const float* __restrict__ weight,
                                    const float* __restrict__ bias, float* __restrict__ y,
                                    int64_t total) {
  const int64_t flat = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  if (flat >= total) return;
  const Nchw o = nchw_unflatten(flat, d.out_channels, d.out_height, d.out_width);
  const int in_per_group = d.in_channels / d.groups;
  const int out_per_group = d.out_channels / d.groups;
  const int co = static_cast<int>(o.c);
  const int g = conv_group(co, out_per_group);
  const int taps = d.kernel * d.kernel;
  float sum = d.has_bias ? bias[co] : 0.0f;
  for (int ci = 0; ci < in_per_group; ++ci) {
    const float* plane =
        x + nchw_index(o.n, g * in_per_group + ci, 0, 0, d.in_channels, d.height, d.width);
    const float* w = weight + (static_cast<int64_t>(co) * in_per_group + ci) * taps;
    for (int ky = 0; ky < d.kernel; ++ky) {
      const int yy = input_coord(static_cast<int>(o.y), ky, d.stride, d.padding, d.dilation);
      if (!in_range(yy, d.height)) continue;
      for (int kx = 0; kx < d.kernel; ++kx) {
        const int xx = input_coord(static_cast<int>(o.x), kx, d.stride, d.padding, d.dilation);
        if (!in_range(xx, d.width)) continue;
        sum += w[ky * d.kernel + kx] * plane[static_cast<int64_t>(yy) * d.width + xx];
      }
    }
  }
  y[flat] = sum;
}

template <class Launch>
void launch_conv2d_naive(const Launch& launch, const ConvDims& d, const float* x,
                         const float* weight, const float* bias, float* y) {
  const int64_t total = static_cast<int64_t>(d.batch) * d.out_channels * d.out_height * d.out_width;
  if (total == 0) return;
  const dim3 grid(static_cast<unsigned>(ceil_div64(total, kConvNaiveThreads)));
  KS_LAUNCH(launch, conv2d_naive_kernel, grid, dim3(kConvNaiveThreads), 0, d, x, weight, bias, y,
            total);
}

// --- cuda: a block of 32 x R threads (R = 8, 4, 2 or 1) computes a tile of 32*kPix x R
// output pixels for kOut output channels of one group and one image. Each thread computes
// kPix pixels 32 columns apart (so a warp's shared-memory reads stay conflict-free) for
// kOut output channels; kOut (1, 2, 4, 8 or 16) is the smallest that covers the group's
// output channels, and kPix (1, 2 or 4) is larger when kOut is small. For each stage of
// input channels the block copies the input tile with its halo and the matching weights
// into shared memory, so every input value is read from global memory about once per block
// instead of K*K times. Per tap, a thread then loads kPix input values and the kOut weights
// (contiguous, with 128-bit loads) and does kPix * kOut multiply-adds: with kOut = 16, 5
// shared-memory loads per 16 multiply-adds; depthwise (kOut = 1, kPix = 4), 5 per 4; the
// one-pixel, one-channel loop would need 2 per multiply-add. Any stride, padding, dilation,
// group count, bias and K (odd or even) work; when even a one-row tile does not fit in
// shared memory the naive kernel takes over.

constexpr int kConvWarp = 32;  // threads per tile row: coalesced loads and stores
constexpr int kConvMaxOutPerBlock = 16;
constexpr int kConvMaxChannelsPerStage = 8;

// kOut weights of one tap into registers: 128-bit loads when kOut is a multiple of 4 (the
// plan aligns the weights to 16 bytes).
template <int kOut>
__device__ inline void load_tap_weights(const float* w, float* out) {
  if constexpr (kOut % 4 == 0) {
    KS_UNROLL
    for (int o = 0; o < kOut; o += 4) load_float4(w + o, out + o);
  } else {
    KS_UNROLL
    for (int o = 0; o < kOut; ++o) out[o] = w[o];
  }
}

template <int kOut, int kPix>
__global__ void conv2d_tiled_kernel(ConvDims d, const float* __restrict__ x,
                                    const float* __restrict__ weight,
                                    const float* __restrict__ bias, float* __restrict__ y,
                                    int out_blocks, int batch_offset, int channels_per_stage) {
  KS_DYNAMIC_SHARED_FLOATS(smem);
  const int tile_w = blockDim.x * kPix;
  const int halo_h = halo_extent(blockDim.y, d.kernel, d.stride, d.dilation);
  const int halo_w = halo_extent(tile_w, d.kernel, d.stride, d.dilation);
  const int halo = halo_h * halo_w;
  const int taps = d.kernel * d.kernel;
  float* tiles = smem;  // [stage][halo_h][halo_w], padded to 4 floats
  float* weights = smem + (channels_per_stage * halo + 3) / 4 * 4;  // [stage][taps][kOut]

  int z = blockIdx.z;
  const int out_block = z % out_blocks;
  z /= out_blocks;
  const int g = z % d.groups;
  const int b = z / d.groups + batch_offset;
  const int in_per_group = d.in_channels / d.groups;
  const int out_per_group = d.out_channels / d.groups;
  const int co0 = g * out_per_group + out_block * kOut;
  const int n_out = min_int(kOut, out_per_group - out_block * kOut);

  const int oy0 = blockIdx.y * blockDim.y, ox0 = blockIdx.x * tile_w;
  const int iy0 = input_coord(oy0, 0, d.stride, d.padding, d.dilation);
  const int ix0 = input_coord(ox0, 0, d.stride, d.padding, d.dilation);
  const int oy = oy0 + threadIdx.y;
  // Pixel p of this thread is column ox0 + threadIdx.x + 32 p.
  const bool row_valid = oy < d.out_height && ox0 + static_cast<int>(threadIdx.x) < d.out_width;
  const int tid = threadIdx.y * blockDim.x + threadIdx.x;
  const int n_threads = blockDim.x * blockDim.y;
  const int per_channel = taps * kOut;
  const int pixel_step = blockDim.x * d.stride;  // tile columns between a thread's pixels

  float acc[kPix][kOut] = {};
  for (int c0 = 0; c0 < in_per_group; c0 += channels_per_stage) {
    const int n_ch = min_int(channels_per_stage, in_per_group - c0);
    // Staged row by row with the block's own shape (no thread divides; a warp reads
    // consecutive floats), then the weights, channel by channel.
    for (int c = 0; c < n_ch; ++c) {
      const float* plane =
          x + nchw_index(b, g * in_per_group + c0 + c, 0, 0, d.in_channels, d.height, d.width);
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
      for (int r = tid; r < per_channel; r += n_threads) {
        const int k = r / kOut, o = r % kOut;  // kOut is a power of two: a shift and a mask
        // Missing output channels get zero weights so the inner loop needs no branch.
        weights[c * per_channel + r] =
            o < n_out ? weight[(static_cast<int64_t>(co0 + o) * in_per_group + c0 + c) * taps + k]
                      : 0.0f;
      }
    }
    __syncthreads();
    if (row_valid) {
      for (int c = 0; c < n_ch; ++c) {
        // Columns past the image read halo that exists (the tile is kPix warps wide) and
        // their results are dropped at the end.
        const float* t =
            tiles + c * halo + threadIdx.y * d.stride * halo_w + threadIdx.x * d.stride;
        const float* w = weights + c * per_channel;
        for (int ky = 0; ky < d.kernel; ++ky)
          for (int kx = 0; kx < d.kernel; ++kx) {
            float wk[kOut];
            load_tap_weights<kOut>(w + (ky * d.kernel + kx) * kOut, wk);
            const float* tk = t + ky * d.dilation * halo_w + kx * d.dilation;
            KS_UNROLL
            for (int p = 0; p < kPix; ++p) {
              const float v = tk[p * pixel_step];
              KS_UNROLL
              for (int o = 0; o < kOut; ++o) acc[p][o] += wk[o] * v;
            }
          }
      }
    }
    __syncthreads();
  }
  if (!row_valid) return;
  KS_UNROLL
  for (int p = 0; p < kPix; ++p) {
    const int ox = ox0 + threadIdx.x + p * blockDim.x;
    if (ox >= d.out_width) break;
    KS_UNROLL
    for (int o = 0; o < kOut; ++o) {
      if (o >= n_out) break;
      const int co = co0 + o;
      y[nchw_index(b, co, oy, ox, d.out_channels, d.out_height, d.out_width)] =
          acc[p][o] + (d.has_bias ? bias[co] : 0.0f);
    }
  }
}

// Output channels per block: the smallest kernel variant covering the group's channels.
inline int conv_out_per_block(int out_per_group) {
  int n = 1;
  while (n < out_per_group && n < kConvMaxOutPerBlock) n *= 2;
  return n;
}

// Pixels per thread: enough that a tap's kOut weight loads are shared by about 4 products,
// but no wider than the image needs.
inline int conv_pixels_per_thread(int out_per_block, int out_width) {
  int pix = out_per_block <= 2 ? 4 : out_per_block == 4 ? 2 : 1;
  while (pix > 1 && (pix / 2) * kConvWarp >= out_width) pix /= 2;
  return pix;
}

// How the tiled kernel is launched for a shape; `rows == 0` means the naive kernel.
struct ConvTilePlan {
  int rows = 0;                // threads per column of the block; also the tile height
  int out_per_block = 0;       // kOut of the kernel variant
  int pixels_per_thread = 0;   // kPix of the kernel variant; the tile is 32 * kPix wide
  int channels_per_stage = 0;  // input channels staged per __syncthreads() round
  int out_blocks = 0;          // blocks of out_per_block output channels per group
  int images_per_launch = 0;   // gridDim.z holds (image, group, output block): split batches
  size_t smem_bytes = 0;
};

// Blocks a convolution launch aims for before it makes its tiles lower: two per SM of a
// 132-SM H100 (the involution's one-pass plan aims for the same).
constexpr int64_t kConvFillBlocks = 264;

inline ConvTilePlan plan_conv2d_tiled(const ConvDims& d) {
  ConvTilePlan p;
  const int in_per_group = d.in_channels / d.groups;
  p.out_per_block = conv_out_per_block(d.out_channels / d.groups);
  p.out_blocks = ceil_div(d.out_channels / d.groups, p.out_per_block);
  const int64_t blocks_per_image = static_cast<int64_t>(p.out_blocks) * d.groups;
  // The widest pixel count, then the tallest tile, whose one-channel stage fits; then as
  // many channels per stage as fit, which cuts the number of __syncthreads() for layers
  // with many input channels.
  for (int pix = conv_pixels_per_thread(p.out_per_block, d.out_width); pix >= 1 && !p.rows;
       pix /= 2) {
    const auto smem_floats = [&](int rows, int stage) {
      return conv_tile_smem_floats(rows, kConvWarp * pix, d.kernel, d.stride, d.dilation, stage,
                                   p.out_per_block);
    };
    for (int r : {8, 4, 2, 1}) {
      if (smem_floats(r, 1) > kSmemBudgetFloats) continue;
      p.rows = r;
      p.pixels_per_thread = pix;
      p.channels_per_stage = std::min(in_per_group, kConvMaxChannelsPerStage);
      while (smem_floats(r, p.channels_per_stage) > kSmemBudgetFloats) --p.channels_per_stage;
      p.smem_bytes = sizeof(float) * static_cast<size_t>(smem_floats(r, p.channels_per_stage));
      break;
    }
  }
  if (p.rows == 0 || ceil_div64(d.out_height, p.rows) > kMaxGridYZ || blocks_per_image > kMaxGridYZ)
    return ConvTilePlan{};
  // Small maps (64 -> 64 channels at 56 x 56: 56 blocks of 8 rows) leave most SMs of a big GPU
  // idle: halve the tile's rows, down to 2, until the launch has kConvFillBlocks blocks. A
  // lower tile needs less shared memory, so the stage still fits.
  const auto blocks = [&](int rows) {
    return ceil_div64(d.out_width, kConvWarp * p.pixels_per_thread) *
           ceil_div64(d.out_height, rows) * blocks_per_image * d.batch;
  };
  while (p.rows > 2 && blocks(p.rows) < kConvFillBlocks) {
    p.rows /= 2;
    const auto smem_floats = [&](int stage) {
      return conv_tile_smem_floats(p.rows, kConvWarp * p.pixels_per_thread, d.kernel, d.stride,
                                   d.dilation, stage, p.out_per_block);
    };
    p.smem_bytes = sizeof(float) * static_cast<size_t>(smem_floats(p.channels_per_stage));
  }
  p.images_per_launch = static_cast<int>(
      std::min<int64_t>(d.batch, std::max<int64_t>(1, kMaxGridYZ / blocks_per_image)));
  return p;
}

template <int kOut, int kPix, class Launch>
void launch_conv2d_tiled_variant(const Launch& launch, const ConvTilePlan& p, const ConvDims& d,
                                 const float* x, const float* weight, const float* bias, float* y) {
  const int64_t blocks_per_image = static_cast<int64_t>(p.out_blocks) * d.groups;
  for (int b0 = 0; b0 < d.batch; b0 += p.images_per_launch) {
    const int n_images = std::min(p.images_per_launch, d.batch - b0);
    const dim3 grid(static_cast<unsigned>(ceil_div(d.out_width, kConvWarp * kPix)),
                    static_cast<unsigned>(ceil_div(d.out_height, p.rows)),
                    static_cast<unsigned>(n_images * blocks_per_image));
    KS_LAUNCH(launch, (conv2d_tiled_kernel<kOut, kPix>), grid, dim3(kConvWarp, p.rows),
              p.smem_bytes, d, x, weight, bias, y, p.out_blocks, b0, p.channels_per_stage);
  }
}

// The kernel variants that exist: every kOut with the kPix values the plan can pick for it.
template <class Launch>
void launch_conv2d_tiled(const Launch& launch, const ConvDims& d, const float* x,
                         const float* weight, const float* bias, float* y) {
  if (static_cast<int64_t>(d.batch) * d.out_channels * d.out_height * d.out_width == 0) return;
  const ConvTilePlan p = plan_conv2d_tiled(d);
  const int variant = p.rows == 0 ? 0 : p.out_per_block * 10 + p.pixels_per_thread;
  switch (variant) {
    case 14:
      return launch_conv2d_tiled_variant<1, 4>(launch, p, d, x, weight, bias, y);
    case 12:
      return launch_conv2d_tiled_variant<1, 2>(launch, p, d, x, weight, bias, y);
    case 11:
      return launch_conv2d_tiled_variant<1, 1>(launch, p, d, x, weight, bias, y);
    case 24:
      return launch_conv2d_tiled_variant<2, 4>(launch, p, d, x, weight, bias, y);
    case 22:
      return launch_conv2d_tiled_variant<2, 2>(launch, p, d, x, weight, bias, y);
    case 21:
      return launch_conv2d_tiled_variant<2, 1>(launch, p, d, x, weight, bias, y);
    case 42:
      return launch_conv2d_tiled_variant<4, 2>(launch, p, d, x, weight, bias, y);
    case 41:
      return launch_conv2d_tiled_variant<4, 1>(launch, p, d, x, weight, bias, y);
    case 81:
      return launch_conv2d_tiled_variant<8, 1>(launch, p, d, x, weight, bias, y);
    case 161:
      return launch_conv2d_tiled_variant<16, 1>(launch, p, d, x, weight, bias, y);
    default:
      return launch_conv2d_naive(launch, d, x, weight, bias, y);
  }
}

}  // namespace
}  // namespace ks::cuda
