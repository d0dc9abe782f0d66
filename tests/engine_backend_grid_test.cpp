// Every backend except the reference, on every case of the correctness grid, against
// cpu-ref; and on every golden PyTorch fixture. Backends are found through the registry at
// run time, so a new backend is covered by being registered.
#include <algorithm>
#include <cctype>
#include <iostream>
#include <set>

#include "correctness_grid.h"
#include "kernelscope/backend.h"
#include "test_util.h"

namespace ks {
namespace {

std::vector<std::string> backends_under_test() {
  std::vector<std::string> names = backend_names();
  names.erase(std::remove(names.begin(), names.end(), "cpu-ref"), names.end());
  return names;
}

// gtest names allow letters, digits and '_' only; backend names use '-'.
std::string test_name(const std::string& s) {
  std::string out = s;
  for (char& ch : out)
    if (!std::isalnum(static_cast<unsigned char>(ch))) ch = '_';
  return out;
}

// The tolerance is the engine's rule (backend_tolerance in kernelscope/check_cases.h), the
// one `kernelscope selftest` applies too.
::testing::AssertionResult close_enough(const Tensor& got, const Tensor& want,
                                        const std::string& backend, OpKind op) {
  const Tolerance tol = backend_tolerance(backend, op);
  return test::all_close(got, want, static_cast<float>(tol.atol), static_cast<float>(tol.rtol));
}

struct BackendCase {
  std::string backend;
  CheckCase grid;
};

void PrintTo(const BackendCase& c, std::ostream* os) { *os << c.backend << "/" << c.grid.name; }

std::vector<BackendCase> backend_cases() {
  std::vector<BackendCase> out;
  const std::vector<CheckCase> grid = check_cases();
  for (const std::string& name : backends_under_test())
    for (const CheckCase& c : grid) out.push_back({name, c});
  return out;
}

class BackendGrid : public ::testing::TestWithParam<BackendCase> {};

TEST_P(BackendGrid, MatchesReference) {
  const BackendCase& param = GetParam();
  Backend* backend = find_backend(param.backend);
  ASSERT_NE(backend, nullptr) << "backend " << param.backend << " is listed but not found";
  std::string why;
  if (!backend->available(&why))
    GTEST_SKIP() << "backend " << param.backend << " unavailable: " << why;
  Backend* reference = find_backend("cpu-ref");
  ASSERT_NE(reference, nullptr);

  const CheckCase& c = param.grid;
  const Tensor x = check_case_input(c);
  StageTimes times;
  if (c.op == OpKind::Conv) {
    if (!backend->supports(c.conv))
      GTEST_SKIP() << "backend " << param.backend << " does not support " << c.name;
    const ConvWeights w = check_case_conv_weights(c);
    const Tensor expected = reference->conv2d(x, c.conv, w, nullptr);
    EXPECT_TRUE(close_enough(backend->conv2d(x, c.conv, w, &times), expected, param.backend, c.op));
  } else {
    if (!backend->supports(c.involution))
      GTEST_SKIP() << "backend " << param.backend << " does not support " << c.name;
    const InvolutionWeights w = check_case_involution_weights(c);
    const InvolutionResult expected = reference->involution2d(x, c.involution, w, nullptr);
    const InvolutionResult got = backend->involution2d(x, c.involution, w, &times);
    EXPECT_TRUE(close_enough(got.kernels, expected.kernels, param.backend, c.op))
        << "generated kernels";
    EXPECT_TRUE(close_enough(got.output, expected.output, param.backend, c.op)) << "output";
  }
}

// With only cpu-ref compiled in there is nothing to instantiate; that is not an error.
INSTANTIATE_TEST_SUITE_P(Registered, BackendGrid, ::testing::ValuesIn(backend_cases()),
                         [](const ::testing::TestParamInfo<BackendCase>& info) {
                           return test_name(info.param.backend) + "_" + info.param.grid.name;
                         });
GTEST_ALLOW_UNINSTANTIATED_PARAMETERIZED_TEST(BackendGrid);

// Each backend directly against PyTorch, one test per backend looping over the fixtures
// (one test per file would multiply the test count for little gain: the grid above already
// isolates cases).
class BackendFixtures : public ::testing::TestWithParam<std::string> {};

TEST_P(BackendFixtures, MatchTorch) {
  Backend* backend = find_backend(GetParam());
  ASSERT_NE(backend, nullptr);
  std::string why;
  if (!backend->available(&why))
    GTEST_SKIP() << "backend " << GetParam() << " unavailable: " << why;
  int checked = 0, unsupported = 0;
  for (OpKind op : {OpKind::Conv, OpKind::Involution})
    for (const std::string& path : test::fixture_paths(op)) {
      const test::Fixture f = test::load_fixture(path);
      SCOPED_TRACE(f.name);
      StageTimes times;
      if (op == OpKind::Conv) {
        if (!backend->supports(f.conv)) {
          ++unsupported;
          continue;
        }
        EXPECT_TRUE(close_enough(backend->conv2d(f.input, f.conv, f.conv_weights, &times),
                                 f.expected_output, GetParam(), op));
      } else {
        if (!backend->supports(f.involution)) {
          ++unsupported;
          continue;
        }
        const InvolutionResult r =
            backend->involution2d(f.input, f.involution, f.involution_weights, &times);
        EXPECT_TRUE(test::all_close(r.kernels, f.expected_kernels)) << "generated kernels";
        EXPECT_TRUE(test::all_close(r.output, f.expected_output)) << "output";
      }
      ++checked;
    }
  EXPECT_EQ(checked + unsupported, test::kConvFixtureCount + test::kInvolutionFixtureCount)
      << "fixtures missing from " << test::fixture_dir();
  if (unsupported > 0)
    std::cout << "[ NOTE     ] " << GetParam() << " skipped " << unsupported
              << " unsupported fixture cases\n";
}

INSTANTIATE_TEST_SUITE_P(Registered, BackendFixtures, ::testing::ValuesIn(backends_under_test()),
                         [](const ::testing::TestParamInfo<std::string>& info) {
                           return test_name(info.param);
                         });
GTEST_ALLOW_UNINSTANTIATED_PARAMETERIZED_TEST(BackendFixtures);

// The grid itself: every case valid, names unique, and every parameter value the backends
// must handle present, so trimming the grid cannot silently drop coverage.
TEST(CorrectnessGrid, CasesAreValidUniqueAndCoverTheParameters) {
  const std::vector<CheckCase> grid = check_cases();
  std::set<std::string> names;
  std::set<int64_t> conv_k, conv_s, conv_d, inv_k, inv_s, inv_d, inv_gc, inv_r;
  std::set<bool> conv_bias;
  bool grouped = false, depthwise = false, padding_wider_than_kernel = false, ragged_gemm = false;
  bool involution_many_groups = false, involution_single_reduced = false;
  for (const CheckCase& c : grid) {
    EXPECT_TRUE(names.insert(c.name).second) << "duplicate case name " << c.name;
    EXPECT_EQ(test_name(c.name), c.name) << "not a valid test name";
    if (c.op == OpKind::Conv) {
      EXPECT_NO_THROW(conv_output_shape(c.input_shape, c.conv)) << c.name;
      conv_k.insert(c.conv.kernel_size);
      conv_s.insert(c.conv.stride);
      conv_d.insert(c.conv.dilation);
      conv_bias.insert(c.conv.has_bias);
      grouped |= c.conv.groups > 1 && c.conv.groups < c.conv.in_channels;
      depthwise |= c.conv.groups == c.conv.in_channels && c.conv.in_channels > 1;
      padding_wider_than_kernel |= c.conv.padding >= c.conv.kernel_size && c.conv.kernel_size > 1;
      ragged_gemm |= c.conv.kernel_size == 1 && c.conv.in_channels >= 32;
    } else {
      EXPECT_NO_THROW(involution_output_shape(c.input_shape, c.involution)) << c.name;
      inv_k.insert(c.involution.kernel_size);
      inv_s.insert(c.involution.stride);
      inv_d.insert(c.involution.dilation);
      inv_gc.insert(c.involution.group_channels);
      inv_r.insert(c.involution.reduction);
      involution_many_groups |= c.involution.groups() > 4;
      involution_single_reduced |= c.involution.reduced_channels() == 1;
    }
  }
  EXPECT_EQ(conv_k, (std::set<int64_t>{1, 2, 3, 4, 5, 6, 7}));
  EXPECT_EQ(conv_s, (std::set<int64_t>{1, 2, 3, 4}));
  EXPECT_EQ(conv_d, (std::set<int64_t>{1, 2, 3}));
  EXPECT_EQ(conv_bias, (std::set<bool>{false, true}));
  EXPECT_TRUE(grouped && depthwise && padding_wider_than_kernel && ragged_gemm);
  EXPECT_EQ(inv_k, (std::set<int64_t>{1, 3, 5, 7}));
  EXPECT_EQ(inv_s, (std::set<int64_t>{1, 2, 3, 4}));
  EXPECT_EQ(inv_d, (std::set<int64_t>{1, 2}));
  for (int64_t gc : {1, 2, 4, 8, 16}) EXPECT_TRUE(inv_gc.count(gc)) << "group_channels " << gc;
  for (int64_t r : {1, 2, 4}) EXPECT_TRUE(inv_r.count(r)) << "reduction " << r;
  EXPECT_TRUE(involution_many_groups && involution_single_reduced);
}

TEST(CorrectnessGrid, RegistryListsCpuRefLastAndFindsEveryName) {
  const std::vector<std::string> names = backend_names();
  ASSERT_FALSE(names.empty());
  EXPECT_EQ(names.back(), "cpu-ref");
  EXPECT_EQ(std::set<std::string>(names.begin(), names.end()).size(), names.size());
  for (const std::string& name : names) {
    Backend* b = find_backend(name);
    ASSERT_NE(b, nullptr) << name;
    EXPECT_EQ(b->name(), name);
  }
}

}  // namespace
}  // namespace ks
