// More oracle-free properties of the reference operators: identities that hold exactly in
// real arithmetic, so any indexing or formula slip in the loops shows up as a mismatch.
#include <algorithm>
#include <cmath>

#include "cpu_ref/reference.h"
#include "test_util.h"

namespace ks {
namespace {

ConvParams conv_params(int64_t cin, int64_t cout, int64_t k, int64_t s, int64_t p, int64_t d,
                       int64_t groups, bool bias) {
  ConvParams c;
  c.in_channels = cin;
  c.out_channels = cout;
  c.kernel_size = k;
  c.stride = s;
  c.padding = p;
  c.dilation = d;
  c.groups = groups;
  c.has_bias = bias;
  return c;
}

InvolutionParams involution_params(int64_t c, int64_t k, int64_t s, int64_t d, int64_t gc,
                                   int64_t r) {
  InvolutionParams p;
  p.channels = c;
  p.kernel_size = k;
  p.stride = s;
  p.dilation = d;
  p.group_channels = gc;
  p.reduction = r;
  return p;
}

// Non-trivial BN statistics, so the properties exercise normalisation and both ReLU sides.
InvolutionWeights involution_weights(const InvolutionParams& p, uint64_t seed) {
  InvolutionWeights w = random_involution_weights(p, seed);
  const int64_t cr = p.reduced_channels();
  w.bn_gamma = test::random_tensor({cr}, seed + 1, -1.5f, 1.5f);
  w.bn_beta = test::random_tensor({cr}, seed + 2, -0.3f, 0.3f);
  w.bn_mean = test::random_tensor({cr}, seed + 3, -0.3f, 0.3f);
  w.bn_var = test::random_tensor({cr}, seed + 4, 0.3f, 2.0f);
  return w;
}

// Element (b, g, tap, i, j) of a [B, G, K*K, H_out, W_out] kernel tensor.
size_t kernel_index(const Shape& k, int64_t b, int64_t g, int64_t t, int64_t i, int64_t j) {
  return static_cast<size_t>((((b * k[1] + g) * k[2] + t) * k[3] + i) * k[4] + j);
}
float& kernel_at(Tensor& k, int64_t b, int64_t g, int64_t t, int64_t i, int64_t j) {
  return k.data[kernel_index(k.shape, b, g, t, i, j)];
}
float kernel_at(const Tensor& k, int64_t b, int64_t g, int64_t t, int64_t i, int64_t j) {
  return k.data[kernel_index(k.shape, b, g, t, i, j)];
}

// Batch item b of a rank-4 or rank-5 tensor, as a batch of one.
Tensor batch_item(const Tensor& t, int64_t b) {
  Shape shape = t.shape;
  shape[0] = 1;
  Tensor out(shape);
  const auto n = static_cast<size_t>(out.numel());
  std::copy(t.data.begin() + static_cast<std::ptrdiff_t>(n * static_cast<size_t>(b)),
            t.data.begin() + static_cast<std::ptrdiff_t>(n * static_cast<size_t>(b + 1)),
            out.data.begin());
  return out;
}

// Output pixels (i*s, j*s) of a stride-1 result: what a stride-s result must equal when the
// stride only decimates.
Tensor subsample(const Tensor& t, int64_t s, int64_t h_out, int64_t w_out) {
  Tensor out({t.dim(0), t.dim(1), h_out, w_out});
  for (int64_t b = 0; b < t.dim(0); ++b)
    for (int64_t c = 0; c < t.dim(1); ++c)
      for (int64_t i = 0; i < h_out; ++i)
        for (int64_t j = 0; j < w_out; ++j) out.at(b, c, i, j) = t.at(b, c, i * s, j * s);
  return out;
}

TEST(ConvProperties, LinearInTheInput) {
  const ConvParams p = conv_params(4, 6, 3, 2, 1, 2, 2, false);
  const ConvWeights w = random_conv_weights(p, 11);
  const Tensor x1 = test::random_tensor({2, 4, 11, 8}, 1),
               x2 = test::random_tensor({2, 4, 11, 8}, 2);
  Tensor mix(x1.shape);
  for (size_t i = 0; i < mix.data.size(); ++i) mix.data[i] = 0.5f * x1.data[i] - 2.0f * x2.data[i];
  const Tensor y1 = ref::conv2d(x1, p, w), y2 = ref::conv2d(x2, p, w);
  Tensor expected(y1.shape);
  for (size_t i = 0; i < expected.data.size(); ++i)
    expected.data[i] = 0.5f * y1.data[i] - 2.0f * y2.data[i];
  EXPECT_TRUE(test::all_close(ref::conv2d(mix, p, w), expected));
}

TEST(ConvProperties, BiasAddsOneConstantPerOutputChannel) {
  const ConvParams with = conv_params(3, 5, 4, 1, 3, 1, 1, true);
  ConvParams without = with;
  without.has_bias = false;
  const ConvWeights w = random_conv_weights(with, 12);
  ConvWeights w_no_bias = w;
  w_no_bias.bias = Tensor();
  const Tensor x = test::random_tensor({2, 3, 7, 9}, 3);
  Tensor expected = ref::conv2d(x, without, w_no_bias);
  for (int64_t b = 0; b < expected.dim(0); ++b)
    for (int64_t co = 0; co < 5; ++co)
      for (int64_t i = 0; i < expected.dim(2); ++i)
        for (int64_t j = 0; j < expected.dim(3); ++j)
          expected.at(b, co, i, j) += w.bias.data[static_cast<size_t>(co)];
  // The border pixels, where padding covers the whole kernel, are the bias alone.
  EXPECT_TRUE(test::all_close(ref::conv2d(x, with, w), expected));
}

// A grouped convolution is `groups` independent convolutions on slices of the channels.
TEST(ConvProperties, GroupedConvEqualsConcatenatedPerGroupConvs) {
  struct Case {
    int64_t cin, cout, groups;
  };
  for (const Case& c : {Case{4, 6, 2}, Case{6, 9, 3}, Case{3, 6, 3}, Case{4, 4, 4}}) {
    SCOPED_TRACE("groups " + std::to_string(c.groups) + " cin " + std::to_string(c.cin));
    const ConvParams p = conv_params(c.cin, c.cout, 3, 2, 2, 1, c.groups, true);
    const ConvWeights w = random_conv_weights(p, 13);
    const Tensor x = test::random_tensor({2, c.cin, 9, 10}, 4);
    const Tensor y = ref::conv2d(x, p, w);
    const int64_t in_g = c.cin / c.groups, out_g = c.cout / c.groups;
    for (int64_t g = 0; g < c.groups; ++g) {
      const ConvParams pg = conv_params(in_g, out_g, 3, 2, 2, 1, 1, true);
      ConvWeights wg;
      wg.weight = Tensor({out_g, in_g, 3, 3});
      wg.bias = Tensor({out_g});
      const size_t per_out = static_cast<size_t>(in_g * 9);
      std::copy_n(w.weight.data.begin() + static_cast<std::ptrdiff_t>(g * out_g * in_g * 9),
                  per_out * static_cast<size_t>(out_g), wg.weight.data.begin());
      std::copy_n(w.bias.data.begin() + g * out_g, out_g, wg.bias.data.begin());
      Tensor xg({2, in_g, 9, 10});
      for (int64_t b = 0; b < 2; ++b)
        for (int64_t ci = 0; ci < in_g; ++ci)
          for (int64_t i = 0; i < 9; ++i)
            for (int64_t j = 0; j < 10; ++j) xg.at(b, ci, i, j) = x.at(b, g * in_g + ci, i, j);
      const Tensor yg = ref::conv2d(xg, pg, wg);
      Tensor slice(yg.shape);
      for (int64_t b = 0; b < 2; ++b)
        for (int64_t co = 0; co < out_g; ++co)
          for (int64_t i = 0; i < yg.dim(2); ++i)
            for (int64_t j = 0; j < yg.dim(3); ++j)
              slice.at(b, co, i, j) = y.at(b, g * out_g + co, i, j);
      EXPECT_TRUE(test::all_close(slice, yg)) << "group " << g;
    }
  }
}

TEST(ConvProperties, StrideOnlyDecimatesTheStrideOneOutput) {
  for (int64_t k : {1, 2, 3, 4})
    for (int64_t s : {2, 3})
      for (int64_t d : {1, 2}) {
        SCOPED_TRACE("K " + std::to_string(k) + " s " + std::to_string(s) + " d " +
                     std::to_string(d));
        const ConvParams ps = conv_params(3, 4, k, s, 1, d, 1, true);
        ConvParams p1 = ps;
        p1.stride = 1;
        const ConvWeights w = random_conv_weights(ps, 14);
        const Tensor x = test::random_tensor({2, 3, 13, 10}, 5);
        const Tensor ys = ref::conv2d(x, ps, w);
        EXPECT_TRUE(test::all_close(ys, subsample(ref::conv2d(x, p1, w), s, ys.dim(2), ys.dim(3))));
      }
}

TEST(ConvProperties, PaddingEqualsAnExplicitZeroBorder) {
  const int64_t pad = 3;
  const ConvParams padded = conv_params(2, 3, 4, 2, pad, 1, 1, true);
  ConvParams unpadded = padded;
  unpadded.padding = 0;
  const ConvWeights w = random_conv_weights(padded, 15);
  const Tensor x = test::random_tensor({2, 2, 7, 9}, 6);
  Tensor bordered({2, 2, 7 + 2 * pad, 9 + 2 * pad});
  for (int64_t b = 0; b < 2; ++b)
    for (int64_t c = 0; c < 2; ++c)
      for (int64_t i = 0; i < 7; ++i)
        for (int64_t j = 0; j < 9; ++j) bordered.at(b, c, i + pad, j + pad) = x.at(b, c, i, j);
  EXPECT_TRUE(test::all_close(ref::conv2d(x, padded, w), ref::conv2d(bordered, unpadded, w)));
}

// Dilation d samples every d-th pixel: the same as an undilated kernel of size d(K-1)+1
// with zeros between the taps.
TEST(ConvProperties, DilationEqualsAZeroStuffedKernel) {
  for (int64_t k : {2, 3}) {
    const int64_t d = 3, span = d * (k - 1) + 1;
    const ConvParams dilated = conv_params(2, 2, k, 1, 2, d, 2, false);
    const ConvParams stuffed_p = conv_params(2, 2, span, 1, 2, 1, 2, false);
    const ConvWeights w = random_conv_weights(dilated, 16);
    ConvWeights stuffed;
    stuffed.weight = Tensor({2, 1, span, span});
    for (int64_t co = 0; co < 2; ++co)
      for (int64_t ky = 0; ky < k; ++ky)
        for (int64_t kx = 0; kx < k; ++kx)
          stuffed.weight.at(co, 0, ky * d, kx * d) = w.weight.at(co, 0, ky, kx);
    const Tensor x = test::random_tensor({1, 2, 11, 12}, 7);
    EXPECT_TRUE(test::all_close(ref::conv2d(x, dilated, w), ref::conv2d(x, stuffed_p, stuffed)))
        << "K " << k;
  }
}

TEST(BatchProperties, BatchItemsAreComputedIndependently) {
  const Tensor x = test::random_tensor({3, 4, 7, 9}, 8);
  const ConvParams cp = conv_params(4, 4, 3, 2, 1, 1, 2, true);
  const ConvWeights cw = random_conv_weights(cp, 17);
  const Tensor y = ref::conv2d(x, cp, cw);
  const InvolutionParams ip = involution_params(4, 3, 2, 1, 2, 2);
  const InvolutionWeights iw = involution_weights(ip, 18);
  const Tensor kernels = ref::involution_kernels(x, ip, iw);
  const Tensor out = ref::involution_aggregate(x, kernels, ip);
  for (int64_t b = 0; b < 3; ++b) {
    const Tensor xb = batch_item(x, b);
    EXPECT_TRUE(test::all_close(ref::conv2d(xb, cp, cw), batch_item(y, b))) << "conv item " << b;
    const Tensor kb = ref::involution_kernels(xb, ip, iw);
    EXPECT_TRUE(test::all_close(kb, batch_item(kernels, b))) << "kernels item " << b;
    EXPECT_TRUE(test::all_close(ref::involution_aggregate(xb, kb, ip), batch_item(out, b)))
        << "involution item " << b;
  }
}

// Eval-mode BN is an affine map per reduced channel, so it folds into the reduce weights
// (scale) and beta (shift); an identity BN on the folded layer gives the same kernels.
TEST(InvolutionProperties, BatchNormFoldsIntoTheReduceConv) {
  const InvolutionParams p = involution_params(8, 3, 2, 1, 2, 2);
  const InvolutionWeights w = involution_weights(p, 19);
  InvolutionWeights folded = w;
  const int64_t cr = p.reduced_channels();
  for (int64_t m = 0; m < cr; ++m) {
    const size_t mi = static_cast<size_t>(m);
    const double scale = w.bn_gamma.data[mi] / std::sqrt(double{w.bn_var.data[mi]} + w.bn_eps);
    for (int64_t c = 0; c < p.channels; ++c)
      folded.reduce_weight.data[static_cast<size_t>(m * p.channels + c)] =
          static_cast<float>(w.reduce_weight.data[static_cast<size_t>(m * p.channels + c)] * scale);
    folded.bn_beta.data[mi] = static_cast<float>(w.bn_beta.data[mi] - w.bn_mean.data[mi] * scale);
    folded.bn_gamma.data[mi] = 1.0f;
    folded.bn_mean.data[mi] = 0.0f;
    folded.bn_var.data[mi] = 1.0f - w.bn_eps;  // so that sqrt(var + eps) is 1
  }
  const Tensor x = test::random_tensor({2, 8, 9, 7}, 9);
  EXPECT_TRUE(
      test::all_close(ref::involution_kernels(x, p, folded), ref::involution_kernels(x, p, w)));
}

// With gamma = 0 the reduced features are ReLU(beta) at every pixel, so every pixel gets
// the kernel W1 . ReLU(beta) + b1, which the test computes by hand.
TEST(InvolutionProperties, ZeroGammaGivesTheKernelOfReluBeta) {
  const InvolutionParams p = involution_params(8, 3, 1, 1, 4, 1);
  InvolutionWeights w = involution_weights(p, 20);
  const int64_t cr = p.reduced_channels(), rows = p.taps() * p.groups();
  int negative_betas = 0;
  for (int64_t m = 0; m < cr; ++m) {
    w.bn_gamma.data[static_cast<size_t>(m)] = 0.0f;
    w.bn_beta.data[static_cast<size_t>(m)] = (m % 2 ? 0.25f : -0.25f) * static_cast<float>(m + 1);
    negative_betas += m % 2 == 0;
  }
  ASSERT_GT(negative_betas, 0);  // otherwise ReLU would not be tested
  const Tensor kernels = ref::involution_kernels(test::random_tensor({2, 8, 5, 6}, 10), p, w);
  for (int64_t row = 0; row < rows; ++row) {
    double expected = w.span_bias.data[static_cast<size_t>(row)];
    for (int64_t m = 0; m < cr; ++m)
      expected += w.span_weight.data[static_cast<size_t>(row * cr + m)] *
                  std::max(0.0f, w.bn_beta.data[static_cast<size_t>(m)]);
    const int64_t g = row / p.taps(), t = row % p.taps();
    for (int64_t b = 0; b < 2; ++b)
      for (int64_t i = 0; i < 5; ++i)
        for (int64_t j = 0; j < 6; ++j)
          ASSERT_NEAR(kernel_at(kernels, b, g, t, i, j), expected, 1e-6)
              << "row " << row << " at " << i << "," << j;
  }
}

// With K = 1 involution is a per-pixel scaling: Y[c] = kernel[c / gc] * X[c].
TEST(InvolutionProperties, OneByOneKernelScalesEachPixel) {
  const InvolutionParams p = involution_params(6, 1, 1, 2, 3, 2);
  const InvolutionWeights w = involution_weights(p, 21);
  const Tensor x = test::random_tensor({2, 6, 7, 5}, 11);
  const Tensor kernels = ref::involution_kernels(x, p, w);
  const Tensor y = ref::involution_aggregate(x, kernels, p);
  Tensor expected(x.shape);
  for (int64_t b = 0; b < 2; ++b)
    for (int64_t c = 0; c < 6; ++c)
      for (int64_t i = 0; i < 7; ++i)
        for (int64_t j = 0; j < 5; ++j)
          expected.at(b, c, i, j) = kernel_at(kernels, b, c / 3, 0, i, j) * x.at(b, c, i, j);
  EXPECT_TRUE(test::all_close(y, expected));
}

// Aggregation at stride s uses output pixel (i, j)'s kernel at input position (i*s, j*s):
// the same as stride-1 aggregation with the kernels placed there, decimated.
TEST(InvolutionProperties, StridedAggregationIsDecimatedStrideOneAggregation) {
  for (int64_t s : {2, 3})
    for (int64_t d : {1, 2}) {
      const InvolutionParams ps = involution_params(4, 5, s, d, 2, 1);
      InvolutionParams p1 = ps;
      p1.stride = 1;
      const Tensor x = test::random_tensor({2, 4, 11, 7}, 12);
      const Tensor ks = ref::involution_kernels(x, ps, involution_weights(ps, 22));
      Tensor k1({2, ps.groups(), ps.taps(), 11, 7});
      for (int64_t b = 0; b < 2; ++b)
        for (int64_t g = 0; g < ps.groups(); ++g)
          for (int64_t t = 0; t < ps.taps(); ++t)
            for (int64_t i = 0; i < ks.dim(3); ++i)
              for (int64_t j = 0; j < ks.dim(4); ++j)
                kernel_at(k1, b, g, t, i * s, j * s) = kernel_at(ks, b, g, t, i, j);
      const Tensor ys = ref::involution_aggregate(x, ks, ps);
      EXPECT_TRUE(test::all_close(
          ys, subsample(ref::involution_aggregate(x, k1, p1), s, ys.dim(2), ys.dim(3))))
          << "s " << s << " d " << d;
    }
}

// Kernel generation at stride s averages s x s windows (ceil mode: a partial edge window
// averages only its in-bounds pixels). On an input that is constant on those windows the
// average is the pixel itself, so the whole stride-s layer equals the stride-1 layer
// decimated -- including at the partial edge windows of an odd-sized image, where dividing
// by s*s would shrink the value. On a generic input the two differ, which shows that the
// stride-s kernels really are generated from pooled pixels.
TEST(InvolutionProperties, StrideDecimatesOnlyOnWindowConstantInputs) {
  for (int64_t s : {2, 3}) {
    SCOPED_TRACE("s " + std::to_string(s));
    const InvolutionParams ps = involution_params(8, 3, s, 1, 2, 2);
    InvolutionParams p1 = ps;
    p1.stride = 1;
    const InvolutionWeights w = involution_weights(ps, 23);
    const Tensor noise = test::random_tensor({2, 8, 13, 11}, 13);
    Tensor blocky(noise.shape);
    for (int64_t b = 0; b < 2; ++b)
      for (int64_t c = 0; c < 8; ++c)
        for (int64_t i = 0; i < 13; ++i)
          for (int64_t j = 0; j < 11; ++j)
            blocky.at(b, c, i, j) = noise.at(b, c, i / s * s, j / s * s);

    const Tensor ks = ref::involution_kernels(blocky, ps, w);
    const Tensor k1 = ref::involution_kernels(blocky, p1, w);
    Tensor k1_decimated(ks.shape);
    for (int64_t b = 0; b < 2; ++b)
      for (int64_t g = 0; g < ps.groups(); ++g)
        for (int64_t t = 0; t < ps.taps(); ++t)
          for (int64_t i = 0; i < ks.dim(3); ++i)
            for (int64_t j = 0; j < ks.dim(4); ++j)
              kernel_at(k1_decimated, b, g, t, i, j) = kernel_at(k1, b, g, t, i * s, j * s);
    EXPECT_TRUE(test::all_close(ks, k1_decimated)) << "kernels on a window-constant input";
    const Tensor ys = ref::involution_aggregate(blocky, ks, ps);
    EXPECT_TRUE(test::all_close(
        ys, subsample(ref::involution_aggregate(blocky, k1, p1), s, ys.dim(2), ys.dim(3))))
        << "output on a window-constant input";

    const Tensor ks_noise = ref::involution_kernels(noise, ps, w);
    const Tensor k1_noise = ref::involution_kernels(noise, p1, w);
    double largest_difference = 0;
    for (int64_t i = 0; i < ks_noise.dim(3); ++i)
      for (int64_t j = 0; j < ks_noise.dim(4); ++j)
        largest_difference =
            std::max(largest_difference, std::fabs(double{kernel_at(ks_noise, 0, 0, 0, i, j)} -
                                                   kernel_at(k1_noise, 0, 0, 0, i * s, j * s)));
    EXPECT_GT(largest_difference, 1e-3) << "stride-s kernels look like sampled, not pooled, pixels";
  }
}

}  // namespace
}  // namespace ks
