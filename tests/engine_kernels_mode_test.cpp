// What a caller may ask of an involution's generated kernels (KernelsMode: none, their
// per-pixel sums, or the full tensor), the kernels of a few pixels (involution_kernels_at),
// and the calls that write into caller-owned results (reused storage, cancellation). Every
// registered backend runs every involution case of the correctness grid in every mode
// against cpu-ref; a new backend is covered by being registered.
#include <algorithm>
#include <atomic>
#include <cctype>
#include <chrono>
#include <cmath>
#include <cstring>
#include <sstream>
#include <thread>

#include "correctness_grid.h"
#include "cpu/cpu_features.h"
#include "kernelscope/backend.h"
#include "test_util.h"

namespace ks {
namespace {

constexpr KernelsMode kAllModes[] = {KernelsMode::None, KernelsMode::Sum, KernelsMode::Full};

// gtest names allow letters, digits and '_' only; backend names use '-'.
std::string test_name(const std::string& s) {
  std::string out = s;
  for (char& ch : out)
    if (!std::isalnum(static_cast<unsigned char>(ch))) ch = '_';
  return out;
}

// A tensor nobody asked for: no elements and no shape (a leftover shape would make a
// caller believe there is something to show).
::testing::AssertionResult is_empty(const Tensor& t) {
  if (t.data.empty() && t.shape.empty()) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure()
         << "holds " << t.data.size() << " values, shape " << shape_to_string(t.shape);
}

// Results that must agree bit for bit (same arithmetic in the same order). NaN in the
// expected tensor fails too: it would hide an element neither side wrote (the Debug poison).
::testing::AssertionResult bit_equal(const Tensor& actual, const Tensor& expected) {
  if (actual.shape != expected.shape)
    return ::testing::AssertionFailure() << "shape " << shape_to_string(actual.shape)
                                         << " != expected " << shape_to_string(expected.shape);
  std::ostringstream report;
  int64_t bad = 0;
  for (size_t i = 0; i < expected.data.size(); ++i) {
    const float a = actual.data[i], e = expected.data[i];
    if (std::memcmp(&a, &e, sizeof(float)) == 0 && !std::isnan(e)) continue;
    if (bad < 5) report << "\n  [" << i << "] got " << a << " expected " << e;
    ++bad;
  }
  if (bad == 0) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure()
         << bad << " of " << expected.numel() << " values differ, shape "
         << shape_to_string(expected.shape) << ":" << report.str();
}

// kernels [B, G, K*K, H, W] summed over the taps in double, in tap order, then cast to
// float: what KernelsMode::Sum promises, computed here without the engine's help.
Tensor tap_sums(const Tensor& kernels) {
  const int64_t B = kernels.dim(0), G = kernels.dim(1), KK = kernels.dim(2);
  const int64_t H = kernels.dim(3), W = kernels.dim(4), plane = H * W;
  Tensor sums({B, G, H, W});
  for (int64_t bg = 0; bg < B * G; ++bg)
    for (int64_t q = 0; q < plane; ++q) {
      double total = 0;
      for (int64_t k = 0; k < KK; ++k)
        total += kernels.data[static_cast<size_t>((bg * KK + k) * plane + q)];
      sums.data[static_cast<size_t>(bg * plane + q)] = static_cast<float>(total);
    }
  return sums;
}

// The slices of a full kernels tensor [B, G, K*K, H, W] at the given pixels, laid out as
// involution_kernels_at returns them: [N, B, G, K*K].
Tensor slices_at(const Tensor& kernels, const std::vector<OutputPixel>& pixels) {
  const int64_t B = kernels.dim(0), G = kernels.dim(1), KK = kernels.dim(2);
  const int64_t H = kernels.dim(3), W = kernels.dim(4);
  Tensor out({static_cast<int64_t>(pixels.size()), B, G, KK});
  size_t next = 0;
  for (const OutputPixel& px : pixels)
    for (int64_t bgk = 0; bgk < B * G * KK; ++bgk)
      out.data[next++] = kernels.data[static_cast<size_t>((bgk * H + px.y) * W + px.x)];
  return out;
}

// The pixels worth probing on an output grid: the four corners, the centre, one off the
// diagonal (rows and columns must not be swapped) and the first pixel again (repeats are
// allowed and must not disturb the order).
std::vector<OutputPixel> probe_pixels(const Shape& input, const InvolutionParams& p) {
  const Shape out = involution_output_shape(input, p);
  const int64_t h = out[2], w = out[3];
  return {{0, 0}, {0, w - 1}, {h - 1, 0}, {h / 2, w / 2}, {h - 1, w / 3}, {h - 1, w - 1}, {0, 0}};
}

Backend& reference() {
  Backend* b = find_backend("cpu-ref");
  if (!b) throw Error("cpu-ref is not registered");
  return *b;
}

Backend& cpu_backend() {
  Backend* b = find_backend("cpu");
  if (!b) throw Error("cpu is not registered");
  return *b;
}

struct ModeCase {
  std::string backend;
  CheckCase grid;
};

void PrintTo(const ModeCase& c, std::ostream* os) { *os << c.backend << "/" << c.grid.name; }

// Every backend, cpu-ref included: its Sum and None modes are code of their own.
std::vector<ModeCase> mode_cases() {
  std::vector<ModeCase> out;
  const std::vector<CheckCase> grid = involution_check_cases();
  for (const std::string& name : backend_names())
    for (const CheckCase& c : grid) out.push_back({name, c});
  return out;
}

class KernelsModeGrid : public ::testing::TestWithParam<ModeCase> {
 protected:
  void SetUp() override {
    const ModeCase& param = GetParam();
    backend_ = find_backend(param.backend);
    ASSERT_NE(backend_, nullptr) << "backend " << param.backend << " is listed but not found";
    std::string why;
    if (!backend_->available(&why))
      GTEST_SKIP() << "backend " << param.backend << " unavailable: " << why;
    if (!backend_->supports(param.grid.involution))
      GTEST_SKIP() << "backend " << param.backend << " does not support " << param.grid.name;
    x_ = check_case_input(param.grid);
    w_ = check_case_involution_weights(param.grid);
    want_ = reference().involution2d(x_, params(), w_, nullptr, KernelsMode::Full);
  }
  const InvolutionParams& params() const { return GetParam().grid.involution; }

