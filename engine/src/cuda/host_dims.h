// Host-side preparation shared by the CUDA backends and the CPU emulator of their kernels
// (tests/engine_cuda_emulated_test.cpp): tensor shapes to kernel dimensions, and BN folded
// into a scale and shift. No CUDA types, so it compiles with g++ alone.
#pragma once

#include <climits>
#include <cmath>
#include <string>
#include <vector>

#include "cuda/kernel_dims.h"
#include "kernelscope/error.h"
#include "kernelscope/ops.h"

namespace ks::cuda {

inline int to_int(int64_t v, const char* what) {
  if (v > INT_MAX) throw Error(std::string(what) + " is too large for the CUDA backends");
  return static_cast<int>(v);
}

// The kernels index rows and columns with int. Parameters beyond these bounds (far beyond
// any real layer) are declined by the CUDA backends' supports(), so a CPU backend runs them
// instead of the GPU risking overflow; images beyond kMaxCudaImageExtent are refused.
constexpr int64_t kMaxCudaKernelSize = 4096;
constexpr int64_t kMaxCudaParameter = int64_t{1} << 24;  // stride, padding, dilation * (K-1)
constexpr int64_t kMaxCudaImageExtent = int64_t{1} << 29;

inline bool fits_cuda_kernels(int64_t kernel, int64_t stride, int64_t padding, int64_t dilation) {
  return kernel >= 1 && kernel <= kMaxCudaKernelSize && stride <= kMaxCudaParameter &&
         padding <= kMaxCudaParameter && dilation <= kMaxCudaParameter &&
         dilation * (kernel - 1) <= kMaxCudaParameter;
}

inline void check_cuda_image_extent(int64_t extent, const char* what) {
  if (extent > kMaxCudaImageExtent)
    throw Error(std::string("input ") + what + " " + std::to_string(extent) +
                " is too large for the CUDA backends (at most " +
                std::to_string(kMaxCudaImageExtent) + "); use --backend cpu");
}

inline ConvDims conv_dims(const Shape& in, const ConvParams& p, const Shape& out) {
  check_cuda_image_extent(in[2], "height");
  check_cuda_image_extent(in[3], "width");
  return {to_int(in[0], "batch"),
          to_int(in[1], "channels"),
          to_int(in[2], "height"),
          to_int(in[3], "width"),
          to_int(out[1], "output channels"),
          to_int(out[2], "output height"),
          to_int(out[3], "output width"),
          to_int(p.kernel_size, "kernel size"),
          to_int(p.stride, "stride"),
          to_int(p.padding, "padding"),
          to_int(p.dilation, "dilation"),
          to_int(p.groups, "groups"),
          p.has_bias};
}

inline InvolutionDims involution_dims(const Shape& in, const InvolutionParams& p,
                                      const Shape& out) {
  check_cuda_image_extent(in[2], "height");
  check_cuda_image_extent(in[3], "width");
  return {to_int(in[0], "batch"),
          to_int(in[1], "channels"),
          to_int(in[2], "height"),
          to_int(in[3], "width"),
          to_int(out[2], "output height"),
          to_int(out[3], "output width"),
          to_int(p.kernel_size, "kernel size"),
          to_int(p.stride, "stride"),
          to_int(p.dilation, "dilation"),
          to_int(p.padding(), "padding"),
          to_int(p.group_channels, "group channels"),
          to_int(p.groups(), "groups"),
          to_int(p.reduced_channels(), "reduced channels")};
}

// BN in eval mode is an affine map per channel: folded once, in double, on the host.
struct FoldedBatchNorm {
  std::vector<float> scale, shift;
};

inline FoldedBatchNorm fold_batch_norm(const InvolutionWeights& w) {
  const size_t reduced = w.bn_gamma.data.size();
  FoldedBatchNorm f;
  f.scale.resize(reduced);
  f.shift.resize(reduced);
  for (size_t m = 0; m < reduced; ++m) {
    const double sc =
        w.bn_gamma.data[m] / std::sqrt(static_cast<double>(w.bn_var.data[m]) + w.bn_eps);
    f.scale[m] = static_cast<float>(sc);
    f.shift[m] = static_cast<float>(w.bn_beta.data[m] - w.bn_mean.data[m] * sc);
  }
  return f;
}

}  // namespace ks::cuda
