// The hand-built generators of designed_involution.h, with the derivation of their numbers.
//
// Notation, for one output pixel with channel vector x (C values in [0, 1] for images):
//   reduce:  r_m = sum_c W0[m][c] x_c                       (1x1 conv, no bias)
//   BN:      y_m = gamma_m (r_m - mean_m) / sqrt(var_m + eps) + beta_m   (eval mode)
//   ReLU:    h_m = max(y_m, 0)
//   span:    kernel[t] = b1[t] + sum_m W1[t][m] h_m           (1x1 conv with bias)
// Every design sets var = 1 and gamma = s sqrt(1 + eps), so BN is exactly y = s (r - mean) +
// beta: mean is where a hinge bends, s its slope. The span bias is the kernel where every
// hinge is 0, and column m of W1 is the change of kernel per unit of h_m.
#include "kernelscope/designed_involution.h"

#include <algorithm>
#include <cmath>

#include "kernelscope/error.h"
#include "kernelscope/kernel_presets.h"

namespace ks {
namespace {

constexpr DesignedInvolution kAll[] = {
    DesignedInvolution::EdgeAware, DesignedInvolution::DirectionFollowsColour,
    DesignedInvolution::SharpenBrightBlurDark, DesignedInvolution::BlurWhereRed};

using Kernel = std::vector<float>;

Kernel preset(KernelPreset p, int64_t k) { return kernel_preset(p, k); }

// a - b, tap by tap.
Kernel minus(const Kernel& a, const Kernel& b) {
  Kernel d(a.size());
  for (size_t t = 0; t < a.size(); ++t) d[t] = a[t] - b[t];
  return d;
}

// The weights every design starts from: every hidden channel unused (zero reduce row, zero
// span column) with PyTorch's BN defaults (gamma 1, beta 0, mean 0, var 1), so an unused
// channel is relu(0) = 0 and adds nothing.
InvolutionWeights unused_generator(const InvolutionParams& p) {
  const int64_t m = p.reduced_channels(), c = p.channels, kk = p.taps() * p.groups();
  InvolutionWeights w;
  w.reduce_weight = Tensor({m, c});
  w.bn_gamma = Tensor({m}, 1.0f);
  w.bn_beta = Tensor({m});
  w.bn_mean = Tensor({m});
  w.bn_var = Tensor({m}, 1.0f);
  w.span_weight = Tensor({kk, m});
  w.span_bias = Tensor({kk});
  return w;
}

// Hidden channel m reads sum_c row[c] x_c and, through BN, becomes y = slope (r - bend).
void set_hinge(InvolutionWeights* w, int64_t m, const std::vector<float>& row, double slope,
               double bend) {
  const int64_t c = w->reduce_weight.dim(1);
  for (int64_t i = 0; i < c; ++i) w->reduce_weight.data[m * c + i] = row[static_cast<size_t>(i)];
  // gamma / sqrt(var + eps) = slope with var = 1.
  w->bn_gamma.data[m] = static_cast<float>(slope * std::sqrt(1.0 + w->bn_eps));
  w->bn_mean.data[m] = static_cast<float>(bend);
  w->bn_beta.data[m] = 0.0f;
  w->bn_var.data[m] = 1.0f;
}

// Column m of the span weight: how the kernel moves per unit of h_m.
void set_span_column(InvolutionWeights* w, int64_t m, const Kernel& direction) {
  const int64_t hidden = w->span_weight.dim(1);
  for (size_t t = 0; t < direction.size(); ++t)
    w->span_weight.data[static_cast<int64_t>(t) * hidden + m] = direction[t];
}

void set_span_bias(InvolutionWeights* w, const Kernel& kernel) {
  std::copy(kernel.begin(), kernel.end(), w->span_bias.data.begin());
}

// The reduce row that measures brightness: the mean of the C channels.
std::vector<float> brightness_row(int64_t channels) {
  return std::vector<float>(static_cast<size_t>(channels), 1.0f / static_cast<float>(channels));
}

// edge_aware. Two hinges on brightness b, at 0.6 and 0.8 with slope 1/0.2 = 5:
//   h0 = relu(5 (b - 0.6)),  h1 = relu(5 (b - 0.8)),  t = h0 - h1 = clamp((b - 0.6)/0.2, 0, 1)
// (for b <= 0.6 both are 0; between, only h0 grows, reaching 1 at 0.8; above 0.8 both grow
// at the same rate and their difference stays 1). The span is
//   kernel = box + (identity - box) h0 - (identity - box) h1 = box + t (identity - box),
// so bias = box, W1 column 0 = identity - box, column 1 = box - identity. Dark and mid pixels
// (b <= 0.6) get the 5x5 mean, bright ones (b >= 0.8) are copied unchanged. Every kernel
// sums to 1, so flat regions keep their value whatever t is: only texture and edges next to
// non-bright pixels visibly soften.
void design_edge_aware(InvolutionWeights* w, const InvolutionParams& p) {
  const int64_t k = p.kernel_size;
  const Kernel box = preset(KernelPreset::Box, k), identity = preset(KernelPreset::Identity, k);
  const std::vector<float> row = brightness_row(p.channels);
  set_hinge(w, 0, row, 5.0, 0.6);
  set_hinge(w, 1, row, 5.0, 0.8);
  set_span_bias(w, box);
  set_span_column(w, 0, minus(identity, box));
  set_span_column(w, 1, minus(box, identity));
}

// direction_follows_colour. Two hinges at 0 with slope 1 on the red-blue difference:
//   h0 = relu(R - B)  (redness: reduce row (1, 0, -1)),  h1 = relu(B - R)  (row (-1, 0, 1)).
// At most one of them is non-zero. The span has no bias and
//   kernel = sobel_x h0 + sobel_y h1,
// so a pure red pixel (R - B = 1) gets exactly Sobel x, a pure blue one exactly Sobel y, a
// half-red one (R - B = 0.5) half of Sobel x, and any pixel with R = B (grey, white, black,
// magenta) the zero kernel: its output is 0. Green does not take part.
void design_direction_follows_colour(InvolutionWeights* w, const InvolutionParams& p) {
  const int64_t k = p.kernel_size;
  set_hinge(w, 0, {1.0f, 0.0f, -1.0f}, 1.0, 0.0);
  set_hinge(w, 1, {-1.0f, 0.0f, 1.0f}, 1.0, 0.0);
  set_span_column(w, 0, preset(KernelPreset::SobelX, k));
  set_span_column(w, 1, preset(KernelPreset::SobelY, k));
}

// sharpen_bright_blur_dark. Three hinges on brightness b at 0.3, 0.5 and 0.7, slope 5:
//   h0 = relu(5 (b - 0.3)),  h1 = relu(5 (b - 0.5)),  h2 = relu(5 (b - 0.7)).
// u = h0 - h1 = clamp((b - 0.3)/0.2, 0, 1) and v = h1 - h2 = clamp((b - 0.5)/0.2, 0, 1), as
// in edge_aware. The kernel walks box -> identity -> sharpen:
//   kernel = box + u (identity - box) + v (sharpen - identity)
//          = box + h0 (identity - box) + h1 (sharpen - 2 identity + box) + h2 (identity - sharpen)
// b <= 0.3: box (blur); b = 0.5: identity; b >= 0.7: sharpen (u = v = 1). Each extra hidden
// channel buys one more bend of the path through kernel space.
void design_sharpen_bright_blur_dark(InvolutionWeights* w, const InvolutionParams& p) {
  const int64_t k = p.kernel_size;
  const Kernel box = preset(KernelPreset::Box, k), identity = preset(KernelPreset::Identity, k),
               sharpen = preset(KernelPreset::Sharpen, k);
  const std::vector<float> row = brightness_row(p.channels);
  set_hinge(w, 0, row, 5.0, 0.3);
  set_hinge(w, 1, row, 5.0, 0.5);
  set_hinge(w, 2, row, 5.0, 0.7);
  set_span_bias(w, box);
  set_span_column(w, 0, minus(identity, box));
  Kernel bend(box.size());
  for (size_t t = 0; t < bend.size(); ++t) bend[t] = sharpen[t] - 2 * identity[t] + box[t];
  set_span_column(w, 1, bend);
  set_span_column(w, 2, minus(identity, sharpen));
}

// blur_where_red. One hinge at 0 with slope 1 on the red-blue difference, as in
// direction_follows_colour: h0 = relu(R - B). The span is
//   kernel = identity + h0 (box - identity),
// so bias = identity and W1 column 0 = box - identity: a pixel with R - B = 1 gets the 5x5
// box, one with R - B = 0.65 (a textured red) 65 % of the way from identity to the box, and
// every pixel with R <= B (grey, blue, green) is copied unchanged. Every kernel sums to 1, so
// flat regions keep their value: only texture inside red regions, and red edges, soften.
// This is the learn mode's lesson target: one hidden unit and one direction in kernel space,
// which gradient descent finds, while a single convolution kernel must blur everything or
// nothing.
void design_blur_where_red(InvolutionWeights* w, const InvolutionParams& p) {
  const int64_t k = p.kernel_size;
  const Kernel box = preset(KernelPreset::Box, k), identity = preset(KernelPreset::Identity, k);
  set_hinge(w, 0, {1.0f, 0.0f, -1.0f}, 1.0, 0.0);
  set_span_bias(w, identity);
  set_span_column(w, 0, minus(box, identity));
}

struct Design {
  int64_t kernel_size;
  int64_t min_channels;
  int64_t max_channels;  // 0: no upper limit
};

Design design_of(DesignedInvolution d) {
  switch (d) {
    case DesignedInvolution::EdgeAware:
      return {5, 2, 0};  // two hinges need two hidden channels
    case DesignedInvolution::DirectionFollowsColour:
      return {3, 3, 3};  // reads R and B by position
    case DesignedInvolution::SharpenBrightBlurDark:
      return {5, 3, 0};  // three hinges
    case DesignedInvolution::BlurWhereRed:
      return {5, 3, 3};  // reads R and B by position
  }
  return {3, 3, 3};
}

std::string quoted_names() {
  std::string list;
  for (size_t i = 0; i < std::size(kAll); ++i) {
    if (i) list += i + 1 == std::size(kAll) ? " or " : ", ";
    list += std::string(kDesignedPrefix) + designed_involution_name(kAll[i]);
  }
  return list;
}

}  // namespace

const char* designed_involution_name(DesignedInvolution d) {
  switch (d) {
    case DesignedInvolution::EdgeAware:
      return "edge_aware";
    case DesignedInvolution::DirectionFollowsColour:
      return "direction_follows_colour";
    case DesignedInvolution::SharpenBrightBlurDark:
      return "sharpen_bright_blur_dark";
    case DesignedInvolution::BlurWhereRed:
      return "blur_where_red";
  }
  return "?";
}

std::vector<DesignedInvolution> all_designed_involutions() {
  return {std::begin(kAll), std::end(kAll)};
}

bool has_designed_prefix(const std::string& text) { return text.rfind(kDesignedPrefix, 0) == 0; }

DesignedInvolution designed_involution_from_name(const std::string& name) {
  std::string n =
      has_designed_prefix(name) ? name.substr(std::string(kDesignedPrefix).size()) : name;
  std::replace(n.begin(), n.end(), '-', '_');
  for (DesignedInvolution d : kAll)
    if (n == designed_involution_name(d)) return d;
  throw Error("unknown designed involution '" + name + "' (use " + quoted_names() + ")");
}

const char* designed_involution_summary(DesignedInvolution d) {
  switch (d) {
    case DesignedInvolution::EdgeAware:
      return "5x5 box blur where the pixel is dark or mid (brightness <= 0.6), identity where "
             "it is bright (>= 0.8)";
    case DesignedInvolution::DirectionFollowsColour:
      return "Sobel x scaled by max(R-B, 0) plus Sobel y scaled by max(B-R, 0): red pixels see "
             "vertical edges, blue ones horizontal edges, grey ones nothing";
    case DesignedInvolution::SharpenBrightBlurDark:
      return "5x5 box blur where the pixel is dark (<= 0.3), identity at mid grey (0.5), "
             "sharpen where it is bright (>= 0.7)";
    case DesignedInvolution::BlurWhereRed:
      return "identity + max(R-B, 0) (5x5 box - identity): red pixels blurred in proportion to "
             "their redness, all others copied unchanged";
  }
  return "?";
}

const char* designed_involution_channels(DesignedInvolution d) {
  switch (d) {
    case DesignedInvolution::EdgeAware:
      return "2 or more";
    case DesignedInvolution::DirectionFollowsColour:
      return "3 (RGB)";
    case DesignedInvolution::SharpenBrightBlurDark:
      return "3 or more";
    case DesignedInvolution::BlurWhereRed:
      return "3 (RGB)";
  }
  return "?";
}

InvolutionParams designed_involution_params(DesignedInvolution d, int64_t channels) {
  const Design design = design_of(d);
  if (channels < design.min_channels || (design.max_channels > 0 && channels > design.max_channels))
    throw Error(std::string(kDesignedPrefix) + designed_involution_name(d) + " needs " +
                designed_involution_channels(d) + " input channels, the input has " +
                std::to_string(channels));
  InvolutionParams p;
  p.channels = channels;
  p.kernel_size = design.kernel_size;
  p.stride = 1;
  p.dilation = 1;
  p.group_channels = channels;  // one kernel, shared by every channel
  p.reduction = 1;              // C hidden channels; the design uses the first two or three
  return p;
}

InvolutionWeights designed_involution_weights(DesignedInvolution d, const InvolutionParams& p) {
  const InvolutionParams expected = designed_involution_params(d, p.channels);
  if (p.kernel_size != expected.kernel_size || p.group_channels != expected.group_channels ||
      p.reduction != expected.reduction)
    throw Error(std::string(kDesignedPrefix) + designed_involution_name(d) +
                " is built for K=" + std::to_string(expected.kernel_size) + ", group channels " +
                std::to_string(expected.group_channels) + ", reduction 1");
  InvolutionWeights w = unused_generator(p);
  switch (d) {
    case DesignedInvolution::EdgeAware:
      design_edge_aware(&w, p);
      break;
    case DesignedInvolution::DirectionFollowsColour:
      design_direction_follows_colour(&w, p);
      break;
    case DesignedInvolution::SharpenBrightBlurDark:
      design_sharpen_bright_blur_dark(&w, p);
      break;
    case DesignedInvolution::BlurWhereRed:
      design_blur_where_red(&w, p);
      break;
  }
  return w;
}

}  // namespace ks
