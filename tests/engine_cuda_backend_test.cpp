// The CUDA backends: graceful behaviour where they cannot run (always tested), and explicit
// GPU cases that skip with the reason where there is no usable device. The broad sweep of
// every backend against cpu-ref is tests/engine_backend_grid_test.cpp.
#include <string>
#include <vector>

#include "cpu_ref/reference.h"
#include "kernelscope/backend.h"
#include "kernelscope/error.h"
#include "test_util.h"

namespace ks {
namespace {

const char* const kCudaBackends[] = {"cuda", "cuda-naive", "cudnn"};

// The backend, or a skip naming why it cannot run here.
#define KS_REQUIRE_GPU_BACKEND(var, name)                                          \
  Backend* var = find_backend(name);                                               \
  if (!var) GTEST_SKIP() << "this build has no '" << name << "' backend";          \
  {                                                                                \
    std::string why_;                                                              \
    if (!var->available(&why_)) GTEST_SKIP() << "no usable CUDA device: " << why_; \
  }

ConvParams conv_params(int64_t cin, int64_t cout, int64_t k, int64_t s, int64_t p, int64_t d,
                       int64_t g, bool bias) {
  ConvParams params;
  params.in_channels = cin;
  params.out_channels = cout;
  params.kernel_size = k;
  params.stride = s;
  params.padding = p;
  params.dilation = d;
  params.groups = g;
  params.has_bias = bias;
  return params;
}

InvolutionParams involution_params(int64_t c, int64_t k, int64_t s, int64_t d, int64_t gc,
                                   int64_t r) {
  InvolutionParams params;
  params.channels = c;
  params.kernel_size = k;
  params.stride = s;
  params.dilation = d;
  params.group_channels = gc;
  params.reduction = r;
  return params;
}

TEST(CudaBackend, RegisteredWhenBuiltWithCuda) {
#ifdef KS_HAVE_CUDA
  EXPECT_NE(find_backend("cuda"), nullptr);
  EXPECT_NE(find_backend("cuda-naive"), nullptr);
  // Fastest first: the GPU backends come before the CPU ones, cpu-ref last.
  const std::vector<std::string> names = backend_names();
  ASSERT_FALSE(names.empty());
  EXPECT_EQ(names.front(), "cuda");
  EXPECT_EQ(names.back(), "cpu-ref");
#else
  EXPECT_EQ(find_backend("cuda"), nullptr);
  GTEST_SKIP() << "built without CUDA";
#endif
}

TEST(CudaBackend, UnavailableBackendsExplainWhyInOneLine) {
  int compiled = 0;
  for (const char* name : kCudaBackends) {
    Backend* b = find_backend(name);
    if (!b) continue;
    ++compiled;
    std::string why;
    if (b->available(&why)) continue;
    EXPECT_FALSE(why.empty()) << name;
    EXPECT_EQ(why.find('\n'), std::string::npos) << name << ": " << why;
  }
  if (compiled == 0) GTEST_SKIP() << "built without CUDA";
}

TEST(CudaBackend, AutoNeverPicksAnUnavailableGpuBackend) {
  Backend* cuda = find_backend("cuda");
  if (!cuda) GTEST_SKIP() << "built without CUDA";
  std::string why;
  if (cuda->available(&why)) GTEST_SKIP() << "a GPU is usable here, nothing to fall back from";
  std::string notice;
  Backend& chosen = select_backend("auto", &notice);
  EXPECT_NE(chosen.name(), "cuda");
  EXPECT_NE(chosen.name(), "cuda-naive");
  EXPECT_NE(chosen.name(), "cudnn");
  EXPECT_TRUE(chosen.available());
  // The user is told why the GPU was skipped.
  EXPECT_NE(notice.find("cuda"), std::string::npos) << notice;
  EXPECT_NE(notice.find(why), std::string::npos) << notice;
  // Asking for it by name is an error with the reason, not a crash.
  try {
    select_backend("cuda");
    FAIL() << "select_backend(\"cuda\") succeeded without a usable GPU";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find(why), std::string::npos) << e.what();
  }
}

TEST(CudaBackend, OperationsThrowErrorWhenUnavailable) {
  bool tested = false;
  for (const char* name : kCudaBackends) {
    Backend* b = find_backend(name);
    if (!b || b->available()) continue;
    tested = true;
    const ConvParams cp = conv_params(3, 4, 3, 1, 1, 1, 1, true);
    const Tensor x = test::random_tensor({1, 3, 8, 8}, 1);
    StageTimes times;
    EXPECT_THROW(b->conv2d(x, cp, random_conv_weights(cp, 2), &times), Error) << name;
    const InvolutionParams ip = involution_params(3, 3, 1, 1, 1, 1);
    EXPECT_THROW(b->involution2d(x, ip, random_involution_weights(ip, 3), &times), Error) << name;
  }
  if (!tested) GTEST_SKIP() << "no compiled-in CUDA backend is unavailable here";
}

TEST(CudaBackend, CudnnIsConvolutionOnly) {
  Backend* b = find_backend("cudnn");
  if (!b) GTEST_SKIP() << "this build has no cuDNN backend";
  EXPECT_TRUE(b->supports(conv_params(3, 4, 3, 1, 1, 1, 1, true)));
  EXPECT_FALSE(b->supports(involution_params(3, 3, 1, 1, 1, 1)));
}

// --- GPU cases: skipped without a device -------------------------------------------------

void expect_conv_matches_reference(Backend& b, const Shape& shape, const ConvParams& p) {
  const Tensor x = test::random_tensor(shape, 11);
  const ConvWeights w = random_conv_weights(p, 12);
  StageTimes times;
  const Tensor got = b.conv2d(x, p, w, &times);
  EXPECT_TRUE(test::all_close(got, ref::conv2d(x, p, w), 1e-4f, 1e-4f))
      << b.name() << " K=" << p.kernel_size << " s=" << p.stride << " p=" << p.padding
      << " d=" << p.dilation << " g=" << p.groups;
  EXPECT_GT(times.total_ms, 0.0);
  EXPECT_GE(times.total_ms + 1e-3, times.upload_ms + times.aggregation_ms + times.download_ms);
}

void expect_involution_matches_reference(Backend& b, const Shape& shape,
                                         const InvolutionParams& p) {
  const Tensor x = test::random_tensor(shape, 21);
  const InvolutionWeights w = random_involution_weights(p, 22);
  StageTimes times;
  const InvolutionResult got = b.involution2d(x, p, w, &times);
  const Tensor kernels = ref::involution_kernels(x, p, w);
  EXPECT_TRUE(test::all_close(got.kernels, kernels, 1e-4f, 1e-4f)) << b.name() << " kernels";
  EXPECT_TRUE(test::all_close(got.output, ref::involution_aggregate(x, kernels, p), 1e-4f, 1e-4f))
      << b.name() << " K=" << p.kernel_size << " s=" << p.stride << " d=" << p.dilation
      << " gc=" << p.group_channels << " r=" << p.reduction;
  EXPECT_GT(times.kernel_generation_ms, 0.0);
  EXPECT_GT(times.aggregation_ms, 0.0);
  EXPECT_GE(times.total_ms + 1e-3, times.upload_ms + times.kernel_generation_ms +
                                       times.aggregation_ms + times.download_ms);
}

TEST(CudaBackendGpu, ConvEdgeCases) {
  for (const char* name : kCudaBackends) {
    KS_REQUIRE_GPU_BACKEND(b, name);
    // Even K, odd sizes not multiple of the 32 x 8 tile, no bias.
    expect_conv_matches_reference(*b, {2, 3, 37, 41}, conv_params(3, 5, 4, 1, 2, 1, 1, false));
    // Stride, dilation and groups together; 6 outputs per group is not a multiple of 4.
    expect_conv_matches_reference(*b, {3, 4, 23, 29}, conv_params(4, 12, 3, 2, 2, 2, 2, true));
    // Depthwise K7 stride 3.
    expect_conv_matches_reference(*b, {1, 5, 40, 33}, conv_params(5, 5, 7, 3, 3, 1, 5, true));
    // K*dilation too large for a shared-memory tile: the tiled backend falls back.
    expect_conv_matches_reference(*b, {1, 2, 130, 140}, conv_params(2, 3, 31, 1, 0, 4, 1, true));
    // Many input channels: several shared-memory stages per block.
    expect_conv_matches_reference(*b, {2, 40, 17, 19}, conv_params(40, 9, 3, 1, 1, 1, 1, true));
  }
}

TEST(CudaBackendGpu, InvolutionEdgeCases) {
  for (const char* name : {"cuda", "cuda-naive"}) {
    KS_REQUIRE_GPU_BACKEND(b, name);
    // Ceil-mode pooling on odd sizes with stride 2 and 3.
    expect_involution_matches_reference(*b, {2, 4, 23, 17}, involution_params(4, 3, 2, 1, 2, 2));
    expect_involution_matches_reference(*b, {1, 6, 19, 20}, involution_params(6, 5, 3, 2, 3, 1));
    // K7, gc16, r4 as in RedNet, batch 2.
    expect_involution_matches_reference(*b, {2, 64, 21, 22}, involution_params(64, 7, 1, 1, 16, 4));
    // C/r = 400 overflows the fused generator's shared memory: the naive path takes over.
    expect_involution_matches_reference(*b, {1, 400, 5, 6},
                                        involution_params(400, 3, 1, 1, 400, 1));
  }
}

TEST(CudaBackendGpu, RepeatedCallsReuseBuffersAndAgree) {
  KS_REQUIRE_GPU_BACKEND(b, "cuda");
  const ConvParams big = conv_params(3, 8, 3, 1, 1, 1, 1, true);
  const ConvParams small = conv_params(3, 2, 5, 1, 2, 1, 1, true);
  const Tensor xb = test::random_tensor({1, 3, 64, 64}, 5),
               xs = test::random_tensor({1, 3, 9, 9}, 6);
  const ConvWeights wb = random_conv_weights(big, 7), ws = random_conv_weights(small, 8);
  const Tensor first = b->conv2d(xb, big, wb, nullptr);
  // A smaller problem in the grown buffers, then the first again: no stale data leaks in.
  EXPECT_TRUE(
      test::all_close(b->conv2d(xs, small, ws, nullptr), ref::conv2d(xs, small, ws), 1e-4f, 1e-4f));
  EXPECT_TRUE(test::all_close(b->conv2d(xb, big, wb, nullptr), first, 0.0f, 0.0f));
}

}  // namespace
}  // namespace ks
