// Shared helpers for the tests: seeded random tensors and a mixed-tolerance comparison
// that reports the first mismatches with their indices.
#pragma once

#include <gtest/gtest.h>

#include <cstdint>
#include <exception>
#include <filesystem>
#include <string>

#include "kernelscope/error.h"

#include "kernelscope/tensor.h"

namespace ks::test {

Tensor random_tensor(const Shape& shape, uint64_t seed, float lo = -1.0f, float hi = 1.0f);

// Passes when |a - b| <= atol + rtol * |expected| everywhere and the shapes agree; otherwise
// the failure message lists up to 5 mismatching flat indices with both values.
::testing::AssertionResult all_close(const Tensor& actual, const Tensor& expected,
                                     float atol = 1e-5f, float rtol = 1e-5f);

// A fresh empty directory under the system temp dir, unique per call.
std::string make_temp_dir(const std::string& tag);

// A make_temp_dir that is removed again when the test ends.
struct TempDir {
  explicit TempDir(const std::string& tag) : path(make_temp_dir(tag)) {}
  ~TempDir() {
    std::error_code ignored;
    std::filesystem::remove_all(path, ignored);
  }
  const std::string path;
};

// Passes when f throws ks::Error with a one-line message containing needle.
template <typename F>
::testing::AssertionResult throws_with(F&& f, const std::string& needle) {
  try {
    f();
  } catch (const Error& e) {
    const std::string message = e.what();
    if (message.find(needle) == std::string::npos)
      return ::testing::AssertionFailure()
             << "message \"" << message << "\" lacks \"" << needle << "\"";
    if (message.find('\n') != std::string::npos)
      return ::testing::AssertionFailure() << "message spans lines: " << message;
    return ::testing::AssertionSuccess();
  } catch (const std::exception& e) {
    return ::testing::AssertionFailure() << "threw a non-ks::Error: " << e.what();
  }
  return ::testing::AssertionFailure() << "did not throw";
}

}  // namespace ks::test
