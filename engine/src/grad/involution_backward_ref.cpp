// Reference backward of involution, in double precision. The forward at one output pixel p
// of image b (cpu_ref/involution_ref.cpp), for group g and tap t at offset o_t:
//   v     = AvgPool_s(x)(p)                          [C]   (v = x(p) when s = 1)
//   z     = W0 v                                     [C/r]
//   zhat  = (z - mean) / sqrt(var + eps),  u = gamma * zhat + beta,  h = ReLU(u)
//   k     = W1 h + b1                                [G*K*K]
//   y_c   = sum_t k[g(c), t] * x_c(p*s + o_t)        (zero outside the image)
// Going back with dy = dL/dy at p, every step is a product rule or a transpose:
//   dk[g, t]  = sum_{c in g} dy_c * x_c(p*s + o_t)     dx_c(p*s + o_t) += k[g(c), t] * dy_c
//   db1 += dk,  dW1 += dk h^T,  dh = W1^T dk
//   du = dh where u > 0, else 0                        (PyTorch's ReLU: no gradient at 0)
//   dgamma += du * zhat,  dbeta += du,  dz = du * gamma / sqrt(var + eps)
//                                                       (eval-mode BN: mean, var constant)
//   dW0 += dz v^T,  dv = W0^T dz,  dx over the pooling window += dv / (window pixels)
// The weight gradients sum these per-pixel terms over every pixel and image.
#include <cmath>
#include <vector>

#include "grad/grad_checks.h"
#include "kernelscope/gradients.h"

namespace ks::grad {

InvolutionGradients involution2d_backward_ref(const Tensor& x, const InvolutionParams& p,
                                              const InvolutionWeights& w, const Tensor& gy,
                                              const BackwardOptions& options) {
  check_involution_backward(x, p, w, gy);
  const int64_t B = x.dim(0), C = x.dim(1), H = x.dim(2), W = x.dim(3);
  const int64_t H_out = gy.dim(2), W_out = gy.dim(3);
  const int64_t K = p.kernel_size, KK = p.taps(), CR = p.reduced_channels();
  const int64_t rows = p.groups() * KK, s = p.stride, pad = p.padding();
  const auto at = [](int64_t i) { return static_cast<size_t>(i); };

  std::vector<double> dW0(at(CR * C), 0.0), dgamma(at(CR), 0.0), dbeta(at(CR), 0.0);
  std::vector<double> dW1(at(rows * CR), 0.0), db1(at(rows), 0.0);
  std::vector<double> dx(options.input ? x.data.size() : 0, 0.0);
  std::vector<double> v(at(C)), zhat(at(CR)), u(at(CR)), h(at(CR)), k(at(rows)), dk(at(rows));
  std::vector<double> dz(at(CR)), dv(at(C));
  const auto x_index = [&](int64_t b, int64_t c, int64_t yy, int64_t xx) {
    return at(((b * C + c) * H + yy) * W + xx);
  };

  for (int64_t b = 0; b < B; ++b)
    for (int64_t i = 0; i < H_out; ++i)
      for (int64_t j = 0; j < W_out; ++j) {
        // Forward at this pixel, keeping what the backward needs.
        const int64_t y0 = i * s, y1 = std::min(y0 + s, H), x0 = j * s, x1 = std::min(x0 + s, W);
        const double count = static_cast<double>((y1 - y0) * (x1 - x0));
        for (int64_t c = 0; c < C; ++c) {
          double sum = 0;
          for (int64_t yy = y0; yy < y1; ++yy)
            for (int64_t xx = x0; xx < x1; ++xx) sum += x.data[x_index(b, c, yy, xx)];
          v[at(c)] = sum / count;
        }
        for (int64_t m = 0; m < CR; ++m) {
          double z = 0;
          for (int64_t c = 0; c < C; ++c) z += w.reduce_weight.data[at(m * C + c)] * v[at(c)];
          const double inv_std = 1.0 / std::sqrt(static_cast<double>(w.bn_var.data[at(m)]) +
                                                 static_cast<double>(w.bn_eps));
          zhat[at(m)] = (z - w.bn_mean.data[at(m)]) * inv_std;
          u[at(m)] = w.bn_gamma.data[at(m)] * zhat[at(m)] + w.bn_beta.data[at(m)];
          h[at(m)] = u[at(m)] > 0 ? u[at(m)] : 0;
        }
        for (int64_t r = 0; r < rows; ++r) {
          double value = w.span_bias.data[at(r)];
          for (int64_t m = 0; m < CR; ++m) value += w.span_weight.data[at(r * CR + m)] * h[at(m)];
          k[at(r)] = value;
          dk[at(r)] = 0;
        }
        // Aggregation: dk and the direct part of dx.
        for (int64_t c = 0; c < C; ++c) {
          const int64_t g = c / p.group_channels;
          const double dy = gy.at(b, c, i, j);
          for (int64_t ky = 0; ky < K; ++ky)
            for (int64_t kx = 0; kx < K; ++kx) {
              const int64_t yy = i * s - pad + ky * p.dilation;
              const int64_t xx = j * s - pad + kx * p.dilation;
              if (yy < 0 || yy >= H || xx < 0 || xx >= W) continue;  // zero padding
              const int64_t r = g * KK + ky * K + kx;
              dk[at(r)] += dy * x.data[x_index(b, c, yy, xx)];
              if (options.input) dx[x_index(b, c, yy, xx)] += k[at(r)] * dy;
            }
        }
        // Span, ReLU, BN, reduce.
        for (int64_t r = 0; r < rows; ++r) {
          db1[at(r)] += dk[at(r)];
          for (int64_t m = 0; m < CR; ++m) dW1[at(r * CR + m)] += dk[at(r)] * h[at(m)];
        }
        for (int64_t m = 0; m < CR; ++m) {
          double dh = 0;
          for (int64_t r = 0; r < rows; ++r) dh += w.span_weight.data[at(r * CR + m)] * dk[at(r)];
          const double du = u[at(m)] > 0 ? dh : 0;
          dgamma[at(m)] += du * zhat[at(m)];
          dbeta[at(m)] += du;
          const double inv_std = 1.0 / std::sqrt(static_cast<double>(w.bn_var.data[at(m)]) +
                                                 static_cast<double>(w.bn_eps));
          dz[at(m)] = du * w.bn_gamma.data[at(m)] * inv_std;
          for (int64_t c = 0; c < C; ++c) dW0[at(m * C + c)] += dz[at(m)] * v[at(c)];
        }
        if (!options.input) continue;
        for (int64_t c = 0; c < C; ++c) {
          double d = 0;
          for (int64_t m = 0; m < CR; ++m) d += w.reduce_weight.data[at(m * C + c)] * dz[at(m)];
          dv[at(c)] = d / count;
          for (int64_t yy = y0; yy < y1; ++yy)
            for (int64_t xx = x0; xx < x1; ++xx) dx[x_index(b, c, yy, xx)] += dv[at(c)];
        }
      }

  InvolutionGradients grads;
  grads.reduce_weight = to_float_tensor(w.reduce_weight.shape, dW0);
  grads.bn_gamma = to_float_tensor(w.bn_gamma.shape, dgamma);
  grads.bn_beta = to_float_tensor(w.bn_beta.shape, dbeta);
  grads.span_weight = to_float_tensor(w.span_weight.shape, dW1);
  grads.span_bias = to_float_tensor(w.span_bias.shape, db1);
  if (options.input) grads.input = to_float_tensor(x.shape, dx);
  return grads;
}

}  // namespace ks::grad
