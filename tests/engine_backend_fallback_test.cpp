// run_with_cpu_fallback: what the CLI and the app do when a GPU backend picked by "auto"
// fails at run time. A fake GPU backend that always fails stands in for the real one, so
// this runs on every machine.
#include <gtest/gtest.h>

#include "kernelscope/backend.h"
#include "test_util.h"

namespace ks {
namespace {

class FailingGpu final : public Backend {
 public:
  std::string name() const override { return "fake-gpu"; }
  std::string description() const override { return "fails like a GPU out of memory"; }
  bool supports(const ConvParams&) const override { return true; }
  bool supports(const InvolutionParams&) const override { return true; }
  void conv2d_into(const Tensor&, const ConvParams&, const ConvWeights&, const RunOptions&, Tensor*,
                   StageTimes*) override {
    ++calls;
    throw Error("out of GPU memory in cudaMalloc(&ptr, bytes) at device_buffer.h:52");
  }
  void involution2d_into(const Tensor&, const InvolutionParams&, const InvolutionWeights&,
                         const RunOptions&, InvolutionResult*, StageTimes*) override {
    ++calls;
    throw Error("CUDA error cudaErrorLaunchFailure (unspecified launch failure) in launch");
  }
  int calls = 0;
};

struct Problem {
  Tensor input = test::random_tensor({1, 3, 9, 11}, 3);
  ConvParams params;
  ConvWeights weights;
  Problem() {
    params.in_channels = 3;
    params.out_channels = 4;
    params.padding = 1;
    weights = random_conv_weights(params, 5);
  }
};

TEST(BackendFallback, AutoRerunsAFailedGpuCallOnTheCpuAndSaysWhy) {
  FailingGpu gpu;
  Problem p;
  std::string notice = "earlier notice";
  std::string used;
  const Tensor out = run_with_cpu_fallback(gpu, true, &notice, [&](Backend& b) {
    used = b.name();
    return b.conv2d(p.input, p.params, p.weights, nullptr);
  });
  EXPECT_EQ(gpu.calls, 1);
  EXPECT_EQ(used, cpu_fallback_backend().name());
  EXPECT_TRUE(is_cpu_backend(cpu_fallback_backend()));
  EXPECT_EQ(notice,
            "earlier notice; fake-gpu failed (out of GPU memory in cudaMalloc(&ptr, "
            "bytes) at device_buffer.h:52), using " +
                cpu_fallback_backend().name());
  EXPECT_TRUE(
      test::all_close(out, find_backend("cpu-ref")->conv2d(p.input, p.params, p.weights, nullptr)));
}

TEST(BackendFallback, ANamedBackendReportsItsError) {
  FailingGpu gpu;
  Problem p;
  std::string notice;
  EXPECT_TRUE(test::throws_with(
      [&] {
        run_with_cpu_fallback(gpu, false, &notice, [&](Backend& b) {
          return b.conv2d(p.input, p.params, p.weights, nullptr);
        });
      },
      "out of GPU memory"));
  EXPECT_TRUE(notice.empty());
}

TEST(BackendFallback, ACpuBackendThatFailsIsNotRetried) {
  Backend* cpu = find_backend("cpu-ref");
  ASSERT_NE(cpu, nullptr);
  int calls = 0;
  std::string notice;
  EXPECT_TRUE(test::throws_with(
      [&] {
        run_with_cpu_fallback(*cpu, true, &notice, [&](Backend&) -> int {
          ++calls;
          throw Error("bad weights");
        });
      },
      "bad weights"));
  EXPECT_EQ(calls, 1);
  EXPECT_TRUE(notice.empty());
}

TEST(BackendFallback, OnlyCpuBackendsCountAsCpu) {
  FailingGpu gpu;
  EXPECT_FALSE(is_cpu_backend(gpu));
  for (const std::string& name : backend_names())
    EXPECT_EQ(is_cpu_backend(*find_backend(name)), name == "cpu" || name == "cpu-ref") << name;
}

}  // namespace
}  // namespace ks
