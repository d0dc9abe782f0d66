// Reference backward of convolution: the forward's loops (cpu_ref/conv2d_ref.cpp) with every
// multiply-add y += w * x turned into its two adjoints, dw += dy * x and dx += dy * w, and
// the bias gradient the sum of dy over its plane. Double accumulation throughout.
#include <vector>

#include "grad/grad_checks.h"
#include "kernelscope/gradients.h"

namespace ks::grad {

ConvGradients conv2d_backward_ref(const Tensor& x, const ConvParams& p, const ConvWeights& w,
                                  const Tensor& gy, const BackwardOptions& options) {
  check_conv_backward(x, p, w, gy);
  const int64_t B = x.dim(0), H = x.dim(2), W = x.dim(3);
  const int64_t H_out = gy.dim(2), W_out = gy.dim(3);
  const int64_t K = p.kernel_size;
  const int64_t in_per_group = p.in_channels / p.groups;
  const int64_t out_per_group = p.out_channels / p.groups;

  std::vector<double> dw(w.weight.data.size(), 0.0);
  std::vector<double> db(static_cast<size_t>(p.out_channels), 0.0);
  std::vector<double> dx(options.input ? x.data.size() : 0, 0.0);
  for (int64_t b = 0; b < B; ++b)
    for (int64_t co = 0; co < p.out_channels; ++co) {
      const int64_t g = co / out_per_group;
      for (int64_t i = 0; i < H_out; ++i)
        for (int64_t j = 0; j < W_out; ++j) {
          const double dy = gy.at(b, co, i, j);
          db[static_cast<size_t>(co)] += dy;
          for (int64_t ci = 0; ci < in_per_group; ++ci)
            for (int64_t ky = 0; ky < K; ++ky)
              for (int64_t kx = 0; kx < K; ++kx) {
                const int64_t yy = i * p.stride - p.padding + ky * p.dilation;
                const int64_t xx = j * p.stride - p.padding + kx * p.dilation;
                if (yy < 0 || yy >= H || xx < 0 || xx >= W) continue;  // zero padding
                const int64_t c = g * in_per_group + ci;
                dw[static_cast<size_t>(((co * in_per_group + ci) * K + ky) * K + kx)] +=
                    dy * x.at(b, c, yy, xx);
                if (options.input)
                  dx[static_cast<size_t>(((b * p.in_channels + c) * H + yy) * W + xx)] +=
                      dy * w.weight.at(co, ci, ky, kx);
              }
        }
    }
  ConvGradients grads;
  grads.weight = to_float_tensor(w.weight.shape, dw);
  if (p.has_bias) grads.bias = to_float_tensor({p.out_channels}, db);
  if (options.input) grads.input = to_float_tensor(x.shape, dx);
  return grads;
}

}  // namespace ks::grad
