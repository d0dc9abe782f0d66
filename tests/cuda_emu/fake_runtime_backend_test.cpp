// The real CudaBackend (engine/src/cuda/cuda_backend.cpp) on the CPU: its CUDA runtime calls
// go to the fake of fake_runtime/cuda_runtime_api.h and its kernels to the emulator, so the
// host side of the GPU path runs on every machine: the device probe and its messages,
// uploads and downloads, buffer reuse, BN folding, scratch sizing, stage timing, and what a
// failed allocation or launch does.
// The emulator first: it stands in for the CUDA built-ins the kernel sources use.
#include "cuda_emu.h"

#include <gtest/gtest.h>

#include <cmath>
#include <set>
#include <thread>

#include "correctness_grid.h"
#include "cuda/conv2d_kernels.cuh"
#include "cuda/cuda_backend.h"
#include "cuda/cuda_check.h"
#include "cuda/involution_kernels.cuh"
#include "kernelscope/backend.h"
#include "kernelscope/dispatch.h"
#include "test_util.h"

// cuda_backend.cpp is compiled into this test against fake_runtime/cuda_runtime_api.h
// (tests/CMakeLists.txt); its kernels are the emulator's, handed over as a KernelTable.
namespace ks::cuda {
namespace {

// StreamLauncher's counterpart: the emulator runs the kernel, and the fake driver may make
// the launch fail the way a GPU reports it.
struct FakeStreamLauncher {
  template <class... Params, class... Args>
  void operator()(const char* kernel_name, const char* file, int line, dim3 grid, dim3 block,
                  size_t smem_bytes, void (*kernel)(Params...), Args... args) const {
    fake_cuda::Driver& driver = fake_cuda::driver();
    const cudaError_t fail =
        driver.dead_context != cudaSuccess ? driver.dead_context : driver.fail_kernels;
    if (driver.failure_kills_context) driver.dead_context = fail;
    if (fail != cudaSuccess)
      throw_cuda_error(fail, (std::string("launch of ") + kernel_name).c_str(), file, line);
    ks_emu::Launcher{}(kernel_name, file, line, grid, block, smem_bytes, kernel, args...);
  }
};

const KernelTable& emulated_kernels() {
  static const KernelTable table = {
      [](const ConvDims& d, const float* x, const float* w, const float* b, float* y,
         cudaStream_t) { launch_conv2d_tiled(FakeStreamLauncher{}, d, x, w, b, y); },
      [](const ConvDims& d, const float* x, const float* w, const float* b, float* y,
         cudaStream_t) { launch_conv2d_naive(FakeStreamLauncher{}, d, x, w, b, y); },
      [](const InvolutionDims& d, bool naive) -> long long {
        return naive ? naive_generation_scratch_floats(d) : fused_generation_scratch_floats(d);
      },
      [](const InvolutionDims& d, const float* x, const GenerationWeights& w, float* kernels,
         float* scratch, cudaStream_t) {
        launch_involution_generate_fused(FakeStreamLauncher{}, d, x, w, kernels, scratch);
      },
      [](const InvolutionDims& d, const float* x, const float* kernels, float* y, cudaStream_t) {
        launch_involution_aggregate_tiled(FakeStreamLauncher{}, d, x, kernels, y);
      },
      [](const InvolutionDims& d, const float* x, const GenerationWeights& w, float* kernels,
         float* scratch, cudaStream_t) {
        launch_involution_generate_naive(FakeStreamLauncher{}, d, x, w, kernels, scratch);
      },
      [](const InvolutionDims& d, const float* x, const float* kernels, float* y, cudaStream_t) {
        launch_involution_aggregate_naive(FakeStreamLauncher{}, d, x, kernels, y);
      },
      [](const InvolutionDims& d, const float* kernels, float* kernel_sum, cudaStream_t) {
        launch_involution_kernel_sum(FakeStreamLauncher{}, d, kernels, kernel_sum);
      },
      [](const InvolutionDims& d, const float* x, const GenerationWeights& w, float* y,
         float* kernels, float* kernel_sum, cudaStream_t) {
        return launch_involution_one_pass(FakeStreamLauncher{}, d, x, w, y, kernels, kernel_sum);
      },
      [] { return fake_cuda::driver().kernel_image_status; },
  };
  return table;
}

}  // namespace
}  // namespace ks::cuda

