// Properties of the reference operators that need no oracle.
#include "cpu_ref/reference.h"
#include "kernelscope/backend.h"
#include "kernelscope/error.h"
#include "test_util.h"

namespace ks {
namespace {

// A conv kernel with a single 1 at (ky, kx) copies the input shifted by (ky - p, kx - p).
TEST(ReferenceProperties, OneHotConvKernelShiftsTheImage) {
  const Tensor x = test::random_tensor({2, 1, 9, 11}, 1);
  for (int64_t ky = 0; ky < 3; ++ky)
    for (int64_t kx = 0; kx < 3; ++kx) {
      ConvParams p;
      p.in_channels = p.out_channels = 1;
      p.kernel_size = 3;
      p.padding = 1;
      p.has_bias = false;
      ConvWeights w;
      w.weight = Tensor({1, 1, 3, 3});
      w.weight.at(0, 0, ky, kx) = 1.0f;
      const Tensor y = ref::conv2d(x, p, w);
      ASSERT_EQ(y.shape, x.shape);
      for (int64_t b = 0; b < 2; ++b)
        for (int64_t i = 0; i < 9; ++i)
          for (int64_t j = 0; j < 11; ++j) {
            const int64_t si = i + ky - 1, sj = j + kx - 1;
            const float expected =
                (si >= 0 && si < 9 && sj >= 0 && sj < 11) ? x.at(b, 0, si, sj) : 0.0f;
            ASSERT_EQ(y.at(b, 0, i, j), expected) << "ky=" << ky << " kx=" << kx;
          }
    }
}

// With W1 = 0 the generated kernel is b1 at every pixel; with gc = 1 the involution is
// then a depthwise convolution whose kernel is b1 reshaped per channel.
TEST(ReferenceProperties, PixelIndependentInvolutionEqualsDepthwiseConv) {
  for (int64_t dilation : {1, 2})
    for (int64_t stride : {1, 2}) {
      InvolutionParams p;
      p.channels = 4;
      p.kernel_size = 3;
      p.stride = stride;
      p.dilation = dilation;
      p.group_channels = 1;
      p.reduction = 2;
      InvolutionWeights w = random_involution_weights(p, 7);
      std::fill(w.span_weight.data.begin(), w.span_weight.data.end(), 0.0f);
      const Tensor x = test::random_tensor({2, 4, 9, 7}, 3);
      const Tensor kernels = ref::involution_kernels(x, p, w);
      const Tensor y = ref::involution_aggregate(x, kernels, p);

      ConvParams cp;
      cp.in_channels = cp.out_channels = cp.groups = 4;
      cp.kernel_size = 3;
      cp.stride = stride;
      cp.dilation = dilation;
      cp.padding = p.padding();
      cp.has_bias = false;
      ConvWeights cw;
      cw.weight = Tensor({4, 1, 3, 3});
      cw.weight.data = w.span_bias.data;  // row g*K*K + k, one group per channel
      const Tensor expected = ref::conv2d(x, cp, cw);
      EXPECT_TRUE(test::all_close(y, expected)) << "stride " << stride << " dilation " << dilation;
    }
}

TEST(ReferenceProperties, InvolutionRejectsEvenKernel) {
  InvolutionParams p;
  p.kernel_size = 4;
  EXPECT_THROW(involution_output_shape({1, 3, 8, 8}, p), Error);
}

TEST(Registry, CpuRefIsAlwaysThereAndAutoPicksSomething) {
  EXPECT_NE(find_backend("cpu-ref"), nullptr);
  EXPECT_NO_THROW(select_backend("auto"));
  EXPECT_THROW(select_backend("no-such-backend"), Error);
}

}  // namespace
}  // namespace ks
