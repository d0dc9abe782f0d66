// The correctness grid every backend runs: the generated cases of kernelscope/check_cases.h
// (which `kernelscope selftest` runs too) and the golden PyTorch fixtures written by
// tools/make_fixtures.py.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "kernelscope/check_cases.h"
#include "kernelscope/ops.h"

namespace ks::test {

// A golden case: PyTorch's answer for one input and one set of weights.
struct Fixture {
  std::string name;  // file name without extension
  OpKind op = OpKind::Conv;
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
std::vector<std::string> fixture_paths(OpKind op);
// Reads a fixture through ks::load_safetensors. The parameters come from its `params`
// tensor ([kernel_size, stride, padding, dilation, groups or group_channels, reduction,
// has_bias]) and the tensor shapes; throws ks::Error naming the file if anything disagrees.
Fixture load_fixture(const std::string& path);

}  // namespace ks::test
