// The computed targets of kernelscope/targets.h. They run once per learning run on the
// reference loops (double accumulation), which keeps them simple and exact.
#include "kernelscope/targets.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <vector>

#include "cpu_ref/reference.h"
#include "kernelscope/error.h"
#include "kernelscope/io.h"

namespace ks::targets {
namespace {

// A depthwise convolution on the grid: each channel filtered by the same K x K kernel.
Tensor depthwise(const Tensor& input, const std::vector<float>& kernel, const TargetGrid& grid) {
  ConvParams p;
  p.in_channels = p.out_channels = p.groups = input.dim(1);
  p.kernel_size = grid.kernel_size;
  p.stride = grid.stride;
  p.dilation = grid.dilation;
  p.padding = grid.padding();
  p.has_bias = false;
  return ref::conv2d(input, p, conv_weights_from_kernel(p, kernel));
}

void check_input(const Tensor& input) {
  if (input.rank() != 4) throw Error("a target needs an input [B, C, H, W]");
}

}  // namespace

Shape target_shape(const Shape& input, const TargetGrid& grid) {
  ConvParams p;
  p.in_channels = p.out_channels = p.groups = input.at(1);
  p.kernel_size = grid.kernel_size;
  p.stride = grid.stride;
  p.dilation = grid.dilation;
  p.padding = grid.padding();
  return conv_output_shape(input, p);
}

Tensor kernel_preset_target(const Tensor& input, KernelPreset preset, const TargetGrid& grid) {
  check_input(input);
  return depthwise(input, kernel_preset(preset, grid.kernel_size), grid);
}

Tensor bilateral_target(const Tensor& input, const TargetGrid& grid,
                        const BilateralSettings& settings) {
  check_input(input);
  const Shape shape = target_shape(input.shape, grid);
  Tensor out(shape);
  const int64_t B = input.dim(0), C = input.dim(1), H = input.dim(2), W = input.dim(3);
  const int64_t K = grid.kernel_size, half = (K - 1) / 2, pad = grid.padding();
  const double sigma_space =
      settings.sigma_space > 0 ? settings.sigma_space : std::max<double>(1.0, half);
  const double space_scale = 1.0 / (2 * sigma_space * sigma_space);
  const double range_scale = 1.0 / (2 * settings.sigma_range * settings.sigma_range);
  std::vector<double> sums(static_cast<size_t>(C));
  for (int64_t b = 0; b < B; ++b)
    for (int64_t i = 0; i < shape[2]; ++i)
      for (int64_t j = 0; j < shape[3]; ++j) {
        const int64_t cy = i * grid.stride, cx = j * grid.stride;  // the centre pixel
        std::fill(sums.begin(), sums.end(), 0.0);
        double total = 0;
        for (int64_t ky = 0; ky < K; ++ky)
          for (int64_t kx = 0; kx < K; ++kx) {
            const int64_t yy = cy - pad + ky * grid.dilation, xx = cx - pad + kx * grid.dilation;
            if (yy < 0 || yy >= H || xx < 0 || xx >= W) continue;
            double range2 = 0;
            for (int64_t c = 0; c < C; ++c) {
              const double diff = double{input.at(b, c, yy, xx)} - input.at(b, c, cy, cx);
              range2 += diff * diff;
            }
            range2 /= static_cast<double>(C);
            const double dy = static_cast<double>(ky - half), dx = static_cast<double>(kx - half);
            const double weight =
                std::exp(-(dy * dy + dx * dx) * space_scale - range2 * range_scale);
            total += weight;
            for (int64_t c = 0; c < C; ++c)
              sums[static_cast<size_t>(c)] += weight * input.at(b, c, yy, xx);
          }
        for (int64_t c = 0; c < C; ++c)
          out.at(b, c, i, j) = static_cast<float>(sums[static_cast<size_t>(c)] / total);
      }
  return out;
}

Tensor brightness_mask(const Tensor& input) {
  check_input(input);
  const int64_t B = input.dim(0), C = input.dim(1), H = input.dim(2), W = input.dim(3);
  Tensor mask({B, 1, H, W});
  for (int64_t b = 0; b < B; ++b)
    for (int64_t y = 0; y < H; ++y)
      for (int64_t x = 0; x < W; ++x) {
        double sum = 0;
        for (int64_t c = 0; c < C; ++c) sum += input.at(b, c, y, x);
        const double brightness = sum / static_cast<double>(C);
        mask.at(b, 0, y, x) = static_cast<float>(std::clamp((brightness - 0.4) / 0.2, 0.0, 1.0));
      }
  return mask;
}

Tensor masked_blur_target(const Tensor& input, const Tensor& mask, const TargetGrid& grid) {
  check_input(input);
  if (mask.rank() != 4 || mask.dim(1) != 1 || mask.dim(2) != input.dim(2) ||
      mask.dim(3) != input.dim(3) || (mask.dim(0) != 1 && mask.dim(0) != input.dim(0)))
    throw Error("the mask is " + shape_to_string(mask.shape) + " but the input " +
                shape_to_string(input.shape) + " needs [1, 1, H, W] or [B, 1, H, W]");
  Tensor out = depthwise(input, kernel_preset(KernelPreset::Gaussian, grid.kernel_size), grid);
  for (int64_t b = 0; b < out.dim(0); ++b)
    for (int64_t i = 0; i < out.dim(2); ++i)
      for (int64_t j = 0; j < out.dim(3); ++j) {
        const int64_t cy = i * grid.stride, cx = j * grid.stride;
        const float m = std::clamp(mask.at(mask.dim(0) == 1 ? 0 : b, 0, cy, cx), 0.0f, 1.0f);
        for (int64_t c = 0; c < out.dim(1); ++c)
          out.at(b, c, i, j) = m * out.at(b, c, i, j) + (1 - m) * input.at(b, c, cy, cx);
      }
  return out;
}

Tensor load_mask(const std::string& path, const Shape& input_shape) {
  const Tensor image = load_input(path);
  if (image.dim(0) != 1 || image.dim(2) != input_shape.at(2) || image.dim(3) != input_shape.at(3))
    throw Error(path + ": the mask is " + shape_to_string(image.shape) +
                " but must be one image of the input's size " + std::to_string(input_shape.at(2)) +
                "x" + std::to_string(input_shape.at(3)));
  const int64_t C = image.dim(1), plane = image.dim(2) * image.dim(3);
  Tensor mask({1, 1, image.dim(2), image.dim(3)});
  for (int64_t q = 0; q < plane; ++q) {
    double sum = 0;
    for (int64_t c = 0; c < C; ++c) sum += image.data[static_cast<size_t>(c * plane + q)];
    mask.data[static_cast<size_t>(q)] = static_cast<float>(sum / static_cast<double>(C));
  }
  return mask;
}

Tensor designed_target(const Tensor& input, DesignedInvolution design, const TargetGrid& grid) {
  check_input(input);
  InvolutionParams p = designed_involution_params(design, input.dim(1));
  const InvolutionWeights w = designed_involution_weights(design, p);
  p.stride = grid.stride;
  p.dilation = grid.dilation;
  return ref::involution_aggregate(input, ref::involution_kernels(input, p, w), p);
}

Tensor load_target_file(const std::string& path, const Shape& output_shape) {
  const std::vector<uint8_t> bytes = read_file_bytes(path, kDefaultMemoryCapBytes);
  const bool npy = bytes.size() >= 6 && std::memcmp(bytes.data(), "\x93NUMPY", 6) == 0;
  Tensor target;
  try {
    target = npy ? parse_npy(bytes.data(), bytes.size()) : load_image(path);
  } catch (const Error& e) {
    const std::string what = e.what();
    throw Error(what.rfind(path, 0) == 0 ? what : path + ": " + what);
  }
  if (target.shape != output_shape)
    throw Error(path + ": the target is " + shape_to_string(target.shape) + " but the output is " +
                shape_to_string(output_shape) + (npy ? "" : " (an image target is [1, C, H, W])"));
  return target;
}

}  // namespace ks::targets
