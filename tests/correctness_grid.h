// The correctness grid every backend runs: generated cases (shapes that are not multiples of
// any block size, random weights with randomised BN statistics) and the golden PyTorch
// fixtures written by tools/make_fixtures.py.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "kernelscope/ops.h"

namespace ks::test {

enum class Op { Conv, Involution };

// One generated case. Only the params of `op` are meaningful.
struct GridCase {
  std::string name;  // unique, letters, digits and '_' only (usable as a gtest name)
  Op op = Op::Conv;
  Shape input_shape;  // [B, C, H, W]
  ConvParams conv;
  InvolutionParams involution;
  uint64_t seed = 0;
};

std::vector<GridCase> conv_grid();
std::vector<GridCase> involution_grid();
std::vector<GridCase> correctness_grid();  // conv_grid() then involution_grid()

// Deterministic data of a case: input uniform in [-1, 1]; weights from ks::random_*_weights
// with the BN statistics and affine parameters randomised too (the defaults would make BN
// the identity and hide mistakes in it).
Tensor grid_input(const GridCase& c);
ConvWeights grid_conv_weights(const GridCase& c);
InvolutionWeights grid_involution_weights(const GridCase& c);

// A golden case: PyTorch's answer for one input and one set of weights.
struct Fixture {
  std::string name;  // file name without extension
  Op op = Op::Conv;
  Tensor input;
  ConvParams conv;
  ConvWeights conv_weights;
  InvolutionParams involution;
  InvolutionWeights involution_weights;
  Tensor expected_output;
  Tensor expected_kernels;  // involution only: [B, G, K*K, H_out, W_out]
};

// What tools/make_fixtures.py writes; a test that found fewer files must fail, not pass on
// nothing. Update both when the generator's grid changes.
constexpr int kConvFixtureCount = 96;
constexpr int kInvolutionFixtureCount = 62;

// tests/fixtures: $KS_FIXTURE_DIR when set (binaries built on one machine and run on
// another, e.g. a GPU machine: tools/gpu_check.sh), else the path compiled in.
std::string fixture_dir();

// Sorted paths of tests/fixtures/{conv,involution}_*.safetensors (empty if the directory is
// missing).
std::vector<std::string> fixture_paths(Op op);
// Reads a fixture through ks::load_safetensors. The parameters come from its `params`
// tensor ([kernel_size, stride, padding, dilation, groups or group_channels, reduction,
// has_bias]) and the tensor shapes; throws ks::Error naming the file if anything disagrees.
Fixture load_fixture(const std::string& path);

}  // namespace ks::test
