// Named kernels and their spread over a layer; the formulas are documented in
// kernel_presets.h.
#include "kernelscope/kernel_presets.h"

#include <algorithm>
#include <cstring>

#include "kernelscope/error.h"

namespace ks {
namespace {

constexpr KernelPreset kAll[] = {
    KernelPreset::Identity, KernelPreset::Box,    KernelPreset::Gaussian,  KernelPreset::Sharpen,
    KernelPreset::SobelX,   KernelPreset::SobelY, KernelPreset::Laplacian, KernelPreset::Emboss};

// Row n of Pascal's triangle (n + 1 values): the binomial approximation of a Gaussian.
std::vector<double> binomial_row(int64_t n) {
  std::vector<double> row(static_cast<size_t>(n + 1), 0.0);
  row[0] = 1;
  for (int64_t k = 1; k <= n; ++k)
    for (int64_t m = k; m >= 1; --m) row[static_cast<size_t>(m)] += row[static_cast<size_t>(m - 1)];
  return row;
}

// Difference of the K-1 binomial row, padded on both sides: (-1, 0, 1) for K = 3.
std::vector<double> derivative_row(int64_t k) {
  const std::vector<double> b = binomial_row(k - 2);
  std::vector<double> d(static_cast<size_t>(k), 0.0);
  for (int64_t m = 0; m < k; ++m) {
    const double right = m < k - 1 ? b[static_cast<size_t>(m)] : 0.0;
    const double left = m >= 1 ? b[static_cast<size_t>(m - 1)] : 0.0;
    d[static_cast<size_t>(m)] = left - right;
  }
  return d;
}

std::vector<float> laplacian(int64_t k) {
  std::vector<float> g(static_cast<size_t>(k * k), 0.0f);
  const int64_t c = (k - 1) / 2;
  auto at = [&](int64_t y, int64_t x) -> float& { return g[static_cast<size_t>(y * k + x)]; };
  at(c, c) = -4;
  at(c - 1, c) = at(c + 1, c) = at(c, c - 1) = at(c, c + 1) = 1;
  return g;
}

}  // namespace

const char* kernel_preset_name(KernelPreset p) {
  switch (p) {
    case KernelPreset::Identity:
      return "identity";
    case KernelPreset::Box:
      return "box";
    case KernelPreset::Gaussian:
      return "gaussian";
    case KernelPreset::Sharpen:
      return "sharpen";
    case KernelPreset::SobelX:
      return "sobel_x";
    case KernelPreset::SobelY:
      return "sobel_y";
    case KernelPreset::Laplacian:
      return "laplacian";
    case KernelPreset::Emboss:
      return "emboss";
  }
  return "?";
}

KernelPreset kernel_preset_from_name(const std::string& name) {
  std::string n = name;
  std::replace(n.begin(), n.end(), '-', '_');
  for (KernelPreset p : kAll)
    if (n == kernel_preset_name(p)) return p;
  std::string list;
  for (KernelPreset p : kAll) list += std::string(list.empty() ? "" : ", ") + kernel_preset_name(p);
  throw Error("unknown kernel preset '" + name + "' (use " + list + ")");
}

std::vector<KernelPreset> all_kernel_presets() { return {std::begin(kAll), std::end(kAll)}; }

bool kernel_preset_supports(KernelPreset p, int64_t k) {
  switch (p) {
    case KernelPreset::Identity:
    case KernelPreset::Box:
    case KernelPreset::Gaussian:
      return k >= 1;
    case KernelPreset::SobelX:
    case KernelPreset::SobelY:
      return k >= 2;
    case KernelPreset::Laplacian:
    case KernelPreset::Sharpen:
    case KernelPreset::Emboss:
      return k >= 3 && k % 2 == 1;  // they need a centre cell
  }
  return false;
}

std::vector<float> kernel_preset(KernelPreset p, int64_t k) {
  if (!kernel_preset_supports(p, k))
    throw Error(std::string("kernel preset ") + kernel_preset_name(p) +
                " is not defined for K=" + std::to_string(k) +
                (k >= 3 ? " (it needs an odd K with a centre cell)" : " (K is too small)"));
  const size_t n = static_cast<size_t>(k * k);
  const int64_t c = (k - 1) / 2;
  std::vector<float> g(n, 0.0f);
  switch (p) {
    case KernelPreset::Identity:
      g[static_cast<size_t>(c * k + c)] = 1;
      break;
    case KernelPreset::Box:
      std::fill(g.begin(), g.end(), 1.0f / static_cast<float>(n));
      break;
    case KernelPreset::Gaussian: {
      const std::vector<double> b = binomial_row(k - 1);
      double total = 0;
      for (double v : b) total += v;
      for (int64_t y = 0; y < k; ++y)
        for (int64_t x = 0; x < k; ++x)
          g[static_cast<size_t>(y * k + x)] = static_cast<float>(
              b[static_cast<size_t>(y)] * b[static_cast<size_t>(x)] / (total * total));
      break;
    }
    case KernelPreset::SobelX:
    case KernelPreset::SobelY: {
      const std::vector<double> smooth = binomial_row(k - 1), d = derivative_row(k);
      for (int64_t y = 0; y < k; ++y)
        for (int64_t x = 0; x < k; ++x) {
          const double v = p == KernelPreset::SobelX
                               ? smooth[static_cast<size_t>(y)] * d[static_cast<size_t>(x)]
                               : d[static_cast<size_t>(y)] * smooth[static_cast<size_t>(x)];
          g[static_cast<size_t>(y * k + x)] = static_cast<float>(v);
        }
      break;
    }
    case KernelPreset::Laplacian:
      g = laplacian(k);
      break;
    case KernelPreset::Sharpen:
      g = laplacian(k);
      for (float& v : g) v = -v;
      g[static_cast<size_t>(c * k + c)] += 1;
      break;
    case KernelPreset::Emboss:
      for (int64_t y = 0; y < k; ++y)
        for (int64_t x = 0; x < k; ++x)
          g[static_cast<size_t>(y * k + x)] =
              static_cast<float>(y - c + x - c) * 2.0f / static_cast<float>(k - 1);
      g[static_cast<size_t>(c * k + c)] = 1;
      break;
  }
  return g;
}

ConvWeights conv_weights_from_kernel(const ConvParams& p, const std::vector<float>& kernel,
                                     KernelSpread spread) {
  const int64_t taps = p.kernel_size * p.kernel_size;
  if (static_cast<int64_t>(kernel.size()) != taps)
    throw Error("the kernel has " + std::to_string(kernel.size()) + " values but K=" +
                std::to_string(p.kernel_size) + " needs " + std::to_string(taps));
  if (p.groups < 1 || p.in_channels % p.groups != 0)
    throw Error("groups must divide the input channels");
  const int64_t in_per_group = p.in_channels / p.groups;
  ConvWeights w;
  w.weight = Tensor({p.out_channels, in_per_group, p.kernel_size, p.kernel_size});
  if (p.has_bias) w.bias = Tensor({p.out_channels});
  for (int64_t o = 0; o < p.out_channels; ++o)
    for (int64_t i = 0; i < in_per_group; ++i) {
      if (spread == KernelSpread::PerChannel && i != o % in_per_group) continue;
      const float scale =
          spread == KernelSpread::ChannelMean ? 1.0f / static_cast<float>(in_per_group) : 1.0f;
      float* dst = w.weight.ptr() + (o * in_per_group + i) * taps;
      for (int64_t t = 0; t < taps; ++t) dst[t] = kernel[static_cast<size_t>(t)] * scale;
    }
  return w;
}

InvolutionWeights involution_weights_from_kernel(const InvolutionParams& p,
                                                 const std::vector<float>& kernel, uint64_t seed) {
  const int64_t taps = p.taps();
  if (static_cast<int64_t>(kernel.size()) != taps)
    throw Error("the kernel has " + std::to_string(kernel.size()) + " values but K=" +
                std::to_string(p.kernel_size) + " needs " + std::to_string(taps));
  InvolutionWeights w = random_involution_weights(p, seed);
  std::fill(w.span_weight.data.begin(), w.span_weight.data.end(), 0.0f);
  for (int64_t g = 0; g < p.groups(); ++g)
    std::memcpy(w.span_bias.ptr() + g * taps, kernel.data(),
                static_cast<size_t>(taps) * sizeof(float));
  return w;
}

}  // namespace ks
