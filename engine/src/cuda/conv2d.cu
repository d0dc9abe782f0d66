// Direct convolution for the "cuda" backend.
//
// Layouts: x [B, C_in, H, W], weight [C_out, C_in/groups, K, K], bias [C_out],
// y [B, C_out, H_out, W_out]. Reference: ks::ref::conv2d (engine/src/cpu_ref/conv2d_ref.cpp).
//
// One block computes a tile of 32 x R output pixels (R = 8, 4, 2 or 1 rows) for up to four
// output channels of one group and one image. For each stage of input channels it copies the
// input tile with its halo ((R-1)*s + d*(K-1) + 1 rows by (31*s + d*(K-1) + 1) columns) and
// the matching weights into shared memory, so every input value is read from global memory
// about once per block instead of K*K times, and each staged value feeds four output
// channels. Any stride, padding, dilation, group count, bias and K (odd or even) work; when
// even a one-row tile does not fit in shared memory the naive kernel takes over.
#include <algorithm>

#include "cuda/cuda_check.h"
#include "cuda/cuda_ops.h"
#include "cuda/index_math.h"

namespace ks::cuda {
namespace {

constexpr int kTileCols = 32;  // one warp per tile row: coalesced loads and stores
constexpr int kOutPerBlock = 4;
constexpr int kMaxChannelsPerStage = 8;
constexpr int64_t kSmemBudgetFloats = 48 * 1024 / 4;  // default limit, no opt-in needed

__global__ void conv2d_tiled_kernel(ConvDims d, const float* __restrict__ x,
                                    const float* __restrict__ weight,
                                    const float* __restrict__ bias, float* __restrict__ y,
                                    int out_blocks, int batch_offset, int channels_per_stage) {
  extern __shared__ float smem[];
  const int halo_h = halo_extent(blockDim.y, d.kernel, d.stride, d.dilation);
  const int halo_w = halo_extent(blockDim.x, d.kernel, d.stride, d.dilation);
  const int halo = halo_h * halo_w;
  const int taps = d.kernel * d.kernel;
  float* tiles = smem;                                // [stage][halo_h][halo_w]
  float* weights = smem + channels_per_stage * halo;  // [stage][kOutPerBlock][taps]

  int z = blockIdx.z;
  const int out_block = z % out_blocks;
  z /= out_blocks;
  const int g = z % d.groups;
  const int b = z / d.groups + batch_offset;
  const int in_per_group = d.in_channels / d.groups;
  const int out_per_group = d.out_channels / d.groups;
  const int co0 = g * out_per_group + out_block * kOutPerBlock;
  const int n_out = min_int(kOutPerBlock, out_per_group - out_block * kOutPerBlock);

  const int oy0 = blockIdx.y * blockDim.y, ox0 = blockIdx.x * blockDim.x;
  const int iy0 = input_coord(oy0, 0, d.stride, d.padding, d.dilation);
  const int ix0 = input_coord(ox0, 0, d.stride, d.padding, d.dilation);
  const int oy = oy0 + threadIdx.y, ox = ox0 + threadIdx.x;
  const bool valid = oy < d.out_height && ox < d.out_width;
  const int tid = threadIdx.y * blockDim.x + threadIdx.x;
  const int n_threads = blockDim.x * blockDim.y;

  float acc[kOutPerBlock] = {};
  for (int c0 = 0; c0 < in_per_group; c0 += channels_per_stage) {
    const int n_ch = min_int(channels_per_stage, in_per_group - c0);
    for (int idx = tid; idx < n_ch * halo; idx += n_threads) {
      const int c = idx / halo, r = idx - c * halo;
      const int yy = iy0 + r / halo_w, xx = ix0 + r % halo_w;
      tiles[idx] = in_range(yy, d.height) && in_range(xx, d.width)
                       ? x[nchw_index(b, g * in_per_group + c0 + c, yy, xx, d.in_channels, d.height,
                                      d.width)]
                       : 0.0f;  // zero padding lives in the tile
    }
    const int per_channel = kOutPerBlock * taps;
    for (int idx = tid; idx < n_ch * per_channel; idx += n_threads) {
      const int c = idx / per_channel, r = idx - c * per_channel;
      const int o = r / taps, k = r - o * taps;
      // Missing output channels get zero weights so the inner loop needs no branch.
      weights[idx] =
          o < n_out ? weight[(static_cast<int64_t>(co0 + o) * in_per_group + c0 + c) * taps + k]
                    : 0.0f;
    }
    __syncthreads();
    if (valid) {
      for (int c = 0; c < n_ch; ++c) {
        const float* t =
            tiles + c * halo + threadIdx.y * d.stride * halo_w + threadIdx.x * d.stride;
        const float* w = weights + c * per_channel;
        for (int ky = 0; ky < d.kernel; ++ky)
          for (int kx = 0; kx < d.kernel; ++kx) {
            const float v = t[ky * d.dilation * halo_w + kx * d.dilation];
            const int k = ky * d.kernel + kx;
#pragma unroll
            for (int o = 0; o < kOutPerBlock; ++o) acc[o] += w[o * taps + k] * v;
          }
      }
    }
    __syncthreads();
  }
  if (!valid) return;
#pragma unroll
  for (int o = 0; o < kOutPerBlock; ++o) {
    if (o >= n_out) break;
    const int co = co0 + o;
    y[nchw_index(b, co, oy, ox, d.out_channels, d.out_height, d.out_width)] =
        acc[o] + (d.has_bias ? bias[co] : 0.0f);
  }
}

}  // namespace

void conv2d_tiled(const ConvDims& d, const float* x, const float* weight, const float* bias,
                  float* y, cudaStream_t stream) {
  const int in_per_group = d.in_channels / d.groups;
  const int out_blocks = ceil_div(d.out_channels / d.groups, kOutPerBlock);
  const int64_t blocks_per_image = static_cast<int64_t>(out_blocks) * d.groups;
  constexpr int64_t kMaxGridYZ = 65535;

  // The tallest tile whose one-channel stage fits; then as many channels per stage as fit,
  // which cuts the number of __syncthreads() for layers with many input channels.
  int rows = 0, stage = 0;
  for (int r : {8, 4, 2, 1}) {
    const int64_t one =
        conv_tile_smem_floats(r, kTileCols, d.kernel, d.stride, d.dilation, 1, kOutPerBlock);
    if (one <= kSmemBudgetFloats) {
      rows = r;
      stage = static_cast<int>(
          std::min<int64_t>({kSmemBudgetFloats / one, in_per_group, kMaxChannelsPerStage}));
      break;
    }
  }
  const int64_t grid_y = ceil_div64(d.out_height, std::max(rows, 1));
  if (rows == 0 || grid_y > kMaxGridYZ || blocks_per_image > kMaxGridYZ) {
    conv2d_naive(d, x, weight, bias, y, stream);
    return;
  }

  const dim3 block(kTileCols, rows);
  const size_t smem_bytes =
      sizeof(float) * static_cast<size_t>(conv_tile_smem_floats(rows, kTileCols, d.kernel, d.stride,
                                                                d.dilation, stage, kOutPerBlock));
  // gridDim.z holds (image, group, output-channel block); split the batch when it overflows.
  const int images_per_launch = static_cast<int>(
      std::min<int64_t>(d.batch, std::max<int64_t>(1, kMaxGridYZ / blocks_per_image)));
  for (int b0 = 0; b0 < d.batch; b0 += images_per_launch) {
    const int n_images = std::min(images_per_launch, d.batch - b0);
    const dim3 grid(static_cast<unsigned>(ceil_div(d.out_width, kTileCols)),
                    static_cast<unsigned>(grid_y),
                    static_cast<unsigned>(n_images * blocks_per_image));
    conv2d_tiled_kernel<<<grid, block, smem_bytes, stream>>>(d, x, weight, bias, y, out_blocks, b0,
                                                             stage);
    KS_CUDA_CHECK_LAUNCH("conv2d_tiled_kernel");
  }
}

bool kernel_image_loadable(std::string* why) {
  cudaFuncAttributes attributes{};
  const cudaError_t status = cudaFuncGetAttributes(&attributes, conv2d_tiled_kernel);
  if (status == cudaSuccess) return true;
  cudaGetLastError();
  if (why)
    *why = std::string("this build has no kernel for this GPU (") + cudaGetErrorString(status) +
           "); rebuild with its architecture in CMAKE_CUDA_ARCHITECTURES";
  return false;
}

}  // namespace ks::cuda