namespace ks {
namespace {

// The real host code on the emulated kernels. The staging limit is small, so that the
// grid's results take both download paths (staged and direct).
std::unique_ptr<Backend> make_fake_runtime_backend(cuda::Variant variant) {
  cuda::BackendTuning tuning;
  tuning.pinned_staging_max_bytes = size_t{32} << 10;
  return cuda::make_backend(variant, cuda::emulated_kernels(), tuning);
}
std::unique_ptr<Backend> make_fake_runtime_cuda_backend() {
  return make_fake_runtime_backend(cuda::Variant::Tiled);
}
std::unique_ptr<Backend> make_fake_runtime_cuda_naive_backend() {
  return make_fake_runtime_backend(cuda::Variant::Naive);
}

class FakeRuntime : public ::testing::Test {
 protected:
  void SetUp() override { fake_cuda::reset(); }
};

// The device probe runs once per process, so each scenario runs in a fresh one.
std::string probe_in_child(const std::function<void()>& configure) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  std::string why;
  configure();
  const auto backend = make_fake_runtime_cuda_backend();
  if (backend->available(&why)) why = "available";
  return why;
}

#define EXPECT_PROBE_SAYS(configure, message)                                   \
  EXPECT_EXIT(                                                                  \
      {                                                                         \
        std::fprintf(stderr, "probe: %s\n", probe_in_child(configure).c_str()); \
        std::exit(0);                                                           \
      },                                                                        \
      ::testing::ExitedWithCode(0), message)

TEST_F(FakeRuntime, DeviceProbeExplainsEveryWayAGpuIsUnusable) {
  EXPECT_PROBE_SAYS([] {}, "probe: available");
  EXPECT_PROBE_SAYS([] { fake_cuda::driver().device_count_error = cudaErrorNoDevice; },
                    "probe: no CUDA-capable GPU found");
  EXPECT_PROBE_SAYS([] { fake_cuda::driver().device_count = 0; },
                    "probe: no CUDA-capable GPU found");
  EXPECT_PROBE_SAYS(
      [] {
        fake_cuda::driver().device_count_error = cudaErrorInsufficientDriver;
        fake_cuda::driver().driver_version = 12040;
      },
      "probe: the NVIDIA driver supports CUDA 12.4 but this build needs CUDA 13.0; update the "
      "driver");
  EXPECT_PROBE_SAYS(
      [] {
        fake_cuda::driver().device_count_error = cudaErrorInsufficientDriver;
        fake_cuda::driver().driver_version = 0;
      },
      "probe: no NVIDIA driver found");
  EXPECT_PROBE_SAYS([] { fake_cuda::driver().major = 7; },
                    "probe: the GPU has compute capability 7.0; this build needs 7.5");
  EXPECT_PROBE_SAYS(
      [] { fake_cuda::driver().kernel_image_status = cudaErrorNoKernelImageForDevice; },
      "probe: this build has no kernel for this GPU \\(sm_90\\); rebuild with 90 in "
      "CMAKE_CUDA_ARCHITECTURES");
  EXPECT_PROBE_SAYS(
      [] { fake_cuda::driver().kernel_image_status = cudaErrorInvalidDeviceFunction; },
      "probe: this build has no kernel for this GPU \\(sm_90\\)");
  // Not every probe failure is a missing kernel: each names its own remedy.
  EXPECT_PROBE_SAYS(
      [] { fake_cuda::driver().kernel_image_status = cudaErrorUnsupportedPtxVersion; },
      "probe: the kernels' PTX is newer than the NVIDIA driver can compile for this GPU "
      "\\(sm_90\\); update the driver");
  EXPECT_PROBE_SAYS([] { fake_cuda::driver().kernel_image_status = cudaErrorMemoryAllocation; },
                    "probe: the GPU has no memory left to load the kernels");
  EXPECT_PROBE_SAYS([] { fake_cuda::driver().kernel_image_status = cudaErrorIllegalAddress; },
                    "probe: cannot load the kernels on this GPU: cudaErrorIllegalAddress");
  EXPECT_PROBE_SAYS([] { fake_cuda::driver().device_count_error = cudaErrorDevicesUnavailable; },
                    "probe: every GPU is busy");
}

// Both GPU backends, through the whole grid, on the real host code.
TEST_F(FakeRuntime, BackendsMatchTheReferenceOnTheGrid) {
  ks_emu::set_thread_order(ks_emu::ThreadOrder::AscendingFirst);
  Backend* reference = find_backend("cpu-ref");
  for (auto make : {make_fake_runtime_cuda_backend, make_fake_runtime_cuda_naive_backend}) {
    const auto backend = make();
    ASSERT_TRUE(backend->available());
    for (const CheckCase& c : check_cases()) {
      SCOPED_TRACE(backend->name() + "/" + c.name);
      const Tensor x = check_case_input(c);
      StageTimes t;
      if (c.op == OpKind::Conv) {
        const ConvWeights w = check_case_conv_weights(c);
        EXPECT_TRUE(test::all_close(backend->conv2d(x, c.conv, w, &t),
                                    reference->conv2d(x, c.conv, w, nullptr)));
      } else {
        const InvolutionWeights w = check_case_involution_weights(c);
        const InvolutionResult got = backend->involution2d(x, c.involution, w, &t);
        const InvolutionResult want = reference->involution2d(x, c.involution, w, nullptr);
        EXPECT_TRUE(test::all_close(got.kernels, want.kernels)) << "generated kernels";
        EXPECT_TRUE(test::all_close(got.output, want.output)) << "output";
        EXPECT_GE(t.kernel_generation_ms, 0.0);
      }
      EXPECT_GE(t.upload_ms, 0.0);
      EXPECT_GE(t.aggregation_ms, 0.0);
      EXPECT_GE(t.download_ms, 0.0);
      EXPECT_NEAR(t.total_ms,
                  t.upload_ms + t.kernel_generation_ms + t.aggregation_ms + t.download_ms, 1e-3);
    }
  }
}

CheckCase involution_case(int64_t channels, int64_t size) {
  CheckCase c;
  c.op = OpKind::Involution;
  c.input_shape = {1, channels, size, size};
  c.involution.channels = channels;
  c.involution.kernel_size = 3;
  c.involution.group_channels = 2;
  c.involution.reduction = 2;
  c.seed = 3;
  return c;
}

TEST_F(FakeRuntime, RepeatingAShapeAllocatesNothing) {
  const auto backend = make_fake_runtime_cuda_backend();
  const CheckCase big = involution_case(8, 20), small = involution_case(4, 9);
  const InvolutionWeights wb = check_case_involution_weights(big);
  const InvolutionWeights ws = check_case_involution_weights(small);
  backend->involution2d(check_case_input(big), big.involution, wb, nullptr);
  const int after_first = fake_cuda::malloc_calls();
  EXPECT_GT(after_first, 0);
  backend->involution2d(check_case_input(big), big.involution, wb, nullptr);
  backend->involution2d(check_case_input(small), small.involution, ws, nullptr);
  EXPECT_EQ(fake_cuda::malloc_calls(), after_first) << "buffers only grow: nothing new to allocate";
  // The smaller problem still gets the right answer out of the larger buffers.
  const InvolutionResult got =
      backend->involution2d(check_case_input(small), small.involution, ws, nullptr);
  EXPECT_TRUE(test::all_close(
      got.output, find_backend("cpu-ref")
                      ->involution2d(check_case_input(small), small.involution, ws, nullptr)
                      .output));
}

// Each KernelsMode through the real host code, on every third involution case of the grid:
// what comes back is what cpu-ref returns, and only what was asked for is downloaded (the
// kernels tensor is K*K times the sum map, the reason the modes exist).
TEST_F(FakeRuntime, EveryKernelsModeReturnsWhatTheReferenceReturns) {
  ks_emu::set_thread_order(ks_emu::ThreadOrder::AscendingFirst);
  Backend* reference = find_backend("cpu-ref");
  const std::vector<CheckCase> grid = involution_check_cases();
  for (auto make : {make_fake_runtime_cuda_backend, make_fake_runtime_cuda_naive_backend}) {
    const auto backend = make();
    ASSERT_TRUE(backend->available());
    for (size_t i = 0; i < grid.size(); i += 3) {
      const CheckCase& c = grid[i];
      const Tensor x = check_case_input(c);
      const InvolutionWeights w = check_case_involution_weights(c);
      const InvolutionResult full = reference->involution2d(x, c.involution, w, nullptr);
      const InvolutionResult sum =
          reference->involution2d(x, c.involution, w, nullptr, KernelsMode::Sum);
      for (KernelsMode mode : {KernelsMode::None, KernelsMode::Sum, KernelsMode::Full}) {
        SCOPED_TRACE(backend->name() + "/" + c.name + "/" + kernels_mode_name(mode));
        const size_t before = fake_cuda::downloaded_bytes();
        const InvolutionResult got = backend->involution2d(x, c.involution, w, nullptr, mode);
        const size_t downloaded = fake_cuda::downloaded_bytes() - before;
        EXPECT_TRUE(test::all_close(got.output, full.output)) << "output";
        size_t expected_floats = full.output.data.size();
        if (mode == KernelsMode::Full) {
          EXPECT_TRUE(test::all_close(got.kernels, full.kernels)) << "kernels";
          expected_floats += full.kernels.data.size();
        } else {
          EXPECT_TRUE(got.kernels.empty() && got.kernels.shape.empty()) << "kernels filled";
        }
        if (mode == KernelsMode::Sum) {
          EXPECT_TRUE(test::all_close(got.kernel_sum, sum.kernel_sum)) << "kernel_sum";
          expected_floats += sum.kernel_sum.data.size();
        } else {
          EXPECT_TRUE(got.kernel_sum.empty() && got.kernel_sum.shape.empty())
              << "kernel_sum filled";
        }
        EXPECT_EQ(downloaded, expected_floats * sizeof(float));
      }
    }
  }
}

// The cuda backend asked for the kernel-sum map or for nothing of the kernels runs one
// kernel, and the kernels tensor never exists on the GPU: at 1080p with one channel per group
// and K 7 that is 1.2 GB it would otherwise write and read back. Full still makes it.
TEST_F(FakeRuntime, WithoutTheFullKernelsTheCudaBackendRunsOnePassAndNeverMakesThem) {
  ks_emu::set_thread_order(ks_emu::ThreadOrder::AscendingFirst);
  Backend* reference = find_backend("cpu-ref");
  const CheckCase c = involution_case(6, 40);
  const Tensor x = check_case_input(c);
  const InvolutionWeights w = check_case_involution_weights(c);
  const int64_t kernel_bytes =
      shape_numel(involution_kernels_shape(x.shape, c.involution)) * int64_t{sizeof(float)};
  const int64_t input_bytes = static_cast<int64_t>(x.data.size() * sizeof(float));
  for (KernelsMode mode : {KernelsMode::Sum, KernelsMode::None, KernelsMode::Full}) {
    SCOPED_TRACE(kernels_mode_name(mode));
    fake_cuda::reset();
    const auto backend = make_fake_runtime_cuda_backend();
    ks_emu::clear_launches();
    const InvolutionResult got = backend->involution2d(x, c.involution, w, nullptr, mode);
    std::set<std::string> names;
    for (const ks_emu::LaunchRecord& r : ks_emu::launches()) names.insert(r.kernel_name);
    EXPECT_EQ(names, std::set<std::string>{"involution_one_pass_kernel"});
    const InvolutionResult want = reference->involution2d(x, c.involution, w, nullptr, mode);
    EXPECT_TRUE(test::all_close(got.output, want.output));
    EXPECT_TRUE(test::all_close(got.kernel_sum, want.kernel_sum));
    EXPECT_TRUE(test::all_close(got.kernels, want.kernels));
    // Input, output, weights and the sum map stay well under the input plus the kernels.
    const int64_t on_gpu = static_cast<int64_t>(fake_cuda::allocated_bytes());
    EXPECT_EQ(on_gpu >= kernel_bytes + input_bytes, mode == KernelsMode::Full)
        << on_gpu << " bytes on the GPU; the kernels are " << kernel_bytes;
  }
}

// The app's pattern: one result object, the same shapes again and again, any mode. After
// each mode has run once, nothing is allocated on the device or the host, and a smaller
// problem comes out right from the larger buffers.
TEST_F(FakeRuntime, ResultsAndDeviceBuffersAreReusedInEveryMode) {
  ks_emu::set_thread_order(ks_emu::ThreadOrder::AscendingFirst);
  const auto backend = make_fake_runtime_cuda_backend();
  Backend* reference = find_backend("cpu-ref");
  const CheckCase big = involution_case(8, 20), small = involution_case(4, 9);
  const Tensor xb = check_case_input(big), xs = check_case_input(small);
  const InvolutionWeights wb = check_case_involution_weights(big);
  const InvolutionWeights ws = check_case_involution_weights(small);
  InvolutionResult r;
  for (KernelsMode mode : {KernelsMode::Full, KernelsMode::Sum, KernelsMode::None}) {
    RunOptions options;
    options.kernels = mode;
    backend->involution2d_into(xb, big.involution, wb, options, &r, nullptr);
  }
  const int warm = fake_cuda::malloc_calls();
  for (KernelsMode mode : {KernelsMode::Full, KernelsMode::Sum, KernelsMode::None}) {
    SCOPED_TRACE(kernels_mode_name(mode));
    RunOptions options;
    options.kernels = mode;
    backend->involution2d_into(xb, big.involution, wb, options, &r, nullptr);
    const float* output = r.output.data.data();
    const float* kernels = r.kernels.data.data();
    const float* kernel_sum = r.kernel_sum.data.data();
    backend->involution2d_into(xb, big.involution, wb, options, &r, nullptr);
    EXPECT_EQ(r.output.data.data(), output);
    EXPECT_EQ(r.kernels.data.data(), kernels);
    EXPECT_EQ(r.kernel_sum.data.data(), kernel_sum);
    backend->involution2d_into(xs, small.involution, ws, options, &r, nullptr);
    EXPECT_EQ(r.output.data.data(), output);
    EXPECT_EQ(r.kernels.data.data(), kernels);
    EXPECT_EQ(r.kernel_sum.data.data(), kernel_sum);
    const InvolutionResult want = reference->involution2d(xs, small.involution, ws, nullptr, mode);
    EXPECT_TRUE(test::all_close(r.output, want.output)) << "output";
    EXPECT_TRUE(test::all_close(r.kernels, want.kernels)) << "kernels";
    EXPECT_TRUE(test::all_close(r.kernel_sum, want.kernel_sum)) << "kernel_sum";
  }
  EXPECT_EQ(fake_cuda::malloc_calls(), warm) << "every device buffer was already large enough";

  // Convolution into one output tensor: the same.
  CheckCase c;
  c.input_shape = {1, 3, 16, 18};
  c.conv.in_channels = 3;
  c.conv.out_channels = 4;
  c.conv.padding = 1;
  const ConvWeights cw = check_case_conv_weights(c);
  const Tensor xc = check_case_input(c);
  Tensor out;
  backend->conv2d_into(xc, c.conv, cw, RunOptions{}, &out, nullptr);
  const float* conv_output = out.data.data();
  const int conv_warm = fake_cuda::malloc_calls();
  backend->conv2d_into(xc, c.conv, cw, RunOptions{}, &out, nullptr);
  EXPECT_EQ(out.data.data(), conv_output);
  EXPECT_EQ(fake_cuda::malloc_calls(), conv_warm);
  EXPECT_TRUE(test::all_close(out, reference->conv2d(xc, c.conv, cw, nullptr)));
}

TEST_F(FakeRuntime, OutOfGpuMemoryIsAOneLineErrorAndTheBackendRecovers) {
  const auto backend = make_fake_runtime_cuda_backend();
  fake_cuda::driver().memory_bytes = 64 << 10;  // 64 KiB
  const CheckCase big = involution_case(8, 40), small = involution_case(2, 5);
  const InvolutionWeights wb = check_case_involution_weights(big);
  EXPECT_TRUE(test::throws_with(
      [&] { backend->involution2d(check_case_input(big), big.involution, wb, nullptr); },
      "out of GPU memory: needed"));
  // Not sticky: a problem that fits runs next, and auto's fallback runs the big one on the CPU.
  const InvolutionWeights ws = check_case_involution_weights(small);
  EXPECT_NO_THROW(backend->involution2d(check_case_input(small), small.involution, ws, nullptr));
  // dispatch's rule among this GPU and the registry's CPU backends: auto picks the GPU, which
  // runs out of memory, and the request runs again on the CPU with one notice.
  std::vector<Backend*> backends = {backend.get()};
  for (Backend* b : registered_backends())
    if (is_cpu_backend(*b)) backends.push_back(b);
  const BackendChoice choice = choose_backend("auto", big.involution, backends);
  ASSERT_EQ(choice.backend, backend.get());
  EXPECT_TRUE(choice.notice.empty()) << choice.notice;
  InvolutionResult r;
  int runs = 0;
  const Dispatched done = run_choice(
      choice, big.involution,
      [&](Backend& b) {
        ++runs;
        r = b.involution2d(check_case_input(big), big.involution, wb, nullptr);
      },
      backends);
  EXPECT_EQ(runs, 2);
  ASSERT_NE(done.backend, nullptr);
  EXPECT_TRUE(is_cpu_backend(*done.backend)) << done.backend->name();
  EXPECT_EQ(done.notice.find("cuda failed (out of GPU memory"), 0u) << done.notice;
  EXPECT_NE(done.notice.find("), using " + done.backend->name()), std::string::npos) << done.notice;
  EXPECT_EQ(r.output.shape, (Shape{1, 8, 40, 40}));
  // Named, the same GPU reports its error: nothing else runs in its place.
  BackendChoice named = choose_backend("cuda", big.involution, backends);
  EXPECT_FALSE(named.picked_by_auto);
  EXPECT_TRUE(test::throws_with(
      [&] {
        run_choice(
            named, big.involution,
            [&](Backend& b) { b.involution2d(check_case_input(big), big.involution, wb, nullptr); },
            backends);
      },
      "out of GPU memory"));
}

TEST_F(FakeRuntime, AFailedLaunchNamesTheKernelAndItsSource) {
  const auto backend = make_fake_runtime_cuda_backend();
  fake_cuda::driver().fail_kernels = cudaErrorLaunchFailure;
  CheckCase c;
  c.input_shape = {1, 3, 8, 8};
  c.conv.in_channels = 3;
  c.conv.out_channels = 4;
  const ConvWeights w = check_case_conv_weights(c);
  EXPECT_TRUE(test::throws_with(
      [&] { backend->conv2d(check_case_input(c), c.conv, w, nullptr); },
      "CUDA error cudaErrorLaunchFailure (unspecified launch failure) in launch of "
      "(conv2d_tiled_kernel<kOut, kPix>) at "));
  fake_cuda::driver().fail_kernels = cudaSuccess;
  EXPECT_NO_THROW(backend->conv2d(check_case_input(c), c.conv, w, nullptr));
}

// A small convolution for the failure scenarios.
CheckCase small_conv_case() {
  CheckCase c;
  c.input_shape = {1, 3, 8, 8};
  c.conv.in_channels = 3;
  c.conv.out_channels = 4;
  return c;
}

// After an error that kills the CUDA context, every later call would fail too: the backend
// says so once, stays unavailable with the reason, and "auto"'s fallback runs on the CPU.
// The lost state lasts for the process, so each scenario runs in a fresh one.
void run_until_the_context_dies(cudaError_t sticky) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  const auto backend = make_fake_runtime_cuda_backend();
  const CheckCase c = small_conv_case();
  const ConvWeights w = check_case_conv_weights(c);
  const Tensor x = check_case_input(c);
  if (!backend->available()) std::exit(3);
  backend->conv2d(x, c.conv, w, nullptr);  // healthy first
  fake_cuda::driver().fail_kernels = sticky;
  fake_cuda::driver().failure_kills_context = true;
  BackendChoice choice;
  choice.backend = backend.get();
  choice.picked_by_auto = true;
  Tensor y;
  const std::string notice =
      run_choice(choice, c.conv, [&](Backend& b) { y = b.conv2d(x, c.conv, w, nullptr); }).notice;
  if (y.shape != conv_output_shape(x.shape, c.conv)) std::exit(4);
  std::string why;
  if (backend->available(&why)) std::exit(5);
  // A second call does not touch the dead context: it is refused with the reason.
  std::string second;
  try {
    backend->conv2d(x, c.conv, w, nullptr);
  } catch (const Error& e) {
    second = e.what();
  }
  std::fprintf(stderr, "notice: %s\nwhy: %s\nsecond: %s\n", notice.c_str(), why.c_str(),
               second.c_str());
  std::exit(0);
}

