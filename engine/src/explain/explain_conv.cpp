// One convolution output pixel, step by step: the same loops as ks::ref::conv2d, keeping
// every product instead of only the sum.
#include "explain/explain_common.h"

namespace ks {

ConvPixelExplanation explain_conv_pixel(const Tensor& x, const ConvParams& p, const ConvWeights& w,
                                        int64_t b, int64_t out_channel, int64_t i, int64_t j) {
  const Shape out_shape = conv_output_shape(x.shape, p);
  validate_conv_weights(p, w);
  explain_detail::check_index("batch index", b, out_shape[0]);
  explain_detail::check_index("output channel", out_channel, out_shape[1]);
  explain_detail::check_index("output row", i, out_shape[2]);
  explain_detail::check_index("output column", j, out_shape[3]);

  const int64_t K = p.kernel_size, KK = K * K;
  const int64_t in_per_group = p.in_channels / p.groups;
  const int64_t out_per_group = p.out_channels / p.groups;

  ConvPixelExplanation e;
  e.batch = b;
  e.out_channel = out_channel;
  e.i = i;
  e.j = j;
  e.kernel_size = K;
  e.group = out_channel / out_per_group;
  e.taps = explain_detail::window_taps(i, j, K, p.stride, p.padding, p.dilation, x.dim(2), x.dim(3),
                                       &e.receptive_field);
  e.has_bias = p.has_bias;
  e.bias = p.has_bias ? w.bias.data[static_cast<size_t>(out_channel)] : 0.0;

  const size_t n = static_cast<size_t>(in_per_group * KK);
  e.inputs.assign(n, 0.0f);
  e.weights.assign(n, 0.0f);
  e.products.assign(n, 0.0);
  e.channel_sums.assign(static_cast<size_t>(in_per_group), 0.0);
  // The reference starts from the bias and adds products channel by channel, tap by tap;
  // doing the same keeps `output` bit-identical to it.
  double sum = e.bias;
  for (int64_t ci = 0; ci < in_per_group; ++ci) {
    const int64_t channel = e.group * in_per_group + ci;
    e.in_channels.push_back(channel);
    for (int64_t t = 0; t < KK; ++t) {
      const ExplainTap& tap = e.taps[static_cast<size_t>(t)];
      const size_t k = static_cast<size_t>(ci * KK + t);
      e.weights[k] = w.weight.at(out_channel, ci, tap.ky, tap.kx);
      if (!tap.in_bounds) continue;  // zero padding: input 0, product 0
      e.inputs[k] = x.at(b, channel, tap.y, tap.x);
      e.products[k] = static_cast<double>(e.weights[k]) * e.inputs[k];
      e.channel_sums[static_cast<size_t>(ci)] += e.products[k];
      sum += e.products[k];
    }
  }
  e.total = sum;
  e.output = static_cast<float>(sum);
  return e;
}

int64_t parameter_count(const ConvParams& p) {
  return p.out_channels * (p.in_channels / p.groups) * p.kernel_size * p.kernel_size +
         (p.has_bias ? p.out_channels : 0);
}

int64_t parameter_count(const InvolutionParams& p) {
  const int64_t reduced = p.reduced_channels();
  const int64_t span_rows = p.taps() * p.groups();
  return reduced * p.channels + 2 * reduced + span_rows * reduced + span_rows;
}

}  // namespace ks
