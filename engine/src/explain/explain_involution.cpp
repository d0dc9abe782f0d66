// One involution output pixel, step by step: the kernel-generation chain at that pixel
// (the formulas of cpu_ref/involution_ref.cpp, keeping every intermediate vector), then the
// window, the generated kernel and the products.
#include <algorithm>
#include <cmath>

#include "explain/explain_common.h"

namespace ks {
namespace {

InvolutionGeneration generate(const Tensor& x, const InvolutionParams& p,
                              const InvolutionWeights& w, int64_t b, int64_t i, int64_t j) {
  const int64_t C = p.channels, CR = p.reduced_channels(), KK = p.taps(), G = p.groups();
  const int64_t H = x.dim(2), W = x.dim(3), s = p.stride;
  InvolutionGeneration g;

  // X'[:, i, j]: average of the in-bounds part of the s x s window (ceil-mode AvgPool).
  InputRect& r = g.pooled_window;
  r.y0 = i * s;
  r.x0 = j * s;
  r.y1 = std::min(r.y0 + s, H);
  r.x1 = std::min(r.x0 + s, W);
  const double count = static_cast<double>((r.y1 - r.y0) * (r.x1 - r.x0));
  g.pooled.resize(static_cast<size_t>(C));
  for (int64_t c = 0; c < C; ++c) {
    double sum = 0;
    for (int64_t yy = r.y0; yy < r.y1; ++yy)
      for (int64_t xx = r.x0; xx < r.x1; ++xx) sum += x.at(b, c, yy, xx);
    g.pooled[static_cast<size_t>(c)] = sum / count;
  }

  g.reduced.resize(static_cast<size_t>(CR));
  g.normalised.resize(static_cast<size_t>(CR));
  g.activated.resize(static_cast<size_t>(CR));
  for (int64_t m = 0; m < CR; ++m) {
    const size_t mi = static_cast<size_t>(m);
    double reduced = 0;
    for (int64_t c = 0; c < C; ++c)
      reduced +=
          w.reduce_weight.data[static_cast<size_t>(m * C + c)] * g.pooled[static_cast<size_t>(c)];
    g.reduced[mi] = reduced;
    g.normalised[mi] = (reduced - w.bn_mean.data[mi]) /
                           std::sqrt(static_cast<double>(w.bn_var.data[mi]) + w.bn_eps) *
                           w.bn_gamma.data[mi] +
                       w.bn_beta.data[mi];
    g.activated[mi] = g.normalised[mi] > 0 ? g.normalised[mi] : 0;
  }

  g.kernels.resize(static_cast<size_t>(G * KK));
  for (int64_t row = 0; row < G * KK; ++row) {
    double value = w.span_bias.data[static_cast<size_t>(row)];
    for (int64_t m = 0; m < CR; ++m)
      value += w.span_weight.data[static_cast<size_t>(row * CR + m)] *
               g.activated[static_cast<size_t>(m)];
    // Stored as float, like the kernels tensor the reference aggregates with.
    g.kernels[static_cast<size_t>(row)] = static_cast<float>(value);
  }

  g.channel_group.resize(static_cast<size_t>(C));
  for (int64_t c = 0; c < C; ++c) g.channel_group[static_cast<size_t>(c)] = c / p.group_channels;
  return g;
}

}  // namespace

InvolutionPixelExplanation explain_involution_pixel(const Tensor& x, const InvolutionParams& p,
                                                    const InvolutionWeights& w, int64_t b,
                                                    int64_t channel, int64_t i, int64_t j) {
  const Shape out_shape = involution_output_shape(x.shape, p);
  validate_involution_weights(p, w);
  explain_detail::check_index("batch index", b, out_shape[0]);
  explain_detail::check_index("channel", channel, out_shape[1]);
  explain_detail::check_index("output row", i, out_shape[2]);
  explain_detail::check_index("output column", j, out_shape[3]);

  const int64_t K = p.kernel_size, KK = p.taps();
  InvolutionPixelExplanation e;
  e.batch = b;
  e.channel = channel;
  e.i = i;
  e.j = j;
  e.kernel_size = K;
  e.group = channel / p.group_channels;
  for (int64_t c = e.group * p.group_channels; c < (e.group + 1) * p.group_channels; ++c)
    e.channels_sharing_kernel.push_back(c);
  e.generation = generate(x, p, w, b, i, j);
  e.taps = explain_detail::window_taps(i, j, K, p.stride, p.padding(), p.dilation, x.dim(2),
                                       x.dim(3), &e.receptive_field);

  e.inputs.assign(static_cast<size_t>(KK), 0.0f);
  e.products.assign(static_cast<size_t>(KK), 0.0);
  e.weights.assign(e.generation.kernels.begin() + e.group * KK,
                   e.generation.kernels.begin() + (e.group + 1) * KK);
  double sum = 0;
  for (int64_t t = 0; t < KK; ++t) {
    const ExplainTap& tap = e.taps[static_cast<size_t>(t)];
    if (!tap.in_bounds) continue;  // zero padding
    const size_t k = static_cast<size_t>(t);
    e.inputs[k] = x.at(b, channel, tap.y, tap.x);
    e.products[k] = static_cast<double>(e.weights[k]) * e.inputs[k];
    sum += e.products[k];
  }
  e.total = sum;
  e.output = static_cast<float>(sum);
  return e;
}

}  // namespace ks