TEST_F(FakeRuntime, AStickyErrorMarksTheGpuLostForTheProcess) {
  // A fresh process (not a fork of this one, whose device may already be probed).
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  EXPECT_EXIT(run_until_the_context_dies(cudaErrorLaunchFailure), ::testing::ExitedWithCode(0),
              "notice: cuda failed \\(CUDA error cudaErrorLaunchFailure.*\\), using cpu\n"
              "why: the GPU stopped working \\(cudaErrorLaunchFailure: unspecified launch "
              "failure\\); CUDA cannot recover in this process, restart it to use the GPU\n"
              "second: backend 'cuda' is not available: the GPU stopped working");
  EXPECT_EXIT(run_until_the_context_dies(cudaErrorIllegalAddress), ::testing::ExitedWithCode(0),
              "why: the GPU stopped working \\(cudaErrorIllegalAddress: an illegal memory "
              "access was encountered\\)");
}

TEST_F(FakeRuntime, AnErrorThatLeavesTheContextAliveKeepsTheGpu) {
  // Out of memory and a failed launch that did not poison the context fail one call only.
  const auto backend = make_fake_runtime_cuda_backend();
  const CheckCase c = small_conv_case();
  const ConvWeights w = check_case_conv_weights(c);
  fake_cuda::driver().fail_kernels = cudaErrorLaunchFailure;  // failure_kills_context = false
  EXPECT_THROW(backend->conv2d(check_case_input(c), c.conv, w, nullptr), Error);
  fake_cuda::driver().fail_kernels = cudaSuccess;
  EXPECT_TRUE(backend->available());
  EXPECT_NO_THROW(backend->conv2d(check_case_input(c), c.conv, w, nullptr));
}

