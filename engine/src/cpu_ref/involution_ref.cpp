// Reference involution (Li et al., CVPR 2021; the official d-li14/involution module):
//   X'     = AvgPool(s x s, stride s, ceil mode) of X when s > 1, else X
//   t      = ReLU(BN(W0 . X'[:, i, j]))                 reduce: [C/r, C], no bias
//   kernel = W1 . t + b1                                span:   [K*K*G, C/r]
//   Y[b,c,i,j] = sum_{ky,kx} kernel[b, c/gc, ky*K+kx, i, j] * X[b, c, i*s-p+ky*d, j*s-p+kx*d]
// Plain loops that read like the formulas; the oracle for the fast backends.
#include <cmath>
#include <vector>

#include "cpu_ref/reference.h"

namespace ks::ref {

// X' at output pixel (i, j): the mean of the in-bounds part of the s x s window.
static std::vector<double> pooled_pixel(const Tensor& x, int64_t b, int64_t i, int64_t j,
                                        int64_t s) {
  const int64_t C = x.dim(1), H = x.dim(2), W = x.dim(3);
  std::vector<double> v(static_cast<size_t>(C), 0.0);
  const int64_t y0 = i * s, y1 = std::min(y0 + s, H);
  const int64_t x0 = j * s, x1 = std::min(x0 + s, W);
  const double count = static_cast<double>((y1 - y0) * (x1 - x0));
  for (int64_t c = 0; c < C; ++c) {
    double sum = 0;
    for (int64_t yy = y0; yy < y1; ++yy)
      for (int64_t xx = x0; xx < x1; ++xx) sum += x.at(b, c, yy, xx);
    v[static_cast<size_t>(c)] = sum / count;
  }
  return v;
}

void involution_kernels_at_pixel(const Tensor& x, const InvolutionParams& p,
                                 const InvolutionWeights& w, int64_t b, int64_t i, int64_t j,
                                 float* out) {
  const int64_t C = p.channels, CR = p.reduced_channels(), rows = p.groups() * p.taps();
  const std::vector<double> v = pooled_pixel(x, b, i, j, p.stride);
  std::vector<double> t(static_cast<size_t>(CR));
  for (int64_t m = 0; m < CR; ++m) {
    double reduced = 0;
    for (int64_t c = 0; c < C; ++c)
      reduced += w.reduce_weight.data[static_cast<size_t>(m * C + c)] * v[static_cast<size_t>(c)];
    const size_t mi = static_cast<size_t>(m);
    const double normalised = (reduced - w.bn_mean.data[mi]) /
                                  std::sqrt(static_cast<double>(w.bn_var.data[mi]) + w.bn_eps) *
                                  w.bn_gamma.data[mi] +
                              w.bn_beta.data[mi];
    t[mi] = normalised > 0 ? normalised : 0;  // ReLU
  }
  for (int64_t row = 0; row < rows; ++row) {
    double value = w.span_bias.data[static_cast<size_t>(row)];
    for (int64_t m = 0; m < CR; ++m)
      value += w.span_weight.data[static_cast<size_t>(row * CR + m)] * t[static_cast<size_t>(m)];
    out[row] = static_cast<float>(value);
  }
}

Tensor involution_kernels(const Tensor& x, const InvolutionParams& p, const InvolutionWeights& w) {
  const Shape kshape = involution_kernels_shape(x.shape, p);
  Tensor kernels = Tensor::uninitialized(kshape);
  const int64_t B = kshape[0], G = kshape[1], KK = kshape[2], H_out = kshape[3], W_out = kshape[4];
  std::vector<float> pixel(static_cast<size_t>(G * KK));
  for (int64_t b = 0; b < B; ++b)
    for (int64_t i = 0; i < H_out; ++i)
      for (int64_t j = 0; j < W_out; ++j) {
        involution_kernels_at_pixel(x, p, w, b, i, j, pixel.data());
        for (int64_t row = 0; row < G * KK; ++row) {
          const int64_t g = row / KK, k = row % KK;
          kernels.data[static_cast<size_t>((((b * G + g) * KK + k) * H_out + i) * W_out + j)] =
              pixel[static_cast<size_t>(row)];
        }
      }
  return kernels;
}

Tensor involution_kernel_sum(const Tensor& kernels) {
  const int64_t B = kernels.dim(0), G = kernels.dim(1), KK = kernels.dim(2);
  const int64_t plane = kernels.dim(3) * kernels.dim(4);
  Tensor sum = Tensor::uninitialized({B, G, kernels.dim(3), kernels.dim(4)});
  for (int64_t bg = 0; bg < B * G; ++bg)
    for (int64_t q = 0; q < plane; ++q) {
      double total = 0;
      for (int64_t k = 0; k < KK; ++k)
        total += kernels.data[static_cast<size_t>((bg * KK + k) * plane + q)];
      sum.data[static_cast<size_t>(bg * plane + q)] = static_cast<float>(total);
    }
  return sum;
}

Tensor involution_aggregate(const Tensor& x, const Tensor& kernels, const InvolutionParams& p) {
  const Shape out_shape = involution_output_shape(x.shape, p);
  Tensor y(out_shape);
  const int64_t B = x.dim(0), C = x.dim(1), H = x.dim(2), W = x.dim(3);
  const int64_t H_out = out_shape[2], W_out = out_shape[3];
  const int64_t K = p.kernel_size, KK = p.taps(), G = p.groups();
  const int64_t pad = p.padding();

  for (int64_t b = 0; b < B; ++b)
    for (int64_t c = 0; c < C; ++c) {
      const int64_t g = c / p.group_channels;
      for (int64_t i = 0; i < H_out; ++i)
        for (int64_t j = 0; j < W_out; ++j) {
          double sum = 0;
          for (int64_t ky = 0; ky < K; ++ky)
            for (int64_t kx = 0; kx < K; ++kx) {
              const int64_t yy = i * p.stride - pad + ky * p.dilation;
              const int64_t xx = j * p.stride - pad + kx * p.dilation;
              if (yy < 0 || yy >= H || xx < 0 || xx >= W) continue;  // zero padding
              const int64_t k = ky * K + kx;
              const float weight =
                  kernels
                      .data[static_cast<size_t>((((b * G + g) * KK + k) * H_out + i) * W_out + j)];
              sum += static_cast<double>(weight) * x.at(b, c, yy, xx);
            }
          y.at(b, c, i, j) = static_cast<float>(sum);
        }
    }
  return y;
}

}  // namespace ks::ref
