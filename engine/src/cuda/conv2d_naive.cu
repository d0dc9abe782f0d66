// Naive direct convolution for the "cuda-naive" backend: one thread per output element
// (b, co, i, j), every operand read from global memory. It is the baseline the tiled
// kernel in conv2d.cu is raced against, and its fallback when no tile fits.
//
// Layouts: x [B, C_in, H, W], weight [C_out, C_in/groups, K, K], bias [C_out],
// y [B, C_out, H_out, W_out]; the formula is ks::ref::conv2d's.
#include "cuda/cuda_check.h"
#include "cuda/cuda_ops.h"
#include "cuda/index_math.h"

namespace ks::cuda {
namespace {

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

}  // namespace

void conv2d_naive(const ConvDims& d, const float* x, const float* weight, const float* bias,
                  float* y, cudaStream_t stream) {
  const int64_t total = static_cast<int64_t>(d.batch) * d.out_channels * d.out_height * d.out_width;
  constexpr int kThreads = 256;
  const int64_t blocks = ceil_div64(total, kThreads);
  conv2d_naive_kernel<<<static_cast<unsigned>(blocks), kThreads, 0, stream>>>(d, x, weight, bias, y,
                                                                              total);
  KS_CUDA_CHECK_LAUNCH("conv2d_naive_kernel");
}

}  // namespace ks::cuda
