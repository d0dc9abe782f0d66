// Named kernels do what their names promise: identity copies, Sobel x finds vertical edges
// with the right sign, and an involution built from a preset is a depthwise convolution.
#include <gtest/gtest.h>

#include <cmath>
#include <numeric>

#include "cpu_ref/reference.h"
#include "kernelscope/error.h"
#include "kernelscope/kernel_presets.h"
#include "test_util.h"

namespace ks {
namespace {

ConvParams same_size_conv(int64_t channels, int64_t k, int64_t groups = 1) {
  ConvParams p;
  p.in_channels = channels;
  p.out_channels = channels;
  p.kernel_size = k;
  p.padding = (k - 1) / 2;
  p.groups = groups;
  return p;
}

TEST(KernelPresets, ClassicThreeByThreeValues) {
  using V = std::vector<float>;
  EXPECT_EQ(kernel_preset(KernelPreset::SobelX, 3), (V{-1, 0, 1, -2, 0, 2, -1, 0, 1}));
  EXPECT_EQ(kernel_preset(KernelPreset::SobelY, 3), (V{-1, -2, -1, 0, 0, 0, 1, 2, 1}));
  EXPECT_EQ(kernel_preset(KernelPreset::Laplacian, 3), (V{0, 1, 0, 1, -4, 1, 0, 1, 0}));
  EXPECT_EQ(kernel_preset(KernelPreset::Sharpen, 3), (V{0, -1, 0, -1, 5, -1, 0, -1, 0}));
  EXPECT_EQ(kernel_preset(KernelPreset::Emboss, 3), (V{-2, -1, 0, -1, 1, 1, 0, 1, 2}));
  const V gauss = kernel_preset(KernelPreset::Gaussian, 3);
  EXPECT_FLOAT_EQ(gauss[4], 4.0f / 16);
  EXPECT_FLOAT_EQ(gauss[0], 1.0f / 16);
}

TEST(KernelPresets, SumsAndSupportForManySizes) {
  for (int64_t k = 1; k <= 8; ++k)
    for (KernelPreset p : all_kernel_presets()) {
      if (!kernel_preset_supports(p, k)) {
        EXPECT_THROW(kernel_preset(p, k), Error) << kernel_preset_name(p) << " K=" << k;
        continue;
      }
      const std::vector<float> g = kernel_preset(p, k);
      ASSERT_EQ(g.size(), static_cast<size_t>(k * k));
      const double sum = std::accumulate(g.begin(), g.end(), 0.0);
      switch (p) {
        case KernelPreset::Identity:
        case KernelPreset::Box:
        case KernelPreset::Gaussian:
        case KernelPreset::Sharpen:
        case KernelPreset::Emboss:
          EXPECT_NEAR(sum, 1.0, 1e-5) << kernel_preset_name(p);
          break;
        default:
          EXPECT_NEAR(sum, 0.0, 1e-5) << kernel_preset_name(p) << " K=" << k;
          break;
      }
    }
  EXPECT_EQ(kernel_preset_from_name("sobel-x"), KernelPreset::SobelX);
  EXPECT_THROW(kernel_preset_from_name("blur"), Error);
}

TEST(KernelPresets, IdentityConvReproducesTheInput) {
  for (int64_t k : {1, 3, 5}) {
    const ConvParams p = same_size_conv(3, k);
    const Tensor x = test::random_tensor({1, 3, 8, 9}, 5);
    const ConvWeights w = conv_weights_from_kernel(p, kernel_preset(KernelPreset::Identity, k));
    EXPECT_TRUE(test::all_close(ref::conv2d(x, p, w), x, 0, 0)) << "K=" << k;
  }
}

TEST(KernelPresets, SobelXRespondsToAVerticalEdgeOnly) {
  // Dark left half, bright right half: a vertical edge between columns 3 and 4.
  Tensor x({1, 1, 8, 8});
  for (int64_t y = 0; y < 8; ++y)
    for (int64_t c = 4; c < 8; ++c) x.at(0, 0, y, c) = 1.0f;
  ConvParams p = same_size_conv(1, 3);
  p.padding = 0;  // no border effects
  const Tensor gx =
      ref::conv2d(x, p, conv_weights_from_kernel(p, kernel_preset(KernelPreset::SobelX, 3)));
  const Tensor gy =
      ref::conv2d(x, p, conv_weights_from_kernel(p, kernel_preset(KernelPreset::SobelY, 3)));
  for (int64_t i = 0; i < 6; ++i)
    for (int64_t j = 0; j < 6; ++j) {
      // Output column j covers input columns j..j+2: it straddles the edge for j = 2, 3.
      const float expected = (j == 2 || j == 3) ? 4.0f : 0.0f;
      EXPECT_EQ(gx.at(0, 0, i, j), expected) << i << "," << j;
      EXPECT_EQ(gy.at(0, 0, i, j), 0.0f);
    }
}

TEST(KernelPresets, ChannelMeanSpreadFiltersTheGreyImage) {
  ConvParams p = same_size_conv(3, 3);
  p.out_channels = 1;
  const Tensor x = test::random_tensor({1, 3, 6, 6}, 9);
  const ConvWeights w = conv_weights_from_kernel(p, kernel_preset(KernelPreset::Identity, 3),
                                                 KernelSpread::ChannelMean);
  const Tensor y = ref::conv2d(x, p, w);
  for (int64_t i = 0; i < 6; ++i)
    for (int64_t j = 0; j < 6; ++j)
      EXPECT_NEAR(y.at(0, 0, i, j), (x.at(0, 0, i, j) + x.at(0, 1, i, j) + x.at(0, 2, i, j)) / 3,
                  1e-6);
}

TEST(KernelPresets, InvolutionFromPresetEqualsDepthwiseConv) {
  for (KernelPreset preset : {KernelPreset::SobelX, KernelPreset::Gaussian, KernelPreset::Emboss})
    for (int64_t dilation : {1, 2}) {
      const int64_t C = 4, K = 3;
      InvolutionParams ip;
      ip.channels = C;
      ip.kernel_size = K;
      ip.dilation = dilation;
      ip.group_channels = 2;
      ip.reduction = 2;
      const std::vector<float> kernel = kernel_preset(preset, K);
      const Tensor x = test::random_tensor({1, C, 9, 10}, 21);
      const InvolutionWeights iw = involution_weights_from_kernel(ip, kernel, 3);
      const Tensor inv = ref::involution_aggregate(x, ref::involution_kernels(x, ip, iw), ip);

      ConvParams cp = same_size_conv(C, K, /*groups=*/C);
      cp.dilation = dilation;
      cp.padding = ip.padding();
      cp.has_bias = false;
      const Tensor conv = ref::conv2d(x, cp, conv_weights_from_kernel(cp, kernel));
      EXPECT_TRUE(test::all_close(inv, conv, 1e-6f, 1e-6f)) << kernel_preset_name(preset);
    }
}

}  // namespace
}  // namespace ks
