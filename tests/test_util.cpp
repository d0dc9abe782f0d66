#include "test_util.h"

#include <atomic>
#include <cmath>
#include <filesystem>
#include <random>
#include <sstream>

#include <unistd.h>

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
  if (actual.shape != expected.shape)
    return ::testing::AssertionFailure() << "shape " << shape_to_string(actual.shape)
                                         << " != expected " << shape_to_string(expected.shape);
  std::ostringstream report;
  int64_t bad = 0;
  double worst = 0;
  for (int64_t i = 0; i < expected.numel(); ++i) {
    const float a = actual.data[static_cast<size_t>(i)], e = expected.data[static_cast<size_t>(i)];
    const double err = std::fabs(static_cast<double>(a) - e);
    const bool ok = err <= atol + rtol * std::fabs(e) || (std::isnan(a) && std::isnan(e));
    if (!ok) {
      if (bad < 5) report << "\n  [" << i << "] got " << a << " expected " << e;
      ++bad;
      if (err > worst || std::isnan(err)) worst = err;
    }
  }
  if (bad == 0) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure()
         << bad << " of " << expected.numel() << " values differ (max abs error " << worst
         << ", shape " << shape_to_string(expected.shape) << "):" << report.str();
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
