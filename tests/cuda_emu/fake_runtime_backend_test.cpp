// The real CudaBackend (engine/src/cuda/cuda_backend.cpp) on the CPU: its CUDA runtime calls
// go to the fake of fake_runtime/cuda_runtime_api.h and its kernels to the emulator, so the
// host side of the GPU path runs on every machine: the device probe and its messages,
// uploads and downloads, buffer reuse, BN folding, scratch sizing, stage timing, and what a
// failed allocation or launch does.
#include <gtest/gtest.h>

#include <cmath>

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
#define kernel_image_loadable fake_kernel_image_loadable
#include "cuda/cuda_backend.cpp"  // NOLINT(bugprone-suspicious-include)

namespace ks::cuda {

// StreamLauncher's counterpart: the emulator runs the kernel, and the fake driver may make
// the launch fail the way a GPU reports it.
struct FakeStreamLauncher {
  template <class... Params, class... Args>
  void operator()(const char* kernel_name, const char* file, int line, dim3 grid, dim3 block,
                  size_t smem_bytes, void (*kernel)(Params...), Args... args) const {
    const cudaError_t fail = fake_cuda::driver().fail_kernels;
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
bool kernel_image_loadable(std::string* why) {
  if (fake_cuda::driver().kernel_image_loadable) return true;
  if (why) *why = "this build has no kernel for this GPU (fake)";
  return false;
}

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
  EXPECT_PROBE_SAYS([] { fake_cuda::driver().kernel_image_loadable = false; },
                    "probe: this build has no kernel for this GPU");
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

}  // namespace
}  // namespace ks
