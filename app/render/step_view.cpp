// Builds the step-through's StepView from the engine's explanations: which numbers go in
// the grids, how the sum is written out, and the side notes that compare the operators.
#include "render/step_view.h"

#include <cmath>
#include <cstdio>

namespace ks::render {
namespace {

std::string str(int64_t v) { return std::to_string(v); }

// "[0.52 0.31 0.20]", the first `limit` entries and "…" after them.
template <typename T>
std::string vector_text(const std::vector<T>& v, size_t limit = 6) {
  std::string s = "[";
  for (size_t k = 0; k < v.size() && k < limit; ++k)
    s += (k ? " " : "") + format_number(static_cast<double>(v[k]), 2);
  if (v.size() > limit) s += " … (" + std::to_string(v.size()) + ")";
  return s + "]";
}

std::string count_text(int64_t n) {
  char buf[32];
  if (n >= 10'000'000)
    std::snprintf(buf, sizeof buf, "%.1f M", static_cast<double>(n) / 1e6);
  else if (n >= 10'000)
    std::snprintf(buf, sizeof buf, "%.1f k", static_cast<double>(n) / 1e3);
  else
    std::snprintf(buf, sizeof buf, "%lld", static_cast<long long>(n));
  return buf;
}

std::string flops_text(double f) {
  char buf[32];
  if (f >= 1e9)
    std::snprintf(buf, sizeof buf, "%.2f GFLOP", f / 1e9);
  else
    std::snprintf(buf, sizeof buf, "%.1f MFLOP", f / 1e6);
  return buf;
}

// The involution a convolution is compared with: same channels, K, stride and dilation,
// the CLI's defaults for groups and reduction.
bool comparable_involution(const Shape& input, int64_t channels, int64_t k, int64_t stride,
                           int64_t dilation, InvolutionParams* out) {
  InvolutionParams p;
  p.channels = channels;
  p.kernel_size = k;
  p.stride = stride;
  p.dilation = dilation;
  p.group_channels = channels % 16 == 0 ? 16 : 1;
  p.reduction = channels >= 16 ? 4 : 1;
  try {
    involution_output_shape(input, p);
  } catch (const std::exception&) {
    return false;  // e.g. even K: involution needs a centre
  }
  *out = p;
  return true;
}

std::string rows_cols(const InputRect& r) {
  return "rows " + str(r.y0) + "–" + str(r.y1 - 1) + ", cols " + str(r.x0) + "–" + str(r.x1 - 1);
}

}  // namespace

std::string format_number(double v, int decimals) {
  char buf[48];
  if (std::fabs(v) >= 1e4)
    std::snprintf(buf, sizeof buf, "%.*e", std::max(decimals - 1, 0), v);
  else
    std::snprintf(buf, sizeof buf, "%.*f", decimals, v);
  std::string s = buf;
  if (s.rfind("-0.", 0) == 0 && s.find_first_not_of("-0.") == std::string::npos) s.erase(0, 1);
  return s;
}

StepView conv_step_view(const Tensor& input, const ConvParams& p, const ConvWeights&,
                        const Tensor& output, const ConvPixelExplanation& e) {
  StepView v;
  const int64_t KK = e.kernel_size * e.kernel_size;
  v.title = "Convolution  K=" + str(p.kernel_size) + "  stride " + str(p.stride) + "  padding " +
            str(p.padding) + "  dilation " + str(p.dilation) + "  groups " + str(p.groups) +
            "   ·   output channel " + str(e.out_channel) + " of " + str(p.out_channels);
  v.input = &input;
  v.batch = e.batch;
  v.kernel_size = e.kernel_size;
  v.window = e.receptive_field;
  v.taps = e.taps;
  // Show the input channel with the largest weights: with per-channel presets it is the
  // only one that contributes.
  size_t best = 0;
  double best_mass = -1;
  for (size_t c = 0; c < e.in_channels.size(); ++c) {
    double mass = 0;
    for (int64_t t = 0; t < KK; ++t) mass += std::fabs(e.weights[c * KK + t]);
    if (mass > best_mass) best_mass = mass, best = c;
  }
  v.shown_channel = e.in_channels[best];
  const auto first = static_cast<std::ptrdiff_t>(best * KK), last = first + KK;
  v.patch.assign(e.inputs.begin() + first, e.inputs.begin() + last);
  v.kernel.assign(e.weights.begin() + first, e.weights.begin() + last);
  v.products.assign(e.products.begin() + first, e.products.begin() + last);
  v.patch_label =
      "input channel " + str(v.shown_channel) + " (" + rows_cols(e.receptive_field) + ")";
  v.kernel_label =
      "weight[out " + str(e.out_channel) + ", in " + str(static_cast<int64_t>(best)) + "]";
  v.products_label = "patch × kernel";

  const size_t shown_limit = 6;
  for (size_t c = 0; c < e.in_channels.size() && c < shown_limit; ++c)
    v.sum_lines.push_back(std::string(c ? "+ " : "  ") + "Σ ch " + str(e.in_channels[c]) + " = " +
                          format_number(e.channel_sums[c], 4) + (c == best ? "  ◂ shown" : ""));
  if (e.in_channels.size() > shown_limit) {
    double rest = 0;
    for (size_t c = shown_limit; c < e.in_channels.size(); ++c) rest += e.channel_sums[c];
    v.sum_lines.push_back("+ Σ " + str(static_cast<int64_t>(e.in_channels.size() - shown_limit)) +
                          " more channels = " + format_number(rest, 4));
  }
  if (e.has_bias) v.sum_lines.push_back("+ bias = " + format_number(e.bias, 4));
  v.sum_lines.push_back("= " + format_number(e.output, 4));

  v.output = &output;
  v.output_channel = e.out_channel;
  v.i = e.i;
  v.j = e.j;
  v.output_label = "output channel " + str(e.out_channel) + "  (" + str(output.dim(3)) + "×" +
                   str(output.dim(2)) + ")";
  v.notes.push_back("out(row " + str(e.i) + ", col " + str(e.j) +
                    ") = " + format_number(e.output, 4));
  v.notes.push_back("parameters: conv " + count_text(parameter_count(p)));
  v.notes.push_back("FLOPs: conv " + flops_text(conv_flops(input.shape, p)));
  InvolutionParams inv;
  if (comparable_involution(input.shape, p.in_channels, p.kernel_size, p.stride, p.dilation,
                            &inv)) {
    v.notes[1] += "  ·  involution " + count_text(parameter_count(inv));
    v.notes[2] += "  ·  involution " + flops_text(involution_flops(input.shape, inv));
    v.notes.push_back("(involution: C=" + str(inv.channels) + ", G=" + str(inv.groups()) +
                      ", r=" + str(inv.reduction) + ", same K and stride)");
  }
  return v;
}

ConvParams conv_baseline(const InvolutionParams& p) {
  ConvParams conv;
  conv.in_channels = conv.out_channels = p.channels;
  conv.kernel_size = p.kernel_size;
  conv.stride = p.stride;
  conv.dilation = p.dilation;
  conv.padding = p.padding();
  return conv;
}

StepView involution_step_view(const Tensor& input, const InvolutionParams& p, const Tensor& output,
                              const InvolutionPixelExplanation& e) {
  StepView v;
  v.title = "Involution  K=" + str(p.kernel_size) + "  stride " + str(p.stride) + "  dilation " +
            str(p.dilation) + "  G=" + str(p.groups()) + " (" + str(p.group_channels) +
            " ch/group)  r=" + str(p.reduction) + "   ·   channel " + str(e.channel) + " of " +
            str(p.channels);
  v.input = &input;
  v.batch = e.batch;
  v.kernel_size = e.kernel_size;
  v.window = e.receptive_field;
  v.taps = e.taps;
  v.shown_channel = e.channel;
  v.has_pool_window = p.stride > 1;
  v.pool_window = e.generation.pooled_window;
  v.patch = e.inputs;
  v.kernel = e.weights;
  v.products = e.products;
  v.patch_label = "channel " + str(e.channel) + " (" + rows_cols(e.receptive_field) + ")";
  v.kernel_label = "kernel " + str(e.group) + " generated at row " + str(e.i) + ", col " + str(e.j);
  v.products_label = "patch × kernel";
  v.sum_lines.push_back("  Σ products = " + format_number(e.total, 4));
  v.sum_lines.push_back("  (no bias term: the span's");
  v.sum_lines.push_back("   bias is inside the kernel)");
  v.sum_lines.push_back("= " + format_number(e.output, 4));

  v.output = &output;
  v.output_channel = e.channel;
  v.i = e.i;
  v.j = e.j;
  v.output_label = "output channel " + str(e.channel) + "  (" + str(output.dim(3)) + "×" +
                   str(output.dim(2)) + ")";
  const InvolutionGeneration& g = e.generation;
  v.notes.push_back("kernel generation at row " + str(e.i) + ", col " + str(e.j) + ":");
  v.notes.push_back(std::string(p.stride > 1
                                    ? "x' = mean of " + str(p.stride) + "×" + str(p.stride) + " = "
                                    : "x' = the pixel's channels = ") +
                    vector_text(g.pooled));
  v.notes.push_back("reduce W0·x' = " + vector_text(g.reduced));
  v.notes.push_back("BN → " + vector_text(g.normalised));
  v.notes.push_back("ReLU → " + vector_text(g.activated));
  v.notes.push_back("span W1·t + b1 → " + str(p.groups()) + " kernel" +
                    (p.groups() > 1 ? "s" : "") + " of " + str(p.kernel_size) + "×" +
                    str(p.kernel_size) + " (" + str(p.groups() * p.taps()) + " values)");
  std::string shared = "kernel " + str(e.group) + " is shared by channel";
  shared += e.channels_sharing_kernel.size() > 1 ? "s " : " ";
  for (size_t k = 0; k < e.channels_sharing_kernel.size() && k < 8; ++k)
    shared += (k ? ", " : "") + str(e.channels_sharing_kernel[k]);
  if (e.channels_sharing_kernel.size() > 8) shared += ", …";
  v.notes.push_back(shared);
  const ConvParams conv = conv_baseline(p);
  v.notes.push_back("parameters: involution " + count_text(parameter_count(p)) + "  ·  conv " +
                    count_text(parameter_count(conv)));
  v.notes.push_back("FLOPs: involution " + flops_text(involution_flops(input.shape, p)) +
                    "  ·  conv " + flops_text(conv_flops(input.shape, conv)));
  return v;
}

StepView notebook_step_view(const Tensor& input, const NotebookVariantParams& p,
                            const NotebookVariantResult& r, int64_t b, int64_t channel, int64_t i,
                            int64_t j) {
  StepView v;
  const int64_t K = p.kernel_size, KK = p.taps(), G = p.groups();
  const int64_t H_out = r.output.dim(2), W_out = r.output.dim(3);
  const int64_t g = channel / p.group_channels;
  v.title = "Notebook involution  K=" + str(K) + " span K×K, padding " + str(p.padding) +
            "  G=" + str(G) + "  r=" + str(p.reduction) + "   ·   channel " + str(channel);
  v.input = &input;
  v.batch = b;
  v.kernel_size = K;
  v.shown_channel = channel;
  // Unfold with stride 1: output (i, j) reads input rows i - p ... i - p + K - 1.
  v.window = {i - p.padding, j - p.padding, i - p.padding + K, j - p.padding + K};
  double sum = 0;
  for (int64_t ky = 0; ky < K; ++ky)
    for (int64_t kx = 0; kx < K; ++kx) {
      ExplainTap t{ky, kx, i - p.padding + ky, j - p.padding + kx, false};
      t.in_bounds = t.y >= 0 && t.y < input.dim(2) && t.x >= 0 && t.x < input.dim(3);
      const float w = r.kernels.data[static_cast<size_t>(
          (((b * G + g) * KK + ky * K + kx) * H_out + i) * W_out + j)];
      const float x = t.in_bounds ? input.at(b, channel, t.y, t.x) : 0.0f;
      const double prod = t.in_bounds ? static_cast<double>(w) * x : 0.0;
      v.taps.push_back(t);
      v.patch.push_back(x);
      v.kernel.push_back(w);
      v.products.push_back(prod);
      sum += prod;
    }
  v.patch_label = "channel " + str(channel) + " (" + rows_cols(v.window) + ")";
  v.kernel_label = "kernel " + str(g) + " from the K×K span";
  v.products_label = "patch × kernel";
  v.sum_lines.push_back("  Σ products = " + format_number(sum, 4));
  v.sum_lines.push_back("= " + format_number(static_cast<float>(sum), 4));
  v.output = &r.output;
  v.output_channel = channel;
  v.i = i;
  v.j = j;
  v.output_label = "output channel " + str(channel) + "  (" + str(W_out) + "×" + str(H_out) + ")";
  v.notes.push_back("input " + str(input.dim(3)) + "×" + str(input.dim(2)) + " → output " +
                    str(W_out) + "×" + str(H_out) + "  (the paper's keeps " + str(input.dim(3)) +
                    "×" + str(input.dim(2)) + ")");
  v.notes.push_back("reduce: 1x1 conv with bias (no BN, no ReLU)");
  v.notes.push_back("span: " + str(K) + "×" + str(K) + " conv, padding " + str(p.padding) +
                    ": the kernel at a pixel mixes its " + str(K) + "×" + str(K) +
                    " neighbourhood");
  InvolutionParams paper;
  paper.channels = p.channels;
  paper.kernel_size = K;
  paper.group_channels = p.group_channels;
  paper.reduction = p.reduction;
  v.notes.push_back("parameters: notebook " + count_text(parameter_count(p)) + "  ·  paper " +
                    count_text(parameter_count(paper)));
  v.notes.push_back(kNotebookVariantNote);
  return v;
}

}  // namespace ks::render
