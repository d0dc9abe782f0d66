// "kernelscope selftest": every available backend against the cpu-ref oracle on random
// problems of both operators (random stride, padding, dilation, groups, odd sizes, batch),
// printed as a pass/fail table. Meant for a new machine or a new GPU: it answers "do the
// fast paths compute the same numbers here?" without any test framework installed.
#include <CLI/CLI.hpp>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <iomanip>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "cli/commands.h"
#include "cli/flag_checks.h"
#include "kernelscope/backend.h"
#include "kernelscope/error.h"

namespace ks::cli {
namespace {

class Random {
 public:
  explicit Random(uint64_t seed) : gen_(seed) {}
  int64_t pick(int64_t lo, int64_t hi) {
    return std::uniform_int_distribution<int64_t>(lo, hi)(gen_);
  }
  template <typename T>
  T pick_of(const std::vector<T>& values) {
    return values[static_cast<size_t>(pick(0, static_cast<int64_t>(values.size()) - 1))];
  }
  Tensor tensor(const Shape& shape) {
    Tensor t(shape);
    std::uniform_real_distribution<float> dist(-1.0f, 1.0f);
    for (float& v : t.data) v = dist(gen_);
    return t;
  }

 private:
  std::mt19937_64 gen_;
};

struct ConvCase {
  Tensor input;
  ConvParams params;
  ConvWeights weights;
  Tensor expected;
};

struct InvolutionCase {
  Tensor input;
  InvolutionParams params;
  InvolutionWeights weights;
  InvolutionResult expected;
};

// Sizes up to 45 cross the GPU tile edges (32 columns, 8 rows) at odd offsets; even kernel
// sizes and padding larger than K/2 are legal for conv and easy to get wrong.
ConvCase random_conv_case(Random& rng, Backend& oracle) {
  for (;;) {
    ConvParams p;
    p.groups = rng.pick(1, 3);
    p.in_channels = p.groups * rng.pick(1, 4);
    p.out_channels = p.groups * rng.pick(1, 5);
    p.kernel_size = rng.pick(1, 7);
    p.stride = rng.pick(1, 3);
    p.dilation = rng.pick(1, 3);
    p.padding = rng.pick(0, p.kernel_size);
    p.has_bias = rng.pick(0, 1) == 1;
    const Shape shape = {rng.pick(1, 3), p.in_channels, rng.pick(1, 45), rng.pick(1, 45)};
    try {
      conv_output_shape(shape, p);
    } catch (const Error&) {
      continue;  // no output for this draw: draw again
    }
    ConvCase c;
    c.input = rng.tensor(shape);
    c.params = p;
    c.weights = random_conv_weights(p, static_cast<uint64_t>(rng.pick(0, 1 << 30)));
    c.expected = oracle.conv2d(c.input, p, c.weights, nullptr);
    return c;
  }
}

InvolutionCase random_involution_case(Random& rng, Backend& oracle) {
  InvolutionParams p;
  p.group_channels = rng.pick_of<int64_t>({1, 2, 3, 4, 8, 16});
  p.channels = p.group_channels * rng.pick(1, 4);
  p.kernel_size = rng.pick_of<int64_t>({1, 3, 5, 7});
  p.stride = rng.pick(1, 3);
  p.dilation = rng.pick(1, 2);
  p.reduction = rng.pick(1, std::min<int64_t>(4, p.channels));
  const Shape shape = {rng.pick(1, 3), p.channels, rng.pick(1, 45), rng.pick(1, 45)};
  InvolutionCase c;
  c.input = rng.tensor(shape);
  c.params = p;
  c.weights = random_involution_weights(p, static_cast<uint64_t>(rng.pick(0, 1 << 30)));
  // BN statistics away from the identity, so a backend that skips BN is caught.
  for (size_t m = 0; m < c.weights.bn_gamma.data.size(); ++m) {
    c.weights.bn_gamma.data[m] = 0.5f + static_cast<float>(rng.pick(0, 100)) / 100.0f;
    c.weights.bn_beta.data[m] = static_cast<float>(rng.pick(-50, 50)) / 100.0f;
    c.weights.bn_mean.data[m] = static_cast<float>(rng.pick(-20, 20)) / 100.0f;
    c.weights.bn_var.data[m] = 0.5f + static_cast<float>(rng.pick(0, 100)) / 100.0f;
  }
  c.expected = oracle.involution2d(c.input, p, c.weights, nullptr);
  return c;
}

std::string describe(const ConvCase& c) {
  const ConvParams& p = c.params;
  std::ostringstream s;
  s << "conv " << shape_to_string(c.input.shape) << " -> " << p.out_channels
    << " K=" << p.kernel_size << " s=" << p.stride << " p=" << p.padding << " d=" << p.dilation
    << " groups=" << p.groups << (p.has_bias ? " bias" : " no-bias");
  return s.str();
}

std::string describe(const InvolutionCase& c) {
  const InvolutionParams& p = c.params;
  std::ostringstream s;
  s << "involution " << shape_to_string(c.input.shape) << " K=" << p.kernel_size
    << " s=" << p.stride << " d=" << p.dilation << " gc=" << p.group_channels
    << " r=" << p.reduction;
  return s.str();
}

// Largest |a - b|, and the first element outside atol + rtol * |expected| (or -1).
struct Comparison {
  double max_error = 0;
  int64_t first_bad = -1;
  float got = 0, want = 0;
};

void compare(const Tensor& actual, const Tensor& expected, double atol, double rtol,
             Comparison& out) {
  if (actual.shape != expected.shape)
    throw Error("shape " + shape_to_string(actual.shape) + " != expected " +
                shape_to_string(expected.shape));
  for (size_t i = 0; i < expected.data.size(); ++i) {
    const double a = actual.data[i], e = expected.data[i];
    const double err = std::fabs(a - e);
    // NaN compares false everywhere: count it as the worst possible error.
    const bool ok = err <= atol + rtol * std::fabs(e);
    out.max_error = std::isnan(err) ? INFINITY : std::max(out.max_error, err);
    if (!ok && out.first_bad < 0) {
      out.first_bad = static_cast<int64_t>(i);
      out.got = actual.data[i];
      out.want = expected.data[i];
    }
  }
}

struct Row {
  std::string backend, op;
  int cases = 0, failed = 0;
  double max_error = 0;
  std::string status, first_failure;
};

template <typename Case, typename Run>
Row check_backend(Backend& b, const char* op, const std::vector<Case>& cases, Run run) {
  Row row;
  row.backend = b.name();
  row.op = op;
  int supported = 0;
  for (const Case& c : cases) {
    if (!b.supports(c.params)) continue;
    ++supported;
    Comparison cmp;
    std::string failure;
    try {
      run(b, c, cmp);
      if (cmp.first_bad >= 0) {
        std::ostringstream s;
        s << std::setprecision(9) << describe(c) << ": element " << cmp.first_bad << " is "
          << cmp.got << ", expected " << cmp.want;
        failure = s.str();
      }
    } catch (const std::exception& e) {
      failure = describe(c) + ": " + e.what();
      cmp.max_error = INFINITY;
    }
    ++row.cases;
    row.max_error = std::max(row.max_error, cmp.max_error);
    if (!failure.empty()) {
      ++row.failed;
      if (row.first_failure.empty()) row.first_failure = failure;
    }
  }
  if (supported == 0)
    row.status = "not supported";
  else if (row.failed == 0)
    row.status = "PASS";
  else
    row.status = "FAIL (" + std::to_string(row.failed) + ")";
  return row;
}

}  // namespace

int selftest_command(int argc, char** argv) {
  CLI::App app{"Compare every available backend with the cpu-ref oracle on random problems",
               "kernelscope selftest"};
  int cases = 25;
  uint64_t seed = 20240611;
  double atol = 1e-4, rtol = 1e-3;
  std::vector<std::string> only;
  app.add_option("--cases", cases, "random problems per operator")->check(integer_in(1, 10000));
  app.add_option("--seed", seed, "seed of the problem generator (same seed, same problems)")
      ->check(any_seed());
  app.add_option("--backend", only,
                 "test only these backends (repeatable); exit 2 if one is unavailable here");
  add_device_option(app);
  app.add_option("--atol", atol, "absolute tolerance")->check(number_in(0));
  app.add_option("--rtol", rtol, "relative tolerance")->check(number_in(0));
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return exit_on_parse_error(app, e);
  }

