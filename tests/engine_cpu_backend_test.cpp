// Focused tests of the "cpu" backend against cpu-ref: row tails that are not multiples of
// any vector or register block, band edges, every parameter, batch, and every build of the
// inner loops this machine can run (AVX-512, AVX2, portable: the better ones capped off).
#include <algorithm>
#include <cmath>
#include <limits>
#include <string>

#include "cpu/cpu_features.h"
#include "cpu_ref/reference.h"
#include "kernelscope/backend.h"
#include "test_util.h"

namespace ks {
namespace {

// Runs the body once per inner-loop build available on this machine.
class CpuBackendTest : public ::testing::TestWithParam<cpu::CpuPath> {
 protected:
  void SetUp() override {
    const cpu::CpuPath path = GetParam();
    if (path == cpu::CpuPath::avx512 && !cpu::cpu_has_avx512())
      GTEST_SKIP() << "this CPU has no AVX-512";
    if (path == cpu::CpuPath::avx2 && !cpu::cpu_has_avx2_fma())
      GTEST_SKIP() << "this CPU has no AVX2/FMA";
    cpu::limit_path(path);
    ASSERT_EQ(cpu::active_path(), path);
    backend_ = find_backend("cpu");
    ASSERT_NE(backend_, nullptr) << "the cpu backend is not registered";
  }
  void TearDown() override { cpu::limit_path(cpu::CpuPath::avx512); }

  void check_conv(const Shape& input_shape, const ConvParams& p, uint64_t seed) {
    const Tensor x = test::random_tensor(input_shape, seed);
    const ConvWeights w = random_conv_weights(p, seed + 1);
    StageTimes times;
    const Tensor got = backend_->conv2d(x, p, w, &times);
    EXPECT_TRUE(test::all_close(got, ref::conv2d(x, p, w)))
        << "input " << shape_to_string(input_shape) << " C_out " << p.out_channels << " K "
        << p.kernel_size << " s " << p.stride << " p " << p.padding << " d " << p.dilation << " g "
        << p.groups << " bias " << p.has_bias;
    EXPECT_GE(times.total_ms, 0.0);
  }

  void check_involution(const Shape& input_shape, const InvolutionParams& p, uint64_t seed) {
    const Tensor x = test::random_tensor(input_shape, seed);
    InvolutionWeights w = random_involution_weights(p, seed + 1);
    // Non-trivial BN statistics, so the folding of BN into the reduce weights is exercised.
    for (size_t m = 0; m < w.bn_mean.data.size(); ++m) {
      w.bn_mean.data[m] = 0.1f * static_cast<float>(m % 3) - 0.1f;
      w.bn_var.data[m] = 0.5f + 0.25f * static_cast<float>(m % 4);
      w.bn_gamma.data[m] = 1.0f - 0.2f * static_cast<float>(m % 2);
      w.bn_beta.data[m] = 0.05f * static_cast<float>(m % 5);
    }
    StageTimes times;
    const InvolutionResult got = backend_->involution2d(x, p, w, &times);
    const Tensor kernels = ref::involution_kernels(x, p, w);
    const std::string what = "input " + shape_to_string(input_shape) + " K " +
                             std::to_string(p.kernel_size) + " s " + std::to_string(p.stride) +
                             " d " + std::to_string(p.dilation) + " gc " +
                             std::to_string(p.group_channels) + " r " + std::to_string(p.reduction);
    EXPECT_TRUE(test::all_close(got.kernels, kernels)) << "kernels, " << what;
    EXPECT_TRUE(test::all_close(got.output, ref::involution_aggregate(x, kernels, p)))
        << "output, " << what;
    EXPECT_GT(times.total_ms, 0.0);
    EXPECT_LE(times.kernel_generation_ms + times.aggregation_ms, times.total_ms * 1.001);
  }