// --device N: the probe and every call use GPU N; a GPU that is not there is named.
TEST_F(FakeRuntime, TheChosenGpuIsProbedAndUsed) {
#ifndef KS_HAVE_CUDA
  // The device choice lives in the engine's registry, which without the CUDA backends
  // accepts device 0 only (the sanitizer build, machines without nvcc).
  GTEST_SKIP() << "the engine was built without the CUDA backends";
#endif
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  EXPECT_EXIT(
      {
        GTEST_FLAG_SET(death_test_style, "threadsafe");
        fake_cuda::driver().device_count = 2;
        set_gpu_device(1);
        const auto backend = make_fake_runtime_cuda_backend();
        const CheckCase c = small_conv_case();
        const ConvWeights w = check_case_conv_weights(c);
        if (!backend->available()) std::exit(3);
        // Another thread's calls must land on GPU 1 too: the current device is per thread.
        std::thread([&] {
          backend->conv2d(check_case_input(c), c.conv, w, nullptr);
          std::fprintf(stderr, "device used: %d\n", fake_cuda::current_device());
        }).join();
        try {
          set_gpu_device(0);
        } catch (const Error& e) {
          std::fprintf(stderr, "late change: %s\n", e.what());
        }
        std::exit(0);
      },
      ::testing::ExitedWithCode(0), "device used: 1\nlate change: the GPU was already chosen");
  EXPECT_PROBE_SAYS(
      [] {
        fake_cuda::driver().device_count = 2;
        set_gpu_device(2);
      },
      "probe: there is no GPU 2: this machine has 2 \\(numbered from 0\\)");
}

