// The real CudaBackend (engine/src/cuda/cuda_backend.cpp) on the CPU: its CUDA runtime calls
// go to the fake of fake_runtime/cuda_runtime_api.h and its kernels to the emulator, so the
// host side of the GPU path runs on every machine: the device probe and its messages,
// uploads and downloads, buffer reuse, BN folding, scratch sizing, stage timing, and what a
// failed allocation or launch does.
#include <gtest/gtest.h>

#include <cmath>
#include <thread>

#include "correctness_grid.h"
#include "cuda/conv2d_kernels.cuh"
#include "cuda/involution_kernels.cuh"
#include "cuda_emu.h"
#include "kernelscope/backend.h"
#include "test_util.h"

// The backend's own source, its entry points renamed so that they cannot clash with a real
// CUDA build of the engine linked into this executable.
#define make_cuda_backend make_fake_runtime_cuda_backend
#define make_cuda_naive_backend make_fake_runtime_cuda_naive_backend
#define conv2d_tiled fake_conv2d_tiled
#define conv2d_naive fake_conv2d_naive
#define involution_scratch_floats fake_involution_scratch_floats
#define involution_generate_fused fake_involution_generate_fused
#define involution_aggregate_tiled fake_involution_aggregate_tiled
#define involution_generate_naive fake_involution_generate_naive
#define involution_aggregate_naive fake_involution_aggregate_naive
#define involution_kernel_sum fake_involution_kernel_sum
#define kernel_image_status fake_kernel_image_status
// Small, so that the grid's results take both download paths (staged and direct).
#define KS_PINNED_STAGING_MAX_BYTES (size_t{32} << 10)
#include "cuda/cuda_backend.cpp"  // NOLINT(bugprone-suspicious-include)

namespace ks::cuda {

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

void conv2d_tiled(const ConvDims& d, const float* x, const float* w, const float* b, float* y,
                  cudaStream_t) {
  launch_conv2d_tiled(FakeStreamLauncher{}, d, x, w, b, y);
}
void conv2d_naive(const ConvDims& d, const float* x, const float* w, const float* b, float* y,
                  cudaStream_t) {
  launch_conv2d_naive(FakeStreamLauncher{}, d, x, w, b, y);
}
long long involution_scratch_floats(const InvolutionDims& d, bool naive) {
  return naive ? naive_generation_scratch_floats(d) : fused_generation_scratch_floats(d);
}
void involution_generate_fused(const InvolutionDims& d, const float* x, const GenerationWeights& w,
                               float* kernels, float* scratch, cudaStream_t) {
  launch_involution_generate_fused(FakeStreamLauncher{}, d, x, w, kernels, scratch);
}
void involution_aggregate_tiled(const InvolutionDims& d, const float* x, const float* kernels,
                                float* y, cudaStream_t) {
  launch_involution_aggregate_tiled(FakeStreamLauncher{}, d, x, kernels, y);
}
void involution_generate_naive(const InvolutionDims& d, const float* x, const GenerationWeights& w,
                               float* kernels, float* scratch, cudaStream_t) {
  launch_involution_generate_naive(FakeStreamLauncher{}, d, x, w, kernels, scratch);
}
void involution_aggregate_naive(const InvolutionDims& d, const float* x, const float* kernels,
                                float* y, cudaStream_t) {
  launch_involution_aggregate_naive(FakeStreamLauncher{}, d, x, kernels, y);
}
void involution_kernel_sum(const InvolutionDims& d, const float* kernels, float* kernel_sum,
                           cudaStream_t) {
  launch_involution_kernel_sum(FakeStreamLauncher{}, d, kernels, kernel_sum);
}
cudaError_t kernel_image_status() { return fake_cuda::driver().kernel_image_status; }

}  // namespace ks::cuda

#undef make_cuda_backend
#undef make_cuda_naive_backend

