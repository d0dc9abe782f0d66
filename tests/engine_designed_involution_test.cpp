// Designed involutions generate the kernels their documentation states: at named pixels of a
// small constructed image, the per-pixel kernels equal the stated kernels (identity, box,
// Sobel, sharpen, or a stated blend), and bad names or channel counts are one-line errors.
#include <gtest/gtest.h>

#include <functional>
#include <string>
#include <vector>

#include "kernelscope/backend.h"
#include "kernelscope/designed_involution.h"
#include "kernelscope/error.h"
#include "kernelscope/kernel_presets.h"
#include "test_util.h"

namespace ks {
namespace {

using Kernel = std::vector<float>;

// A 3-channel 8x8 image of a neutral mid grey with the given pixels painted in.
struct Paint {
  OutputPixel at;
  float r, g, b;
};
Tensor painted_image(const std::vector<Paint>& paints, int64_t channels = 3) {
  Tensor x({1, channels, 8, 8}, 0.45f);
  for (const Paint& p : paints) {
    const float rgb[3] = {p.r, p.g, p.b};
    for (int64_t c = 0; c < channels; ++c) x.at(0, c, p.at.y, p.at.x) = rgb[c % 3];
  }
  return x;
}

// The kernel the design generates at each pixel (G = 1), through the engine's per-pixel call.
std::vector<Kernel> kernels_at(DesignedInvolution d, const Tensor& x,
                               const std::vector<OutputPixel>& pixels) {
  const InvolutionParams p = designed_involution_params(d, x.dim(1));
  const InvolutionWeights w = designed_involution_weights(d, p);
  validate_involution_weights(p, w);
  const Tensor k = find_backend("cpu-ref")->involution_kernels_at(x, p, w, pixels);
  const size_t taps = static_cast<size_t>(p.taps());
  std::vector<Kernel> out;
  for (size_t n = 0; n < pixels.size(); ++n)
    out.emplace_back(k.data.begin() + static_cast<std::ptrdiff_t>(n * taps),
                     k.data.begin() + static_cast<std::ptrdiff_t>((n + 1) * taps));
  return out;
}

Kernel named(KernelPreset p, int64_t k) { return kernel_preset(p, k); }

// a * ka + b * kb, tap by tap.
Kernel blend(float a, const Kernel& ka, float b, const Kernel& kb) {
  Kernel out(ka.size());
  for (size_t t = 0; t < ka.size(); ++t) out[t] = a * ka[t] + b * kb[t];
  return out;
}

void expect_kernel(const Kernel& actual, const Kernel& expected, const std::string& what) {
  ASSERT_EQ(actual.size(), expected.size()) << what;
  for (size_t t = 0; t < actual.size(); ++t)
    EXPECT_NEAR(actual[t], expected[t], 2e-5f) << what << ", tap " << t;
}

TEST(DesignedInvolution, EdgeAwareIsIdentityOnBrightAndBoxOnDarkPixels) {
  const OutputPixel bright{2, 3}, dark{5, 5}, mid{1, 6}, corner{0, 0};
  // Brightness 0.9, 0.2, 0.7 (halfway between the bends 0.6 and 0.8) and 0.45 (background).
  const Tensor x = painted_image(
      {{bright, 0.9f, 0.85f, 0.95f}, {dark, 0.1f, 0.2f, 0.3f}, {mid, 0.8f, 0.7f, 0.6f}});
  const std::vector<Kernel> k =
      kernels_at(DesignedInvolution::EdgeAware, x, {bright, dark, mid, corner});
  const Kernel identity = named(KernelPreset::Identity, 5), box = named(KernelPreset::Box, 5);
  expect_kernel(k[0], identity, "bright pixel (2,3)");
  expect_kernel(k[1], box, "dark pixel (5,5)");
  expect_kernel(k[2], blend(0.5f, identity, 0.5f, box), "mid pixel (1,6)");
  expect_kernel(k[3], box, "background corner (0,0)");
}

TEST(DesignedInvolution, EdgeAwareCopiesBrightPixelsThroughTheWholeOperator) {
  // The output, not only the kernel: a bright pixel keeps its value exactly, a dark one
  // becomes the mean of its 5x5 window (zero padding included).
  const OutputPixel bright{3, 3}, dark{4, 4};
  const Tensor x = painted_image({{bright, 0.9f, 0.9f, 0.9f}, {dark, 0.0f, 0.0f, 0.0f}});
  const DesignedInvolution d = DesignedInvolution::EdgeAware;
  const InvolutionParams p = designed_involution_params(d, 3);
  const Tensor y =
      select_backend("auto").involution2d(x, p, designed_involution_weights(d, p), nullptr).output;
  EXPECT_NEAR(y.at(0, 1, 3, 3), 0.9f, 1e-5f);
  // Window rows/cols 2..6 of the grey 0.45 with the bright 0.9 and the dark 0 inside it.
  EXPECT_NEAR(y.at(0, 1, 4, 4), (23 * 0.45f + 0.9f + 0.0f) / 25, 1e-5f);
}

TEST(DesignedInvolution, DirectionFollowsColourIsSobelXOnRedAndSobelYOnBlue) {
  const OutputPixel red{1, 1}, blue{6, 2}, half_red{4, 6}, grey{0, 7}, magenta{7, 7};
  const Tensor x = painted_image({{red, 1.0f, 0.3f, 0.0f},
                                  {blue, 0.0f, 0.6f, 1.0f},
                                  {half_red, 0.75f, 0.1f, 0.25f},
                                  {magenta, 0.9f, 0.0f, 0.9f}});
  const std::vector<Kernel> k = kernels_at(DesignedInvolution::DirectionFollowsColour, x,
                                           {red, blue, half_red, grey, magenta});
  const Kernel sobel_x = named(KernelPreset::SobelX, 3), sobel_y = named(KernelPreset::SobelY, 3);
  const Kernel zero(9, 0.0f);
  expect_kernel(k[0], sobel_x, "red pixel (1,1)");
  expect_kernel(k[1], sobel_y, "blue pixel (6,2)");
  expect_kernel(k[2], blend(0.5f, sobel_x, 0.0f, sobel_y), "half-red pixel (4,6)");
  expect_kernel(k[3], zero, "grey pixel (0,7)");
  expect_kernel(k[4], zero, "magenta pixel (7,7)");
}

TEST(DesignedInvolution, SharpenBrightBlurDarkWalksBoxIdentitySharpen) {
  const OutputPixel dark{1, 2}, mid{3, 3}, bright{6, 5}, between{7, 0};
  // Brightness 0.1, 0.5, 0.9 and 0.4 (halfway between the box and identity bends).
  const Tensor x = painted_image({{dark, 0.1f, 0.1f, 0.1f},
                                  {mid, 0.6f, 0.5f, 0.4f},
                                  {bright, 0.9f, 0.95f, 0.85f},
                                  {between, 0.4f, 0.4f, 0.4f}});
  const std::vector<Kernel> k =
      kernels_at(DesignedInvolution::SharpenBrightBlurDark, x, {dark, mid, bright, between});
  const Kernel box = named(KernelPreset::Box, 5), identity = named(KernelPreset::Identity, 5);
  expect_kernel(k[0], box, "dark pixel (1,2)");
  expect_kernel(k[1], identity, "mid-grey pixel (3,3)");
  expect_kernel(k[2], named(KernelPreset::Sharpen, 5), "bright pixel (6,5)");
  expect_kernel(k[3], blend(0.5f, box, 0.5f, identity), "brightness 0.4 (7,0)");
}

TEST(DesignedInvolution, BlurWhereRedBlursInProportionToRedness) {
  const OutputPixel red{1, 1}, textured_red{4, 4}, blue{6, 2}, grey{0, 7}, green{7, 7};
  const Tensor x = painted_image({{red, 1.0f, 0.3f, 0.0f},
                                  {textured_red, 0.85f, 0.2f, 0.2f},
                                  {blue, 0.1f, 0.3f, 0.9f},
                                  {green, 0.1f, 0.9f, 0.1f}});
  const std::vector<Kernel> k =
      kernels_at(DesignedInvolution::BlurWhereRed, x, {red, textured_red, blue, grey, green});
  const Kernel box = named(KernelPreset::Box, 5), identity = named(KernelPreset::Identity, 5);
  expect_kernel(k[0], box, "red pixel (1,1), R - B = 1");
  expect_kernel(k[1], blend(0.35f, identity, 0.65f, box), "R - B = 0.65 (4,4)");
  expect_kernel(k[2], identity, "blue pixel (6,2)");
  expect_kernel(k[3], identity, "grey pixel (0,7)");
  expect_kernel(k[4], identity, "green pixel (7,7), R = B");
}

TEST(DesignedInvolution, BrightnessDesignsAcceptMoreChannels) {
  // Four channels: brightness is the mean of all four, and the kernel still follows it.
  const OutputPixel bright{2, 2}, dark{5, 5};
  const Tensor x = painted_image({{bright, 0.95f, 0.95f, 0.95f}, {dark, 0.1f, 0.1f, 0.1f}}, 4);
  const std::vector<Kernel> k = kernels_at(DesignedInvolution::EdgeAware, x, {bright, dark});
  expect_kernel(k[0], named(KernelPreset::Identity, 5), "bright pixel, 4 channels");
  expect_kernel(k[1], named(KernelPreset::Box, 5), "dark pixel, 4 channels");
}

TEST(DesignedInvolution, NamesRoundTripWithOrWithoutThePrefix) {
  for (DesignedInvolution d : all_designed_involutions()) {
    const std::string name = designed_involution_name(d);
    EXPECT_EQ(designed_involution_from_name(name), d);
    EXPECT_EQ(designed_involution_from_name("designed:" + name), d);
    EXPECT_TRUE(has_designed_prefix("designed:" + name));
    EXPECT_FALSE(has_designed_prefix(name));
  }
  EXPECT_EQ(designed_involution_from_name("designed:edge-aware"), DesignedInvolution::EdgeAware);
}

void expect_one_line_error(const std::function<void()>& call,
                           const std::vector<std::string>& fragments) {
  try {
    call();
    ADD_FAILURE() << "no error";
  } catch (const Error& e) {
    const std::string message = e.what();
    EXPECT_EQ(message.find('\n'), std::string::npos) << message;
    for (const std::string& f : fragments)
      EXPECT_NE(message.find(f), std::string::npos) << "'" << f << "' missing from: " << message;
  }
}

TEST(DesignedInvolution, WrongNameOrChannelCountIsAOneLineError) {
  expect_one_line_error(
      [] { designed_involution_from_name("designed:blur"); },
      {"designed:blur", "designed:edge_aware", "designed:direction_follows_colour",
       "designed:sharpen_bright_blur_dark", "designed:blur_where_red"});
  expect_one_line_error([] { designed_involution_params(DesignedInvolution::BlurWhereRed, 4); },
                        {"designed:blur_where_red", "3 (RGB)", "has 4"});
  expect_one_line_error(
      [] { designed_involution_params(DesignedInvolution::DirectionFollowsColour, 1); },
      {"designed:direction_follows_colour", "3 (RGB)", "has 1"});
  expect_one_line_error(
      [] { designed_involution_params(DesignedInvolution::DirectionFollowsColour, 4); },
      {"3 (RGB)", "has 4"});
  expect_one_line_error([] { designed_involution_params(DesignedInvolution::EdgeAware, 1); },
                        {"designed:edge_aware", "2 or more"});
  expect_one_line_error(
      [] { designed_involution_params(DesignedInvolution::SharpenBrightBlurDark, 2); },
      {"3 or more"});
  expect_one_line_error(
      [] {
        InvolutionParams p = designed_involution_params(DesignedInvolution::EdgeAware, 3);
        p.kernel_size = 3;
        designed_involution_weights(DesignedInvolution::EdgeAware, p);
      },
      {"K=5"});
}

}  // namespace
}  // namespace ks