// Results up to KS_PINNED_STAGING_MAX_BYTES (32 KiB here) are downloaded through one pinned
// staging buffer, allocated once and grown only when a larger result comes; larger results
// go straight into the result tensor. Either way the answer is the reference's.
TEST_F(FakeRuntime, DownloadsReuseOnePinnedStagingBuffer) {
  ks_emu::set_thread_order(ks_emu::ThreadOrder::AscendingFirst);
  const auto backend = make_fake_runtime_cuda_backend();
  Backend* reference = find_backend("cpu-ref");
  // big: output 3200 floats, kernels 14400, kernel sum 1600. small: 324, 1458, 162.
  const CheckCase big = involution_case(8, 20), small = involution_case(4, 9);
  const Tensor xb = check_case_input(big), xs = check_case_input(small);
  const InvolutionWeights wb = check_case_involution_weights(big);
  const InvolutionWeights ws = check_case_involution_weights(small);
  InvolutionResult r;
  const auto run = [&](const CheckCase& c, const Tensor& x, const InvolutionWeights& w,
                       KernelsMode mode) {
    RunOptions options;
    options.kernels = mode;
    backend->involution2d_into(x, c.involution, w, options, &r, nullptr);
    const InvolutionResult want = reference->involution2d(x, c.involution, w, nullptr, mode);
    EXPECT_TRUE(test::all_close(r.output, want.output)) << "output";
    EXPECT_TRUE(test::all_close(r.kernels, want.kernels)) << "kernels";
    EXPECT_TRUE(test::all_close(r.kernel_sum, want.kernel_sum)) << "kernel_sum";
  };
  run(small, xs, ws, KernelsMode::None);
  EXPECT_EQ(fake_cuda::host_alloc_calls(), 1);
  run(big, xb, wb, KernelsMode::Sum);  // 4800 floats: the staging buffer grows once
  EXPECT_EQ(fake_cuda::host_alloc_calls(), 2);
  EXPECT_EQ(fake_cuda::pinned_bytes(), 4800 * sizeof(float));
  for (int repeat = 0; repeat < 3; ++repeat) {
    run(big, xb, wb, KernelsMode::Sum);
    run(big, xb, wb, KernelsMode::None);
    run(small, xs, ws, KernelsMode::Full);
    run(small, xs, ws, KernelsMode::None);
  }
  EXPECT_EQ(fake_cuda::host_alloc_calls(), 2) << "the staging buffer is reused";
  EXPECT_EQ(fake_cuda::pinned_downloaded_bytes(), fake_cuda::downloaded_bytes())
      << "every download so far went through pinned memory";

  // 17600 floats (70 KiB) are over the limit: downloaded directly, no pinned block for them.
  const size_t pinned_before = fake_cuda::pinned_downloaded_bytes();
  const size_t downloaded_before = fake_cuda::downloaded_bytes();
  run(big, xb, wb, KernelsMode::Full);
  EXPECT_EQ(fake_cuda::pinned_downloaded_bytes(), pinned_before);
  EXPECT_EQ(fake_cuda::downloaded_bytes() - downloaded_before, 17600 * sizeof(float));
  EXPECT_EQ(fake_cuda::host_alloc_calls(), 2);

  // Convolution shares the session's staging buffer.
  const CheckCase c = small_conv_case();
  const ConvWeights cw = check_case_conv_weights(c);
  Tensor out;
  for (int repeat = 0; repeat < 3; ++repeat)
    backend->conv2d_into(check_case_input(c), c.conv, cw, RunOptions{}, &out, nullptr);
  EXPECT_EQ(fake_cuda::host_alloc_calls(), 2);
  EXPECT_TRUE(test::all_close(out, reference->conv2d(check_case_input(c), c.conv, cw, nullptr)));
}

TEST_F(FakeRuntime, WithoutPinnedMemoryDownloadsGoStraightIntoTheResult) {
  fake_cuda::driver().refuse_pinned_memory = true;
  const auto backend = make_fake_runtime_cuda_backend();
  const CheckCase c = involution_case(4, 9);
  const InvolutionWeights w = check_case_involution_weights(c);
  const InvolutionResult got =
      backend->involution2d(check_case_input(c), c.involution, w, nullptr, KernelsMode::Sum);
  const InvolutionResult want = find_backend("cpu-ref")->involution2d(
      check_case_input(c), c.involution, w, nullptr, KernelsMode::Sum);
  EXPECT_TRUE(test::all_close(got.output, want.output));
  EXPECT_TRUE(test::all_close(got.kernel_sum, want.kernel_sum));
  EXPECT_EQ(fake_cuda::pinned_downloaded_bytes(), 0u);
  EXPECT_GT(fake_cuda::downloaded_bytes(), 0u);
}

}  // namespace
}  // namespace ks
