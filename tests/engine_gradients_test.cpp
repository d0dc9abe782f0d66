// Backward passes (kernelscope/gradients.h): against PyTorch autograd (fixtures written by
// tools/make_grad_fixtures.py), against finite differences on the correctness grid, and the
// fast implementation against the reference.
#include <cmath>
#include <filesystem>
#include <functional>
#include <random>

#include "correctness_grid.h"
#include "cpu/cpu_features.h"
#include "cpu_ref/reference.h"
#include "kernelscope/error.h"
#include "kernelscope/gradients.h"
#include "kernelscope/io.h"
#include "test_util.h"

namespace ks {
namespace {

using test::Fixture;

// What tools/make_grad_fixtures.py writes; fewer files is a broken checkout, not a pass.
constexpr size_t kConvGradFixtures = 12;
constexpr size_t kInvolutionGradFixtures = 12;

std::vector<std::string> grad_fixture_paths(const std::string& prefix) {
  std::vector<std::string> paths;
  std::error_code ec;
  for (const auto& e : std::filesystem::directory_iterator(test::fixture_dir() + "/grad", ec))
    if (e.path().filename().string().rfind(prefix, 0) == 0) paths.push_back(e.path().string());
  std::sort(paths.begin(), paths.end());
  return paths;
}

struct GradFixture {
  Fixture layer;  // input, params, weights (test::load_fixture)
  TensorMap tensors;
};

std::vector<GradFixture> load_grad_fixtures(const std::string& prefix, size_t expected) {
  std::vector<GradFixture> all;
  for (const std::string& path : grad_fixture_paths(prefix))
    all.push_back({test::load_fixture(path), load_safetensors(path)});
  EXPECT_EQ(all.size(), expected) << "regenerate with tools/make_grad_fixtures.py";
  return all;
}

// A PyTorch gradient, squeezed to the engine's shape (1x1 conv weights are [O, I, 1, 1]).
Tensor torch_grad(const GradFixture& f, const std::string& key, const Shape& engine_shape) {
  Tensor t = f.tensors.at("grad." + key);
  EXPECT_EQ(t.numel(), shape_numel(engine_shape)) << key;
  t.shape = engine_shape;
  return t;
}

// Float tolerance for results summed over a few hundred terms of size ~1.
constexpr float kRefTol = 1e-5f;
constexpr float kFastTol = 1e-4f;

void expect_conv_grads_match(const GradFixture& f, const grad::ConvGradients& g, float tol) {
  EXPECT_TRUE(test::all_close(g.weight, torch_grad(f, "weight", g.weight.shape), tol, tol))
      << "weight";
  if (f.layer.conv.has_bias)
    EXPECT_TRUE(test::all_close(g.bias, torch_grad(f, "bias", g.bias.shape), tol, tol)) << "bias";
  else
    EXPECT_TRUE(g.bias.empty());
  EXPECT_TRUE(test::all_close(g.input, torch_grad(f, "input", g.input.shape), tol, tol)) << "input";
}

void expect_involution_grads_match(const GradFixture& f, const grad::InvolutionGradients& g,
                                   float tol) {
  const std::pair<const char*, const Tensor*> pairs[] = {
      {"conv1.conv.weight", &g.reduce_weight}, {"conv1.bn.weight", &g.bn_gamma},
      {"conv1.bn.bias", &g.bn_beta},           {"conv2.conv.weight", &g.span_weight},
      {"conv2.conv.bias", &g.span_bias},       {"input", &g.input}};
  for (const auto& [key, tensor] : pairs)
    EXPECT_TRUE(test::all_close(*tensor, torch_grad(f, key, tensor->shape), tol, tol)) << key;
}

TEST(GradientFixtures, ConvMatchesTorchAutograd) {
  for (const GradFixture& f : load_grad_fixtures("conv_", kConvGradFixtures)) {
    SCOPED_TRACE(f.layer.name);
    const Tensor& dy = f.tensors.at("grad_output");
    const Fixture& l = f.layer;
    {
      SCOPED_TRACE("ref");
      expect_conv_grads_match(f, grad::conv2d_backward_ref(l.input, l.conv, l.conv_weights, dy),
                              kRefTol);
    }
    {
      SCOPED_TRACE("fast");
      expect_conv_grads_match(f, grad::conv2d_backward(l.input, l.conv, l.conv_weights, dy),
                              kFastTol);
    }
  }
}

TEST(GradientFixtures, InvolutionMatchesTorchAutograd) {
  for (const GradFixture& f : load_grad_fixtures("involution_", kInvolutionGradFixtures)) {
    SCOPED_TRACE(f.layer.name);
    const Tensor& dy = f.tensors.at("grad_output");
    const Fixture& l = f.layer;
    {
      SCOPED_TRACE("ref");
      expect_involution_grads_match(
          f, grad::involution2d_backward_ref(l.input, l.involution, l.involution_weights, dy),
          kRefTol);
    }
    {
      SCOPED_TRACE("fast");
      expect_involution_grads_match(
          f, grad::involution2d_backward(l.input, l.involution, l.involution_weights, dy),
          kFastTol);
    }
  }
}

// ---- Finite differences -----------------------------------------------------------------
// L(theta) = sum(grad_output * forward(theta)). Every tensor of one kind moves at once
// along a random direction: central differences of L must equal the gradient's dot product
// with the step actually taken (theta+ - theta- as rounded in float). Convolution is linear
// in each tensor, so its float forward suffices. Involution has ReLU kinks, which a step
// crosses at a few pixels: its L is computed here in double, all the way, so the step can be
// tiny (1e-6) and crossings negligible.
double weighted_sum(const Tensor& output, const Tensor& grad_output) {
  double sum = 0;
  for (size_t i = 0; i < output.data.size(); ++i)
    sum += static_cast<double>(output.data[i]) * grad_output.data[i];
  return sum;
}

// sum(dy * involution(x)) with every intermediate in double (the formulas of ops.h).
double involution_weighted_sum_in_double(const Tensor& x, const InvolutionParams& p,
                                         const InvolutionWeights& w, const Tensor& dy) {
  const int64_t C = x.dim(1), H = x.dim(2), W = x.dim(3), K = p.kernel_size, KK = K * K;
  const int64_t CR = p.reduced_channels(), rows = p.groups() * KK, s = p.stride;
  std::vector<double> v(static_cast<size_t>(C)), h(static_cast<size_t>(CR));
  double total = 0;
  for (int64_t b = 0; b < x.dim(0); ++b)
    for (int64_t i = 0; i < dy.dim(2); ++i)
      for (int64_t j = 0; j < dy.dim(3); ++j) {
        const int64_t y1 = std::min(i * s + s, H), x1 = std::min(j * s + s, W);
        for (int64_t c = 0; c < C; ++c) {
          double sum = 0;
          for (int64_t yy = i * s; yy < y1; ++yy)
            for (int64_t xx = j * s; xx < x1; ++xx) sum += x.at(b, c, yy, xx);
          v[static_cast<size_t>(c)] = sum / static_cast<double>((y1 - i * s) * (x1 - j * s));
        }
        for (int64_t m = 0; m < CR; ++m) {
          double z = 0;
          for (int64_t c = 0; c < C; ++c)
            z += double{w.reduce_weight.data[static_cast<size_t>(m * C + c)]} *
                 v[static_cast<size_t>(c)];
          const size_t mi = static_cast<size_t>(m);
          const double u = (z - w.bn_mean.data[mi]) /
                               std::sqrt(double{w.bn_var.data[mi]} + double{w.bn_eps}) *
                               w.bn_gamma.data[mi] +
                           w.bn_beta.data[mi];
          h[mi] = u > 0 ? u : 0;
        }
        for (int64_t r = 0; r < rows; ++r) {
          double k = w.span_bias.data[static_cast<size_t>(r)];
          for (int64_t m = 0; m < CR; ++m)
            k += double{w.span_weight.data[static_cast<size_t>(r * CR + m)]} *
                 h[static_cast<size_t>(m)];
          const int64_t g = r / KK, ky = (r % KK) / K, kx = r % K;
          const int64_t yy = i * s - p.padding() + ky * p.dilation;
          const int64_t xx = j * s - p.padding() + kx * p.dilation;
          if (yy < 0 || yy >= H || xx < 0 || xx >= W) continue;
          for (int64_t c = g * p.group_channels; c < (g + 1) * p.group_channels; ++c)
            total += k * x.at(b, c, yy, xx) * dy.at(b, c, i, j);
        }
      }
  return total;
}

void expect_directional_derivative(const char* what, Tensor* theta, const Tensor& gradient,
                                   const std::function<double()>& loss, uint64_t seed,
                                   float eps = 1e-3f) {
  SCOPED_TRACE(what);
  ASSERT_EQ(theta->shape, gradient.shape);
  const Tensor saved = *theta;
  const Tensor direction = test::random_tensor(theta->shape, seed);
  Tensor plus = saved, minus = saved;
  for (size_t i = 0; i < saved.data.size(); ++i) {
    plus.data[i] = saved.data[i] + eps * direction.data[i];
    minus.data[i] = saved.data[i] - eps * direction.data[i];
  }
  *theta = plus;
  const double loss_plus = loss();
  *theta = minus;
  const double loss_minus = loss();
  *theta = saved;
  double predicted = 0, scale = 0;
  for (size_t i = 0; i < saved.data.size(); ++i) {
    const double term =
        static_cast<double>(gradient.data[i]) * (double{plus.data[i]} - double{minus.data[i]});
    predicted += term;
    scale += std::abs(term);
  }
  EXPECT_NEAR(loss_plus - loss_minus, predicted, 2e-3 * scale + 1e-12);
}

TEST(GradientFiniteDifferences, ConvGrid) {
  for (const CheckCase& c : conv_check_cases()) {
    SCOPED_TRACE(c.name);
    Tensor x = check_case_input(c);
    ConvWeights w = check_case_conv_weights(c);
    const Tensor dy = test::random_tensor(conv_output_shape(x.shape, c.conv), c.seed + 7);
    const grad::ConvGradients g = grad::conv2d_backward_ref(x, c.conv, w, dy);
    const auto loss = [&] { return weighted_sum(ref::conv2d(x, c.conv, w), dy); };
    expect_directional_derivative("weight", &w.weight, g.weight, loss, c.seed + 11);
    if (c.conv.has_bias) expect_directional_derivative("bias", &w.bias, g.bias, loss, c.seed + 12);
    expect_directional_derivative("input", &x, g.input, loss, c.seed + 13);
  }
}

TEST(GradientFiniteDifferences, InvolutionGrid) {
  for (const CheckCase& c : involution_check_cases()) {
    SCOPED_TRACE(c.name);
    Tensor x = check_case_input(c);
    InvolutionWeights w = check_case_involution_weights(c);
    const Tensor dy =
        test::random_tensor(involution_output_shape(x.shape, c.involution), c.seed + 7);
    const grad::InvolutionGradients g = grad::involution2d_backward_ref(x, c.involution, w, dy);
    const auto loss = [&] { return involution_weighted_sum_in_double(x, c.involution, w, dy); };
    constexpr float kEps = 1e-6f;
    expect_directional_derivative("reduce_weight", &w.reduce_weight, g.reduce_weight, loss,
                                  c.seed + 11, kEps);
    expect_directional_derivative("bn_gamma", &w.bn_gamma, g.bn_gamma, loss, c.seed + 12, kEps);
    expect_directional_derivative("bn_beta", &w.bn_beta, g.bn_beta, loss, c.seed + 13, kEps);
    expect_directional_derivative("span_weight", &w.span_weight, g.span_weight, loss, c.seed + 14,
                                  kEps);
    expect_directional_derivative("span_bias", &w.span_bias, g.span_bias, loss, c.seed + 15, kEps);
    expect_directional_derivative("input", &x, g.input, loss, c.seed + 16, kEps);
  }
}

// ---- The fast implementation against the reference ---------------------------------------
// Relative to the largest gradient: a float sum over thousands of pixels loses more than
// the fixtures' few hundred terms.
::testing::AssertionResult close_to_ref(const Tensor& fast, const Tensor& ref) {
  float largest = 0;
  for (float v : ref.data) largest = std::max(largest, std::abs(v));
  return test::all_close(fast, ref, 2e-5f * (1 + largest), 1e-4f);
}

TEST(GradientFastBackward, ConvMatchesReferenceOnGrid) {
  for (const CheckCase& c : conv_check_cases()) {
    SCOPED_TRACE(c.name);
    const Tensor x = check_case_input(c);
    const ConvWeights w = check_case_conv_weights(c);
    const Tensor dy = test::random_tensor(conv_output_shape(x.shape, c.conv), c.seed + 7);
    const grad::ConvGradients ref = grad::conv2d_backward_ref(x, c.conv, w, dy);
    const grad::ConvGradients fast = grad::conv2d_backward(x, c.conv, w, dy);
    EXPECT_TRUE(close_to_ref(fast.weight, ref.weight)) << "weight";
    EXPECT_TRUE(close_to_ref(fast.bias, ref.bias)) << "bias";
    EXPECT_TRUE(close_to_ref(fast.input, ref.input)) << "input";
  }
}

TEST(GradientFastBackward, InvolutionMatchesReferenceOnGrid) {
  for (const CheckCase& c : involution_check_cases()) {
    SCOPED_TRACE(c.name);
    const Tensor x = check_case_input(c);
    const InvolutionWeights w = check_case_involution_weights(c);
    const Tensor dy =
        test::random_tensor(involution_output_shape(x.shape, c.involution), c.seed + 7);
    const grad::InvolutionGradients ref = grad::involution2d_backward_ref(x, c.involution, w, dy);
    const grad::InvolutionGradients fast = grad::involution2d_backward(x, c.involution, w, dy);
    EXPECT_TRUE(close_to_ref(fast.reduce_weight, ref.reduce_weight)) << "reduce_weight";
    EXPECT_TRUE(close_to_ref(fast.bn_gamma, ref.bn_gamma)) << "bn_gamma";
    EXPECT_TRUE(close_to_ref(fast.bn_beta, ref.bn_beta)) << "bn_beta";
    EXPECT_TRUE(close_to_ref(fast.span_weight, ref.span_weight)) << "span_weight";
    EXPECT_TRUE(close_to_ref(fast.span_bias, ref.span_bias)) << "span_bias";
    EXPECT_TRUE(close_to_ref(fast.input, ref.input)) << "input";
  }
}

// The stride-1 path takes eight pixels a step on padded copies (cpu/involution_backward_impl.h),
// in each build of the inner loops this machine can run. Widths below, at and past a multiple
// of eight (the last step's spare lanes), dilation, groups of several channels, reduced widths
// compiled in (1 to 4) and not (6), batch 2, with and without the input gradient; one stride-2
// case for the per-pixel path beside it.
class GradientVectorRows : public ::testing::TestWithParam<cpu::CpuPath> {
 protected:
  void SetUp() override {
    if (GetParam() == cpu::CpuPath::avx2 && !cpu::cpu_has_avx2_fma())
      GTEST_SKIP() << "this CPU has no AVX2/FMA";
    cpu::limit_path(GetParam());
  }
  void TearDown() override { cpu::limit_path(cpu::CpuPath::avx512); }
};

TEST_P(GradientVectorRows, InvolutionMatchesReference) {
  struct Case {
    Shape input;
    int64_t K, dilation, group_channels, reduction, stride;
  };
  const Case cases[] = {{{2, 3, 11, 13}, 3, 1, 1, 1, 1}, {{2, 6, 12, 21}, 5, 2, 3, 2, 1},
                        {{2, 6, 10, 19}, 7, 1, 3, 1, 1}, {{2, 4, 9, 17}, 7, 2, 1, 4, 1},
                        {{2, 8, 8, 8}, 3, 2, 2, 4, 1},   {{2, 3, 14, 5}, 5, 2, 3, 3, 1},
                        {{2, 6, 9, 16}, 3, 1, 3, 2, 1},  {{2, 6, 11, 19}, 5, 2, 3, 2, 2}};
  uint64_t seed = 100;
  for (const Case& sh : cases) {
    CheckCase c;
    c.op = OpKind::Involution;
    c.input_shape = sh.input;
    c.involution.channels = sh.input[1];
    c.involution.kernel_size = sh.K;
    c.involution.dilation = sh.dilation;
    c.involution.group_channels = sh.group_channels;
    c.involution.reduction = sh.reduction;
    c.involution.stride = sh.stride;
    c.seed = seed += 10;
    const Tensor x = check_case_input(c);
    const InvolutionWeights w = check_case_involution_weights(c);
    const Tensor dy =
        test::random_tensor(involution_output_shape(x.shape, c.involution), c.seed + 7);
    const grad::InvolutionGradients ref = grad::involution2d_backward_ref(x, c.involution, w, dy);
    for (bool input : {true, false}) {
      SCOPED_TRACE("input " + shape_to_string(sh.input) + " K " + std::to_string(sh.K) + " d " +
                   std::to_string(sh.dilation) + " gc " + std::to_string(sh.group_channels) +
                   " r " + std::to_string(sh.reduction) + " s " + std::to_string(sh.stride) +
                   (input ? " with" : " without") + " grad_input");
      grad::BackwardOptions options;
      options.input = input;
      const grad::InvolutionGradients fast =
          grad::involution2d_backward(x, c.involution, w, dy, options);
      EXPECT_TRUE(close_to_ref(fast.reduce_weight, ref.reduce_weight)) << "reduce_weight";
      EXPECT_TRUE(close_to_ref(fast.bn_gamma, ref.bn_gamma)) << "bn_gamma";
      EXPECT_TRUE(close_to_ref(fast.bn_beta, ref.bn_beta)) << "bn_beta";
      EXPECT_TRUE(close_to_ref(fast.span_weight, ref.span_weight)) << "span_weight";
      EXPECT_TRUE(close_to_ref(fast.span_bias, ref.span_bias)) << "span_bias";
      if (input)
        EXPECT_TRUE(close_to_ref(fast.input, ref.input)) << "input";
      else
        EXPECT_TRUE(fast.input.empty());
    }
  }
}

INSTANTIATE_TEST_SUITE_P(Builds, GradientVectorRows,
                         ::testing::Values(cpu::CpuPath::avx2, cpu::CpuPath::portable),
                         [](const ::testing::TestParamInfo<cpu::CpuPath>& info) {
                           return std::string(info.param == cpu::CpuPath::avx2 ? "avx2"
                                                                               : "portable");
                         });

// Same inputs, same bits: the learning loop's determinism for a seed rests on it.
TEST(GradientFastBackward, IsDeterministic) {
  const CheckCase c = involution_check_cases().back();
  const Tensor x = check_case_input(c);
  const InvolutionWeights w = check_case_involution_weights(c);
  const Tensor dy = test::random_tensor(involution_output_shape(x.shape, c.involution), 3);
  const grad::InvolutionGradients a = grad::involution2d_backward(x, c.involution, w, dy);
  const grad::InvolutionGradients b = grad::involution2d_backward(x, c.involution, w, dy);
  EXPECT_EQ(a.reduce_weight.data, b.reduce_weight.data);
  EXPECT_EQ(a.span_weight.data, b.span_weight.data);
  EXPECT_EQ(a.input.data, b.input.data);
}

TEST(GradientFastBackward, InputGradientOnlyWhenAsked) {
  const CheckCase c = conv_check_cases().front();
  const Tensor x = check_case_input(c);
  const ConvWeights w = check_case_conv_weights(c);
  const Tensor dy = test::random_tensor(conv_output_shape(x.shape, c.conv), 1);
  grad::BackwardOptions no_input;
  no_input.input = false;
  const grad::ConvGradients g = grad::conv2d_backward(x, c.conv, w, dy, no_input);
  EXPECT_TRUE(g.input.empty());
  EXPECT_EQ(g.weight.data, grad::conv2d_backward(x, c.conv, w, dy).weight.data);
}

TEST(GradientErrors, GradOutputOfTheWrongShapeIsOneLine) {
  const CheckCase c = involution_check_cases().front();
  const Tensor x = check_case_input(c);
  const InvolutionWeights w = check_case_involution_weights(c);
  const Tensor dy({1, 1, 1, 1});
  EXPECT_TRUE(test::throws_with([&] { grad::involution2d_backward(x, c.involution, w, dy); },
                                "grad_output is"));
  EXPECT_TRUE(test::throws_with([&] { grad::involution2d_backward_ref(x, c.involution, w, dy); },
                                "grad_output is"));
}

}  // namespace
}  // namespace ks
