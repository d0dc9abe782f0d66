// Loss, optimisers, targets and the fitting loop (kernelscope/learn.h, targets.h): against
// PyTorch's optimiser steps (tools/make_grad_fixtures.py), the convergence the Learn mode
// promises, determinism, divergence, and the exported weights reloading to the same output.
#include <cmath>

#include "correctness_grid.h"
#include "cpu_ref/reference.h"
#include "kernelscope/backend.h"
#include "kernelscope/error.h"
#include "kernelscope/explain.h"
#include "kernelscope/io.h"
#include "kernelscope/learn.h"
#include "kernelscope/targets.h"
#include "test_util.h"

namespace ks {
namespace {

using learn::FitResult;
using learn::FitSettings;
using learn::OptimizerKind;

TEST(MseLoss, IsTheMeanSquareAndItsGradient) {
  Tensor out({1, 1, 1, 4}), target({1, 1, 1, 4});
  out.data = {1, 2, 3, 4};
  target.data = {1, 0, 3, 8};
  Tensor grad;
  EXPECT_DOUBLE_EQ(learn::mse_loss(out, target, &grad), (4.0 + 16.0) / 4);
  EXPECT_EQ(grad.data, (FloatBuffer{0, 1, 0, -2}));  // 2 (out - target) / 4
  EXPECT_TRUE(test::throws_with(
      [&] {
        learn::mse_loss(out, Tensor({1, 1, 2, 2}));
      },
      "the target is [1, 1, 2, 2] but the output is [1, 1, 1, 4]"));
}

// Six steps of torch.optim.Adam / SGD on F.mse_loss of a 3x3 conv.
void expect_matches_torch_trajectory(const std::string& name, OptimizerKind kind, double lr) {
  SCOPED_TRACE(name);
  const TensorMap t = load_safetensors(test::fixture_dir() + "/grad/" + name + ".safetensors");
  ConvParams p;
  p.in_channels = 2;
  p.out_channels = 3;
  p.padding = 1;
  ConvWeights w{t.at("weight"), t.at("bias")};
  for (bool reference : {true, false}) {
    SCOPED_TRACE(reference ? "reference" : "fast");
    ConvWeights fitted = w;
    FitSettings s;
    s.steps = 6;
    s.optimizer.kind = kind;
    s.optimizer.lr = lr;
    s.reference = reference;
    const FitResult r = learn::fit_conv(t.at("input"), p, &fitted, t.at("target"), s);
    const Tensor& losses = t.at("losses");
    ASSERT_EQ(r.losses.size(), losses.data.size());
    for (size_t i = 0; i < r.losses.size(); ++i)
      EXPECT_NEAR(r.losses[i], losses.data[i], 1e-5 * losses.data[i]) << "step " << i;
    EXPECT_TRUE(test::all_close(fitted.weight, t.at("final.weight"), 1e-5f, 1e-4f));
    EXPECT_TRUE(test::all_close(fitted.bias, t.at("final.bias"), 1e-5f, 1e-4f));
  }
}

TEST(Optimizers, AdamFollowsTorch) {
  expect_matches_torch_trajectory("learn_conv_adam", OptimizerKind::Adam, 0.05);
}

TEST(Optimizers, SgdFollowsTorch) {
  expect_matches_torch_trajectory("learn_conv_sgd", OptimizerKind::Sgd, 0.5);
}

TEST(Optimizers, RefuseANonPositiveLearningRate) {
  Tensor p({2});
  for (double lr : {0.0, -1.0, double{NAN}}) {
    learn::OptimizerSettings s;
    s.lr = lr;
    EXPECT_TRUE(test::throws_with([&] { learn::Optimizer(s, {&p}); },
                                  "the learning rate must be a positive number"));
  }
}

// A 32 x 32 RGB image with dark and bright regions and texture, so brightness-driven
// designs see both sides of their ramps.
Tensor sample_image() {
  Tensor x = test::random_tensor({1, 3, 32, 32}, 42, 0.0f, 1.0f);
  for (int64_t c = 0; c < 3; ++c)
    for (int64_t y = 0; y < 32; ++y)
      for (int64_t i = 0; i < 32; ++i) {
        const float base = ((y / 8 + i / 8) % 2) ? 0.9f : 0.25f;  // a checkerboard of 8x8
        x.at(0, c, y, i) = base + 0.25f * (x.at(0, c, y, i) - 0.5f);
      }
  return x;
}

ConvParams same_conv(int64_t channels, int64_t k) {
  ConvParams p;
  p.in_channels = p.out_channels = channels;
  p.kernel_size = k;
  p.padding = (k - 1) / 2;
  return p;
}

TEST(Fit, ConvLearnsAConvTargetToATenThousandthOfItsLoss) {
  const Tensor x = sample_image();
  const Tensor target =
      targets::kernel_preset_target(x, KernelPreset::Gaussian, targets::TargetGrid{});
  const ConvParams p = same_conv(3, 3);
  ConvWeights w = random_conv_weights(p, 1);
  FitSettings s;
  s.steps = 1000;
  s.optimizer.lr = 0.02;
  const FitResult r = learn::fit_conv(x, p, &w, target, s);
  ASSERT_FALSE(r.diverged());
  std::printf("conv on gaussian: %.4g -> %.4g (ratio %.3g) in %lld steps\n", r.initial_loss(),
              r.final_loss(), r.final_loss() / r.initial_loss(), static_cast<long long>(s.steps));
  EXPECT_LT(r.final_loss(), 1e-4 * r.initial_loss());
}

TEST(Fit, InvolutionBeatsConvOnADesignedInvolutionTarget) {
  const Tensor x = sample_image();
  const Tensor target = targets::designed_target(x, DesignedInvolution::EdgeAware, {});
  FitSettings s;
  s.steps = 1000;
  s.optimizer.lr = 0.02;
  const ConvParams cp = same_conv(3, 5);
  ConvWeights cw = random_conv_weights(cp, 1);
  const FitResult conv = learn::fit_conv(x, cp, &cw, target, s);
  InvolutionParams ip;
  ip.channels = 3;
  ip.kernel_size = 5;
  ip.group_channels = 3;
  InvolutionWeights iw = random_involution_weights(ip, 1);
  const FitResult inv = learn::fit_involution(x, ip, &iw, target, s);
  std::printf("edge_aware K5, %lld steps: conv %.4g -> %.4g, involution %.4g -> %.4g\n",
              static_cast<long long>(s.steps), conv.initial_loss(), conv.final_loss(),
              inv.initial_loss(), inv.final_loss());
  EXPECT_LT(inv.final_loss(), 0.5 * conv.final_loss());
}

// Discs of red, blue and grey on grey, with grain: blur_where_red's target smooths the grain
// on the red discs only, which no single kernel can do.
Tensor grainy_discs() {
  Tensor x = test::random_tensor({1, 3, 32, 32}, 7, -0.08f, 0.08f);
  const float colours[3][3] = {{0.85f, 0.2f, 0.15f}, {0.15f, 0.25f, 0.85f}, {0.6f, 0.6f, 0.6f}};
  const int centres[4][2] = {{8, 8}, {8, 24}, {24, 8}, {24, 24}};
  for (int64_t y = 0; y < 32; ++y)
    for (int64_t i = 0; i < 32; ++i) {
      const float* colour = nullptr;
      for (int d = 0; d < 4; ++d) {
        const int64_t dy = y - centres[d][0], dx = i - centres[d][1];
        if (dy * dy + dx * dx <= 36) colour = colours[d % 3];
      }
      for (int64_t c = 0; c < 3; ++c) x.at(0, c, y, i) += colour ? colour[c] : 0.45f;
    }
  return x;
}

TEST(IdentityStart, CalibratesBnOnTheInputAndStartsFromTheIdentityKernel) {
  const Tensor x = test::random_tensor({2, 4, 13, 11}, 5, 0.0f, 1.0f);
  InvolutionParams p;
  p.channels = 4;
  p.kernel_size = 3;
  p.stride = 2;  // the statistics are of the pooled input: ceil mode, partial edge windows
  p.group_channels = 2;
  p.reduction = 2;
  const InvolutionWeights given = random_involution_weights(p, 3);
  InvolutionWeights w = given;
  learn::apply_identity_start(x, p, &w);

  // The reduce responses at every output pixel, from the step-through's own arithmetic.
  const Shape out = involution_output_shape(x.shape, p);
  const int64_t hidden = p.reduced_channels();
  std::vector<double> sum(hidden, 0.0), sum_sq(hidden, 0.0);
  for (int64_t b = 0; b < out[0]; ++b)
    for (int64_t i = 0; i < out[2]; ++i)
      for (int64_t j = 0; j < out[3]; ++j) {
        const auto e = explain_involution_pixel(x, p, w, b, 0, i, j);
        for (int64_t m = 0; m < hidden; ++m) {
          sum[m] += e.generation.reduced[m];
          sum_sq[m] += e.generation.reduced[m] * e.generation.reduced[m];
        }
      }
  const double n = static_cast<double>(out[0] * out[2] * out[3]);
  for (int64_t m = 0; m < hidden; ++m) {
    const double mean = sum[m] / n, var = sum_sq[m] / n - mean * mean;
    EXPECT_NEAR(w.bn_mean.data[m], mean, 1e-6) << m;
    EXPECT_NEAR(w.bn_var.data[m], var, 1e-6) << m;
    EXPECT_GT(w.bn_var.data[m], 0.0f);
    EXPECT_EQ(w.bn_gamma.data[m], 1.0f);
    EXPECT_EQ(w.bn_beta.data[m], 0.0f);
  }
  EXPECT_EQ(w.reduce_weight.data, given.reduce_weight.data);
  for (size_t k = 0; k < w.span_weight.data.size(); ++k)
    EXPECT_FLOAT_EQ(w.span_weight.data[k], 0.1f * given.span_weight.data[k]);
  for (int64_t g = 0; g < p.groups(); ++g)
    for (int64_t k = 0; k < p.taps(); ++k)
      EXPECT_EQ(w.span_bias.data[g * p.taps() + k], k == p.taps() / 2 ? 1.0f : 0.0f);
}

TEST(IdentityStart, EveryHiddenUnitStartsOnForSomePixelsAndOffForOthers) {
  const Tensor x = grainy_discs();
  InvolutionParams p;
  p.channels = 3;
  p.kernel_size = 5;
  p.group_channels = 3;
  for (uint64_t seed = 1; seed <= 4; ++seed) {
    InvolutionWeights w = random_involution_weights(p, seed);
    learn::apply_identity_start(x, p, &w);
    for (int64_t m = 0; m < p.reduced_channels(); ++m) {
      int on = 0;
      for (int64_t i = 0; i < 32; ++i)
        for (int64_t j = 0; j < 32; ++j) {
          const auto e = explain_involution_pixel(x, p, w, 0, 0, i, j);
          on += e.generation.reduced[m] > w.bn_mean.data[m] ? 1 : 0;
        }
      EXPECT_GT(on, 32 * 32 / 10) << "seed " << seed << " unit " << m;
      EXPECT_LT(on, 32 * 32 * 9 / 10) << "seed " << seed << " unit " << m;
    }
  }
}

TEST(IdentityStart, RefusesWeightsOfAnotherShape) {
  InvolutionParams p;
  p.channels = 3;
  InvolutionWeights w = random_involution_weights(p, 1);
  p.kernel_size = 5;
  EXPECT_THROW(learn::apply_identity_start(grainy_discs(), p, &w), Error);
}

// The lesson of scene 15: from the identity start the involution learns to blur only where
// the pixel is red, and ends far below the best a single convolution kernel can do.
TEST(Fit, FromTheIdentityStartInvolutionLearnsBlurWhereRed) {
  const Tensor x = grainy_discs();
  const Tensor target = targets::designed_target(x, DesignedInvolution::BlurWhereRed, {});
  FitSettings s;
  s.steps = 300;
  s.optimizer.lr = 0.005;
  const ConvParams cp = same_conv(3, 5);
  ConvWeights cw = random_conv_weights(cp, 1);
  const FitResult conv = learn::fit_conv(x, cp, &cw, target, s);
  InvolutionParams ip;
  ip.channels = 3;
  ip.kernel_size = 5;
  ip.group_channels = 3;
  InvolutionWeights iw = random_involution_weights(ip, 1);
  learn::apply_identity_start(x, ip, &iw);
  const FitResult inv = learn::fit_involution(x, ip, &iw, target, s);
  std::printf("blur_where_red K5, %lld steps: conv %.4g -> %.4g, involution %.4g -> %.4g\n",
              static_cast<long long>(s.steps), conv.initial_loss(), conv.final_loss(),
              inv.initial_loss(), inv.final_loss());
  EXPECT_LT(inv.final_loss(), 0.5 * conv.final_loss());
}

TEST(InvolutionStart, NamesRoundTripAndUnknownNamesAreRefused) {
  for (auto start : {learn::InvolutionStart::Given, learn::InvolutionStart::Identity})
    EXPECT_EQ(learn::parse_involution_start(learn::involution_start_name(start)), start);
  EXPECT_TRUE(test::throws_with([] { learn::parse_involution_start("zeros"); },
                                "unknown start 'zeros' (choices: given, identity)"));
}

TEST(Fit, IsDeterministicForASeed) {
  const Tensor x = sample_image();
  const Tensor target = targets::bilateral_target(x, {});
  InvolutionParams ip;
  ip.channels = 3;
  ip.group_channels = 1;
  FitSettings s;
  s.steps = 5;
  s.optimizer.lr = 0.01;
  InvolutionWeights a = random_involution_weights(ip, 7), b = a;
  const FitResult ra = learn::fit_involution(x, ip, &a, target, s);
  const FitResult rb = learn::fit_involution(x, ip, &b, target, s);
  EXPECT_EQ(ra.losses, rb.losses);
  EXPECT_EQ(a.span_weight.data, b.span_weight.data);
  EXPECT_EQ(a.reduce_weight.data, b.reduce_weight.data);
}

// The app's Learn panel steps a Trainer: it must walk exactly fit_*'s path, update by update,
// and its copies make it independent of the caller's tensors.
TEST(Trainer, StepsAlongFitsPathBitForBit) {
  const Tensor x = sample_image();
  const Tensor target = targets::bilateral_target(x, {});
  InvolutionParams ip;
  ip.channels = 3;
  ip.group_channels = 1;
  FitSettings s;
  s.steps = 6;
  s.optimizer.lr = 0.01;
  InvolutionWeights fitted = random_involution_weights(ip, 3);
  const InvolutionWeights start = fitted;
  const FitResult r = learn::fit_involution(x, ip, &fitted, target, s);
  learn::InvolutionTrainer trainer(x, ip, start, target, s.optimizer);
  EXPECT_EQ(trainer.steps_done(), 0);
  for (int i = 0; i < 6; ++i) ASSERT_TRUE(trainer.step());
  EXPECT_EQ(trainer.steps_done(), 6);
  EXPECT_EQ(trainer.losses(), r.losses);
  EXPECT_EQ(trainer.weights().span_weight.data, fitted.span_weight.data);
  EXPECT_EQ(trainer.output().data, r.output.data);

  const ConvParams cp = same_conv(3, 3);
  const ConvWeights cw = random_conv_weights(cp, 2);
  learn::ConvTrainer conv(x, cp, cw, target, s.optimizer);
  const double initial = conv.losses().front();
  for (int i = 0; i < 20; ++i) ASSERT_TRUE(conv.step());
  EXPECT_LT(conv.losses().back(), initial);
  EXPECT_THROW(learn::ConvTrainer(x, cp, cw, Tensor({1, 3, 31, 32}), s.optimizer), Error);
}

TEST(Trainer, StopsSteppingAfterDivergingAndKeepsTheLastFiniteWeights) {
  const Tensor x = sample_image();
  const Tensor target = targets::kernel_preset_target(x, KernelPreset::Sharpen, {});
  const ConvParams p = same_conv(3, 3);
  learn::OptimizerSettings o;
  o.kind = OptimizerKind::Sgd;
  o.lr = 1e30;
  learn::ConvTrainer trainer(x, p, random_conv_weights(p, 1), target, o);
  const ConvWeights before = trainer.weights();
  int steps = 0;
  while (trainer.step() && steps < 100) ++steps;
  ASSERT_TRUE(trainer.diverged());
  EXPECT_FALSE(trainer.step());
  EXPECT_EQ(trainer.diverged_at_step(), static_cast<int64_t>(trainer.losses().size()));
  if (steps == 0) {
    EXPECT_EQ(trainer.weights().weight.data, before.weight.data);
  }
}

TEST(Fit, ADivergingRunStopsAndKeepsTheLastFiniteWeights) {
  const Tensor x = sample_image();
  const Tensor target = targets::kernel_preset_target(x, KernelPreset::Sharpen, {});
  const ConvParams p = same_conv(3, 3);
  ConvWeights w = random_conv_weights(p, 1);
  FitSettings s;
  s.steps = 200;
  s.optimizer.kind = OptimizerKind::Sgd;
  s.optimizer.lr = 1e4;  // every step multiplies the error
  const FitResult r = learn::fit_conv(x, p, &w, target, s);
  ASSERT_TRUE(r.diverged());
  EXPECT_GT(r.diverged_at_step, 1);
  EXPECT_EQ(r.losses.size(), static_cast<size_t>(r.diverged_at_step));
  EXPECT_TRUE(std::isfinite(r.final_loss()));
  EXPECT_EQ(nonfinite_weights_report(w), "");
  // The kept weights give the last finite loss.
  EXPECT_NEAR(learn::mse_loss(ref::conv2d(x, p, w), target), r.final_loss(), 1e-4 * r.final_loss());
}

TEST(Fit, RefusesATargetOfTheWrongSize) {
  const Tensor x = sample_image();
  const ConvParams p = same_conv(3, 3);
  ConvWeights w = random_conv_weights(p, 1);
  EXPECT_TRUE(test::throws_with(
      [&] {
        learn::fit_conv(x, p, &w, Tensor({1, 3, 31, 32}), FitSettings{});
      },
      "the target is [1, 3, 31, 32] but the output is [1, 3, 32, 32]"));
}

// The weights a fit exports reload (PyTorch state_dict names) and give the same output.
TEST(Fit, ExportedWeightsReloadWithTheSameOutput) {
  const Tensor x = sample_image();
  const Tensor target = targets::designed_target(x, DesignedInvolution::EdgeAware, {});
  InvolutionParams ip;
  ip.channels = 3;
  ip.kernel_size = 5;
  ip.group_channels = 3;
  InvolutionWeights w = random_involution_weights(ip, 3);
  FitSettings s;
  s.steps = 10;
  s.optimizer.lr = 0.01;
  const FitResult r = learn::fit_involution(x, ip, &w, target, s);
  test::TempDir dir("learn");
  const std::string path = dir.path + "/weights.safetensors";
  save_safetensors(path, involution_weights_to_tensors(ip, w));
  InvolutionParams loaded_params;
  loaded_params.kernel_size = 5;
  const InvolutionWeights loaded =
      involution_weights_from_tensors(load_safetensors(path), &loaded_params);
  EXPECT_EQ(loaded_params.group_channels, 3);
  const Tensor again = find_backend("cpu")
                           ->involution2d(x, loaded_params, loaded, nullptr, KernelsMode::None)
                           .output;
  EXPECT_EQ(again.data, r.output.data);
}

// ---- Targets ------------------------------------------------------------------------------
TEST(Targets, PresetTargetIsADepthwiseConvolution) {
  const Tensor x = sample_image();
  const Tensor t = targets::kernel_preset_target(x, KernelPreset::Identity, {});
  EXPECT_EQ(t.data, x.data);
  targets::TargetGrid strided;
  strided.stride = 2;
  EXPECT_EQ(targets::kernel_preset_target(x, KernelPreset::Box, strided).shape,
            (Shape{1, 3, 16, 16}));
  EXPECT_TRUE(test::throws_with(
      [&] {
        targets::TargetGrid even;
        even.kernel_size = 4;
        targets::kernel_preset_target(x, KernelPreset::Laplacian, even);
      },
      "laplacian"));
}

TEST(Targets, BilateralKeepsFlatRegionsAndEdges) {
  Tensor x({1, 1, 8, 8}, 0.2f);
  for (int64_t y = 0; y < 8; ++y)
    for (int64_t i = 4; i < 8; ++i) x.at(0, 0, y, i) = 0.9f;  // a vertical edge
  const Tensor t = targets::bilateral_target(x, {});
  EXPECT_TRUE(test::all_close(t, x, 1e-6f, 0)) << "a step of 0.7 is far above sigma_range";
  // A smoothing filter on noise: the output varies less than the input.
  const Tensor noise = test::random_tensor({1, 3, 16, 16}, 5, 0.45f, 0.55f);
  const Tensor smooth = targets::bilateral_target(noise, {});
  double in = 0, out = 0;
  for (size_t i = 1; i < noise.data.size(); ++i) {
    in += std::abs(noise.data[i] - noise.data[i - 1]);
    out += std::abs(smooth.data[i] - smooth.data[i - 1]);
  }
  EXPECT_LT(out, 0.8 * in);
}

TEST(Targets, MaskedBlurFollowsTheMask) {
  const Tensor x = sample_image();
  const Tensor blurred = targets::kernel_preset_target(x, KernelPreset::Gaussian, {});
  EXPECT_EQ(targets::masked_blur_target(x, Tensor({1, 1, 32, 32}, 0.0f), {}).data, x.data);
  EXPECT_TRUE(
      test::all_close(targets::masked_blur_target(x, Tensor({1, 1, 32, 32}, 1.0f), {}), blurred));
  const Tensor mask = targets::brightness_mask(x);
  EXPECT_EQ(mask.shape, (Shape{1, 1, 32, 32}));
  EXPECT_EQ(mask.at(0, 0, 0, 0), 0.0f);  // a dark square of the checkerboard
  EXPECT_EQ(mask.at(0, 0, 0, 8), 1.0f);  // a bright one
  EXPECT_TRUE(test::throws_with(
      [&] {
        targets::masked_blur_target(x, Tensor({1, 1, 4, 4}), {});
      },
      "the mask is"));
}

TEST(Targets, DesignedTargetIsTheDesignsOutput) {
  const Tensor x = sample_image();
  const InvolutionParams p = designed_involution_params(DesignedInvolution::EdgeAware, 3);
  const InvolutionWeights w = designed_involution_weights(DesignedInvolution::EdgeAware, p);
  EXPECT_EQ(targets::designed_target(x, DesignedInvolution::EdgeAware, {}).data,
            find_backend("cpu-ref")->involution2d(x, p, w, nullptr).output.data);
}

TEST(Targets, TargetFilesMustHaveTheOutputsShape) {
  test::TempDir dir("targets");
  const Tensor t = test::random_tensor({1, 3, 5, 6}, 1);
  save_npy(dir.path + "/t.npy", t);
  EXPECT_EQ(targets::load_target_file(dir.path + "/t.npy", {1, 3, 5, 6}).data, t.data);
  EXPECT_TRUE(test::throws_with(
      [&] {
        targets::load_target_file(dir.path + "/t.npy", {1, 3, 5, 7});
      },
      "the target is [1, 3, 5, 6] but the output is [1, 3, 5, 7]"));
  EXPECT_TRUE(test::throws_with(
      [&] {
        targets::load_target_file(dir.path + "/missing.png", {1, 3, 5, 7});
      },
      "missing.png"));
}

}  // namespace
}  // namespace ks
