// The cases every backend is checked on against cpu-ref, and the one tolerance rule of
// those checks: shared by `kernelscope selftest` and the tests' correctness grid, so the
// command a user runs on a new GPU checks what CI checks.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "kernelscope/ops.h"

namespace ks {

// One generated case: shapes that are not multiples of any block size, random weights with
// randomised BN statistics (the defaults would make BN the identity and hide mistakes in
// it). Only the params of `op` are meaningful.
struct CheckCase {
  std::string name;  // unique, letters, digits and '_' only (usable as a gtest name)
  OpKind op = OpKind::Conv;
  Shape input_shape;  // [B, C, H, W]
  ConvParams conv;
  InvolutionParams involution;
  uint64_t seed = 0;
};

std::vector<CheckCase> conv_check_cases();
std::vector<CheckCase> involution_check_cases();
std::vector<CheckCase> check_cases();  // conv_check_cases() then involution_check_cases()

// Deterministic data of a case: input uniform in [-1, 1]; weights from ks::random_*_weights
// with the BN statistics and affine parameters randomised too.
Tensor check_case_input(const CheckCase& c);
ConvWeights check_case_conv_weights(const CheckCase& c);
InvolutionWeights check_case_involution_weights(const CheckCase& c);

// A value passes when |actual - expected| <= atol + rtol * |expected| (NaN only against NaN).
struct Tolerance {
  double atol = 1e-5;
  double rtol = 1e-5;
};
// How close a backend must come to cpu-ref. 1e-5 holds for our own kernels, which sum the
// same products in a similar order. cuDNN picks its fastest algorithm per shape, and
// Winograd and FFT transform the input and weights first: each transform rounds, and their
// error grows with the size of the sums (up to about 1e-4 on the grid's larger cases, far
// below anything visible). Restricting cuDNN to the direct algorithms would test a cuDNN
// users never get, so its convolution is held to a looser bound instead. TF32 is not the
// reason: the backend only accepts FMA (float32) math.
Tolerance backend_tolerance(const std::string& backend, OpKind op);

struct Comparison {
  struct Mismatch {
    int64_t index;
    float actual, expected;
  };
  bool shape_mismatch = false;
  int64_t mismatches = 0;
  double max_error = 0;         // the largest |actual - expected|; INFINITY for a NaN
  std::vector<Mismatch> first;  // the first few, in index order
  bool ok() const { return !shape_mismatch && mismatches == 0; }
};
// Compares element by element under the rule above, keeping the first `keep` mismatches.
Comparison compare_tensors(const Tensor& actual, const Tensor& expected, Tolerance tolerance,
                           int keep = 5);
// One line: the shape difference, or the count, the largest error and the first mismatches.
std::string describe_comparison(const Comparison& comparison, const Tensor& actual,
                                const Tensor& expected);

}  // namespace ks
