// The check cases and the tolerance rule of check_cases.h.
#include "kernelscope/check_cases.h"

#include <algorithm>
#include <cmath>
#include <random>
#include <sstream>

#include "kernelscope/error.h"

namespace ks {
namespace {

std::string shape_tag(const Shape& s) {
  std::ostringstream out;
  for (size_t i = 0; i < s.size(); ++i) out << (i ? "x" : "") << s[i];
  return out.str();
}

std::string index_tag(size_t i) {
  std::string digits = std::to_string(i);
  return std::string(digits.size() < 3 ? 3 - digits.size() : 0, '0') + digits;
}

bool conv_valid(const Shape& input, const ConvParams& p) {
  try {
    conv_output_shape(input, p);
    return true;
  } catch (const Error&) {
    return false;
  }
}

// Spatial sizes: odd, even, non-square, smaller than a dilated kernel, none a multiple of
// 8 or 16, so every tiling has a ragged edge.
const std::vector<std::pair<int64_t, int64_t>> kSizes = {{7, 9}, {13, 10}, {17, 23}, {11, 6},
                                                         {5, 4}, {19, 15}, {3, 5},   {1, 9}};

void add_conv(std::vector<CheckCase>& cases, int64_t batch, int64_t cin, int64_t cout,
              int64_t groups, int64_t h, int64_t w, int64_t k, int64_t s, int64_t p, int64_t d,
              bool bias) {
  CheckCase c;
  c.op = OpKind::Conv;
  c.input_shape = {batch, cin, h, w};
  c.conv.in_channels = cin;
  c.conv.out_channels = cout;
  c.conv.groups = groups;
  c.conv.kernel_size = k;
  c.conv.stride = s;
  c.conv.padding = p;
  c.conv.dilation = d;
  c.conv.has_bias = bias;
  c.seed = 1000 + cases.size();
  c.name = "conv_" + index_tag(cases.size()) + "_k" + std::to_string(k) + "_s" + std::to_string(s) +
           "_p" + std::to_string(p) + "_d" + std::to_string(d) + "_g" + std::to_string(groups) +
           (bias ? "_bias_" : "_nobias_") + shape_tag(c.input_shape);
  cases.push_back(c);
}

void add_involution(std::vector<CheckCase>& cases, int64_t batch, int64_t channels,
                    int64_t group_channels, int64_t reduction, int64_t h, int64_t w, int64_t k,
                    int64_t s, int64_t d) {
  CheckCase c;
  c.op = OpKind::Involution;
  c.input_shape = {batch, channels, h, w};
  c.involution.channels = channels;
  c.involution.group_channels = group_channels;
  c.involution.reduction = reduction;
  c.involution.kernel_size = k;
  c.involution.stride = s;
  c.involution.dilation = d;
  c.seed = 5000 + cases.size();
  c.name = "involution_" + index_tag(cases.size()) + "_k" + std::to_string(k) + "_s" +
           std::to_string(s) + "_d" + std::to_string(d) + "_gc" + std::to_string(group_channels) +
           "_r" + std::to_string(reduction) + "_" + shape_tag(c.input_shape);
  cases.push_back(c);
}

}  // namespace

std::vector<CheckCase> conv_check_cases() {
  std::vector<CheckCase> cases;
  // Channel layouts per groups mode: groups 1, 2, 3 and depthwise (with multiplier 1 and 2).
  struct Layout {
    int64_t cin, cout, groups;
  };
  const std::vector<Layout> layouts = {{3, 8, 1},  {4, 6, 2},  {3, 3, 3}, {5, 7, 1},
                                       {6, 10, 2}, {5, 10, 5}, {6, 9, 3}, {1, 4, 1}};
  size_t n = 0;
  for (int64_t k = 1; k <= 7; ++k)
    for (int64_t s = 1; s <= 3; ++s)
      for (int64_t d = 1; d <= 2; ++d) {
        // Two paddings per combination: alternately none or the full K (wider than any
        // "same" padding), plus the half-span padding that keeps odd kernels centred.
        const int64_t half = d * (k - 1) / 2;
        std::vector<int64_t> paddings = {n % 2 == 0 ? 0 : k};
        if (half != paddings[0]) paddings.push_back(half);
        for (int64_t p : paddings) {
          const Layout& l = layouts[n % layouts.size()];
          const int64_t batch = 1 + static_cast<int64_t>(n % 3);
          // The first size from this case's rotation that gives a non-empty output.
          for (size_t t = 0; t < kSizes.size(); ++t) {
            const auto& hw = kSizes[(n + t) % kSizes.size()];
            ConvParams probe;
            probe.in_channels = l.cin;
            probe.out_channels = l.cout;
            probe.groups = l.groups;
            probe.kernel_size = k;
            probe.stride = s;
            probe.padding = p;
            probe.dilation = d;
            if (!conv_valid({batch, l.cin, hw.first, hw.second}, probe)) continue;
            add_conv(cases, batch, l.cin, l.cout, l.groups, hw.first, hw.second, k, s, p, d,
                     n % 3 != 1);
            break;
          }
          ++n;
        }
      }
  // Larger layers, closer to what fast paths tile and vectorise: channel counts that are
  // and are not multiples of 8, 1x1 (a plain GEMM), depthwise, dilation 3, stride 4.
  add_conv(cases, 1, 16, 32, 1, 33, 31, 3, 1, 1, 1, true);
  add_conv(cases, 2, 32, 32, 32, 29, 35, 3, 2, 1, 1, true);
  add_conv(cases, 1, 64, 13, 1, 20, 19, 1, 1, 0, 1, false);
  add_conv(cases, 1, 24, 40, 4, 18, 21, 5, 1, 2, 1, true);
  add_conv(cases, 1, 8, 16, 1, 40, 37, 7, 1, 3, 1, true);
  add_conv(cases, 3, 12, 12, 3, 15, 14, 2, 2, 0, 1, false);
  add_conv(cases, 1, 3, 8, 1, 64, 61, 3, 1, 1, 1, true);
  add_conv(cases, 1, 17, 17, 17, 9, 11, 5, 1, 4, 2, true);
  add_conv(cases, 1, 4, 6, 1, 19, 21, 3, 1, 3, 3, true);
  add_conv(cases, 2, 4, 4, 1, 23, 17, 4, 4, 1, 1, false);
  add_conv(cases, 1, 9, 18, 9, 31, 30, 6, 3, 2, 1, true);
  // Wide, short images with few output channels per group: the tiled GPU kernel gives each
  // thread 2 or 4 pixels 32 columns apart there (depthwise, multiplier 2, 1-3 channels).
  add_conv(cases, 1, 3, 3, 3, 5, 150, 7, 1, 3, 1, true);
  add_conv(cases, 1, 2, 2, 2, 6, 50, 3, 1, 1, 1, false);
  add_conv(cases, 2, 2, 4, 2, 7, 140, 5, 1, 4, 2, true);
  add_conv(cases, 1, 1, 2, 1, 4, 45, 3, 1, 0, 1, true);
  add_conv(cases, 2, 3, 4, 1, 5, 70, 3, 2, 1, 1, true);
  return cases;
}

std::vector<CheckCase> involution_check_cases() {
  std::vector<CheckCase> cases;
  // (channels, group_channels, reduction): G from 1 to 12, C/r down to 1, gc up to 16.
  struct Layout {
    int64_t channels, group_channels, reduction;
  };
  const std::vector<Layout> layouts = {{4, 1, 1},   {8, 2, 2},   {12, 4, 4}, {6, 3, 2},
                                       {16, 16, 4}, {32, 16, 4}, {5, 1, 5},  {8, 8, 2},
                                       {10, 2, 1},  {24, 8, 3},  {12, 1, 4}};
  size_t n = 0;
  for (int64_t k : {1, 3, 5, 7})
    for (int64_t s = 1; s <= 3; ++s)
      for (int64_t d = 1; d <= 2; ++d)
        for (int variant = 0; variant < 2; ++variant) {
          const Layout& l = layouts[n % layouts.size()];
          const auto& hw = kSizes[(n * 3 + static_cast<size_t>(variant)) % kSizes.size()];
          add_involution(cases, 1 + static_cast<int64_t>(n % 2), l.channels, l.group_channels,
                         l.reduction, hw.first, hw.second, k, s, d);
          ++n;
        }
  // Larger layers: the official configuration (gc 16, r 4) at K 7, many pixels, an RGB
  // image, a stride-2 layer with 8 channels per group.
  add_involution(cases, 1, 64, 16, 4, 28, 28, 7, 1, 1);
  add_involution(cases, 2, 32, 8, 2, 31, 29, 3, 2, 1);
  add_involution(cases, 1, 48, 16, 4, 17, 19, 5, 1, 2);
  add_involution(cases, 1, 16, 4, 4, 40, 37, 3, 1, 1);
  add_involution(cases, 1, 8, 1, 2, 30, 33, 7, 2, 2);
  add_involution(cases, 1, 3, 1, 1, 64, 61, 3, 1, 1);
  add_involution(cases, 1, 16, 16, 4, 35, 18, 3, 4, 1);
  return cases;
}

std::vector<CheckCase> check_cases() {
  std::vector<CheckCase> all = conv_check_cases();
  for (CheckCase& c : involution_check_cases()) all.push_back(std::move(c));
  return all;
}

Tensor check_case_input(const CheckCase& c) {
  Tensor t(c.input_shape);
  std::mt19937_64 rng(c.seed);
  std::uniform_real_distribution<float> unit(-1.0f, 1.0f);
  for (float& v : t.data) v = unit(rng);
  return t;
}

ConvWeights check_case_conv_weights(const CheckCase& c) {
  return random_conv_weights(c.conv, c.seed + 1);
}

InvolutionWeights check_case_involution_weights(const CheckCase& c) {
  InvolutionWeights w = random_involution_weights(c.involution, c.seed + 1);
  std::mt19937_64 rng(c.seed + 2);
  std::uniform_real_distribution<float> unit(0.0f, 1.0f);
  auto draw = [&](float lo, float hi) { return lo + (hi - lo) * unit(rng); };
  for (size_t m = 0; m < w.bn_gamma.data.size(); ++m) {
    // A quarter of the gammas negative: ReLU then clips the other side of the mean.
    w.bn_gamma.data[m] = draw(0.5f, 1.5f) * (unit(rng) < 0.25f ? -1.0f : 1.0f);
    w.bn_beta.data[m] = draw(-0.3f, 0.3f);
    w.bn_mean.data[m] = draw(-0.3f, 0.3f);
    w.bn_var.data[m] = draw(0.3f, 2.0f);
  }
  return w;
}

Tolerance backend_tolerance(const std::string& backend, OpKind op) {
  if (op == OpKind::Conv && backend == "cudnn") return {5e-4, 5e-4};
  return {1e-5, 1e-5};
}

Comparison compare_tensors(const Tensor& actual, const Tensor& expected, Tolerance tolerance,
                           int keep) {
  Comparison c;
  if (actual.shape != expected.shape) {
    c.shape_mismatch = true;
    c.max_error = INFINITY;
    return c;
  }
  for (size_t i = 0; i < expected.data.size(); ++i) {
    const float a = actual.data[i], e = expected.data[i];
    const double error = std::fabs(static_cast<double>(a) - e);
    if (std::isnan(a) && std::isnan(e)) continue;
    // NaN compares false everywhere: it counts as the worst possible error.
    c.max_error = std::isnan(error) ? INFINITY : std::max(c.max_error, error);
    if (error <= tolerance.atol + tolerance.rtol * std::fabs(e)) continue;
    if (static_cast<int>(c.first.size()) < keep) c.first.push_back({static_cast<int64_t>(i), a, e});
    ++c.mismatches;
  }
  return c;
}

std::string describe_comparison(const Comparison& c, const Tensor& actual, const Tensor& expected) {
  std::ostringstream out;
  if (c.shape_mismatch) {
    out << "shape " << shape_to_string(actual.shape) << " != expected "
        << shape_to_string(expected.shape);
    return out.str();
  }
  if (c.ok()) return "all values within tolerance";
  out << c.mismatches << " of " << expected.numel() << " values differ (max abs error "
      << c.max_error << ", shape " << shape_to_string(expected.shape) << "):";
  out.precision(9);
  for (const Comparison::Mismatch& m : c.first)
    out << " [" << m.index << "] got " << m.actual << " expected " << m.expected << ";";
  return out.str();
}

}  // namespace ks
