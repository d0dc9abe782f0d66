// The CUDA kernels' index arithmetic (engine/src/cuda/index_math.h), checked on the CPU
// against the reference operators' formulas. These run on every machine, GPU or not, so the
// part of the GPU path that is plain arithmetic is tested even where it cannot execute.
#include <gtest/gtest.h>

#include <algorithm>
#include <set>
#include <vector>

#include "cuda/index_math.h"
#include "kernelscope/error.h"
#include "kernelscope/ops.h"

namespace ks::cuda {
namespace {

TEST(CudaIndexMath, OutputSizeMatchesConvShapeRule) {
  for (int in : {1, 2, 5, 8, 13})
    for (int k : {1, 2, 3, 4, 7})
      for (int s : {1, 2, 3})
        for (int p : {0, 1, 3})
          for (int d : {1, 2, 3}) {
            ConvParams params;
            params.in_channels = 1;
            params.out_channels = 1;
            params.kernel_size = k;
            params.stride = s;
            params.padding = p;
            params.dilation = d;
            int expected = 0;
            try {
              expected = static_cast<int>(conv_output_shape({1, 1, in, in}, params)[2]);
            } catch (const Error&) {
              expected = 0;  // the shape rule rejects it: the kernel must see "no output"
            }
            EXPECT_EQ(conv_out_size(in, k, s, p, d), expected)
                << "in=" << in << " k=" << k << " s=" << s << " p=" << p << " d=" << d;
          }
}

// Every tap of every output in a tile lands inside the staged halo, and the halo is no
// larger than needed: the last output's last tap is its last element.
TEST(CudaIndexMath, HaloCoversEveryTapOfTheTileAndNoMore) {
  for (int tile : {1, 4, 8, 32})
    for (int k : {1, 2, 3, 7})
      for (int s : {1, 2, 4})
        for (int d : {1, 3})
          for (int p : {0, 2})
            for (int out0 : {0, 5}) {
              const int in0 = input_coord(out0, 0, s, p, d);
              const int extent = halo_extent(tile, k, s, d);
              int lowest = in0 + extent, highest = in0 - 1;
              for (int t = 0; t < tile; ++t)
                for (int tap = 0; tap < k; ++tap) {
                  const int v = input_coord(out0 + t, tap, s, p, d);
                  lowest = std::min(lowest, v);
                  highest = std::max(highest, v);
                }
              EXPECT_EQ(lowest, in0);
              EXPECT_EQ(highest, in0 + extent - 1)
                  << "tile=" << tile << " k=" << k << " s=" << s << " d=" << d;
            }
}

TEST(CudaIndexMath, InputCoordIsTheReferenceFormula) {
  // ks::ref: yy = i * stride - padding + ky * dilation
  EXPECT_EQ(input_coord(0, 0, 1, 1, 1), -1);
  EXPECT_EQ(input_coord(3, 2, 2, 3, 2), 3 * 2 - 3 + 2 * 2);
  EXPECT_TRUE(in_range(0, 5));
  EXPECT_TRUE(in_range(4, 5));
  EXPECT_FALSE(in_range(5, 5));
  EXPECT_FALSE(in_range(-1, 5));
}

// Ceil-mode pooling: the windows of outputs 0..ceil(n/s)-1 tile [0, n) exactly, none is
// empty, and only the last one may be clipped.
TEST(CudaIndexMath, CeilModePoolWindowsPartitionTheInput) {
  for (int n : {1, 2, 5, 7, 8, 13})
    for (int s : {1, 2, 3, 4}) {
      const int outputs = ceil_div(n, s);
      std::vector<int> hits(static_cast<size_t>(n), 0);
      for (int o = 0; o < outputs; ++o) {
        const int b = pool_begin(o, s), e = pool_end(o, s, n);
        ASSERT_LT(b, e) << "empty window n=" << n << " s=" << s << " o=" << o;
        if (o + 1 < outputs) {
          EXPECT_EQ(e - b, s);
        }
        for (int v = b; v < e; ++v) ++hits[static_cast<size_t>(v)];
      }
      for (int v = 0; v < n; ++v) EXPECT_EQ(hits[static_cast<size_t>(v)], 1) << "n=" << n;
      ASSERT_EQ(outputs, static_cast<int>(involution_output_shape(
                             {1, 1, n, n}, InvolutionParams{1, 1, s, 1, 1, 1})[2]));
    }
}

TEST(CudaIndexMath, NchwIndexMatchesTensorLayoutAndRoundTrips) {
  Tensor t({2, 3, 4, 5});
  for (size_t i = 0; i < t.data.size(); ++i) t.data[i] = static_cast<float>(i);
  for (int64_t n = 0; n < 2; ++n)
    for (int64_t c = 0; c < 3; ++c)
      for (int64_t y = 0; y < 4; ++y)
        for (int64_t x = 0; x < 5; ++x) {
          const int64_t flat = nchw_index(n, c, y, x, 3, 4, 5);
          EXPECT_EQ(static_cast<float>(flat), t.at(n, c, y, x));
          const Nchw back = nchw_unflatten(flat, 3, 4, 5);
          EXPECT_EQ(back.n, n);
          EXPECT_EQ(back.c, c);
          EXPECT_EQ(back.y, y);
          EXPECT_EQ(back.x, x);
        }
}

// [B, G, K*K, H_out, W_out]: a bijection onto the tensor's flat range, with the tap index
// k = ky*K + kx and the span row g*K*K + k adjacent as in InvolutionWeights.
TEST(CudaIndexMath, KernelsIndexIsTheKernelsLayout) {
  const int64_t B = 2, G = 3, KK = 9, H = 4, W = 5;
  std::set<int64_t> seen;
  for (int64_t b = 0; b < B; ++b)
    for (int64_t g = 0; g < G; ++g)
      for (int64_t k = 0; k < KK; ++k)
        for (int64_t i = 0; i < H; ++i)
          for (int64_t j = 0; j < W; ++j) {
            const int64_t idx = kernels_index(b, g, k, i, j, G, KK, H, W);
            EXPECT_EQ(idx, (((b * G + g) * KK + k) * H + i) * W + j);
            // Same element seen as [B, G*K*K, H, W] with row r = g*K*K + k.
            EXPECT_EQ(idx, nchw_index(b, g * KK + k, i, j, G * KK, H, W));
            seen.insert(idx);
          }
  EXPECT_EQ(static_cast<int64_t>(seen.size()), B * G * KK * H * W);
  EXPECT_EQ(*seen.begin(), 0);
  EXPECT_EQ(*seen.rbegin(), B * G * KK * H * W - 1);
}

TEST(CudaIndexMath, GroupsOfChannels) {
  // conv: 12 output channels in 3 groups of 4
  EXPECT_EQ(conv_group(0, 4), 0);
  EXPECT_EQ(conv_group(3, 4), 0);
  EXPECT_EQ(conv_group(4, 4), 1);
  EXPECT_EQ(conv_group(11, 4), 2);
  // involution: gc = 16, channel 31 uses the kernel of group 1
  EXPECT_EQ(involution_group(15, 16), 0);
  EXPECT_EQ(involution_group(16, 16), 1);
  EXPECT_EQ(involution_group(31, 16), 1);
}

TEST(CudaIndexMath, SharedMemoryPlans) {
  // 8 x 32 tile, K = 3, s = d = 1: halo 10 x 34; 2 channels, 4 output channels of 9 taps.
  EXPECT_EQ(conv_tile_smem_floats(8, 32, 3, 1, 1, 2, 4), 2 * (10 * 34 + 4 * 9));
  // 1 x 32 tile, K = 2: halo 2 x 33 = 66 floats, padded to 68 so the weights are aligned.
  EXPECT_EQ(conv_tile_smem_floats(1, 32, 2, 1, 1, 1, 8), 68 + 8 * 4);
  // involution, 4 x 32 tile, K = 7: 49 * 128 kernel values + 3 channels of 10 x 38 halo.
  EXPECT_EQ(involution_tile_smem_floats(4, 32, 7, 1, 1, 3), 49 * 128 + 3 * 10 * 38);
  EXPECT_EQ(generation_smem_floats(64, 16, 32), (64 + 16) * 32);
  // The plans grow with every parameter, so the host's "largest tile that fits" search
  // can stop at the first fit.
  EXPECT_LT(conv_tile_smem_floats(4, 32, 3, 1, 1, 1, 4),
            conv_tile_smem_floats(8, 32, 3, 1, 1, 1, 4));
  EXPECT_LT(involution_tile_smem_floats(4, 32, 7, 1, 1, 1),
            involution_tile_smem_floats(4, 32, 7, 2, 1, 1));
}

TEST(CudaIndexMath, CeilDivision) {
  EXPECT_EQ(ceil_div(7, 2), 4);
  EXPECT_EQ(ceil_div(8, 2), 4);
  EXPECT_EQ(ceil_div(1, 32), 1);
  EXPECT_EQ(ceil_div64(int64_t{1} << 40, 256), (int64_t{1} << 40) / 256);
}

}  // namespace
}  // namespace ks::cuda