  Backend* oracle = find_backend("cpu-ref");
  if (!oracle) throw Error("this build has no cpu-ref backend to compare with");
  for (const std::string& name : only)
    if (!find_backend(name)) select_backend(name);  // throws with the list of names

  std::vector<Backend*> testable;
  std::vector<std::string> unavailable;
  for (const std::string& name : backend_names()) {
    if (name == "cpu-ref") continue;
    if (!only.empty() && std::find(only.begin(), only.end(), name) == only.end()) continue;
    Backend* b = find_backend(name);
    std::string why;
    if (b->available(&why))
      testable.push_back(b);
    else
      unavailable.push_back(name + ": " + why);
  }

  std::printf(
      "selftest: %d random problems per operator, seed %llu, tolerance |a-b| <= %g + "
      "%g*|ref|, oracle cpu-ref\n",
      cases, static_cast<unsigned long long>(seed), atol, rtol);
  std::fflush(stdout);
  Random rng(seed);
  std::vector<ConvCase> conv_cases;
  std::vector<InvolutionCase> involution_cases;
  for (int i = 0; i < cases; ++i) conv_cases.push_back(random_conv_case(rng, *oracle));
  for (int i = 0; i < cases; ++i) involution_cases.push_back(random_involution_case(rng, *oracle));