  Backend* backend_ = nullptr;
};

ConvParams conv(int64_t cin, int64_t cout, int64_t k, int64_t stride, int64_t pad, int64_t dilation,
                int64_t groups, bool bias) {
  ConvParams p;
  p.in_channels = cin;
  p.out_channels = cout;
  p.kernel_size = k;
  p.stride = stride;
  p.padding = pad;
  p.dilation = dilation;
  p.groups = groups;
  p.has_bias = bias;
  return p;
}

InvolutionParams involution(int64_t c, int64_t k, int64_t stride, int64_t dilation, int64_t gc,
                            int64_t r) {
  InvolutionParams p;
  p.channels = c;
  p.kernel_size = k;
  p.stride = stride;
  p.dilation = dilation;
  p.group_channels = gc;
  p.reduction = r;
  return p;
}

TEST_P(CpuBackendTest, ConvRowTailsOfEveryLength) {
  // Every width up to 50 covers each tail of the 8- and 16-float vectors; the wider ones
  // straddle the largest register blocks (AVX2 64 pixels, AVX-512 96, 112 and 192).
  for (int64_t w = 1; w <= 50; ++w) check_conv({1, 2, 5, w}, conv(2, 3, 3, 1, 1, 1, 1, true), w);
  for (int64_t w : {63, 64, 65, 95, 96, 97, 113, 191, 193})
    check_conv({1, 1, 3, w}, conv(1, 1, 3, 1, 1, 1, 1, true), w);
  for (int64_t w : {95, 97, 113}) check_conv({1, 3, 4, w}, conv(3, 7, 3, 1, 1, 1, 1, true), w);
}

TEST_P(CpuBackendTest, ConvOutputChannelBlocks) {
  // 1..9 output channels: full blocks of 4 plus every remainder.
  for (int64_t cout = 1; cout <= 9; ++cout)
    check_conv({1, 3, 9, 13}, conv(3, cout, 3, 1, 0, 1, 1, cout % 2 == 0), cout);
}

TEST_P(CpuBackendTest, ConvStrideDilationPadding) {
  for (int64_t stride : {1, 2, 3})
    for (int64_t dilation : {1, 2})
      for (int64_t pad : {0, 1, 3})
        check_conv({1, 3, 17, 19}, conv(3, 5, 3, stride, pad, dilation, 1, true),
                   static_cast<uint64_t>(stride * 100 + dilation * 10 + pad));
}

TEST_P(CpuBackendTest, ConvEvenKernelsAndLargePadding) {
  check_conv({1, 2, 10, 11}, conv(2, 3, 2, 1, 0, 1, 1, true), 1);
  check_conv({1, 2, 10, 11}, conv(2, 3, 4, 1, 2, 1, 1, false), 2);
  check_conv({1, 2, 10, 11}, conv(2, 3, 4, 2, 3, 2, 1, true), 3);
  check_conv({1, 1, 3, 4}, conv(1, 2, 5, 1, 4, 1, 1, true), 4);  // padding wider than image
}

TEST_P(CpuBackendTest, ConvGroupsDepthwiseAndBatch) {
  check_conv({3, 6, 11, 12}, conv(6, 4, 3, 1, 1, 1, 2, true), 1);
  check_conv({2, 3, 21, 30}, conv(3, 3, 7, 1, 3, 1, 3, true), 2);  // depthwise
  check_conv({2, 4, 9, 10}, conv(4, 8, 3, 2, 1, 1, 4, false), 3);  // multiplier 2
  check_conv({1, 12, 8, 9}, conv(12, 6, 1, 1, 0, 1, 3, true), 4);  // 1x1 grouped
}

TEST_P(CpuBackendTest, ConvManyChannels) {
  check_conv({1, 32, 14, 15}, conv(32, 20, 3, 1, 1, 1, 1, true), 1);
}

TEST_P(CpuBackendTest, ConvTallImageSpansManyBands) {
  check_conv({1, 3, 203, 37}, conv(3, 5, 5, 1, 2, 1, 1, true), 1);
}

TEST_P(CpuBackendTest, InvolutionRowTailsAndTiles) {
  for (int64_t w : {1, 7, 8, 9, 23, 33})
    check_involution({1, 4, 6, w}, involution(4, 3, 1, 1, 2, 2), static_cast<uint64_t>(w));
  // Wider than one kernel tile (512 pixels for a single group of 9 taps).
  check_involution({1, 3, 3, 530}, involution(3, 3, 1, 1, 3, 1), 7);
}

TEST_P(CpuBackendTest, InvolutionStrideCeilModeAndDilation) {
  // Odd sizes with stride 2 and 3 leave partial pooling windows at the right and bottom.
  for (int64_t stride : {1, 2, 3})
    for (int64_t dilation : {1, 2})
      check_involution({1, 6, 13, 11}, involution(6, 3, stride, dilation, 3, 2),
                       static_cast<uint64_t>(stride * 10 + dilation));
  check_involution({1, 4, 15, 17}, involution(4, 5, 2, 1, 1, 1), 9);
}

TEST_P(CpuBackendTest, InvolutionGroupsNotMultiplesOfTheBlock) {
  check_involution({1, 10, 9, 12}, involution(10, 3, 1, 1, 5, 2), 1);  // blocks 4+1 per group
  check_involution({1, 6, 9, 12}, involution(6, 7, 1, 1, 6, 3), 2);
  check_involution({1, 16, 9, 10}, involution(16, 7, 1, 1, 16, 4), 3);
}

TEST_P(CpuBackendTest, InvolutionBatchAndManyChannels) {
  check_involution({3, 8, 10, 9}, involution(8, 3, 1, 1, 4, 4), 1);
  check_involution({2, 64, 7, 9}, involution(64, 7, 1, 1, 16, 4), 2);
  check_involution({1, 3, 40, 21}, involution(3, 7, 1, 1, 1, 1), 3);
}

// Wide reduced vectors (C/r > 8) take the unfused path, whose aggregation loads each window
// row once, aligned, and shifts it for each kx at stride 1 and dilation 1 with K 3, 5 or 7
// on AVX-512 (the dense path): rows of one vector, of two, and wider ones in chunks;
// channel blocks of 8, of 4 and the remainders of odd group sizes; rows wider than a tile
// (G*K*K = 784: 80-pixel tiles, so a 100-pixel row is cut at 80); batch 2. Stride 2,
// dilation 2 and K 9 keep the general loop.
TEST_P(CpuBackendTest, InvolutionUnfusedDenseWindows) {
  check_involution({1, 48, 9, 14}, involution(48, 3, 1, 1, 16, 4), 1);
  check_involution({2, 36, 8, 30}, involution(36, 5, 1, 1, 12, 3), 2);
  check_involution({1, 52, 11, 56}, involution(52, 7, 1, 1, 13, 4), 3);
  check_involution({1, 45, 7, 23}, involution(45, 5, 1, 1, 9, 5), 4);
  check_involution({1, 64, 6, 100}, involution(64, 7, 1, 1, 4, 4), 5);
  check_involution({1, 40, 5, 61}, involution(40, 3, 1, 1, 10, 4), 6);
  check_involution({1, 48, 12, 13}, involution(48, 3, 2, 1, 8, 4), 7);
  check_involution({1, 48, 12, 13}, involution(48, 3, 1, 2, 8, 4), 8);
  check_involution({1, 36, 12, 20}, involution(36, 9, 1, 1, 12, 3), 9);
}

// Each thread keeps its buffers from one call to the next. A call whose input is all NaN
// leaves NaN in every tile lane, band and pooled row; the next calls (other shapes, row
// widths that leave lanes past the end of a row) must read none of it into their results.
TEST_P(CpuBackendTest, InvolutionBuffersKeptFromAnEarlierCallLeakNothing) {
  const InvolutionParams wide = involution(64, 7, 1, 1, 16, 4);
  Tensor poison({1, 64, 40, 45});
  std::fill(poison.data.begin(), poison.data.end(), std::numeric_limits<float>::quiet_NaN());
  const InvolutionResult dirty =
      backend_->involution2d(poison, wide, random_involution_weights(wide, 3), nullptr);
  ASSERT_TRUE(std::isnan(dirty.output.data[0]));
  check_involution({1, 64, 13, 11}, wide, 4);
  check_involution({2, 16, 9, 21}, involution(16, 3, 2, 1, 4, 2), 5);
  check_involution({1, 3, 17, 30}, involution(3, 5, 1, 2, 1, 1), 6);
}

// Results beyond the caches take other routes: conv outputs over 16 MB are streamed; a
// kernels tensor over 32 MB is allocated beside the output's computation and then filled
// by regenerated, streamed tiles.
TEST_P(CpuBackendTest, ConvLargeStreamedOutput) {
  check_conv({1, 3, 600, 901}, conv(3, 8, 3, 1, 1, 1, 1, true), 1);
}

TEST_P(CpuBackendTest, InvolutionLargeKernelsTensor) {
  check_involution({1, 3, 301, 600}, involution(3, 7, 1, 1, 3, 1), 1);
}

INSTANTIATE_TEST_SUITE_P(Paths, CpuBackendTest,
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

TEST(CpuBackend, IsRegisteredBeforeTheReference) {
  const std::vector<std::string> names = backend_names();
  ASSERT_NE(find_backend("cpu"), nullptr);
  EXPECT_EQ(select_backend("cpu").name(), "cpu");
  EXPECT_LT(std::find(names.begin(), names.end(), "cpu") - names.begin(),
            std::find(names.begin(), names.end(), "cpu-ref") - names.begin());
}

}  // namespace
}  // namespace ks
