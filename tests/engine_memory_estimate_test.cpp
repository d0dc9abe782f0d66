// The memory estimates that the --max-memory-mb cap is checked against, and the shape rules
// under absurd parameters: products that overflow int64 must saturate (and so fail the cap)
// or be refused with one line, never wrap round to a small or negative number that passes.
#include <gtest/gtest.h>

#include <cstdint>
#include <limits>

#include "cpu/cpu_ops.h"
#include "kernelscope/backend.h"
#include "kernelscope/error.h"
#include "kernelscope/ops.h"
#include "test_util.h"

namespace ks {
namespace {

constexpr int64_t kMax = std::numeric_limits<int64_t>::max();

ConvParams conv(int64_t cin, int64_t cout, int64_t k, int64_t s, int64_t p, int64_t d) {
  ConvParams c;
  c.in_channels = cin;
  c.out_channels = cout;
  c.kernel_size = k;
  c.stride = s;
  c.padding = p;
  c.dilation = d;
  return c;
}

InvolutionParams involution(int64_t c, int64_t k, int64_t s, int64_t d, int64_t gc, int64_t r) {
  InvolutionParams p;
  p.channels = c;
  p.kernel_size = k;
  p.stride = s;
  p.dilation = d;
  p.group_channels = gc;
  p.reduction = r;
  return p;
}

// ... plus the cpu backend's bands and packed weights (engine_hardening_test.cpp).
TEST(MemoryEstimate, ConvCountsInputOutputAndWeights) {
  const Shape in{2, 3, 32, 40};
  const ConvParams p = conv(3, 8, 3, 1, 1, 1);
  EXPECT_EQ(conv_memory_bytes(in, p), 4 * (2 * 3 * 32 * 40 + 2 * 8 * 32 * 40 + 8 * 3 * 9 + 8) +
                                          cpu::conv2d_buffer_bytes(in, p).total());
}

TEST(MemoryEstimate, InvolutionCountsKernelsToo) {
  const Shape in{1, 16, 20, 24};
  const InvolutionParams p = involution(16, 5, 2, 1, 4, 4);  // G=4, C/r=4, output 10x12
  const int64_t kernels = 4 * 25 * 10 * 12;
  const int64_t weights = 4 * (16 + 4 + 25 * 4 + 1);
  EXPECT_EQ(involution_memory_bytes(in, p), 4 * (16 * 20 * 24 + 16 * 10 * 12 + kernels + weights) +
                                                cpu::involution2d_buffer_bytes(in, p).total());
}

// 2 x 1 x 2^30 x 2^30 conv weights are 2^61 floats: 4 bytes each wrapped round to negative.
TEST(MemoryEstimate, ConvSaturatesWhereInt64WouldWrapNegative) {
  const ConvParams p = conv(1, 2, int64_t{1} << 30, 1000, int64_t{1} << 29, 1);
  EXPECT_EQ(conv_memory_bytes({1, 1, 192, 192}, p), kMax);
}

// K^2 ~ 2^61 kernels and span weights: twice 2^63 bytes wrapped round to a few hundred KiB.
TEST(MemoryEstimate, InvolutionSaturatesWhereInt64WouldWrapSmall) {
  const InvolutionParams p = involution(1, 1518500249, 1000, 1, 1, 1);
  EXPECT_EQ(involution_memory_bytes({1, 1, 192, 192}, p), kMax);
  const InvolutionParams wide = involution(1 << 20, 3001, 1, 1, 1, 1);  // 2^20 groups x 9e6 taps
  EXPECT_EQ(involution_memory_bytes({1, 1 << 20, 64, 64}, wide), kMax);
}

TEST(MemoryEstimate, SaturatedEstimateFailsEvenTheLargestCap) {
  EXPECT_TRUE(test::throws_with([] { check_memory_cap(kMax, kMax, "this convolution"); },
                                "more than the memory cap"));
  EXPECT_NO_THROW(check_memory_cap(kMax - 1, kMax, "this convolution"));
  EXPECT_NO_THROW(check_memory_cap(int64_t{4} << 20, int64_t{4} << 20, "this convolution"));
}

TEST(MemoryEstimate, CapInBytesSaturatesInsteadOfShifting) {
  EXPECT_EQ(memory_cap_bytes(4096), int64_t{4} << 30);
  EXPECT_EQ(memory_cap_bytes(kMax >> 20), (kMax >> 20) << 20);
  EXPECT_EQ(memory_cap_bytes((kMax >> 20) + 1), kMax);
  EXPECT_EQ(memory_cap_bytes(kMax), kMax);
  EXPECT_EQ(memory_cap_bytes(0), 0);
}

// d(K-1)+1 or H+2p beyond int64 used to wrap into a small "valid" output that the backends
// then indexed with (a segfault): now one line naming the overflow.
TEST(MemoryEstimate, ShapeRulesRefuseGeometryBeyondInt64) {
  const Shape in{1, 1, 192, 192};
  const int64_t huge_d = int64_t{3} << 61, huge_s = int64_t{1} << 61;
  EXPECT_TRUE(test::throws_with([&] { conv_output_shape(in, conv(1, 8, 3, huge_s, 0, huge_d)); },
                                "overflows"));
  EXPECT_TRUE(test::throws_with([&] { conv_output_shape(in, conv(1, 8, 3, 1, kMax / 2, 1)); },
                                "overflows"));
  EXPECT_TRUE(test::throws_with(
      [&] { involution_output_shape(in, involution(1, 3, huge_s, huge_d, 1, 1)); }, "overflows"));
  EXPECT_TRUE(test::throws_with(
      [&] { involution_output_shape(in, involution(1, 3037000501, 1, 1, 1, 1)); }, "K*K"));
  // Large but representable geometry still works: the output is exact.
  EXPECT_EQ(conv_output_shape(in, conv(1, 8, 3, 1, int64_t{1} << 40, int64_t{1} << 40)),
            (Shape{1, 8, 192, 192}));
  EXPECT_EQ(involution_output_shape(in, involution(1, 3, kMax, 1, 1, 1)), (Shape{1, 1, 1, 1}));
}

// A 3x3 kernel dilated by 2^40 passes the cap (its output is the input's size) but the cpu
// backend's padded band would need ~2^82 floats: it declines, and cpu-ref computes it.
TEST(MemoryEstimate, CpuBackendLeavesHugeDilationsToCpuRef) {
  const int64_t d = int64_t{1} << 40;
  Backend* cpu = find_backend("cpu");
  Backend* cpu_ref = find_backend("cpu-ref");
  ASSERT_TRUE(cpu && cpu_ref);
  EXPECT_FALSE(cpu->supports(conv(1, 8, 3, 1, d, d)));
  EXPECT_FALSE(cpu->supports(involution(1, 3, 1, d, 1, 1)));
  EXPECT_TRUE(cpu->supports(conv(64, 64, 7, 1, 3, 8)));
  EXPECT_TRUE(cpu->supports(involution(64, 7, 1, 8, 16, 4)));
  const Tensor x = test::random_tensor({1, 1, 6, 5}, 3);
  const ConvParams p = conv(1, 2, 3, 1, d, d);
  const Tensor y = cpu_ref->conv2d(x, p, random_conv_weights(p, 4), nullptr);
  ASSERT_EQ(y.shape, (Shape{1, 2, 6, 5}));
}

}  // namespace
}  // namespace ks
