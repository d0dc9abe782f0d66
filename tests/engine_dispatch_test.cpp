// dispatch(): the one rule by which the CLI and the app turn "auto" or a backend name into a
// run (kernelscope/dispatch.h, docs/architecture.md "Dispatch"). Fake backends stand in for
// GPUs that are missing, decline parameters or fail at run time, so this runs on every
// machine; a few cases go through the real registry too.
#include <gtest/gtest.h>

#include "kernelscope/dispatch.h"
#include "test_util.h"

namespace ks {
namespace {

// A GPU-like backend whose answers each test sets.
class FakeGpu final : public Backend {
 public:
  explicit FakeGpu(std::string name) : name_(std::move(name)) {}
  std::string name() const override { return name_; }
  std::string description() const override { return "a fake GPU"; }
  bool available(std::string* why_not) const override {
    if (!why_unavailable.empty() && why_not) *why_not = why_unavailable;
    return why_unavailable.empty();
  }
  bool supports(const ConvParams& p) const override { return p.kernel_size <= max_kernel; }
  bool supports(const InvolutionParams& p) const override { return p.kernel_size <= max_kernel; }
  bool auto_may_pick() const override { return !racing_only; }
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

  std::string why_unavailable;
  int64_t max_kernel = 7;
  bool racing_only = false;
  int calls = 0;

