// Layer weights <-> PyTorch state_dict tensors: round trips through safetensors, what the file
// determines about the parameters, and the errors for missing or inconsistent tensors.
#include <filesystem>

#include "correctness_grid.h"
#include "kernelscope/error.h"
#include "kernelscope/io.h"
#include "test_util.h"

namespace ks {
namespace {

using test::TempDir;
using test::throws_with;

InvolutionParams involution(int64_t channels, int64_t kernel_size, int64_t group_channels,
                            int64_t reduction) {
  InvolutionParams p;
  p.channels = channels;
  p.kernel_size = kernel_size;
  p.group_channels = group_channels;
  p.reduction = reduction;
  return p;
}

TEST(WeightsIo, ConvRoundTripThroughSafetensors) {
  ConvParams p;
  p.in_channels = 6;
  p.out_channels = 4;
  p.kernel_size = 3;
  p.groups = 2;
  const ConvWeights w = random_conv_weights(p, 7);
  const TempDir temp("conv_weights");
  const std::string path = temp.path + "/conv.safetensors";
  save_safetensors(path, conv_weights_to_tensors(w));
  TensorMap loaded = load_safetensors(path);

  ConvParams read;
  read.groups = 2;
  read.in_channels = read.out_channels = read.kernel_size = 99;  // overwritten by the file
  const ConvWeights back = conv_weights_from_tensors(loaded, &read);
  EXPECT_EQ(read.in_channels, 6);
  EXPECT_EQ(read.out_channels, 4);
  EXPECT_EQ(read.kernel_size, 3);
  EXPECT_EQ(read.groups, 2);
  EXPECT_TRUE(read.has_bias);
  EXPECT_TRUE(test::all_close(back.weight, w.weight, 0, 0));
  EXPECT_TRUE(test::all_close(back.bias, w.bias, 0, 0));

  // Without a groups hint the same weight reads as a 3-input, ungrouped layer.
  ConvParams guess;
  guess.groups = 0;
  conv_weights_from_tensors(loaded, &guess);
  EXPECT_EQ(guess.groups, 1);
  EXPECT_EQ(guess.in_channels, 3);
}

TEST(WeightsIo, ConvWithoutBias) {
  TensorMap tensors{{"weight", Tensor({8, 3, 5, 5})}};
  ConvParams p;
  const ConvWeights w = conv_weights_from_tensors(tensors, &p);
  EXPECT_FALSE(p.has_bias);
  EXPECT_TRUE(w.bias.empty());
  EXPECT_EQ(p.kernel_size, 5);
  EXPECT_EQ(conv_weights_to_tensors(w).count("bias"), 0u);
}

TEST(WeightsIo, ConvErrors) {
  ConvParams p;
  const ConvParams before = p;
  EXPECT_TRUE(throws_with([&] { conv_weights_from_tensors({}, &p); }, "missing tensor 'weight'"));
  EXPECT_TRUE(throws_with(
      [&] {
        conv_weights_from_tensors({{"weight", Tensor({8, 3, 3})}}, &p);
      },
      "'weight' must be [C_out, C_in/groups, K, K], got [8, 3, 3]"));
  EXPECT_TRUE(throws_with(
      [&] {
        conv_weights_from_tensors({{"weight", Tensor({8, 3, 3, 2})}}, &p);
      },
      "got [8, 3, 3, 2]"));
  EXPECT_TRUE(throws_with(
      [&] {
        conv_weights_from_tensors({{"weight", Tensor({8, 0, 3, 3})}}, &p);
      },
      "got [8, 0, 3, 3]"));
  EXPECT_TRUE(throws_with(
      [&] {
        conv_weights_from_tensors({{"weight", Tensor({8, 3, 3, 3})}, {"bias", Tensor({7})}}, &p);
      },
      "'bias' must be [8], got [7]"));
  p.groups = 3;
  EXPECT_TRUE(throws_with(
      [&] {
        conv_weights_from_tensors({{"weight", Tensor({8, 3, 3, 3})}}, &p);
      },
      "8 output channels, not a multiple of groups = 3"));
  p.groups = before.groups;
  // A failed read leaves the caller's parameters alone.
  EXPECT_EQ(p.in_channels, before.in_channels);
  EXPECT_EQ(p.kernel_size, before.kernel_size);
}

TEST(WeightsIo, InvolutionRoundTripWritesPyTorchShapes) {
  const InvolutionParams p = involution(8, 3, 2, 2);
  const InvolutionWeights w = random_involution_weights(p, 3);
  const TensorMap tensors = involution_weights_to_tensors(p, w);
  EXPECT_EQ(tensors.at("conv1.conv.weight").shape, (Shape{4, 8, 1, 1}));
  EXPECT_EQ(tensors.at("conv2.conv.weight").shape, (Shape{36, 4, 1, 1}));
  EXPECT_EQ(tensors.at("conv2.conv.bias").shape, (Shape{36}));
  EXPECT_EQ(tensors.at("conv1.bn.running_var").shape, (Shape{4}));

  const TempDir temp("inv_weights");
  const std::string path = temp.path + "/inv.safetensors";
  save_safetensors(path, tensors);
  InvolutionParams read = involution(1, 0, 0, 1);  // nothing known: K and G inferred
  read.stride = 2;
  const InvolutionWeights back = involution_weights_from_tensors(load_safetensors(path), &read);
  EXPECT_EQ(read.channels, 8);
  EXPECT_EQ(read.reduction, 2);
  EXPECT_EQ(read.kernel_size, 3);
  EXPECT_EQ(read.group_channels, 2);
  EXPECT_EQ(read.stride, 2);  // not in the file: kept
  EXPECT_TRUE(test::all_close(back.reduce_weight, w.reduce_weight, 0, 0));
  EXPECT_TRUE(test::all_close(back.span_weight, w.span_weight, 0, 0));
  EXPECT_TRUE(test::all_close(back.span_bias, w.span_bias, 0, 0));
  EXPECT_TRUE(test::all_close(back.bn_gamma, w.bn_gamma, 0, 0));
  EXPECT_TRUE(test::all_close(back.bn_beta, w.bn_beta, 0, 0));
  EXPECT_TRUE(test::all_close(back.bn_mean, w.bn_mean, 0, 0));
  EXPECT_TRUE(test::all_close(back.bn_var, w.bn_var, 0, 0));
}

TEST(WeightsIo, InvolutionKernelAndGroupsFromHints) {
  // 9 channels, 9 span rows: K=3,G=1 or K=1,G=9. Without hints the largest odd K wins.
  const InvolutionParams k1 = involution(9, 1, 1, 3);
  const TensorMap tensors = involution_weights_to_tensors(k1, random_involution_weights(k1, 1));
  InvolutionParams none = involution(0, 0, 0, 0);
  involution_weights_from_tensors(tensors, &none);
  EXPECT_EQ(none.kernel_size, 3);
  EXPECT_EQ(none.group_channels, 9);
  EXPECT_EQ(none.reduction, 3);

  InvolutionParams by_kernel = involution(0, 1, 0, 0);
  involution_weights_from_tensors(tensors, &by_kernel);
  EXPECT_EQ(by_kernel.kernel_size, 1);
  EXPECT_EQ(by_kernel.group_channels, 1);

  InvolutionParams by_groups = involution(0, 0, 1, 0);
  involution_weights_from_tensors(tensors, &by_groups);
  EXPECT_EQ(by_groups.kernel_size, 1);

  InvolutionParams by_groups9 = involution(0, 0, 9, 0);
  involution_weights_from_tensors(tensors, &by_groups9);
  EXPECT_EQ(by_groups9.kernel_size, 3);

  InvolutionParams bad_kernel = involution(0, 5, 0, 0);
  EXPECT_TRUE(throws_with([&] { involution_weights_from_tensors(tensors, &bad_kernel); },
                          "conv2.conv.weight has 9 rows, not a multiple of K*K = 25"));
  InvolutionParams bad_groups = involution(0, 0, 2, 0);
  EXPECT_TRUE(throws_with([&] { involution_weights_from_tensors(tensors, &bad_groups); },
                          "9 channels cannot be split into groups of 2"));
  InvolutionParams even = involution(0, 0, 0, 0);
  TensorMap even_rows = tensors;  // 4 rows: K=2 (even) or K=1 with G=4 not dividing 9
  even_rows["conv2.conv.weight"] = Tensor({4, 3});
  even_rows["conv2.conv.bias"] = Tensor({4});
  EXPECT_TRUE(throws_with([&] { involution_weights_from_tensors(even_rows, &even); },
                          "not K*K*G for any odd K and G dividing 9 channels"));
  InvolutionParams even_hint = involution(0, 2, 0, 0);
  EXPECT_TRUE(
      throws_with([&] { involution_weights_from_tensors(even_rows, &even_hint); }, "must be odd"));
}

TEST(WeightsIo, InvolutionAcceptsTwoDimensionalWeights) {
  const InvolutionParams p = involution(4, 3, 1, 1);
  TensorMap tensors = involution_weights_to_tensors(p, random_involution_weights(p, 2));
  tensors["conv1.conv.weight"].shape = {4, 4};
  tensors["conv2.conv.weight"].shape = {36, 4};
  InvolutionParams read = involution(0, 0, 0, 0);
  const InvolutionWeights w = involution_weights_from_tensors(tensors, &read);
  EXPECT_EQ(w.reduce_weight.shape, (Shape{4, 4}));
  EXPECT_EQ(read.kernel_size, 3);
  EXPECT_EQ(read.group_channels, 1);
}

TEST(WeightsIo, InvolutionMissingAndInconsistentTensors) {
  const InvolutionParams p = involution(4, 3, 2, 2);
  const TensorMap good = involution_weights_to_tensors(p, random_involution_weights(p, 4));
  for (const auto& item : good) {
    TensorMap missing = good;
    missing.erase(item.first);
    InvolutionParams read = p;
    EXPECT_TRUE(throws_with([&] { involution_weights_from_tensors(missing, &read); },
                            "missing tensor '" + item.first + "'"));
  }
  auto with = [&](const std::string& key, Shape shape) {
    TensorMap changed = good;
    changed[key] = Tensor(std::move(shape));
    return changed;
  };
  InvolutionParams read = p;
  EXPECT_TRUE(throws_with(
      [&] {
        involution_weights_from_tensors(with("conv1.conv.weight", {3, 4, 1, 1}), &read);
      },
      "conv1.conv.weight maps 4 channels to 3, not an integer reduction ratio"));
  EXPECT_TRUE(throws_with(
      [&] {
        involution_weights_from_tensors(with("conv1.conv.weight", {2, 4, 3, 3}), &read);
      },
      "'conv1.conv.weight' must be [out, in, 1, 1] or [out, in], got [2, 4, 3, 3]"));
  EXPECT_TRUE(throws_with(
      [&] { involution_weights_from_tensors(with("conv1.bn.running_var", {3}), &read); },
      "'conv1.bn.running_var' must be [2], got [3]"));
  EXPECT_TRUE(throws_with(
      [&] {
        involution_weights_from_tensors(with("conv2.conv.weight", {18, 3, 1, 1}), &read);
      },
      "conv2.conv.weight takes 3 input channels but conv1.conv.weight produces 2"));
  EXPECT_TRUE(
      throws_with([&] { involution_weights_from_tensors(with("conv2.conv.bias", {17}), &read); },
                  "'conv2.conv.bias' must be [18], got [17]"));
  EXPECT_EQ(read.channels, p.channels);  // unchanged after failures
}

TEST(WeightsIo, ReadsAPyTorchInvolutionStateDict) {
  // tools/make_io_fixtures.py: C=4, r=2, K=3, group_channels=2, with num_batches_tracked.
  const TensorMap tensors =
      load_safetensors(test::fixture_dir() + "/io/involution_c4_r2_k3_gc2.safetensors");
  InvolutionParams read = involution(0, 0, 0, 0);
  const InvolutionWeights w = involution_weights_from_tensors(tensors, &read);
  EXPECT_EQ(read.channels, 4);
  EXPECT_EQ(read.reduction, 2);
  EXPECT_EQ(read.kernel_size, 3);
  EXPECT_EQ(read.group_channels, 2);
  EXPECT_EQ(w.reduce_weight.shape, (Shape{2, 4}));
  EXPECT_EQ(w.span_weight.shape, (Shape{18, 2}));
  EXPECT_EQ(w.reduce_weight.data, tensors.at("conv1.conv.weight").data);
}

}  // namespace
}  // namespace ks
