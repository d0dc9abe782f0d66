// The reference operators (and the cpu-ref backend) against golden PyTorch results written
// by tools/make_fixtures.py: F.conv2d, and a module mirroring the official involution with
// its unfold-based aggregation.
#include "correctness_grid.h"
#include "cpu_ref/reference.h"
#include "kernelscope/backend.h"
#include "kernelscope/error.h"
#include "kernelscope/io.h"
#include "test_util.h"

namespace ks {
namespace {

using test::Fixture;

// The fixtures hold float64 PyTorch results rounded once to float32, and the reference
// accumulates in double, so the two differ by about one rounding: the tight default
// tolerance of all_close (1e-5 + 1e-5 * |ref|) applies unchanged.
std::vector<Fixture> load_all(OpKind op, size_t expected_count) {
  std::vector<Fixture> fixtures;
  for (const std::string& path : test::fixture_paths(op))
    fixtures.push_back(test::load_fixture(path));
  // Fewer files than the generator writes means a broken checkout, not a pass.
  EXPECT_EQ(fixtures.size(), expected_count)
      << "fixtures missing from " << test::fixture_dir() << " (regenerate: tools/make_fixtures.py)";
  return fixtures;
}

TEST(PyTorchFixtures, AllFilesArePresentAndLoad) {
  EXPECT_EQ(load_all(OpKind::Conv, test::kConvFixtureCount).size(),
            static_cast<size_t>(test::kConvFixtureCount));
  EXPECT_EQ(load_all(OpKind::Involution, test::kInvolutionFixtureCount).size(),
            static_cast<size_t>(test::kInvolutionFixtureCount));
}

TEST(PyTorchFixtures, ReferenceConvMatchesTorch) {
  const auto fixtures = load_all(OpKind::Conv, test::kConvFixtureCount);
  ASSERT_FALSE(fixtures.empty());
  for (const Fixture& f : fixtures) {
    SCOPED_TRACE(f.name);
    EXPECT_TRUE(test::all_close(ref::conv2d(f.input, f.conv, f.conv_weights), f.expected_output));
  }
}

TEST(PyTorchFixtures, ReferenceInvolutionKernelsAndOutputMatchTorch) {
  const auto fixtures = load_all(OpKind::Involution, test::kInvolutionFixtureCount);
  ASSERT_FALSE(fixtures.empty());
  for (const Fixture& f : fixtures) {
    SCOPED_TRACE(f.name);
    const Tensor kernels = ref::involution_kernels(f.input, f.involution, f.involution_weights);
    EXPECT_TRUE(test::all_close(kernels, f.expected_kernels)) << "generated kernels";
    EXPECT_TRUE(test::all_close(ref::involution_aggregate(f.input, kernels, f.involution),
                                f.expected_output))
        << "output";
    // Aggregating torch's own kernels separates an aggregation bug from a generation bug.
    EXPECT_TRUE(test::all_close(
        ref::involution_aggregate(f.input, f.expected_kernels, f.involution), f.expected_output))
        << "output from torch's kernels";
  }
}

TEST(PyTorchFixtures, CpuRefBackendMatchesTorch) {
  Backend* backend = find_backend("cpu-ref");
  ASSERT_NE(backend, nullptr);
  const auto convs = load_all(OpKind::Conv, test::kConvFixtureCount);
  const auto involutions = load_all(OpKind::Involution, test::kInvolutionFixtureCount);
  for (const Fixture& f : convs) {
    SCOPED_TRACE(f.name);
    StageTimes times;
    EXPECT_TRUE(test::all_close(backend->conv2d(f.input, f.conv, f.conv_weights, &times),
                                f.expected_output));
  }
  for (const Fixture& f : involutions) {
    SCOPED_TRACE(f.name);
    StageTimes times;
    const InvolutionResult r =
        backend->involution2d(f.input, f.involution, f.involution_weights, &times);
    EXPECT_TRUE(test::all_close(r.kernels, f.expected_kernels)) << "generated kernels";
    EXPECT_TRUE(test::all_close(r.output, f.expected_output)) << "output";
  }
}

// The engine's own weight loaders must read PyTorch's state_dict names and shapes into the
// same parameters and weights the fixture loader derived from the `params` tensor.
// A fixture's layer tensors: the file also holds the test's input, parameters and expected
// results, which the (strict) weight loaders refuse as unknown keys.
TensorMap layer_tensors(const std::string& path) {
  TensorMap tensors = load_safetensors(path);
  for (const char* key : {"input", "params", "expected_output", "expected_kernels"})
    tensors.erase(key);
  return tensors;
}

TEST(PyTorchFixtures, WeightLoadersReadTorchStateDicts) {
  for (const std::string& path : test::fixture_paths(OpKind::Conv)) {
    SCOPED_TRACE(path);
    const Fixture f = test::load_fixture(path);
    ConvParams p;
    p.kernel_size = 0;  // the file decides
    ConvWeights w;
    ASSERT_NO_THROW(w = conv_weights_from_tensors(layer_tensors(path), &p));
    EXPECT_EQ(p.in_channels / p.groups, f.conv.in_channels / f.conv.groups);
    EXPECT_EQ(p.out_channels, f.conv.out_channels);
    EXPECT_EQ(p.kernel_size, f.conv.kernel_size);
    EXPECT_EQ(p.has_bias, f.conv.has_bias);
    EXPECT_EQ(w.weight.data, f.conv_weights.weight.data);
    EXPECT_EQ(w.bias.data, f.conv_weights.bias.data);
  }
  for (const std::string& path : test::fixture_paths(OpKind::Involution)) {
    SCOPED_TRACE(path);
    const Fixture f = test::load_fixture(path);
    // Involution files do not determine K and G separately; give K as a user would.
    InvolutionParams p;
    p.kernel_size = f.involution.kernel_size;
    InvolutionWeights w;
    ASSERT_NO_THROW(w = involution_weights_from_tensors(layer_tensors(path), &p));
    EXPECT_EQ(p.channels, f.involution.channels);
    EXPECT_EQ(p.groups(), f.involution.groups());
    EXPECT_EQ(p.reduced_channels(), f.involution.reduced_channels());
    const InvolutionWeights& e = f.involution_weights;
    EXPECT_EQ(w.reduce_weight.data, e.reduce_weight.data);
    EXPECT_EQ(w.bn_gamma.data, e.bn_gamma.data);
    EXPECT_EQ(w.bn_beta.data, e.bn_beta.data);
    EXPECT_EQ(w.bn_mean.data, e.bn_mean.data);
    EXPECT_EQ(w.bn_var.data, e.bn_var.data);
    EXPECT_EQ(w.span_weight.data, e.span_weight.data);
    EXPECT_EQ(w.span_bias.data, e.span_bias.data);
    EXPECT_EQ(w.bn_eps, e.bn_eps);
  }
}

// The loader must reject a fixture whose parameters contradict its tensors, or the whole
// comparison could run on misread cases.
TEST(PyTorchFixtures, LoaderRejectsInconsistentParams) {
  const auto paths = test::fixture_paths(OpKind::Conv);
  ASSERT_FALSE(paths.empty());
  TensorMap tensors = load_safetensors(paths.front());
  tensors["params"].data[0] += 1;  // kernel size no longer matches the weight
  const std::string dir = test::make_temp_dir("fixture");
  const std::string path = dir + "/conv_bad.safetensors";
  save_safetensors(path, tensors);
  EXPECT_THROW(test::load_fixture(path), Error);
}

}  // namespace
}  // namespace ks
