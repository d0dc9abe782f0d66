#include "test_util.h"

#include <atomic>
#include <cmath>
#include <filesystem>
#include <random>
#include <sstream>

#include <unistd.h>

#include "kernelscope/check_cases.h"

namespace ks::test {

Tensor random_tensor(const Shape& shape, uint64_t seed, float lo, float hi) {
  Tensor t(shape);
  std::mt19937_64 rng(seed);
  std::uniform_real_distribution<float> dist(lo, hi);
  for (float& v : t.data) v = dist(rng);
  return t;
}

::testing::AssertionResult all_close(const Tensor& actual, const Tensor& expected, float atol,
                                     float rtol) {
  // The engine's comparison (kernelscope/check_cases.h), the one selftest uses.
  const Comparison c = compare_tensors(actual, expected, {atol, rtol});
  if (c.ok()) return ::testing::AssertionSuccess();
  if (c.shape_mismatch)
    return ::testing::AssertionFailure() << "shape " << shape_to_string(actual.shape)
                                         << " != expected " << shape_to_string(expected.shape);
  std::ostringstream report;
  for (const Comparison::Mismatch& m : c.first)
    report << "\n  [" << m.index << "] got " << m.actual << " expected " << m.expected;
  return ::testing::AssertionFailure()
         << c.mismatches << " of " << expected.numel() << " values differ (max abs error "
         << c.max_error << ", shape " << shape_to_string(expected.shape) << "):" << report.str();
}

std::string make_temp_dir(const std::string& tag) {
  static std::atomic<int> counter{0};
  auto dir = std::filesystem::temp_directory_path() /
             ("ks_" + tag + "_" + std::to_string(getpid()) + "_" + std::to_string(counter++));
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  return dir.string();
}

}  // namespace ks::test
