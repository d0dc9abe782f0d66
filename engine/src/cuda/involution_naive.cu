// Naive involution for the "cuda-naive" backend, and the fallback of involution.cu.
//
// Layouts: x [B, C, H, W]; reduced scratch [B, C/r, H_out, W_out];
// kernels [B, G, K*K, H_out, W_out] (= [B, G*K*K, H_out, W_out]); y [B, C, H_out, W_out].
// Reference: engine/src/cpu_ref/involution_ref.cpp.
//
// Each step is one thread per output element reading global memory only. The aggregation
// is the algorithm of the official involution CuPy kernel (d-li14/involution): a thread
// decomposes its flat index into (b, c, h, w) and sums K*K products of its pixel's
// generated kernel with the input window.
#include "cuda/cuda_check.h"
#include "cuda/cuda_ops.h"
#include "cuda/index_math.h"

namespace ks::cuda {
namespace {

constexpr int kThreads = 256;

unsigned blocks_for(int64_t total) { return static_cast<unsigned>(ceil_div64(total, kThreads)); }

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

}  // namespace

long long naive_generation_scratch_floats(const InvolutionDims& d) {
  return static_cast<long long>(d.batch) * d.reduced_channels * d.out_height * d.out_width;
}

void involution_generate_naive(const InvolutionDims& d, const float* x, const GenerationWeights& w,
                               float* kernels, float* scratch, cudaStream_t stream) {
  const int64_t reduced_total = naive_generation_scratch_floats(d);
  reduce_naive_kernel<<<blocks_for(reduced_total), kThreads, 0, stream>>>(d, x, w, scratch,
                                                                          reduced_total);
  KS_CUDA_CHECK_LAUNCH("reduce_naive_kernel");
  const int64_t kernels_total =
      static_cast<int64_t>(d.batch) * d.groups * d.kernel * d.kernel * d.out_height * d.out_width;
  span_naive_kernel<<<blocks_for(kernels_total), kThreads, 0, stream>>>(d, scratch, w, kernels,
                                                                        kernels_total);
  KS_CUDA_CHECK_LAUNCH("span_naive_kernel");
}

void involution_aggregate_naive(const InvolutionDims& d, const float* x, const float* kernels,
                                float* y, cudaStream_t stream) {
  const int64_t total = static_cast<int64_t>(d.batch) * d.channels * d.out_height * d.out_width;
  aggregate_naive_kernel<<<blocks_for(total), kThreads, 0, stream>>>(d, x, kernels, y, total);
  KS_CUDA_CHECK_LAUNCH("aggregate_naive_kernel");
}

}  // namespace ks::cuda
