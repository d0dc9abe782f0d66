// "kernelscope selftest": every available backend against the cpu-ref oracle on the check
// cases of kernelscope/check_cases.h (the cases and the tolerance rule of the tests'
// correctness grid: odd sizes, every stride, padding, dilation and group layout, batches),
// printed as a pass/fail table. Meant for a new machine or a new GPU: it answers "do the
// fast paths compute the same numbers here?" without any test framework installed.
#include <CLI/CLI.hpp>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <iomanip>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include "cli/commands.h"
#include "core/flag_checks.h"
#include "kernelscope/backend.h"
#include "kernelscope/check_cases.h"
#include "kernelscope/error.h"

namespace ks::cli {
namespace {

// A check case with its data and cpu-ref's answer.
struct Prepared {
  CheckCase c;
  Tensor input;
  ConvWeights conv_weights;
  InvolutionWeights involution_weights;
  Tensor expected_output;
  Tensor expected_kernels;  // involution
};

// At most `count` cases of `all`, spread evenly over it (every stride and kernel size, not
// just the first few), with the data seeds moved by `seed` (0: the tests' own data).
std::vector<Prepared> prepare_cases(const std::vector<CheckCase>& all, int count, uint64_t seed,
                                    Backend& oracle) {
  std::vector<Prepared> out;
  const size_t n = std::min(all.size(), static_cast<size_t>(count));
  for (size_t i = 0; i < n; ++i) {
    Prepared p;
    p.c = all[i * all.size() / n];
    p.c.seed += seed;
    p.input = check_case_input(p.c);
    if (p.c.op == OpKind::Conv) {
      p.conv_weights = check_case_conv_weights(p.c);
      p.expected_output = oracle.conv2d(p.input, p.c.conv, p.conv_weights, nullptr);
    } else {
      p.involution_weights = check_case_involution_weights(p.c);
      InvolutionResult r =
          oracle.involution2d(p.input, p.c.involution, p.involution_weights, nullptr);
      p.expected_output = std::move(r.output);
      p.expected_kernels = std::move(r.kernels);
    }
    out.push_back(std::move(p));
  }
  return out;
}

std::string describe(const CheckCase& c) {
  std::ostringstream s;
  s << op_kind_name(c.op) << " " << shape_to_string(c.input_shape);
  if (c.op == OpKind::Conv) {
    const ConvParams& p = c.conv;
    s << " -> " << p.out_channels << " K=" << p.kernel_size << " s=" << p.stride
      << " p=" << p.padding << " d=" << p.dilation << " groups=" << p.groups
      << (p.has_bias ? " bias" : " no-bias");
  } else {
    const InvolutionParams& p = c.involution;
    s << " K=" << p.kernel_size << " s=" << p.stride << " d=" << p.dilation
      << " gc=" << p.group_channels << " r=" << p.reduction;
  }
  return s.str();
}

struct Row {
  std::string backend, op;
  int cases = 0, failed = 0;
  double max_error = 0;
  std::string status, first_failure;
};

// `tolerance` when the user gave --atol/--rtol, else the engine's rule for this backend.
Row check_backend(Backend& b, OpKind op, const std::vector<Prepared>& cases,
                  const std::optional<Tolerance>& tolerance) {
  Row row;
  row.backend = b.name();
  row.op = op_kind_name(op);
  const Tolerance tol = tolerance ? *tolerance : backend_tolerance(b.name(), op);
  int supported = 0;
  for (const Prepared& p : cases) {
    if (op == OpKind::Conv ? !b.supports(p.c.conv) : !b.supports(p.c.involution)) continue;
    ++supported;
    std::string failure;
    double max_error = 0;
    try {
      std::vector<std::pair<Tensor, const Tensor*>> checks;
      if (op == OpKind::Conv) {
        checks.push_back(
            {b.conv2d(p.input, p.c.conv, p.conv_weights, nullptr), &p.expected_output});
      } else {
        InvolutionResult r = b.involution2d(p.input, p.c.involution, p.involution_weights, nullptr);
        checks.push_back({std::move(r.kernels), &p.expected_kernels});
        checks.push_back({std::move(r.output), &p.expected_output});
      }
      for (const auto& [got, want] : checks) {
        const Comparison cmp = compare_tensors(got, *want, tol, 1);
        max_error = std::max(max_error, cmp.max_error);
        if (!cmp.ok() && failure.empty())
          failure = describe(p.c) + ": " + describe_comparison(cmp, got, *want);
      }
    } catch (const std::exception& e) {
      failure = describe(p.c) + ": " + e.what();
      max_error = INFINITY;
    }
    ++row.cases;
    row.max_error = std::max(row.max_error, max_error);
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
  CLI::App app{"Compare every available backend with the cpu-ref oracle on the check cases",
               "kernelscope selftest"};
  int cases = 10000;
  uint64_t seed = 0;
  double atol = 0, rtol = 0;
  std::vector<std::string> only;
  app.add_option("--cases", cases,
                 "at most this many cases per operator, spread over the list (default: all)")
      ->check(integer_in(1, 10000));
  app.add_option("--seed", seed,
                 "added to every case's data seed (0, the default: the tests' own data)")
      ->check(any_seed());
  app.add_option("--backend", only,
                 "test only these backends (repeatable); exit 2 if one is unavailable here");
  add_device_option(app);
  auto* atol_flag = app.add_option(
      "--atol", atol, "absolute tolerance (default: the tests' rule for each backend)");
  atol_flag->check(number_in(0));
  auto* rtol_flag = app.add_option(
      "--rtol", rtol, "relative tolerance (default: the tests' rule for each backend)");
  rtol_flag->check(number_in(0));
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

  // One flag moves its own bound; the other keeps the default rule's value.
  std::optional<Tolerance> tolerance;
  if (atol_flag->count() || rtol_flag->count()) {
    tolerance = Tolerance{};
    if (atol_flag->count()) tolerance->atol = atol;
    if (rtol_flag->count()) tolerance->rtol = rtol;
  }
  const std::vector<Prepared> conv_cases = prepare_cases(conv_check_cases(), cases, seed, *oracle);
  const std::vector<Prepared> involution_cases =
      prepare_cases(involution_check_cases(), cases, seed, *oracle);
  std::string rule = "|a-b| <= atol + rtol*|ref|, ";
  if (tolerance) {
    std::ostringstream s;
    s << "atol " << tolerance->atol << ", rtol " << tolerance->rtol;
    rule += s.str();
  } else {
    const Tolerance t = backend_tolerance("cuda", OpKind::Conv);
    std::ostringstream s;
    s << "atol = rtol = " << t.atol
      << " (cudnn conv: " << backend_tolerance("cudnn", OpKind::Conv).atol << ")";
    rule += s.str();
  }
  std::printf(
      "selftest: %zu conv and %zu involution cases, seed %llu, tolerance %s, oracle "
      "cpu-ref\n",
      conv_cases.size(), involution_cases.size(), static_cast<unsigned long long>(seed),
      rule.c_str());
  std::fflush(stdout);

  std::vector<Row> rows;
  for (Backend* b : testable) {
    rows.push_back(check_backend(*b, OpKind::Conv, conv_cases, tolerance));
    rows.push_back(check_backend(*b, OpKind::Involution, involution_cases, tolerance));
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
