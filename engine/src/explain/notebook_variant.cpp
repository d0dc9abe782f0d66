// The seed notebook's involution (see notebook_variant.h for what differs from the paper
// and why), written as plain loops over the notebook's own steps.
#include "kernelscope/notebook_variant.h"

#include <cstdint>
#include <limits>
#include <string>
#include <vector>

#include "kernelscope/error.h"

namespace ks {
namespace {

std::string str(int64_t v) { return std::to_string(v); }

void require(bool ok, const std::string& message) {
  if (!ok) throw Error(message);
}

}  // namespace

const char* const kNotebookVariantNote =
    "Notebook variant: the span is a KxK convolution without padding (and the reduce has a "
    "bias but no BN/ReLU), so the map shrinks by K-1 (220 -> 218 for K=3). The paper's span "
    "is 1x1: it turns each pixel's own reduced vector into that pixel's K*K*G kernel values. "
    "A KxK span mixes the neighbourhood into the kernel and multiplies its weights by K*K.";

Shape notebook_variant_output_shape(const Shape& input, const NotebookVariantParams& p) {
  require(input.size() == 4, "input must be [B, C, H, W], got " + shape_to_string(input));
  require(p.kernel_size >= 1, "kernel size must be >= 1, got " + str(p.kernel_size));
  require(p.padding >= 0, "padding must be >= 0, got " + str(p.padding));
  require(p.group_channels >= 1 && p.reduction >= 1, "group channels and reduction must be >= 1");
  require(input[1] == p.channels,
          "input has " + str(input[1]) + " channels but the layer expects " + str(p.channels));
  require(p.channels % p.group_channels == 0, "group channels (" + str(p.group_channels) +
                                                  ") must divide the channels (" + str(p.channels) +
                                                  ")");
  require(
      p.channels % p.reduction == 0 && p.reduced_channels() >= 1,
      "reduction (" + str(p.reduction) + ") must divide the channels (" + str(p.channels) + ")");
  const int64_t h = input[2] - p.kernel_size + 1 + 2 * p.padding;
  const int64_t w = input[3] - p.kernel_size + 1 + 2 * p.padding;
  if (p.stride != 1) {
    // Mirror the failure of the notebook's code so the switch explains it instead of
    // silently "fixing" it.
    const int64_t hs = (input[2] + p.stride - 1) / p.stride - p.kernel_size + 1 + 2 * p.padding;
    const int64_t ws = (input[3] + p.stride - 1) / p.stride - p.kernel_size + 1 + 2 * p.padding;
    throw Error("the notebook's inv() only runs with stride 1: with stride " + str(p.stride) +
                " its span map is " + str(hs) + "x" + str(ws) + " but nn.Unfold (stride 1) gives " +
                str(h) + "x" + str(w) + " windows, and view() fails");
  }
  require(h >= 1 && w >= 1, "kernel size " + str(p.kernel_size) + " does not fit the " +
                                str(input[2]) + "x" + str(input[3]) +
                                " input without padding: H - K + 1 + 2p must be >= 1");
  return {input[0], input[1], h, w};
}

void validate_notebook_variant_weights(const NotebookVariantParams& p,
                                       const NotebookVariantWeights& w) {
  const int64_t cr = p.reduced_channels(), rows = p.groups() * p.taps(), K = p.kernel_size;
  auto check = [](const Tensor& t, const Shape& s, const char* name) {
    require(t.shape == s, std::string(name) + " must have shape " + shape_to_string(s) + ", got " +
                              shape_to_string(t.shape));
  };
  check(w.reduce_weight, {cr, p.channels, 1, 1}, "reduce.weight");
  check(w.reduce_bias, {cr}, "reduce.bias");
  check(w.span_weight, {rows, cr, K, K}, "span.weight");
  check(w.span_bias, {rows}, "span.bias");
}

NotebookVariantWeights random_notebook_variant_weights(const NotebookVariantParams& p,
                                                       uint64_t seed) {
  ConvParams reduce;
  reduce.in_channels = p.channels;
  reduce.out_channels = p.reduced_channels();
  reduce.kernel_size = 1;
  ConvParams span;
  span.in_channels = p.reduced_channels();
  span.out_channels = p.groups() * p.taps();
  span.kernel_size = p.kernel_size;
  // Two layers, two streams: the span gets a derived seed so it is not a copy of the reduce.
  ConvWeights r = random_conv_weights(reduce, seed);
  ConvWeights s = random_conv_weights(span, seed ^ 0x5350414E5350414Eull);
  return {std::move(r.weight), std::move(r.bias), std::move(s.weight), std::move(s.bias)};
}

NotebookVariantResult notebook_variant_involution(const Tensor& x, const NotebookVariantParams& p,
                                                  const NotebookVariantWeights& w) {
  const Shape out_shape = notebook_variant_output_shape(x.shape, p);
  validate_notebook_variant_weights(p, w);
  const int64_t B = x.dim(0), C = p.channels, H = x.dim(2), W = x.dim(3);
  const int64_t CR = p.reduced_channels(), K = p.kernel_size, KK = p.taps(), G = p.groups();
  const int64_t H_out = out_shape[2], W_out = out_shape[3], pad = p.padding;
  check_memory_cap(notebook_variant_memory_bytes(x.shape, p), kDefaultMemoryCapBytes,
                   "the notebook variant");

  NotebookVariantResult result;
  result.output = Tensor(out_shape);
  result.kernels = Tensor({B, G, KK, H_out, W_out});
  std::vector<double> reduced(static_cast<size_t>(CR * H * W));
  for (int64_t b = 0; b < B; ++b) {
    // reduce: 1x1 conv with bias over the full-size map.
    for (int64_t m = 0; m < CR; ++m)
      for (int64_t y = 0; y < H; ++y)
        for (int64_t xx = 0; xx < W; ++xx) {
          double v = w.reduce_bias.data[static_cast<size_t>(m)];
          for (int64_t c = 0; c < C; ++c)
            v += static_cast<double>(w.reduce_weight.data[static_cast<size_t>(m * C + c)]) *
                 x.at(b, c, y, xx);
          reduced[static_cast<size_t>((m * H + y) * W + xx)] = v;
        }
    // span: K x K conv (zero padding p) from C/r to G*K*K channels; this is the step the
    // paper does with a 1x1 conv.
    for (int64_t row = 0; row < G * KK; ++row)
      for (int64_t i = 0; i < H_out; ++i)
        for (int64_t j = 0; j < W_out; ++j) {
          double v = w.span_bias.data[static_cast<size_t>(row)];
          for (int64_t m = 0; m < CR; ++m)
            for (int64_t ky = 0; ky < K; ++ky)
              for (int64_t kx = 0; kx < K; ++kx) {
                const int64_t y = i - pad + ky, xx = j - pad + kx;
                if (y < 0 || y >= H || xx < 0 || xx >= W) continue;
                v += static_cast<double>(
                         w.span_weight
                             .data[static_cast<size_t>(((row * CR + m) * K + ky) * K + kx)]) *
                     reduced[static_cast<size_t>((m * H + y) * W + xx)];
              }
          result.kernels.data[static_cast<size_t>(((b * G * KK + row) * H_out + i) * W_out + j)] =
              static_cast<float>(v);
        }
    // unfold (stride 1, padding p) times the kernel of the channel's group, summed over taps.
    for (int64_t c = 0; c < C; ++c) {
      const int64_t g = c / p.group_channels;
      for (int64_t i = 0; i < H_out; ++i)
        for (int64_t j = 0; j < W_out; ++j) {
          double sum = 0;
          for (int64_t ky = 0; ky < K; ++ky)
            for (int64_t kx = 0; kx < K; ++kx) {
              const int64_t y = i - pad + ky, xx = j - pad + kx;
              if (y < 0 || y >= H || xx < 0 || xx >= W) continue;
              const int64_t row = g * KK + ky * K + kx;
              sum += static_cast<double>(result.kernels.data[static_cast<size_t>(
                         ((b * G * KK + row) * H_out + i) * W_out + j)]) *
                     x.at(b, c, y, xx);
            }
          result.output.at(b, c, i, j) = static_cast<float>(sum);
        }
    }
  }
  return result;
}

int64_t parameter_count(const NotebookVariantParams& p) {
  const int64_t cr = p.reduced_channels(), rows = p.groups() * p.taps();
  return cr * p.channels + cr + rows * cr * p.taps() + rows;
}

int64_t notebook_variant_memory_bytes(const Shape& input, const NotebookVariantParams& p) {
  const Shape out = notebook_variant_output_shape(input, p);
  // In double: K^4 span weights overflow int64 long before the count stops mattering.
  const auto d = [](int64_t v) { return static_cast<double>(v); };
  const double k2 = d(p.taps()), cr = d(p.reduced_channels()), rows = d(p.groups()) * k2;
  const double weights = cr * d(p.channels) + cr + rows * cr * k2 + rows;
  const double out_pixels = d(out[0]) * d(out[2]) * d(out[3]);
  const double floats = d(input[0]) * d(input[1]) * d(input[2]) * d(input[3]) +
                        out_pixels * (d(p.channels) + rows) + weights;
  const double reduced_doubles = cr * d(input[2]) * d(input[3]);  // one image at a time
  const double bytes = 4 * floats + 8 * reduced_doubles;
  constexpr int64_t kMax = std::numeric_limits<int64_t>::max();
  return bytes >= static_cast<double>(kMax) ? kMax : static_cast<int64_t>(bytes);
}

}  // namespace ks