namespace ks {
namespace {

using test::GridCase;
using test::Op;

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
    for (const GridCase& c : test::correctness_grid()) {
      SCOPED_TRACE(backend->name() + "/" + c.name);
      const Tensor x = test::grid_input(c);
      StageTimes t;
      if (c.op == Op::Conv) {
        const ConvWeights w = test::grid_conv_weights(c);
        EXPECT_TRUE(test::all_close(backend->conv2d(x, c.conv, w, &t),
                                    reference->conv2d(x, c.conv, w, nullptr)));
      } else {
        const InvolutionWeights w = test::grid_involution_weights(c);
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

GridCase involution_case(int64_t channels, int64_t size) {
  GridCase c;
  c.op = Op::Involution;
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
  const GridCase big = involution_case(8, 20), small = involution_case(4, 9);
  const InvolutionWeights wb = test::grid_involution_weights(big);
  const InvolutionWeights ws = test::grid_involution_weights(small);
  backend->involution2d(test::grid_input(big), big.involution, wb, nullptr);
  const int after_first = fake_cuda::malloc_calls();
  EXPECT_GT(after_first, 0);
  backend->involution2d(test::grid_input(big), big.involution, wb, nullptr);
  backend->involution2d(test::grid_input(small), small.involution, ws, nullptr);
  EXPECT_EQ(fake_cuda::malloc_calls(), after_first) << "buffers only grow: nothing new to allocate";
  // The smaller problem still gets the right answer out of the larger buffers.
  const InvolutionResult got =
      backend->involution2d(test::grid_input(small), small.involution, ws, nullptr);
  EXPECT_TRUE(test::all_close(
      got.output, find_backend("cpu-ref")
                      ->involution2d(test::grid_input(small), small.involution, ws, nullptr)
                      .output));
}

// Each KernelsMode through the real host code, on every third involution case of the grid:
// what comes back is what cpu-ref returns, and only what was asked for is downloaded (the
// kernels tensor is K*K times the sum map, the reason the modes exist).
TEST_F(FakeRuntime, EveryKernelsModeReturnsWhatTheReferenceReturns) {
  ks_emu::set_thread_order(ks_emu::ThreadOrder::AscendingFirst);
  Backend* reference = find_backend("cpu-ref");
  const std::vector<GridCase> grid = test::involution_grid();
  for (auto make : {make_fake_runtime_cuda_backend, make_fake_runtime_cuda_naive_backend}) {
    const auto backend = make();
    ASSERT_TRUE(backend->available());
    for (size_t i = 0; i < grid.size(); i += 3) {
      const GridCase& c = grid[i];
      const Tensor x = test::grid_input(c);
      const InvolutionWeights w = test::grid_involution_weights(c);
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

// The app's pattern: one result object, the same shapes again and again, any mode. After
// each mode has run once, nothing is allocated on the device or the host, and a smaller
// problem comes out right from the larger buffers.
TEST_F(FakeRuntime, ResultsAndDeviceBuffersAreReusedInEveryMode) {
  ks_emu::set_thread_order(ks_emu::ThreadOrder::AscendingFirst);
  const auto backend = make_fake_runtime_cuda_backend();
  Backend* reference = find_backend("cpu-ref");
  const GridCase big = involution_case(8, 20), small = involution_case(4, 9);
  const Tensor xb = test::grid_input(big), xs = test::grid_input(small);
  const InvolutionWeights wb = test::grid_involution_weights(big);
  const InvolutionWeights ws = test::grid_involution_weights(small);
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
  GridCase c;
  c.input_shape = {1, 3, 16, 18};
  c.conv.in_channels = 3;
  c.conv.out_channels = 4;
  c.conv.padding = 1;
  const ConvWeights cw = test::grid_conv_weights(c);
  const Tensor xc = test::grid_input(c);
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
  const GridCase big = involution_case(8, 40), small = involution_case(2, 5);
  const InvolutionWeights wb = test::grid_involution_weights(big);
  EXPECT_TRUE(test::throws_with(
      [&] { backend->involution2d(test::grid_input(big), big.involution, wb, nullptr); },
      "out of GPU memory: needed"));
  // Not sticky: a problem that fits runs next, and auto's fallback runs the big one on the CPU.
  const InvolutionWeights ws = test::grid_involution_weights(small);
  EXPECT_NO_THROW(backend->involution2d(test::grid_input(small), small.involution, ws, nullptr));
  std::string notice;
  const InvolutionResult r = run_with_cpu_fallback(*backend, true, &notice, [&](Backend& b) {
    return b.involution2d(test::grid_input(big), big.involution, wb, nullptr);
  });
  EXPECT_NE(notice.find("cuda failed (out of GPU memory"), std::string::npos) << notice;
  EXPECT_EQ(r.output.shape, (Shape{1, 8, 40, 40}));
}

TEST_F(FakeRuntime, AFailedLaunchNamesTheKernelAndItsSource) {
  const auto backend = make_fake_runtime_cuda_backend();
  fake_cuda::driver().fail_kernels = cudaErrorLaunchFailure;
  GridCase c;
  c.input_shape = {1, 3, 8, 8};
  c.conv.in_channels = 3;
  c.conv.out_channels = 4;
  const ConvWeights w = test::grid_conv_weights(c);
  EXPECT_TRUE(test::throws_with(
      [&] { backend->conv2d(test::grid_input(c), c.conv, w, nullptr); },
      "CUDA error cudaErrorLaunchFailure (unspecified launch failure) in launch of "
      "(conv2d_tiled_kernel<kOut, kPix>) at "));
  fake_cuda::driver().fail_kernels = cudaSuccess;
  EXPECT_NO_THROW(backend->conv2d(test::grid_input(c), c.conv, w, nullptr));
}

// A small convolution for the failure scenarios.
GridCase small_conv_case() {
  GridCase c;
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
  const GridCase c = small_conv_case();
  const ConvWeights w = test::grid_conv_weights(c);
  const Tensor x = test::grid_input(c);
  if (!backend->available()) std::exit(3);
  backend->conv2d(x, c.conv, w, nullptr);  // healthy first
  fake_cuda::driver().fail_kernels = sticky;
  fake_cuda::driver().failure_kills_context = true;
  std::string notice;
  const Tensor y = run_with_cpu_fallback(
      *backend, true, &notice, [&](Backend& b) { return b.conv2d(x, c.conv, w, nullptr); });
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
  const GridCase c = small_conv_case();
  const ConvWeights w = test::grid_conv_weights(c);
  fake_cuda::driver().fail_kernels = cudaErrorLaunchFailure;  // failure_kills_context = false
  EXPECT_THROW(backend->conv2d(test::grid_input(c), c.conv, w, nullptr), Error);
  fake_cuda::driver().fail_kernels = cudaSuccess;
  EXPECT_TRUE(backend->available());
  EXPECT_NO_THROW(backend->conv2d(test::grid_input(c), c.conv, w, nullptr));
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
        const GridCase c = small_conv_case();
        const ConvWeights w = test::grid_conv_weights(c);
        if (!backend->available()) std::exit(3);
        // Another thread's calls must land on GPU 1 too: the current device is per thread.
        std::thread([&] {
          backend->conv2d(test::grid_input(c), c.conv, w, nullptr);
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
  const GridCase big = involution_case(8, 20), small = involution_case(4, 9);
  const Tensor xb = test::grid_input(big), xs = test::grid_input(small);
  const InvolutionWeights wb = test::grid_involution_weights(big);
  const InvolutionWeights ws = test::grid_involution_weights(small);
  InvolutionResult r;
  const auto run = [&](const GridCase& c, const Tensor& x, const InvolutionWeights& w,
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
  const GridCase c = small_conv_case();
  const ConvWeights cw = test::grid_conv_weights(c);
  Tensor out;
  for (int repeat = 0; repeat < 3; ++repeat)
    backend->conv2d_into(test::grid_input(c), c.conv, cw, RunOptions{}, &out, nullptr);
  EXPECT_EQ(fake_cuda::host_alloc_calls(), 2);
  EXPECT_TRUE(test::all_close(out, reference->conv2d(test::grid_input(c), c.conv, cw, nullptr)));
}

TEST_F(FakeRuntime, WithoutPinnedMemoryDownloadsGoStraightIntoTheResult) {
  fake_cuda::driver().refuse_pinned_memory = true;
  const auto backend = make_fake_runtime_cuda_backend();
  const GridCase c = involution_case(4, 9);
  const InvolutionWeights w = test::grid_involution_weights(c);
  const InvolutionResult got =
      backend->involution2d(test::grid_input(c), c.involution, w, nullptr, KernelsMode::Sum);
  const InvolutionResult want = find_backend("cpu-ref")->involution2d(
      test::grid_input(c), c.involution, w, nullptr, KernelsMode::Sum);
  EXPECT_TRUE(test::all_close(got.output, want.output));
  EXPECT_TRUE(test::all_close(got.kernel_sum, want.kernel_sum));
  EXPECT_EQ(fake_cuda::pinned_downloaded_bytes(), 0u);
  EXPECT_GT(fake_cuda::downloaded_bytes(), 0u);
}

}  // namespace
}  // namespace ks
