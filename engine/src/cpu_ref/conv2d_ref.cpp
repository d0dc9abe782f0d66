// Reference convolution: the formula of PyTorch's F.conv2d written as plain loops.
// It is the oracle for every other backend, so it favours clarity (and double
// accumulation) over speed.
#include "cpu_ref/reference.h"

namespace ks::ref {

Tensor conv2d(const Tensor& x, const ConvParams& p, const ConvWeights& w) {
  const Shape out_shape = conv_output_shape(x.shape, p);
  Tensor y(out_shape);
  const int64_t B = x.dim(0), H = x.dim(2), W = x.dim(3);
  const int64_t H_out = out_shape[2], W_out = out_shape[3];
  const int64_t K = p.kernel_size;
  const int64_t in_per_group = p.in_channels / p.groups;
  const int64_t out_per_group = p.out_channels / p.groups;

  for (int64_t b = 0; b < B; ++b)
    for (int64_t co = 0; co < p.out_channels; ++co) {
      const int64_t g = co / out_per_group;
      for (int64_t i = 0; i < H_out; ++i)
        for (int64_t j = 0; j < W_out; ++j) {
          double sum = p.has_bias ? w.bias.data[static_cast<size_t>(co)] : 0.0;
          for (int64_t ci = 0; ci < in_per_group; ++ci)
            for (int64_t ky = 0; ky < K; ++ky)
              for (int64_t kx = 0; kx < K; ++kx) {
                const int64_t yy = i * p.stride - p.padding + ky * p.dilation;
                const int64_t xx = j * p.stride - p.padding + kx * p.dilation;
                if (yy < 0 || yy >= H || xx < 0 || xx >= W) continue;  // zero padding
                const float weight = w.weight.at(co, ci, ky, kx);
                sum += static_cast<double>(weight) * x.at(b, g * in_per_group + ci, yy, xx);
              }
          y.at(b, co, i, j) = static_cast<float>(sum);
        }
    }
  return y;
}

}  // namespace ks::ref
