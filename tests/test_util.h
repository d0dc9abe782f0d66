// Shared helpers for the tests: seeded random tensors and a mixed-tolerance comparison
// that reports the first mismatches with their indices.
#pragma once

#include <gtest/gtest.h>

#include <cstdint>
#include <string>

#include "kernelscope/tensor.h"

namespace ks::test {

Tensor random_tensor(const Shape& shape, uint64_t seed, float lo = -1.0f, float hi = 1.0f);

// Passes when |a - b| <= atol + rtol * |expected| everywhere and the shapes agree; otherwise
// the failure message lists up to 5 mismatching flat indices with both values.
::testing::AssertionResult all_close(const Tensor& actual, const Tensor& expected,
                                     float atol = 1e-5f, float rtol = 1e-5f);

// A fresh empty directory under the system temp dir, unique per call.
std::string make_temp_dir(const std::string& tag);

}  // namespace ks::test
