// The step-through's numbers are the engine's numbers: the explained total equals the
// reference output at every pixel tried (borders, padding, stride, dilation, groups, bias),
// the products add up, padded taps are marked, and the involution chain reproduces the
// reference kernels.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>

#include "cpu_ref/reference.h"
#include "kernelscope/error.h"
#include "kernelscope/explain.h"
#include "test_util.h"

namespace ks {
namespace {

struct ConvCase {
  int64_t c_in, c_out, k, stride, padding, dilation, groups;
  bool bias;
  int64_t h, w;
};

// Rows and columns worth checking: both borders, the neighbours of the borders, the middle.
std::vector<int64_t> probe_positions(int64_t n) {
  std::vector<int64_t> v = {0, n - 1, n / 2};
  if (n > 2) v.push_back(1), v.push_back(n - 2);
  return v;
}

TEST(ExplainConv, TotalEqualsReferenceAtBordersAndInside) {
  const ConvCase cases[] = {
      {3, 4, 3, 1, 1, 1, 1, true, 9, 11},  {4, 4, 3, 2, 2, 1, 2, false, 10, 7},
      {2, 6, 5, 1, 3, 2, 2, true, 12, 13}, {6, 6, 3, 3, 1, 1, 6, true, 11, 8},
      {3, 2, 2, 1, 0, 1, 1, true, 7, 9},   {4, 8, 4, 2, 3, 1, 4, true, 9, 9},
  };
  uint64_t seed = 1;
  for (const ConvCase& c : cases) {
    ConvParams p;
    p.in_channels = c.c_in;
    p.out_channels = c.c_out;
    p.kernel_size = c.k;
    p.stride = c.stride;
    p.padding = c.padding;
    p.dilation = c.dilation;
    p.groups = c.groups;
    p.has_bias = c.bias;
    const Tensor x = test::random_tensor({2, c.c_in, c.h, c.w}, seed++);
    const ConvWeights w = random_conv_weights(p, seed++);
    const Tensor y = ref::conv2d(x, p, w);
    for (int64_t b = 0; b < 2; ++b)
      for (int64_t co = 0; co < c.c_out; ++co)
        for (int64_t i : probe_positions(y.dim(2)))
          for (int64_t j : probe_positions(y.dim(3))) {
            const ConvPixelExplanation e = explain_conv_pixel(x, p, w, b, co, i, j);
            ASSERT_EQ(e.output, y.at(b, co, i, j)) << "case k=" << c.k << " s=" << c.stride
                                                   << " p=" << c.padding << " at " << i << "," << j;
            // What a view prints adds up: sum of channel sums + bias = total.
            double from_channels = e.bias;
            for (double s : e.channel_sums) from_channels += s;
            EXPECT_NEAR(from_channels, e.total, 1e-9);
            double from_products = e.bias;
            for (double v : e.products) from_products += v;
            EXPECT_NEAR(from_products, e.total, 1e-9);
            EXPECT_EQ(e.taps.size(), static_cast<size_t>(c.k * c.k));
            EXPECT_EQ(e.in_channels.size(), static_cast<size_t>(c.c_in / c.groups));
          }
  }
}

TEST(ExplainConv, PaddedTapsAreMarkedAndContributeZero) {
  ConvParams p;
  p.in_channels = 1;
  p.out_channels = 1;
  p.kernel_size = 3;
  p.padding = 1;
  const Tensor x = test::random_tensor({1, 1, 5, 5}, 7, 1.0f, 2.0f);  // no zero inputs
  const ConvWeights w = random_conv_weights(p, 8);
  const ConvPixelExplanation e = explain_conv_pixel(x, p, w, 0, 0, 0, 0);
  int padded = 0;
  for (size_t t = 0; t < e.taps.size(); ++t) {
    const ExplainTap& tap = e.taps[t];
    EXPECT_EQ(tap.in_bounds, tap.y >= 0 && tap.x >= 0);
    if (!tap.in_bounds) {
      ++padded;
      EXPECT_EQ(e.inputs[t], 0.0f);
      EXPECT_EQ(e.products[t], 0.0);
    } else {
      EXPECT_EQ(e.inputs[t], x.at(0, 0, tap.y, tap.x));
    }
  }
  EXPECT_EQ(padded, 5);  // the top row and left column of a corner window
  EXPECT_EQ(e.receptive_field.y0, -1);
  EXPECT_EQ(e.receptive_field.x1, 2);
  EXPECT_DOUBLE_EQ(e.bias, w.bias.data[0]);
}

TEST(ExplainConv, DilatedStridedTapsLandWhereTheFormulaSays) {
  ConvParams p;
  p.in_channels = 1;
  p.out_channels = 1;
  p.kernel_size = 3;
  p.stride = 2;
  p.padding = 2;
  p.dilation = 3;
  const Tensor x = test::random_tensor({1, 1, 13, 13}, 3);
  const ConvPixelExplanation e = explain_conv_pixel(x, p, random_conv_weights(p, 4), 0, 0, 2, 3);
  EXPECT_EQ(e.taps[0].y, 2 * 2 - 2);
  EXPECT_EQ(e.taps[0].x, 3 * 2 - 2);
  EXPECT_EQ(e.taps[8].y, 2 * 2 - 2 + 6);
  EXPECT_EQ(e.taps[8].x, 3 * 2 - 2 + 6);
  EXPECT_EQ(e.receptive_field.y1 - e.receptive_field.y0, 7);
}

TEST(ExplainConv, RejectsPixelsOutsideTheOutput) {
  ConvParams p;
  p.in_channels = 1;
  p.out_channels = 2;
  const Tensor x = test::random_tensor({1, 1, 5, 5}, 3);
  const ConvWeights w = random_conv_weights(p, 4);
  EXPECT_THROW(explain_conv_pixel(x, p, w, 0, 0, 3, 0), Error);  // output is 3x3
  EXPECT_THROW(explain_conv_pixel(x, p, w, 0, 2, 0, 0), Error);
  EXPECT_THROW(explain_conv_pixel(x, p, w, 1, 0, 0, 0), Error);
  EXPECT_THROW(explain_conv_pixel(x, p, w, 0, 0, 0, -1), Error);
}

struct InvCase {
  int64_t c, k, stride, dilation, group_channels, reduction, h, w;
};

TEST(ExplainInvolution, TotalAndChainEqualReference) {
  const InvCase cases[] = {
      {4, 3, 1, 1, 1, 1, 9, 10},  {8, 3, 2, 1, 4, 2, 11, 9}, {6, 5, 1, 2, 3, 3, 12, 12},
      {4, 7, 3, 1, 2, 4, 10, 13}, {3, 3, 2, 2, 3, 1, 7, 8},
  };
  uint64_t seed = 100;
  for (const InvCase& c : cases) {
    InvolutionParams p;
    p.channels = c.c;
    p.kernel_size = c.k;
    p.stride = c.stride;
    p.dilation = c.dilation;
    p.group_channels = c.group_channels;
    p.reduction = c.reduction;
    const Tensor x = test::random_tensor({2, c.c, c.h, c.w}, seed++);
    InvolutionWeights w = random_involution_weights(p, seed++);
    // Non-trivial BN so the chain's normalise step is exercised (and ReLU clips some).
    for (size_t m = 0; m < w.bn_gamma.data.size(); ++m) {
      w.bn_gamma.data[m] = 0.5f + 0.25f * static_cast<float>(m);
      w.bn_beta.data[m] = 0.1f * (static_cast<float>(m) - 1.0f);
      w.bn_mean.data[m] = 0.05f * static_cast<float>(m);
      w.bn_var.data[m] = 1.5f;
    }
    const Tensor kernels = ref::involution_kernels(x, p, w);
    const Tensor y = ref::involution_aggregate(x, kernels, p);
    const int64_t G = p.groups(), KK = p.taps(), H_out = y.dim(2), W_out = y.dim(3);
    for (int64_t b = 0; b < 2; ++b)
      for (int64_t ch = 0; ch < c.c; ++ch)
        for (int64_t i : probe_positions(H_out))
          for (int64_t j : probe_positions(W_out)) {
            const InvolutionPixelExplanation e = explain_involution_pixel(x, p, w, b, ch, i, j);
            ASSERT_EQ(e.output, y.at(b, ch, i, j)) << "K=" << c.k << " s=" << c.stride;
            double from_products = 0;
            for (double v : e.products) from_products += v;
            EXPECT_NEAR(from_products, e.total, 1e-9);
            EXPECT_EQ(e.group, ch / c.group_channels);
            EXPECT_EQ(e.channels_sharing_kernel.size(), static_cast<size_t>(c.group_channels));
            const InvolutionGeneration& g = e.generation;
            ASSERT_EQ(g.kernels.size(), static_cast<size_t>(G * KK));
            for (int64_t gg = 0; gg < G; ++gg)
              for (int64_t t = 0; t < KK; ++t)
                ASSERT_EQ(g.kernels[static_cast<size_t>(gg * KK + t)],
                          kernels.data[static_cast<size_t>(
                              (((b * G + gg) * KK + t) * H_out + i) * W_out + j)]);
            for (size_t m = 0; m < g.activated.size(); ++m)
              EXPECT_EQ(g.activated[m], std::max(0.0, g.normalised[m]));
            for (int64_t cc = 0; cc < c.c; ++cc)
              EXPECT_EQ(g.channel_group[static_cast<size_t>(cc)], cc / c.group_channels);
          }
  }
}

TEST(ExplainInvolution, PooledVectorAveragesTheStrideWindow) {
  InvolutionParams p;
  p.channels = 2;
  p.stride = 2;
  p.kernel_size = 3;
  const Tensor x = test::random_tensor({1, 2, 5, 5}, 11);
  const InvolutionWeights w = random_involution_weights(p, 12);
  // Output 3x3; pixel (2, 2) pools only x[4, 4] (ceil mode, the window hangs off the edge).
  const InvolutionPixelExplanation edge = explain_involution_pixel(x, p, w, 0, 1, 2, 2);
  EXPECT_NEAR(edge.generation.pooled[1], x.at(0, 1, 4, 4), 1e-7);
  EXPECT_EQ(edge.generation.pooled_window.y1 - edge.generation.pooled_window.y0, 1);
  const InvolutionPixelExplanation e = explain_involution_pixel(x, p, w, 0, 0, 1, 0);
  const double mean = (static_cast<double>(x.at(0, 0, 2, 0)) + x.at(0, 0, 2, 1) + x.at(0, 0, 3, 0) +
                       x.at(0, 0, 3, 1)) /
                      4;
  EXPECT_NEAR(e.generation.pooled[0], mean, 1e-12);
}

TEST(ParameterCount, MatchesPyTorchCounts) {
  ConvParams conv;  // nn.Conv2d(3, 8, 3): 8*3*9 + 8 = 224
  EXPECT_EQ(parameter_count(conv), 224);
  conv.groups = 1;
  conv.in_channels = 16;
  conv.out_channels = 16;
  conv.groups = 16;
  conv.has_bias = false;
  EXPECT_EQ(parameter_count(conv), 16 * 9);
  // involution(64, 7, 1) of the official code: conv1 64->16 no bias, BN(16), conv2 16->49*4.
  InvolutionParams inv;
  inv.channels = 64;
  inv.kernel_size = 7;
  inv.group_channels = 16;
  inv.reduction = 4;
  EXPECT_EQ(parameter_count(inv), 16 * 64 + 2 * 16 + 196 * 16 + 196);
}

}  // namespace
}  // namespace ks