  // One result of `mode` against cpu-ref: the output always, then exactly the kernels
  // tensor the mode asks for, and nothing else.
  void check(const InvolutionResult& got, KernelsMode mode, const std::string& how) {
    SCOPED_TRACE(std::string(kernels_mode_name(mode)) + ", " + how);
    EXPECT_TRUE(test::all_close(got.output, want_.output)) << "output";
    switch (mode) {
      case KernelsMode::None:
        EXPECT_TRUE(is_empty(got.kernels)) << "kernels";
        EXPECT_TRUE(is_empty(got.kernel_sum)) << "kernel_sum";
        break;
      case KernelsMode::Sum:
        EXPECT_TRUE(is_empty(got.kernels)) << "kernels";
        EXPECT_EQ(got.kernel_sum.shape, involution_kernel_sum_shape(x_.shape, params()));
        EXPECT_TRUE(test::all_close(got.kernel_sum, tap_sums(want_.kernels))) << "kernel_sum";
        break;
      case KernelsMode::Full:
        EXPECT_TRUE(test::all_close(got.kernels, want_.kernels)) << "kernels";
        EXPECT_TRUE(is_empty(got.kernel_sum)) << "kernel_sum";
        break;
    }
  }

  Backend* backend_ = nullptr;
  Tensor x_;
  InvolutionWeights w_;
  InvolutionResult want_;  // cpu-ref, KernelsMode::Full
};

TEST_P(KernelsModeGrid, EveryModeMatchesTheReference) {
  for (KernelsMode mode : kAllModes) {
    StageTimes times;
    check(backend_->involution2d(x_, params(), w_, &times, mode), mode, "fresh result");
    EXPECT_GE(times.total_ms, 0.0);
  }
  // One result object through every change of mode: what one mode filled must not linger
  // into the next (the app keeps its results across runs).
  InvolutionResult reused;
  for (KernelsMode mode : {KernelsMode::Full, KernelsMode::Sum, KernelsMode::None, KernelsMode::Sum,
                           KernelsMode::Full, KernelsMode::None}) {
    RunOptions options;
    options.kernels = mode;
    backend_->involution2d_into(x_, params(), w_, options, &reused, nullptr);
    check(reused, mode, "reused result");
  }
}

// Sum mode against the same backend's own full tensor: cpu-ref promises the double,
// tap-order sum exactly; the fast backends sum in float, so within the grid tolerance.
TEST_P(KernelsModeGrid, SumIsTheFullKernelsSummedOverTheTaps) {
  const InvolutionResult full = backend_->involution2d(x_, params(), w_, nullptr);
  const InvolutionResult sum = backend_->involution2d(x_, params(), w_, nullptr, KernelsMode::Sum);
  if (backend_->name() == "cpu-ref")
    EXPECT_TRUE(bit_equal(sum.kernel_sum, tap_sums(full.kernels)));
  else
    EXPECT_TRUE(test::all_close(sum.kernel_sum, tap_sums(full.kernels)));
}

// Hover and pins read a few pixels' kernels; every backend's must be cpu-ref's, exactly.
TEST_P(KernelsModeGrid, KernelsAtAreTheReferenceSlicesBitForBit) {
  const std::vector<OutputPixel> pixels = probe_pixels(x_.shape, params());
  const Tensor got = backend_->involution_kernels_at(x_, params(), w_, pixels);
  const int64_t n = static_cast<int64_t>(pixels.size());
  EXPECT_EQ(got.shape, (Shape{n, x_.dim(0), params().groups(), params().taps()}));
  EXPECT_EQ(got.shape, involution_kernels_at_shape(x_.shape, params(), n));
  EXPECT_TRUE(bit_equal(got, slices_at(want_.kernels, pixels)));
  // One pixel alone gives the same values as within a list.
  const OutputPixel centre = pixels[3];
  const Tensor one = backend_->involution_kernels_at(x_, params(), w_, {centre});
  EXPECT_TRUE(bit_equal(one, slices_at(want_.kernels, {centre})));
}

// With only cpu-ref compiled in there is still cpu-ref itself, so this always instantiates.
INSTANTIATE_TEST_SUITE_P(Registered, KernelsModeGrid, ::testing::ValuesIn(mode_cases()),
                         [](const ::testing::TestParamInfo<ModeCase>& info) {
                           return test_name(info.param.backend) + "_" + info.param.grid.name;
                         });

// The cpu backend's Sum and None modes have inner loops of their own (generation fused
// with aggregation, one build per instruction set) that the grid above runs only in this
// machine's best build. Here each build the machine can run goes through the whole grid.
class KernelsModeCpuPaths : public ::testing::TestWithParam<cpu::CpuPath> {
 protected:
  void SetUp() override {
    const cpu::CpuPath path = GetParam();
    if (path == cpu::CpuPath::avx512 && !cpu::cpu_has_avx512())
      GTEST_SKIP() << "this CPU has no AVX-512";
    if (path == cpu::CpuPath::avx2 && !cpu::cpu_has_avx2_fma())
      GTEST_SKIP() << "this CPU has no AVX2/FMA";
    cpu::limit_path(path);
    ASSERT_EQ(cpu::active_path(), path);
  }
  void TearDown() override { cpu::limit_path(cpu::CpuPath::avx512); }
};

TEST_P(KernelsModeCpuPaths, SumAndNoneMatchTheReferenceOnTheGrid) {
  for (const CheckCase& c : involution_check_cases()) {
    const Tensor x = check_case_input(c);
    const InvolutionWeights w = check_case_involution_weights(c);
    const InvolutionResult want = reference().involution2d(x, c.involution, w, nullptr);
    for (KernelsMode mode : {KernelsMode::Sum, KernelsMode::None}) {
      SCOPED_TRACE(c.name + ", " + kernels_mode_name(mode));
      const InvolutionResult got = cpu_backend().involution2d(x, c.involution, w, nullptr, mode);
      EXPECT_TRUE(test::all_close(got.output, want.output)) << "output";
      EXPECT_TRUE(is_empty(got.kernels)) << "kernels";
      if (mode == KernelsMode::Sum)
        EXPECT_TRUE(test::all_close(got.kernel_sum, tap_sums(want.kernels))) << "kernel_sum";
      else
        EXPECT_TRUE(is_empty(got.kernel_sum)) << "kernel_sum";
    }
  }
}

// Images tall and wide enough for bands in the middle (at least three bands of about 75
// rows here), which read their input from the image itself and copy only the edge columns
// into the band: every edge, the interior, and segments that start and end mid-row. Then an
// image narrower and shorter than its window, and one too small for interior bands.
TEST_P(KernelsModeCpuPaths, InteriorBandsReadTheImageAndMatchTheReference) {
  struct Case {
    Shape shape;
    int64_t kernel, dilation, group_channels, reduction;
  };
  for (const Case& c : {Case{{1, 3, 300, 400}, 7, 1, 1, 1}, Case{{2, 6, 260, 301}, 5, 2, 3, 2},
                        Case{{1, 4, 330, 149}, 3, 3, 2, 1}, Case{{1, 2, 9, 6}, 7, 2, 1, 1},
                        Case{{1, 2, 40, 47}, 7, 1, 2, 1}}) {
    InvolutionParams params;
    params.channels = c.shape[1];
    params.kernel_size = c.kernel;
    params.dilation = c.dilation;
    params.group_channels = c.group_channels;
    params.reduction = c.reduction;
    const Tensor x = test::random_tensor(c.shape, 31);
    const InvolutionWeights w = random_involution_weights(params, 32);
    const InvolutionResult want = reference().involution2d(x, params, w, nullptr);
    for (KernelsMode mode : {KernelsMode::Sum, KernelsMode::None}) {
      SCOPED_TRACE(shape_to_string(c.shape) + " K" + std::to_string(c.kernel) + ", " +
                   kernels_mode_name(mode));
      const InvolutionResult got = cpu_backend().involution2d(x, params, w, nullptr, mode);
      EXPECT_TRUE(test::all_close(got.output, want.output)) << "output";
      if (mode == KernelsMode::Sum) {
        EXPECT_TRUE(test::all_close(got.kernel_sum, tap_sums(want.kernels))) << "kernel_sum";
      }
    }
  }
}

INSTANTIATE_TEST_SUITE_P(Paths, KernelsModeCpuPaths,
                         ::testing::Values(cpu::CpuPath::avx512, cpu::CpuPath::avx2,
                                           cpu::CpuPath::portable),
                         [](const ::testing::TestParamInfo<cpu::CpuPath>& info) {
                           switch (info.param) {
                             case cpu::CpuPath::avx512:
                               return std::string("Avx512");
                             case cpu::CpuPath::avx2:
                               return std::string("Avx2");
                             default:
                               return std::string("Portable");
                           }
                         });

// A small problem for the tests below that do not need the grid.
struct Problem {
  InvolutionParams params;
  Tensor input;
  InvolutionWeights weights;
  explicit Problem(const Shape& shape, int64_t k = 3, int64_t gc = 1, uint64_t seed = 7) {
    params.channels = shape[1];
    params.kernel_size = k;
    params.group_channels = gc;
    input = test::random_tensor(shape, seed);
    weights = random_involution_weights(params, seed + 1);
  }
};

TEST(KernelsAt, RefusesPixelsOutsideTheOutputAndAnEmptyList) {
  const Problem p({2, 4, 9, 11}, 3, 2);  // output 9 x 11
  for (const std::string& name : backend_names()) {
    Backend* backend = find_backend(name);
    ASSERT_NE(backend, nullptr);
    if (!backend->available() || !backend->supports(p.params)) continue;
    SCOPED_TRACE(name);
    auto at = [&](std::vector<OutputPixel> pixels) {
      return [&, pixels] { backend->involution_kernels_at(p.input, p.params, p.weights, pixels); };
    };
    // The offending pixel is named even when it follows valid ones.
    EXPECT_TRUE(test::throws_with(at({{0, 0}, {9, 0}}), "output pixel (9, 0) is outside"));
    EXPECT_TRUE(test::throws_with(at({{0, 11}}), "output pixel (0, 11) is outside"));
    EXPECT_TRUE(test::throws_with(at({{-1, 3}}), "output pixel (-1, 3) is outside"));
    EXPECT_TRUE(test::throws_with(at({{2, -4}}), "output pixel (2, -4) is outside"));
    EXPECT_TRUE(test::throws_with(at({{9, 11}}), "9 x 11"));
    EXPECT_TRUE(test::throws_with(at({}), "no output pixels"));
    EXPECT_NO_THROW(at({{8, 10}, {0, 0}})());
  }
}

TEST(KernelsAt, ShapeCountsPixelsImagesGroupsAndTaps) {
  InvolutionParams p;
  p.channels = 12;
  p.kernel_size = 5;
  p.stride = 2;
  p.group_channels = 4;
  EXPECT_EQ(involution_kernels_at_shape({3, 12, 20, 21}, p, 4), (Shape{4, 3, 3, 25}));
  EXPECT_EQ(involution_kernel_sum_shape({3, 12, 20, 21}, p), (Shape{3, 3, 10, 11}));
}

bool same_pixels(const std::vector<OutputPixel>& a, const std::vector<OutputPixel>& b) {
  return std::equal(
      a.begin(), a.end(), b.begin(), b.end(),
      [](const OutputPixel& l, const OutputPixel& r) { return l.y == r.y && l.x == r.x; });
}

TEST(OutputPixels, ParsesLists) {
  EXPECT_TRUE(same_pixels(parse_output_pixels("3,4"), {{3, 4}}));
  EXPECT_TRUE(same_pixels(parse_output_pixels(" 1 , 2 ; 5,6 "), {{1, 2}, {5, 6}}));
  EXPECT_TRUE(same_pixels(parse_output_pixels("10,20;0,0;"), {{10, 20}, {0, 0}}));
  EXPECT_TRUE(same_pixels(parse_output_pixels("7,8;7,8"), {{7, 8}, {7, 8}}));
  // Out-of-range values parse; check_output_pixels is what refuses them.
  EXPECT_TRUE(same_pixels(parse_output_pixels("-1,2"), {{-1, 2}}));
}

TEST(OutputPixels, RefusesMalformedText) {
  for (const char* text : {"", " ", ";", "1", "1,", ",2", "1,2,3", "a,b", "1;2", "1 2", "1,2x",
                           "1.5,2", "1,2;3", "99999999999999999999,1"}) {
    SCOPED_TRACE(std::string("\"") + text + "\"");
    EXPECT_TRUE(test::throws_with([&] { parse_output_pixels(text); },
                                  "cannot read output pixels '" + std::string(text) + "'"));
  }
}

TEST(KernelsModeNames, RoundTripAndRefuseUnknownNames) {
  for (KernelsMode mode : kAllModes) EXPECT_EQ(parse_kernels_mode(kernels_mode_name(mode)), mode);
  EXPECT_STREQ(kernels_mode_name(KernelsMode::None), "none");
  EXPECT_STREQ(kernels_mode_name(KernelsMode::Sum), "sum");
  EXPECT_STREQ(kernels_mode_name(KernelsMode::Full), "full");
  for (const char* name : {"", "Full", "sums", "all"})
    EXPECT_TRUE(test::throws_with(
        [&] { parse_kernels_mode(name); },
        "unknown kernels mode '" + std::string(name) + "' (use full, sum or none)"));
}

InvolutionParams rgb_k7() {
  InvolutionParams p;
  p.channels = 3;
  p.kernel_size = 7;
  p.group_channels = 1;
  p.reduction = 1;
  return p;
}

TEST(KernelsModeMemory, CountsOnlyTheKernelsAskedFor) {
  const Shape in{1, 3, 1080, 1920};
  const InvolutionParams p = rgb_k7();  // G = 3, 49 taps
  const int64_t none = involution_memory_bytes(in, p, KernelsMode::None);
  const int64_t sum = involution_memory_bytes(in, p, KernelsMode::Sum);
  const int64_t full = involution_memory_bytes(in, p, KernelsMode::Full);
  EXPECT_LT(none, sum);
  EXPECT_LT(sum, full);
  const int64_t pixels = 1080 * 1920;
  EXPECT_EQ(sum - none, 4 * 3 * pixels);
  EXPECT_EQ(full - none, 4 * 3 * 49 * pixels);
  EXPECT_EQ(involution_memory_bytes(in, p), full) << "Full is the default";
}

// The reason for Sum: a 4K K7 involution with the full kernels tensor (4.6 GiB) is over the
// default cap, with the sum map it is well within.
TEST(KernelsModeMemory, FourKSumFitsTheDefaultCapFullDoesNot) {
  const Shape in{1, 3, 2160, 3840};
  const InvolutionParams p = rgb_k7();
  EXPECT_NO_THROW(check_memory_cap(involution_memory_bytes(in, p, KernelsMode::Sum),
                                   kDefaultMemoryCapBytes, "involution"));
  EXPECT_NO_THROW(check_memory_cap(involution_memory_bytes(in, p, KernelsMode::None),
                                   kDefaultMemoryCapBytes, "involution"));
  EXPECT_TRUE(test::throws_with(
      [&] {
        check_memory_cap(involution_memory_bytes(in, p, KernelsMode::Full), kDefaultMemoryCapBytes,
                         "involution");
      },
      "more than the memory cap"));
}

// --- Caller-owned results: the app runs the same shapes again and again into the same
// result objects, which must not be reallocated (no fresh pages) and must come out right.

struct Pointers {
  const float* output;
  const float* kernels;
  const float* kernel_sum;
};
Pointers pointers(const InvolutionResult& r) {
  return {r.output.data.data(), r.kernels.data.data(), r.kernel_sum.data.data()};
}

void expect_same_result(const InvolutionResult& got, const InvolutionResult& want) {
  EXPECT_TRUE(bit_equal(got.output, want.output)) << "output";
  if (want.kernels.empty())
    EXPECT_TRUE(is_empty(got.kernels));
  else
    EXPECT_TRUE(bit_equal(got.kernels, want.kernels)) << "kernels";
  if (want.kernel_sum.empty())
    EXPECT_TRUE(is_empty(got.kernel_sum));
  else
    EXPECT_TRUE(bit_equal(got.kernel_sum, want.kernel_sum)) << "kernel_sum";
}

TEST(ResultReuse, CpuInvolutionKeepsItsStorage) {
  Backend& cpu = cpu_backend();
  // 40 x 50 x 2 images: big enough for several bands and tiles, small enough to be quick.
  const Problem big({2, 6, 40, 50}, 5, 2), small({1, 6, 17, 23}, 5, 2);
  for (KernelsMode mode : {KernelsMode::Full, KernelsMode::Sum, KernelsMode::None}) {
    SCOPED_TRACE(kernels_mode_name(mode));
    RunOptions options;
    options.kernels = mode;
    InvolutionResult r;
    cpu.involution2d_into(big.input, big.params, big.weights, options, &r, nullptr);
    const InvolutionResult first = r;
    const Pointers before = pointers(r);
    cpu.involution2d_into(big.input, big.params, big.weights, options, &r, nullptr);
    const Pointers again = pointers(r);
    EXPECT_EQ(again.output, before.output);
    EXPECT_EQ(again.kernels, before.kernels);
    EXPECT_EQ(again.kernel_sum, before.kernel_sum);
    expect_same_result(r, first);

    cpu.involution2d_into(small.input, small.params, small.weights, options, &r, nullptr);
    const Pointers smaller = pointers(r);
    EXPECT_EQ(smaller.output, before.output);
    EXPECT_EQ(smaller.kernels, before.kernels);
    EXPECT_EQ(smaller.kernel_sum, before.kernel_sum);
    expect_same_result(r,
                       cpu.involution2d(small.input, small.params, small.weights, nullptr, mode));
  }
}

TEST(ResultReuse, CpuConvKeepsItsStorage) {
  Backend& cpu = cpu_backend();
  ConvParams p;
  p.in_channels = 3;
  p.out_channels = 8;
  p.kernel_size = 3;
  p.padding = 1;
  const ConvWeights w = random_conv_weights(p, 3);
  const Tensor big = test::random_tensor({2, 3, 45, 38}, 1);
  const Tensor small = test::random_tensor({1, 3, 20, 17}, 2);
  Tensor out;
  cpu.conv2d_into(big, p, w, RunOptions{}, &out, nullptr);
  const Tensor first = out;
  const float* before = out.data.data();
  cpu.conv2d_into(big, p, w, RunOptions{}, &out, nullptr);
  EXPECT_EQ(out.data.data(), before);
  EXPECT_TRUE(bit_equal(out, first));
  cpu.conv2d_into(small, p, w, RunOptions{}, &out, nullptr);
  EXPECT_EQ(out.data.data(), before);
  EXPECT_TRUE(bit_equal(out, cpu.conv2d(small, p, w, nullptr)));
  EXPECT_TRUE(test::all_close(out, reference().conv2d(small, p, w, nullptr)));
}

// --- Cancellation: a set flag stops a run between tiles with ks::Cancelled, which is a
// ks::Error (callers that only catch Error still see it) and says what happened.

TEST(Cancel, PresetFlagStopsTheCpuBackends) {
  const std::atomic<bool> cancel{true};
  RunOptions options;
  options.cancel = &cancel;
  const Problem p({1, 4, 30, 31}, 3, 2);
  for (KernelsMode mode : kAllModes) {
    SCOPED_TRACE(kernels_mode_name(mode));
    options.kernels = mode;
    InvolutionResult r;
    EXPECT_THROW(
        cpu_backend().involution2d_into(p.input, p.params, p.weights, options, &r, nullptr),
        Cancelled);
    EXPECT_THROW(reference().involution2d_into(p.input, p.params, p.weights, options, &r, nullptr),
                 Cancelled);
  }
  ConvParams cp;
  cp.in_channels = 4;
  const ConvWeights cw = random_conv_weights(cp, 2);
  Tensor out;
  EXPECT_THROW(cpu_backend().conv2d_into(p.input, cp, cw, options, &out, nullptr), Cancelled);
  EXPECT_TRUE(test::throws_with(
      [&] { cpu_backend().conv2d_into(p.input, cp, cw, options, &out, nullptr); }, "cancelled"));
  // A clear flag is no cancellation.
  const std::atomic<bool> clear{false};
  options.cancel = &clear;
  EXPECT_NO_THROW(cpu_backend().conv2d_into(p.input, cp, cw, options, &out, nullptr));
  EXPECT_TRUE(test::all_close(out, reference().conv2d(p.input, cp, cw, nullptr)));
}

// Y[b, c, i, j] from the kernels at (i, j) (one [B, G, K*K] slice of kernels_at): the
// aggregation of involution_ref.cpp for one pixel, to check a large result at a few places.
float output_at(const Tensor& x, const InvolutionParams& p, const Tensor& at, int64_t n, int64_t b,
                int64_t c, int64_t i, int64_t j) {
  const int64_t K = p.kernel_size, G = p.groups(), H = x.dim(2), W = x.dim(3);
  const float* kern = at.ptr() + ((n * x.dim(0) + b) * G + c / p.group_channels) * K * K;
  double sum = 0;
  for (int64_t ky = 0; ky < K; ++ky)
    for (int64_t kx = 0; kx < K; ++kx) {
      const int64_t yy = i * p.stride - p.padding() + ky * p.dilation;
      const int64_t xx = j * p.stride - p.padding() + kx * p.dilation;
      if (yy >= 0 && yy < H && xx >= 0 && xx < W)
        sum += static_cast<double>(kern[ky * K + kx]) * x.at(b, c, yy, xx);
    }
  return static_cast<float>(sum);
}

// A 1080p K7 run (in optimised builds) cancelled from another thread stops with Cancelled,
// and the same result object then takes an uncancelled run that comes out whole and right.
// Sum mode: the run the app cancels most (a slider drag), and it needs no 1.2 GB kernels
// tensor.
TEST(Cancel, FlagSetFromAnotherThreadStopsALargeCpuInvolution) {
#ifdef NDEBUG
  const Problem p({1, 3, 1080, 1920}, 7, 1);
#else
  // Unoptimised sanitizer builds run some 50 times slower: a quarter of each side still
  // takes a second.
  const Problem p({1, 3, 270, 480}, 7, 1);
#endif
  std::atomic<bool> cancel{false};
  RunOptions options;
  options.kernels = KernelsMode::Sum;
  options.cancel = &cancel;
  InvolutionResult r;
  std::thread canceller([&] {
    // Long enough for the run to be under way, far shorter than the run (~100 ms on two
    // cores; even on many cores a 1080p K7 run takes several milliseconds).
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
    cancel.store(true);
  });
  EXPECT_THROW(cpu_backend().involution2d_into(p.input, p.params, p.weights, options, &r, nullptr),
               Cancelled);
  canceller.join();

  cancel.store(false);
  cpu_backend().involution2d_into(p.input, p.params, p.weights, options, &r, nullptr);
  const InvolutionResult fresh =
      cpu_backend().involution2d(p.input, p.params, p.weights, nullptr, KernelsMode::Sum);
  expect_same_result(r, fresh);
  // And right, not merely repeatable: a few pixels against the reference generation.
  const std::vector<OutputPixel> pixels = probe_pixels(p.input.shape, p.params);
  const Tensor at = reference().involution_kernels_at(p.input, p.params, p.weights, pixels);
  const int64_t KK = p.params.taps(), G = p.params.groups();  // one channel per group
  for (int64_t n = 0; n < static_cast<int64_t>(pixels.size()); ++n) {
    const auto [i, j] = pixels[static_cast<size_t>(n)];
    SCOPED_TRACE("pixel (" + std::to_string(i) + ", " + std::to_string(j) + ")");
    for (int64_t g = 0; g < G; ++g) {
      double sum = 0;
      for (int64_t k = 0; k < KK; ++k) sum += at.data[static_cast<size_t>((n * G + g) * KK + k)];
      EXPECT_NEAR(r.kernel_sum.at(0, g, i, j), sum, 1e-5 + 1e-5 * std::fabs(sum));
      const float y = output_at(p.input, p.params, at, n, 0, g, i, j);
      EXPECT_NEAR(r.output.at(0, g, i, j), y, 1e-5 + 1e-5 * std::fabs(y));
    }
  }
}

}  // namespace
}  // namespace ks
