// The CUDA kernels, run on the CPU. engine/src/cuda/*_kernels.cuh hold the kernels and
// their launch plans; here g++ compiles that same source against the CUDA emulator of
// tests/cuda_emu, and the emulated "cuda" and "cuda-naive" backends go through the whole
// correctness grid and the PyTorch fixtures against cpu-ref. This runs on every machine,
// so a mistake in tiling, halos, shared-memory plans, barriers or batch splitting fails CI
// even where no GPU exists. What it cannot cover (real scheduling, the driver, cuDNN,
// speed) is left to engine_cuda_backend_test and `kernelscope selftest` on a GPU.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <set>

// The emulator first: it stands in for the CUDA built-ins the kernel sources use.
#include "cuda_emu.h"

#include "correctness_grid.h"
#include "cuda/conv2d_kernels.cuh"
#include "cuda/host_dims.h"
#include "cuda/involution_kernels.cuh"
#include "kernelscope/backend.h"
#include "test_util.h"

namespace ks {
namespace {

enum class Variant { Tiled, Naive };

const char* variant_name(Variant v) { return v == Variant::Tiled ? "cuda" : "cuda_naive"; }

// Device memory is not zeroed: outputs and scratch start as NaN so an element a kernel
// forgets to write cannot pass as a correct zero.
std::vector<float> nan_buffer(size_t n) {
  return std::vector<float>(n, std::numeric_limits<float>::quiet_NaN());
}

Tensor nan_tensor(const Shape& shape) {
  Tensor t(shape);
  std::fill(t.data.begin(), t.data.end(), std::numeric_limits<float>::quiet_NaN());
  return t;
}

// The CudaBackend of engine/src/cuda/cuda_backend.cpp with host memory for device memory
// and the emulator for the stream.
Tensor emulated_conv2d(Variant v, const Tensor& input, const ConvParams& params,
                       const ConvWeights& weights) {
  const Shape out_shape = conv_output_shape(input.shape, params);
  const cuda::ConvDims d = cuda::conv_dims(input.shape, params, out_shape);
  Tensor out = nan_tensor(out_shape);
  const float* bias = params.has_bias ? weights.bias.ptr() : nullptr;
  if (v == Variant::Tiled)
    cuda::launch_conv2d_tiled(ks_emu::Launcher{}, d, input.ptr(), weights.weight.ptr(), bias,
                              out.ptr());
  else
    cuda::launch_conv2d_naive(ks_emu::Launcher{}, d, input.ptr(), weights.weight.ptr(), bias,
                              out.ptr());
  return out;
}

InvolutionResult emulated_involution(Variant v, const Tensor& input, const InvolutionParams& params,
                                     const InvolutionWeights& weights) {
  const Shape out_shape = involution_output_shape(input.shape, params);
  const cuda::InvolutionDims d = cuda::involution_dims(input.shape, params, out_shape);
  InvolutionResult r;
  r.output = nan_tensor(out_shape);
  r.kernels = nan_tensor(involution_kernels_shape(input.shape, params));
  const cuda::FoldedBatchNorm bn = cuda::fold_batch_norm(weights);
  const cuda::GenerationWeights w{weights.reduce_weight.ptr(), bn.scale.data(), bn.shift.data(),
                                  weights.span_weight.ptr(), weights.span_bias.ptr()};
  const ks_emu::Launcher launch;
  if (v == Variant::Tiled) {
    std::vector<float> scratch =
        nan_buffer(static_cast<size_t>(cuda::fused_generation_scratch_floats(d)));
    cuda::launch_involution_generate_fused(launch, d, input.ptr(), w, r.kernels.ptr(),
                                           scratch.data());
    cuda::launch_involution_aggregate_tiled(launch, d, input.ptr(), r.kernels.ptr(),
                                            r.output.ptr());
  } else {
    std::vector<float> scratch =
        nan_buffer(static_cast<size_t>(cuda::naive_generation_scratch_floats(d)));
    cuda::launch_involution_generate_naive(launch, d, input.ptr(), w, r.kernels.ptr(),
                                           scratch.data());
    cuda::launch_involution_aggregate_naive(launch, d, input.ptr(), r.kernels.ptr(),
                                            r.output.ptr());
  }
  return r;
}

struct EmulatedCase {
  Variant variant;
  ks_emu::ThreadOrder order;
  CheckCase grid;
};

void PrintTo(const EmulatedCase& c, std::ostream* os) {
  *os << variant_name(c.variant) << "/" << c.grid.name;
}

// The tiled kernels run in both thread orders (a missing barrier shows in one or the
// other); the naive ones have no barriers, so one order is enough.
std::vector<EmulatedCase> emulated_cases() {
  std::vector<EmulatedCase> out;
  for (const CheckCase& c : check_cases()) {
    out.push_back({Variant::Tiled, ks_emu::ThreadOrder::AscendingFirst, c});
    out.push_back({Variant::Tiled, ks_emu::ThreadOrder::DescendingFirst, c});
    out.push_back({Variant::Naive, ks_emu::ThreadOrder::AscendingFirst, c});
  }
  return out;
}

class EmulatedCudaGrid : public ::testing::TestWithParam<EmulatedCase> {};

TEST_P(EmulatedCudaGrid, MatchesReference) {
  const EmulatedCase& param = GetParam();
  ks_emu::set_thread_order(param.order);
  Backend* reference = find_backend("cpu-ref");
  ASSERT_NE(reference, nullptr);
  const CheckCase& c = param.grid;
  const Tensor x = check_case_input(c);
  if (c.op == OpKind::Conv) {
    const ConvWeights w = check_case_conv_weights(c);
    const Tensor expected = reference->conv2d(x, c.conv, w, nullptr);
    EXPECT_TRUE(test::all_close(emulated_conv2d(param.variant, x, c.conv, w), expected));
  } else {
    const InvolutionWeights w = check_case_involution_weights(c);
    const InvolutionResult expected = reference->involution2d(x, c.involution, w, nullptr);
    const InvolutionResult got = emulated_involution(param.variant, x, c.involution, w);
    EXPECT_TRUE(test::all_close(got.kernels, expected.kernels)) << "generated kernels";
    EXPECT_TRUE(test::all_close(got.output, expected.output)) << "output";
  }
}

INSTANTIATE_TEST_SUITE_P(Cases, EmulatedCudaGrid, ::testing::ValuesIn(emulated_cases()),
                         [](const ::testing::TestParamInfo<EmulatedCase>& info) {
                           const bool descending =
                               info.param.order == ks_emu::ThreadOrder::DescendingFirst;
                           return std::string(variant_name(info.param.variant)) +
                                  (descending ? "_desc_" : "_") + info.param.grid.name;
                         });

class EmulatedCudaFixtures : public ::testing::TestWithParam<Variant> {};

TEST_P(EmulatedCudaFixtures, MatchTorch) {
  ks_emu::set_thread_order(ks_emu::ThreadOrder::AscendingFirst);
  int checked = 0;
  for (OpKind op : {OpKind::Conv, OpKind::Involution})
    for (const std::string& path : test::fixture_paths(op)) {
      const test::Fixture f = test::load_fixture(path);
      SCOPED_TRACE(f.name);
      if (op == OpKind::Conv) {
        EXPECT_TRUE(test::all_close(emulated_conv2d(GetParam(), f.input, f.conv, f.conv_weights),
                                    f.expected_output));
      } else {
        const InvolutionResult r =
            emulated_involution(GetParam(), f.input, f.involution, f.involution_weights);
        EXPECT_TRUE(test::all_close(r.kernels, f.expected_kernels)) << "generated kernels";
        EXPECT_TRUE(test::all_close(r.output, f.expected_output)) << "output";
      }
      ++checked;
    }
  EXPECT_EQ(checked, test::kConvFixtureCount + test::kInvolutionFixtureCount);
}

INSTANTIATE_TEST_SUITE_P(Variants, EmulatedCudaFixtures,
                         ::testing::Values(Variant::Tiled, Variant::Naive),
                         [](const ::testing::TestParamInfo<Variant>& info) {
                           return std::string(variant_name(info.param));
                         });

// The kernels the emulator ran since the last ks_emu::clear_launches().
std::set<std::string> launched_kernels() {
  std::set<std::string> names;
  for (const ks_emu::LaunchRecord& r : ks_emu::launches()) names.insert(r.kernel_name);
  return names;
}

// --- The kernel-sum map (KernelsMode::Sum): kernel_sum_kernel over the kernels the
// emulated generation wrote, against their per-pixel sums over the taps. A quarter of the
// involution grid (batch 1 and 2, one to twelve groups, K 1 to 7, every stride) and its
// larger layers, whose pixels span many blocks.

// kernels [B, G, K*K, H, W] summed over the taps in double, in tap order.
Tensor tap_sums(const Tensor& kernels) {
  const int64_t B = kernels.dim(0), G = kernels.dim(1), KK = kernels.dim(2);
  const int64_t plane = kernels.dim(3) * kernels.dim(4);
  Tensor sums({B, G, kernels.dim(3), kernels.dim(4)});
  for (int64_t bg = 0; bg < B * G; ++bg)
    for (int64_t q = 0; q < plane; ++q) {
      double total = 0;
      for (int64_t k = 0; k < KK; ++k)
        total += kernels.data[static_cast<size_t>((bg * KK + k) * plane + q)];
      sums.data[static_cast<size_t>(bg * plane + q)] = static_cast<float>(total);
    }
  return sums;
}

struct KernelSumCase {
  CheckCase grid;
};

void PrintTo(const KernelSumCase& c, std::ostream* os) { *os << c.grid.name; }

std::vector<KernelSumCase> kernel_sum_cases() {
  const std::vector<CheckCase> grid = involution_check_cases();
  std::vector<KernelSumCase> out;
  for (size_t i = 0; i < grid.size(); ++i)
    if (i % 4 == 0 || grid[i].input_shape[2] * grid[i].input_shape[3] >= 500)
      out.push_back({grid[i]});
  return out;
}

class EmulatedKernelSum : public ::testing::TestWithParam<KernelSumCase> {};

TEST_P(EmulatedKernelSum, IsThePerPixelSumOfTheKernels) {
  ks_emu::set_thread_order(ks_emu::ThreadOrder::AscendingFirst);
  const CheckCase& c = GetParam().grid;
  const Tensor x = check_case_input(c);
  const InvolutionResult r =
      emulated_involution(Variant::Tiled, x, c.involution, check_case_involution_weights(c));
  const cuda::InvolutionDims d =
      cuda::involution_dims(x.shape, c.involution, involution_output_shape(x.shape, c.involution));
  Tensor sum = nan_tensor(involution_kernel_sum_shape(x.shape, c.involution));
  ks_emu::clear_launches();
  cuda::launch_involution_kernel_sum(ks_emu::Launcher{}, d, r.kernels.ptr(), sum.ptr());
  EXPECT_EQ(launched_kernels(), std::set<std::string>{"kernel_sum_kernel"});
  EXPECT_TRUE(test::all_close(sum, tap_sums(r.kernels)));
}

INSTANTIATE_TEST_SUITE_P(Cases, EmulatedKernelSum, ::testing::ValuesIn(kernel_sum_cases()),
                         [](const ::testing::TestParamInfo<KernelSumCase>& info) {
                           return info.param.grid.name;
                         });

// --- The one-pass kernel (what the cuda backend runs where a tile fits): generation and
// aggregation in one launch, the kernels tensor written only when asked for. Every
// involution case of the grid, in both thread orders, once with the groups in one block and
// once split over as many blocks as there are groups (what small maps get on a big GPU), with
// the full kernels and the kernel-sum map asked for, then with neither.

struct OnePassCase {
  ks_emu::ThreadOrder order;
  bool split_groups;
  CheckCase grid;
  bool opt_in = false;  // the plan may use 96 KiB of shared memory, as on an H100
};

void PrintTo(const OnePassCase& c, std::ostream* os) { *os << c.grid.name; }

std::vector<OnePassCase> one_pass_cases() {
  std::vector<OnePassCase> out;
  for (const CheckCase& c : involution_check_cases()) {
    for (bool split : {false, true}) {
      out.push_back({ks_emu::ThreadOrder::AscendingFirst, split, c});
      out.push_back({ks_emu::ThreadOrder::DescendingFirst, split, c});
    }
    out.push_back({ks_emu::ThreadOrder::DescendingFirst, false, c, true});
  }
  return out;
}

class EmulatedOnePass : public ::testing::TestWithParam<OnePassCase> {};

TEST_P(EmulatedOnePass, MatchesTheReferenceWithAndWithoutTheKernels) {
  const OnePassCase& param = GetParam();
  ks_emu::set_thread_order(param.order);
  const CheckCase& c = param.grid;
  const Tensor x = check_case_input(c);
  const InvolutionWeights weights = check_case_involution_weights(c);
  const InvolutionResult expected =
      find_backend("cpu-ref")->involution2d(x, c.involution, weights, nullptr);
  const Shape out_shape = involution_output_shape(x.shape, c.involution);
  const cuda::InvolutionDims d = cuda::involution_dims(x.shape, c.involution, out_shape);
  const cuda::FoldedBatchNorm bn = cuda::fold_batch_norm(weights);
  const cuda::GenerationWeights w{weights.reduce_weight.ptr(), bn.scale.data(), bn.shift.data(),
                                  weights.span_weight.ptr(), weights.span_bias.ptr()};
  // 1 block wanted: the groups stay together; a huge number: one group per block.
  const int64_t target = param.split_groups ? int64_t{1} << 40 : 1;
  const int64_t budget =
      param.opt_in ? cuda::one_pass_smem_budget_floats(227 * 1024) : cuda::kSmemBudgetFloats;
  ks_emu::Launcher launcher;
  launcher.shared_memory_limit = static_cast<size_t>(budget) * sizeof(float);
  const cuda::OnePassPlan plan = cuda::plan_involution_one_pass(d, target, budget);
  ASSERT_GT(plan.rows, 0) << "no one-pass tile fits";
  EXPECT_EQ(plan.group_splits, param.split_groups ? d.groups : 1);

  Tensor y = nan_tensor(out_shape);
  Tensor kernels = nan_tensor(involution_kernels_shape(x.shape, c.involution));
  Tensor sum = nan_tensor(involution_kernel_sum_shape(x.shape, c.involution));
  ks_emu::clear_launches();
  ASSERT_TRUE(cuda::launch_involution_one_pass(launcher, d, x.ptr(), w, y.ptr(), kernels.ptr(),
                                               sum.ptr(), target, budget));
  EXPECT_EQ(launched_kernels(), std::set<std::string>{"involution_one_pass_kernel"});
  EXPECT_TRUE(test::all_close(y, expected.output)) << "output";
  EXPECT_TRUE(test::all_close(kernels, expected.kernels)) << "generated kernels";
  EXPECT_TRUE(test::all_close(sum, tap_sums(expected.kernels))) << "kernel-sum map";

  Tensor y_alone = nan_tensor(out_shape);
  ASSERT_TRUE(cuda::launch_involution_one_pass(launcher, d, x.ptr(), w, y_alone.ptr(), nullptr,
                                               nullptr, target, budget));
  EXPECT_EQ(y_alone.data, y.data) << "the output depends on which kernels were asked for";
}

INSTANTIATE_TEST_SUITE_P(Cases, EmulatedOnePass, ::testing::ValuesIn(one_pass_cases()),
                         [](const ::testing::TestParamInfo<OnePassCase>& info) {
                           const bool descending =
                               info.param.order == ks_emu::ThreadOrder::DescendingFirst;
                           return std::string(info.param.split_groups ? "split_" : "whole_") +
                                  (info.param.opt_in ? "optin_" : "") +
                                  (descending ? "desc_" : "") + info.param.grid.name;
                         });

TEST(EmulatedOnePass, NoTileFitsForHugeKernelsSoNothingLaunches) {
  // K=61: even a one-row tile (32 pixels) holds 61 x 61 x 32 kernel values, far over 48 KiB;
  // the backend then generates into a kernels tensor and aggregates (the two passes).
  cuda::InvolutionDims d{};
  d.batch = 1;
  d.channels = 2;
  d.height = d.out_height = 70;
  d.width = d.out_width = 70;
  d.kernel = 61;
  d.stride = d.dilation = 1;
  d.padding = 30;
  d.group_channels = 1;
  d.groups = 2;
  d.reduced_channels = 2;
  EXPECT_EQ(cuda::plan_involution_one_pass(d).rows, 0);
  ks_emu::clear_launches();
  EXPECT_FALSE(cuda::launch_involution_one_pass(
      ks_emu::Launcher{}, d, nullptr, cuda::GenerationWeights{}, nullptr, nullptr, nullptr));
  EXPECT_TRUE(ks_emu::launches().empty());
}

// The one-pass kernel on an involution case under a shared-memory budget (floats), through a
// launcher that allows `launcher_limit` bytes; the output, or a LaunchError.
Tensor one_pass_output(const CheckCase& c, int64_t budget, size_t launcher_limit) {
  const Tensor x = check_case_input(c);
  const InvolutionWeights weights = check_case_involution_weights(c);
  const Shape out_shape = involution_output_shape(x.shape, c.involution);
  const cuda::InvolutionDims d = cuda::involution_dims(x.shape, c.involution, out_shape);
  const cuda::FoldedBatchNorm bn = cuda::fold_batch_norm(weights);
  const cuda::GenerationWeights w{weights.reduce_weight.ptr(), bn.scale.data(), bn.shift.data(),
                                  weights.span_weight.ptr(), weights.span_bias.ptr()};
  ks_emu::Launcher launcher;
  launcher.shared_memory_limit = launcher_limit;
  Tensor y = nan_tensor(out_shape);
  EXPECT_TRUE(cuda::launch_involution_one_pass(launcher, d, x.ptr(), w, y.ptr(), nullptr, nullptr,
                                               cuda::kOnePassTargetBlocks, budget));
  return y;
}

CheckCase screen_like_involution() {
  // What a photo gets: RGB, K7, one channel per group, C/r = 3 (the staged weight rows are
  // padded from 3 to 4).
  CheckCase c;
  c.op = OpKind::Involution;
  c.input_shape = {1, 3, 19, 70};
  c.involution.channels = 3;
  c.involution.kernel_size = 7;
  c.involution.group_channels = 1;
  c.involution.reduction = 1;
  c.seed = 23;
  return c;
}

TEST(EmulatedOnePass, WithTheOptInTheTilesGrowPastFortyEightKiB) {
  const CheckCase c = screen_like_involution();
  const cuda::InvolutionDims d = cuda::involution_dims(
      c.input_shape, c.involution, involution_output_shape(c.input_shape, c.involution));
  const int64_t h100 = cuda::one_pass_smem_budget_floats(227 * 1024);
  const cuda::OnePassPlan portable = cuda::plan_involution_one_pass(d);
  const cuda::OnePassPlan big = cuda::plan_involution_one_pass(d, cuda::kOnePassTargetBlocks, h100);
  EXPECT_EQ(portable.rows * portable.cols, 128);
  EXPECT_LE(portable.smem_bytes, ks_emu::kSharedMemoryWithoutOptIn);
  EXPECT_EQ(big.rows * big.cols, 256);
  EXPECT_GT(big.smem_bytes, ks_emu::kSharedMemoryWithoutOptIn);

  const Tensor expected = find_backend("cpu-ref")
                              ->involution2d(check_case_input(c), c.involution,
                                             check_case_involution_weights(c), nullptr)
                              .output;
  for (auto order : {ks_emu::ThreadOrder::AscendingFirst, ks_emu::ThreadOrder::DescendingFirst}) {
    ks_emu::set_thread_order(order);
    EXPECT_TRUE(test::all_close(one_pass_output(c, h100, static_cast<size_t>(h100) * sizeof(float)),
                                expected));
    EXPECT_TRUE(test::all_close(
        one_pass_output(c, cuda::kSmemBudgetFloats, ks_emu::kSharedMemoryWithoutOptIn), expected));
  }
  // A GPU refuses the big plan from a kernel that did not opt in (StreamLauncher does).
  EXPECT_THROW(one_pass_output(c, h100, ks_emu::kSharedMemoryWithoutOptIn), ks_emu::LaunchError);
}

TEST(EmulatedOnePass, TheBudgetFollowsTheDeviceWithinFortyEightToNinetySixKiB) {
  EXPECT_EQ(cuda::one_pass_smem_budget_floats(0), cuda::kSmemBudgetFloats);  // unknown device
  EXPECT_EQ(cuda::one_pass_smem_budget_floats(48 * 1024), cuda::kSmemBudgetFloats);
  EXPECT_EQ(cuda::one_pass_smem_budget_floats(64 * 1024), 16 * 1024);
  EXPECT_EQ(cuda::one_pass_smem_budget_floats(227 * 1024), 24 * 1024);  // H100: two blocks an SM
}

TEST(EmulatedOnePass, WideReducedVectorsReadTheirWeightsFromGlobalMemory) {
  // C/r = 40: past the register copy, so nothing is staged and the weights come from global
  // memory (one_pass_weight_floats is 0); C/r = 32 is the widest staged.
  EXPECT_EQ(cuda::one_pass_weight_floats(3, 40), 0);
  EXPECT_EQ(cuda::one_pass_weight_floats(3, 32), 9 * 32 + 12);
  CheckCase c;
  c.op = OpKind::Involution;
  c.input_shape = {1, 80, 9, 11};
  c.involution.channels = 80;
  c.involution.kernel_size = 3;
  c.involution.group_channels = 16;
  c.involution.reduction = 2;
  c.seed = 29;
  const Tensor expected = find_backend("cpu-ref")
                              ->involution2d(check_case_input(c), c.involution,
                                             check_case_involution_weights(c), nullptr)
                              .output;
  for (auto order : {ks_emu::ThreadOrder::AscendingFirst, ks_emu::ThreadOrder::DescendingFirst}) {
    ks_emu::set_thread_order(order);
    EXPECT_TRUE(test::all_close(
        one_pass_output(c, cuda::kSmemBudgetFloats, ks_emu::kSharedMemoryWithoutOptIn), expected,
        1e-4f, 1e-4f));
  }
}

// A small map gets lower tiles, so a big GPU has blocks for its SMs, and stays right.
TEST(EmulatedCudaSmallMaps, ConvolutionTilesGetLowerUntilTheGpuIsFull) {
  CheckCase c;
  c.input_shape = {1, 16, 20, 20};
  c.conv.in_channels = 16;
  c.conv.out_channels = 16;
  c.conv.kernel_size = 3;
  c.conv.padding = 1;
  c.conv.has_bias = true;
  c.seed = 17;
  const Tensor x = check_case_input(c);
  const cuda::ConvDims d = cuda::conv_dims(x.shape, c.conv, conv_output_shape(x.shape, c.conv));
  EXPECT_EQ(cuda::plan_conv2d_tiled(d).rows, 2);  // 8 rows would be 3 blocks
  const ConvWeights w = check_case_conv_weights(c);
  for (auto order : {ks_emu::ThreadOrder::AscendingFirst, ks_emu::ThreadOrder::DescendingFirst}) {
    ks_emu::set_thread_order(order);
    EXPECT_TRUE(test::all_close(emulated_conv2d(Variant::Tiled, x, c.conv, w),
                                find_backend("cpu-ref")->conv2d(x, c.conv, w, nullptr)));
  }
  // A 1080p layer has blocks enough with 8 rows.
  cuda::ConvDims big = d;
  big.in_channels = big.out_channels = 8;
  big.height = big.out_height = 1080;
  big.width = big.out_width = 1920;
  EXPECT_EQ(cuda::plan_conv2d_tiled(big).rows, 8);
}

// --- The fallbacks of the tiled path: each shape below is one the tiled kernel cannot
// plan, so the naive kernel must take over, and give the right answer.

TEST(EmulatedCudaFallback, ConvolutionWhoseHaloOverflowsSharedMemoryRunsNaive) {
  // K=7 at dilation 20: even a one-row tile's halo (121 x 152 floats) exceeds 48 KiB.
  CheckCase c;
  c.input_shape = {1, 2, 124, 130};
  c.conv.in_channels = 2;
  c.conv.out_channels = 3;
  c.conv.kernel_size = 7;
  c.conv.dilation = 20;
  c.conv.padding = 2;
  c.conv.has_bias = true;
  c.seed = 7;
  const Tensor x = check_case_input(c);
  const ConvWeights w = check_case_conv_weights(c);
  ks_emu::clear_launches();
  const Tensor got = emulated_conv2d(Variant::Tiled, x, c.conv, w);
  EXPECT_EQ(launched_kernels(), std::set<std::string>{"conv2d_naive_kernel"});
  EXPECT_TRUE(test::all_close(got, find_backend("cpu-ref")->conv2d(x, c.conv, w, nullptr)));
}

TEST(EmulatedCudaFallback, InvolutionWithHugeReducedVectorGeneratesNaively) {
  // C/r = 384 reduced channels for 32 pixels fill the 48 KiB budget alone.
  CheckCase c;
  c.op = OpKind::Involution;
  c.input_shape = {1, 384, 3, 5};
  c.involution.channels = 384;
  c.involution.kernel_size = 3;
  c.involution.group_channels = 16;
  c.involution.reduction = 1;
  c.seed = 11;
  const Tensor x = check_case_input(c);
  const InvolutionWeights w = check_case_involution_weights(c);
  ks_emu::clear_launches();
  const InvolutionResult got = emulated_involution(Variant::Tiled, x, c.involution, w);
  const std::set<std::string> names = launched_kernels();
  EXPECT_TRUE(names.count("reduce_naive_kernel") && names.count("span_naive_kernel"));
  EXPECT_FALSE(names.count("generate_fused_kernel"));
  const InvolutionResult expected =
      find_backend("cpu-ref")->involution2d(x, c.involution, w, nullptr);
  EXPECT_TRUE(test::all_close(got.kernels, expected.kernels, 1e-4f, 1e-4f));
  EXPECT_TRUE(test::all_close(got.output, expected.output, 1e-4f, 1e-4f));
}

TEST(EmulatedCudaFallback, InvolutionWithMoreThan32ReducedChannelsKeepsThemInSharedMemory) {
  // C/r = 48 is past the fused generation's register copy of the reduced vector.
  for (auto order : {ks_emu::ThreadOrder::AscendingFirst, ks_emu::ThreadOrder::DescendingFirst}) {
    ks_emu::set_thread_order(order);
    CheckCase c;
    c.op = OpKind::Involution;
    c.input_shape = {2, 96, 5, 7};
    c.involution.channels = 96;
    c.involution.kernel_size = 3;
    c.involution.group_channels = 16;
    c.involution.reduction = 2;
    c.seed = 13;
    const Tensor x = check_case_input(c);
    const InvolutionWeights w = check_case_involution_weights(c);
    ks_emu::clear_launches();
    const InvolutionResult got = emulated_involution(Variant::Tiled, x, c.involution, w);
    EXPECT_TRUE(launched_kernels().count("generate_fused_kernel"));
    const InvolutionResult expected =
        find_backend("cpu-ref")->involution2d(x, c.involution, w, nullptr);
    EXPECT_TRUE(test::all_close(got.kernels, expected.kernels, 1e-4f, 1e-4f));
    EXPECT_TRUE(test::all_close(got.output, expected.output, 1e-4f, 1e-4f));
  }
}

TEST(EmulatedCudaFallback, InvolutionWhoseKernelsOverflowSharedMemoryAggregatesNaively) {
  // K=21 on a 40-pixel-wide image: the 441 taps of a 32-pixel row alone exceed 48 KiB.
  CheckCase c;
  c.op = OpKind::Involution;
  c.input_shape = {1, 2, 6, 40};
  c.involution.channels = 2;
  c.involution.kernel_size = 21;
  c.involution.group_channels = 1;
  c.involution.reduction = 1;
  c.seed = 5;
  const Tensor x = check_case_input(c);
  const InvolutionWeights w = check_case_involution_weights(c);
  ks_emu::clear_launches();
  const InvolutionResult got = emulated_involution(Variant::Tiled, x, c.involution, w);
  const std::set<std::string> names = launched_kernels();
  EXPECT_TRUE(names.count("aggregate_naive_kernel"));
  EXPECT_FALSE(names.count("aggregate_tiled_kernel"));
  const InvolutionResult expected =
      find_backend("cpu-ref")->involution2d(x, c.involution, w, nullptr);
  EXPECT_TRUE(test::all_close(got.output, expected.output));
}

// --- Batch splitting: gridDim.z holds (image, group, channel block) and may not exceed
// 65535. Running 70 000 blocks in the emulator would be slow, so a launcher that only
// records checks that the launches cover every image exactly once within CUDA's limits.

struct RecordedLaunch {
  dim3 grid, block;
  size_t smem_bytes;
  int batch_offset;
};

struct RecordingLauncher {
  std::vector<RecordedLaunch>* out;
  template <class... Params, class... Args>
  void operator()(const char*, const char*, int, dim3 grid, dim3 block, size_t smem_bytes,
                  void (*)(Params...), Args... args) const {
    // The tiled kernels take the batch offset as their second-to-last argument; the naive
    // ones take none (-1).
    const std::tuple<Args...> t(args...);
    using Offset = std::tuple_element_t<sizeof...(Args) - 2, std::tuple<Args...>>;
    int batch_offset = -1;
    if constexpr (std::is_integral_v<Offset>)
      batch_offset = static_cast<int>(std::get<sizeof...(Args) - 2>(t));
    out->push_back({grid, block, smem_bytes, batch_offset});
  }
};

void expect_launches_cover_batch(const std::vector<RecordedLaunch>& launches, int batch,
                                 int blocks_per_image) {
  ASSERT_GT(launches.size(), 1u) << "expected the batch to be split";
  int next = 0;
  for (const RecordedLaunch& l : launches) {
    EXPECT_LE(l.grid.z, 65535u);
    EXPECT_LE(l.smem_bytes, 48u * 1024u);
    EXPECT_EQ(l.batch_offset, next);
    EXPECT_EQ(l.grid.z % static_cast<unsigned>(blocks_per_image), 0u);
    next += static_cast<int>(l.grid.z) / blocks_per_image;
  }
  EXPECT_EQ(next, batch);
}

TEST(EmulatedCudaPlans, ConvolutionSplitsBatchesThatOverflowGridZ) {
  // Depthwise over 4096 channels: 4096 blocks per image, so 17 images need two launches.
  cuda::ConvDims d{17, 4096, 4, 4, 4096, 4, 4, 3, 1, 1, 1, 4096, false};
  std::vector<RecordedLaunch> launches;
  cuda::launch_conv2d_tiled(RecordingLauncher{&launches}, d, nullptr, nullptr, nullptr, nullptr);
  expect_launches_cover_batch(launches, 17, 4096);
}

TEST(EmulatedCudaPlans, InvolutionAggregationSplitsBatchesThatOverflowGridZ) {
  cuda::InvolutionDims d{17, 4096, 4, 4, 4, 4, 3, 1, 1, 1, 1, 4096, 1024};
  std::vector<RecordedLaunch> launches;
  cuda::launch_involution_aggregate_tiled(RecordingLauncher{&launches}, d, nullptr, nullptr,
                                          nullptr);
  expect_launches_cover_batch(launches, 17, 4096);
}

TEST(EmulatedCudaPlans, GridCoversEveryConvolutionKernelVariant) {
  // The tiled convolution has one kernel per output-channel block size; the grid must run
  // each of them (and the tiled aggregation each tile width) or the emulator tests miss it.
  std::set<std::pair<int, int>> conv_variants;
  std::set<int> aggregation_cols;
  for (const CheckCase& c : check_cases()) {
    if (c.op == OpKind::Conv) {
      const Shape out = conv_output_shape(c.input_shape, c.conv);
      const cuda::ConvTilePlan p =
          cuda::plan_conv2d_tiled(cuda::conv_dims(c.input_shape, c.conv, out));
      if (p.rows > 0) conv_variants.insert({p.out_per_block, p.pixels_per_thread});
    } else {
      const Shape out = involution_output_shape(c.input_shape, c.involution);
      const cuda::AggregationPlan p = cuda::plan_involution_aggregate_tiled(
          cuda::involution_dims(c.input_shape, c.involution, out));
      if (p.rows > 0) aggregation_cols.insert(p.cols);
    }
  }
  // (kOut, kPix) of every variant launch_conv2d_tiled dispatches to.
  EXPECT_EQ(conv_variants,
            (std::set<std::pair<int, int>>{
                {1, 4}, {1, 2}, {1, 1}, {2, 4}, {2, 2}, {2, 1}, {4, 2}, {4, 1}, {8, 1}, {16, 1}}));
  EXPECT_EQ(aggregation_cols, (std::set<int>{8, 16, 32}));
}

TEST(EmulatedCudaPlans, EveryKernelSizeGetsALaunchCudaAccepts) {
  // The plans must never ask for more than 48 KiB or an invalid block, whatever K, stride
  // and dilation; the emulator's configuration check is CUDA's.
  for (int k = 1; k <= 31; k += 2)
    for (int s : {1, 2, 4})
      for (int dil : {1, 2, 5}) {
        const cuda::ConvTilePlan cp =
            cuda::plan_conv2d_tiled({1, 16, 64, 64, 16, 64, 64, k, s, k / 2, dil, 1, false});
        EXPECT_LE(cp.smem_bytes, 48u * 1024u) << "K=" << k << " s=" << s << " d=" << dil;
        const cuda::AggregationPlan ap = cuda::plan_involution_aggregate_tiled(
            {1, 16, 64, 64, 64, 64, k, s, dil, dil * (k - 1) / 2, 4, 4, 4});
        EXPECT_LE(ap.smem_bytes, 48u * 1024u) << "K=" << k << " s=" << s << " d=" << dil;
        if (ap.rows > 0) {
          EXPECT_GE(ap.channels_per_stage, 1);
        }
        if (cp.rows > 0) {
          EXPECT_GE(cp.channels_per_stage, 1);
        }
      }
}

TEST(CudaHostDims, ParametersBeyondIntIndexingAreDeclinedOrRefused) {
  EXPECT_TRUE(cuda::fits_cuda_kernels(7, 2, 3, 2));
  EXPECT_TRUE(cuda::fits_cuda_kernels(4096, 1, 2047, 1));
  EXPECT_FALSE(cuda::fits_cuda_kernels(4097, 1, 0, 1));
  EXPECT_FALSE(cuda::fits_cuda_kernels(3, int64_t{1} << 40, 0, 1));
  EXPECT_FALSE(cuda::fits_cuda_kernels(3, 1, int64_t{1} << 40, 1));
  EXPECT_FALSE(cuda::fits_cuda_kernels(3, 1, 0, int64_t{1} << 40));
  EXPECT_FALSE(cuda::fits_cuda_kernels(4096, 1, 0, int64_t{1} << 13));  // d(K-1) > 2^24
  ConvParams p;
  p.in_channels = 1;
  p.out_channels = 1;
  const Shape huge = {1, 1, 3, int64_t{1} << 30};
  EXPECT_TRUE(test::throws_with([&] { cuda::conv_dims(huge, p, conv_output_shape(huge, p)); },
                                "input width 1073741824 is too large for the CUDA backends"));
}

// --- The emulator itself: each check it claims must fire on a kernel that deserves it.

template <class F>
::testing::AssertionResult emulator_refuses(F&& f, const std::string& needle) {
  try {
    f();
  } catch (const ks_emu::LaunchError& e) {
    if (std::string(e.what()).find(needle) != std::string::npos)
      return ::testing::AssertionSuccess();
    return ::testing::AssertionFailure()
           << "message \"" << e.what() << "\" lacks \"" << needle << "\"";
  }
  return ::testing::AssertionFailure() << "no LaunchError";
}

__global__ void reverse_kernel(float* y, bool with_barrier) {
  KS_DYNAMIC_SHARED_FLOATS(smem);
  const int n = static_cast<int>(blockDim.x);
  const int t = static_cast<int>(threadIdx.x);
  smem[t] = static_cast<float>(t);
  if (with_barrier) __syncthreads();
  y[t] = smem[n - 1 - t];
}

std::vector<float> run_reverse(bool with_barrier, ks_emu::ThreadOrder order) {
  ks_emu::set_thread_order(order);
  std::vector<float> y = nan_buffer(64);
  KS_LAUNCH(ks_emu::Launcher{}, reverse_kernel, dim3(1), dim3(64), 64 * sizeof(float), y.data(),
            with_barrier);
  return y;
}

TEST(CudaEmulator, BarrierMakesSharedMemoryVisibleToTheBlock) {
  for (auto order : {ks_emu::ThreadOrder::AscendingFirst, ks_emu::ThreadOrder::DescendingFirst}) {
    const std::vector<float> y = run_reverse(true, order);
    for (int t = 0; t < 64; ++t) EXPECT_EQ(y[static_cast<size_t>(t)], 63 - t);
  }
}

TEST(CudaEmulator, MissingBarrierReadsUnwrittenSharedMemory) {
  for (auto order : {ks_emu::ThreadOrder::AscendingFirst, ks_emu::ThreadOrder::DescendingFirst}) {
    const std::vector<float> y = run_reverse(false, order);
    const bool any_nan = std::any_of(y.begin(), y.end(), [](float v) { return std::isnan(v); });
    EXPECT_TRUE(any_nan) << "a read before the writer ran must see the NaN poison";
  }
}

__global__ void partial_barrier_kernel(float* y) {
  if (threadIdx.x % 2 == 0) return;
  __syncthreads();
  y[threadIdx.x] = 1.0f;
}

TEST(CudaEmulator, BarrierReachedByPartOfTheBlockIsAnError) {
  std::vector<float> y(32);
  EXPECT_TRUE(emulator_refuses(
      [&] {
        KS_LAUNCH(ks_emu::Launcher{}, partial_barrier_kernel, dim3(1), dim3(32), 0, y.data());
      },
      "reached by 16 of the 32 threads"));
}

__global__ void overflow_kernel(int n) {
  KS_DYNAMIC_SHARED_FLOATS(smem);
  smem[n + static_cast<int>(threadIdx.x)] = 1.0f;
}

TEST(CudaEmulator, WritePastSharedMemoryIsAnError) {
  EXPECT_NO_THROW(
      KS_LAUNCH(ks_emu::Launcher{}, overflow_kernel, dim3(1), dim3(8), 16 * sizeof(float), 8));
  EXPECT_TRUE(emulator_refuses(
      [] {
        KS_LAUNCH(ks_emu::Launcher{}, overflow_kernel, dim3(1), dim3(8), 16 * sizeof(float), 12);
      },
      "past its 64 bytes of shared memory"));
}

TEST(CudaEmulator, LaunchesCudaWouldRefuseAreErrors) {
  std::vector<float> y(64);
  EXPECT_TRUE(emulator_refuses(
      [&] {
        KS_LAUNCH(ks_emu::Launcher{}, reverse_kernel, dim3(1), dim3(64), 49 * 1024, y.data(), true);
      },
      "48 KiB"));
  EXPECT_TRUE(emulator_refuses(
      [&] {
        KS_LAUNCH(ks_emu::Launcher{}, reverse_kernel, dim3(1), dim3(2048), 0, y.data(), true);
      },
      "block larger"));
  EXPECT_TRUE(emulator_refuses(
      [&] {
        KS_LAUNCH(ks_emu::Launcher{}, reverse_kernel, dim3(1, 70000), dim3(1), 0, y.data(), true);
      },
      "grid larger"));
}

}  // namespace
}  // namespace ks