 private:
  std::string name_;
};

struct Problem {
  Tensor input = test::random_tensor({1, 3, 9, 11}, 3);
  ConvParams params;
  ConvWeights weights;
  explicit Problem(int64_t kernel_size = 3) {
    params.in_channels = 3;
    params.out_channels = 4;
    params.kernel_size = kernel_size;
    params.padding = kernel_size / 2;
    weights = random_conv_weights(params, 5);
  }
  Tensor reference() const {
    return find_backend("cpu-ref")->conv2d(input, params, weights, nullptr);
  }
};

Backend& cpu_ref() { return *find_backend("cpu-ref"); }

TEST(Dispatch, ANamedBackendThatCannotRunTheParametersIsAnErrorNamingWhy) {
  FakeGpu gpu("fake-gpu");
  const std::vector<Backend*> backends = {&gpu, &cpu_ref()};
  const Problem p(9);  // K 9: more than the fake takes
  EXPECT_TRUE(test::throws_with([&] { choose_backend("fake-gpu", p.params, backends); },
                                "backend 'fake-gpu' does not support these conv parameters "
                                "(use auto, or a backend that does: cpu-ref)"));
  // Nothing runs in its place.
  int runs = 0;
  const BackendChoice choice = choose_backend("cpu-ref", p.params, backends);
  EXPECT_FALSE(choice.picked_by_auto);
  EXPECT_TRUE(choice.notice.empty());
  run_choice(choice, p.params, [&](Backend& b) {
    ++runs;
    EXPECT_EQ(&b, &cpu_ref());
  });
  EXPECT_EQ(runs, 1);
  EXPECT_EQ(gpu.calls, 0);
}

TEST(Dispatch, ANamedBackendMustExistAndBeAvailable) {
  FakeGpu gpu("fake-gpu");
  gpu.why_unavailable = "no CUDA-capable GPU found";
  const std::vector<Backend*> backends = {&gpu, &cpu_ref()};
  const Problem p;
  EXPECT_TRUE(test::throws_with([&] { choose_backend("fake-gpu", p.params, backends); },
                                "backend 'fake-gpu' is not available: no CUDA-capable GPU found"));
  EXPECT_TRUE(
      test::throws_with([&] { choose_backend("nope", p.params, backends); },
                        "unknown backend 'nope' (this build has: auto, fake-gpu, cpu-ref)"));
}

TEST(Dispatch, AutoPicksTheFirstAvailableBackendThatSupportsTheParametersAndSaysWhatItSkipped) {
  FakeGpu missing("gpu-missing"), racer("gpu-racer"), small("gpu-small"), fine("gpu-fine");
  missing.why_unavailable = "no NVIDIA driver found";
  racer.racing_only = true;  // available and able, but auto never picks it
  small.max_kernel = 3;
  const std::vector<Backend*> backends = {&missing, &racer, &small, &fine, &cpu_ref()};

  const BackendChoice k3 = choose_backend("auto", Problem(3).params, backends);
  EXPECT_EQ(k3.backend, &small);
  EXPECT_TRUE(k3.picked_by_auto);
  EXPECT_EQ(k3.notice, "gpu-missing unavailable (no NVIDIA driver found), using gpu-small");

  const BackendChoice k5 = choose_backend("auto", Problem(5).params, backends);
  EXPECT_EQ(k5.backend, &fine);
  EXPECT_EQ(k5.notice,
            "gpu-missing unavailable (no NVIDIA driver found); gpu-small does not support these "
            "conv parameters, using gpu-fine");

  fine.max_kernel = 3;
  const BackendChoice k5_cpu = choose_backend("auto", Problem(5).params, backends);
  EXPECT_EQ(k5_cpu.backend, &cpu_ref());
  EXPECT_NE(k5_cpu.backend, &racer);
}

// The registry: the cpu backend declines a dilation whose padded band cannot fit; auto hands
// it to cpu-ref (as `kernelscope run` always did), naming it is an error (as the app now
// agrees).
TEST(Dispatch, TheRegistryFollowsTheRuleForParametersTheCpuBackendDeclines) {
  if (!find_backend("cpu")) GTEST_SKIP() << "no cpu backend on this machine";
  ConvParams huge;
  huge.in_channels = 1;
  huge.out_channels = 1;
  huge.dilation = int64_t{1} << 40;
  huge.padding = huge.dilation;
  ASSERT_FALSE(find_backend("cpu")->supports(huge));
  EXPECT_TRUE(test::throws_with([&] { choose_backend("cpu", huge); },
                                "backend 'cpu' does not support these conv parameters"));
  const BackendChoice choice = choose_backend("auto", huge);
  EXPECT_EQ(choice.backend->name(), "cpu-ref");
  EXPECT_NE(choice.notice.find("cpu does not support these conv parameters, using cpu-ref"),
            std::string::npos)
      << choice.notice;
}

TEST(Dispatch, AGpuPickedByAutoThatFailsAtRunTimeHandsTheWorkToTheCpuWithOneNotice) {
  FakeGpu gpu("fake-gpu");
  const std::vector<Backend*> backends = {&gpu, &cpu_ref()};
  const Problem p;
  Tensor out;
  std::vector<std::string> ran_on;
  const Dispatched done = run_choice(
      choose_backend("auto", p.params, backends), p.params,
      [&](Backend& b) {
        ran_on.push_back(b.name());
        out = b.conv2d(p.input, p.params, p.weights, nullptr);
      },
      backends);
  EXPECT_EQ(ran_on, (std::vector<std::string>{"fake-gpu", "cpu-ref"}));
  EXPECT_EQ(done.backend, &cpu_ref());
  EXPECT_EQ(done.notice,
            "fake-gpu failed (out of GPU memory in cudaMalloc(&ptr, bytes) at "
            "device_buffer.h:52), using cpu-ref");
  EXPECT_TRUE(test::all_close(out, p.reference()));
}

TEST(Dispatch, ANamedGpuThatFailsAtRunTimeReportsItsError) {
  FakeGpu gpu("fake-gpu");
  const std::vector<Backend*> backends = {&gpu, &cpu_ref()};
  const Problem p;
  EXPECT_TRUE(test::throws_with(
      [&] {
        run_choice(
            choose_backend("fake-gpu", p.params, backends), p.params,
            [&](Backend& b) { b.conv2d(p.input, p.params, p.weights, nullptr); }, backends);
      },
      "out of GPU memory"));
  EXPECT_EQ(gpu.calls, 1);
}

TEST(Dispatch, ACpuBackendThatFailsIsNotRetriedAndCancelIsNotAFailure) {
  const Problem p;
  int calls = 0;
  EXPECT_TRUE(test::throws_with(
      [&] {
        dispatch("auto", p.params, [&](Backend&) {
          ++calls;
          throw Error("bad weights");
        });
      },
      "bad weights"));
  EXPECT_EQ(calls, 1);

  FakeGpu gpu("fake-gpu");
  const std::vector<Backend*> with_gpu = {&gpu, &cpu_ref()};
  calls = 0;
  EXPECT_THROW(run_choice(
                   choose_backend("auto", p.params, with_gpu), p.params,
                   [&](Backend&) {
                     ++calls;
                     throw Cancelled();
                   },
                   with_gpu),
               Cancelled);
  EXPECT_EQ(calls, 1);
}

TEST(Dispatch, TheNotebookVariantIsAnOperationOnlyCpuRefSupports) {
  NotebookVariantParams p;
  p.channels = 3;
  const Tensor x = test::random_tensor({1, 3, 8, 9}, 4);
  const NotebookVariantWeights w = random_notebook_variant_weights(p, 2);
  NotebookVariantResult got;
  const Dispatched done = dispatch("auto", p, [&](Backend& b) {
    b.notebook_variant_into(x, p, w, RunOptions{}, &got, nullptr);
  });
  EXPECT_EQ(done.backend->name(), "cpu-ref");
  const NotebookVariantResult want = notebook_variant_involution(x, p, w);
  EXPECT_TRUE(test::all_close(got.output, want.output, 0, 0));
  EXPECT_TRUE(test::all_close(got.kernels, want.kernels, 0, 0));
  for (const std::string& name : backend_names()) {
    if (name == "cpu-ref" || !find_backend(name)->available()) continue;
    EXPECT_TRUE(test::throws_with([&] { choose_backend(name, p); },
                                  "backend '" + name + "' does not support the notebook variant"))
        << name;
  }
}

TEST(Dispatch, NoticesSayEachThingOnce) {
  std::string notice;
  append_notice(&notice, "cuda unavailable (x), using cpu");
  append_notice(&notice, "");
  append_notice(&notice, "cuda unavailable (x), using cpu");
  EXPECT_EQ(notice, "cuda unavailable (x), using cpu");
  append_notice(&notice, "cuda failed (y), using cpu");
  append_notice(&notice, "cuda failed (y), using cpu");
  EXPECT_EQ(notice, "cuda unavailable (x), using cpu; cuda failed (y), using cpu");
}

TEST(Dispatch, OnlyCpuBackendsCountAsCpu) {
  FakeGpu gpu("fake-gpu");
  EXPECT_FALSE(is_cpu_backend(gpu));
  for (const std::string& name : backend_names())
    EXPECT_EQ(is_cpu_backend(*find_backend(name)), name == "cpu" || name == "cpu-ref") << name;
}

}  // namespace
}  // namespace ks