  std::vector<Row> rows;
  for (Backend* b : testable) {
    rows.push_back(
        check_backend(*b, "conv", conv_cases, [&](Backend& be, const ConvCase& c, Comparison& cmp) {
          compare(be.conv2d(c.input, c.params, c.weights, nullptr), c.expected, atol, rtol, cmp);
        }));
    rows.push_back(check_backend(*b, "involution", involution_cases,
                                 [&](Backend& be, const InvolutionCase& c, Comparison& cmp) {
                                   const InvolutionResult r =
                                       be.involution2d(c.input, c.params, c.weights, nullptr);
                                   compare(r.kernels, c.expected.kernels, atol, rtol, cmp);
                                   compare(r.output, c.expected.output, atol, rtol, cmp);
                                 }));
  }

  std::printf("\n%-12s %-11s %6s %11s  %s\n", "backend", "op", "cases", "max error", "status");
  bool any_failure = false;
  for (const Row& row : rows) {
    char error[32];
    if (row.cases == 0)
      std::snprintf(error, sizeof error, "-");
    else
      std::snprintf(error, sizeof error, "%.2e", row.max_error);
    std::printf("%-12s %-11s %6d %11s  %s\n", row.backend.c_str(), row.op.c_str(), row.cases, error,
                row.status.c_str());
    any_failure = any_failure || row.failed > 0;
  }
  if (testable.empty()) std::printf("(no backend besides cpu-ref to test)\n");
  for (const Row& row : rows)
    if (!row.first_failure.empty())
      std::printf("first failure of %s %s: %s\n", row.backend.c_str(), row.op.c_str(),
                  row.first_failure.c_str());
  if (!unavailable.empty()) {
    std::printf("\nnot tested (unavailable here):\n");
    for (const std::string& line : unavailable) std::printf("  %s\n", line.c_str());
  }
  if (any_failure) {
    std::printf("\nselftest FAILED\n");
    return 1;
  }
  // Backends asked for by name but not runnable here: "passed" would be misleading.
  if (!only.empty() && !unavailable.empty()) {
    std::printf("\nselftest incomplete: a requested backend is unavailable\n");
    return 2;
  }
  std::printf("\nselftest passed\n");
  return 0;
}

}  // namespace ks::cli
