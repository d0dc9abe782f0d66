// The notebook variant reproduces the seed notebook's inv(): its shape rule (220 -> 218)
// and its numbers, against fixtures written by tools/make_notebook_fixture.py with PyTorch.
#include <gtest/gtest.h>

#include <cstdint>
#include <limits>
#include <string>

#include "correctness_grid.h"
#include "kernelscope/error.h"
#include "kernelscope/io.h"
#include "kernelscope/notebook_variant.h"
#include "test_util.h"

namespace ks {
namespace {

TEST(NotebookVariant, ShrinksTwoTwentyToTwoEighteen) {
  NotebookVariantParams p;  // the notebook's defaults: r=1, K=3, group_ch=1, padding=0
  EXPECT_EQ(notebook_variant_output_shape({1, 3, 220, 220}, p), (Shape{1, 3, 218, 218}));
  p.padding = 1;
  EXPECT_EQ(notebook_variant_output_shape({1, 3, 220, 220}, p), (Shape{1, 3, 220, 220}));
  p.padding = 0;
  p.kernel_size = 7;
  EXPECT_EQ(notebook_variant_output_shape({2, 3, 40, 30}, p), (Shape{2, 3, 34, 24}));
}

TEST(NotebookVariant, FullSizeRunGivesTheNotebooksShape) {
  NotebookVariantParams p;
  const Tensor x = test::random_tensor({1, 3, 220, 220}, 51);
  const NotebookVariantResult r =
      notebook_variant_involution(x, p, random_notebook_variant_weights(p, 1));
  EXPECT_EQ(r.output.shape, (Shape{1, 3, 218, 218}));
  EXPECT_EQ(r.kernels.shape, (Shape{1, 3, 9, 218, 218}));
}

TEST(NotebookVariant, StrideAboveOneFailsLikeTheNotebookAndSaysWhy) {
  NotebookVariantParams p;
  p.stride = 2;
  try {
    notebook_variant_output_shape({1, 3, 220, 220}, p);
    FAIL() << "expected ks::Error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("stride 1"), std::string::npos) << e.what();
  }
}

TEST(NotebookVariant, ParameterCountGrowsWithTheKxKSpan) {
  NotebookVariantParams p;  // C=3, r=1, G=3, K=3: reduce 9+3, span 27*3*9 + 27
  EXPECT_EQ(parameter_count(p), 9 + 3 + 27 * 3 * 9 + 27);
}

// The estimate callers check against their memory cap before making weights: input, output,
// span output, the reduced map (double) and the weights; saturating where K^4 weights would
// overflow, and refusing what the shape rule refuses.
TEST(NotebookVariant, MemoryEstimateCountsEveryBufferAndSaturates) {
  NotebookVariantParams p;
  const Shape in{1, 3, 220, 220};
  const int64_t floats = 3 * 220 * 220 + (3 + 27) * 218 * 218 + parameter_count(p);
  EXPECT_EQ(notebook_variant_memory_bytes(in, p), 4 * floats + 8 * 3 * 220 * 220);
  p.kernel_size = 100001;  // 9e20 span weights
  p.padding = 50000;
  EXPECT_EQ(notebook_variant_memory_bytes(in, p), std::numeric_limits<int64_t>::max());
  p.kernel_size = 3;
  p.padding = 0;
  p.stride = 2;
  EXPECT_THROW(notebook_variant_memory_bytes(in, p), Error);
}

void check_fixture(const std::string& name, int64_t group_channels, int64_t reduction,
                   int64_t padding) {
  const std::string dir = test::fixture_dir() + "/notebook/" + name + "/";
  const Tensor x = load_npy(dir + "input.npy");
  NotebookVariantWeights w;
  w.reduce_weight = load_npy(dir + "reduce_weight.npy");
  w.reduce_bias = load_npy(dir + "reduce_bias.npy");
  w.span_weight = load_npy(dir + "span_weight.npy");
  w.span_bias = load_npy(dir + "span_bias.npy");
  NotebookVariantParams p;
  p.channels = x.dim(1);
  p.kernel_size = w.span_weight.dim(2);
  p.group_channels = group_channels;
  p.reduction = reduction;
  p.padding = padding;
  const NotebookVariantResult r = notebook_variant_involution(x, p, w);
  EXPECT_TRUE(test::all_close(r.output, load_npy(dir + "output.npy"), 1e-5f, 1e-4f)) << name;
  Tensor kernels = load_npy(dir + "kernels.npy");
  EXPECT_TRUE(test::all_close(r.kernels, kernels, 1e-5f, 1e-4f)) << name;
}

TEST(NotebookVariant, MatchesPyTorchFixtureWithDefaults) { check_fixture("defaults", 1, 1, 0); }

TEST(NotebookVariant, MatchesPyTorchFixtureWithGroupsReductionAndPadding) {
  check_fixture("grouped", 2, 2, 1);
}

}  // namespace
}  // namespace ks
