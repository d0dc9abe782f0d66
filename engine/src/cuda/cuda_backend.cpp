// The CUDA backends behind the Backend interface: "cuda" (tiled kernels), "cuda-naive"
// (one thread per element, the baseline) and "cudnn" (convolution only). They share the
// device probe, the upload/download code and the cudaEvent stage timing; only the kernels
// launched between the events differ. The kernels are reached through a table
// (cuda_ops.h), so the tests run this same code on the CPU emulator behind a fake runtime.
#include <cuda_runtime_api.h>

#include <cstring>
#include <mutex>
#include <vector>

#include "backend_factories.h"
#include "cuda/cuda_backend.h"
#include "cuda/cuda_check.h"
#include "cuda/cuda_ops.h"
#include "cuda/device_buffer.h"
#include "cuda/host_dims.h"
#include "kernelscope/error.h"
#ifdef KS_HAVE_CUDNN
#include "cuda/cudnn_conv.h"
#endif

namespace ks {
namespace {

using cuda::DeviceBuffer;

std::string cuda_version_string(int version) {  // 13000 -> "13.0"
  return std::to_string(version / 1000) + "." + std::to_string(version % 1000 / 10);
}

// cudaGetDeviceCount's error codes in words a user can act on.
std::string describe_startup_error(cudaError_t status) {
  switch (status) {
    case cudaErrorNoDevice:
      return "no CUDA-capable GPU found";
    case cudaErrorInsufficientDriver: {
      int driver = 0;
      cudaDriverGetVersion(&driver);
      if (driver == 0) return "no NVIDIA driver found (libcuda.so.1 is not installed)";
      return "the NVIDIA driver supports CUDA " + cuda_version_string(driver) +
             " but this build needs CUDA " + cuda_version_string(CUDART_VERSION) +
             "; update the driver";
    }
    case cudaErrorSystemDriverMismatch:
      return "the NVIDIA kernel module and driver library versions differ (reboot after a "
             "driver update?)";
    case cudaErrorDevicesUnavailable:
      return "every GPU is busy or in a compute mode that forbids new processes";
    case cudaErrorInitializationError:
      return "the NVIDIA driver failed to initialise";
    default:
      return std::string("CUDA cannot start: ") + cudaGetErrorName(status) + " (" +
             cudaGetErrorString(status) + ")";
  }
}

// What cudaFuncGetAttributes on one of our kernels reported, in words: only a missing image
// means "rebuild for this GPU"; a driver older than the PTX, or a GPU out of memory, need
// other remedies.
std::string describe_kernel_probe_error(cudaError_t status, int major, int minor) {
  const std::string arch = std::to_string(major) + std::to_string(minor);
  switch (status) {
    case cudaErrorNoKernelImageForDevice:
    case cudaErrorInvalidDeviceFunction:
      return "this build has no kernel for this GPU (sm_" + arch + "); rebuild with " + arch +
             " in CMAKE_CUDA_ARCHITECTURES";
    case cudaErrorUnsupportedPtxVersion:
      return "the kernels' PTX is newer than the NVIDIA driver can compile for this GPU (sm_" +
             arch + "); update the driver, or rebuild with " + arch +
             " in CMAKE_CUDA_ARCHITECTURES";
    case cudaErrorInsufficientDriver:
      return describe_startup_error(status);
    case cudaErrorMemoryAllocation:
      return "the GPU has no memory left to load the kernels";
    default:
      return std::string("cannot load the kernels on this GPU: ") + cudaGetErrorName(status) +
             " (" + cudaGetErrorString(status) + ")";
  }
}

// The errors after which the process's CUDA context is unusable: every later runtime call
// returns the same error, and only a new process gets a working GPU again. Out of memory and
// bad launch configurations are not among them; those fail one call only.
bool is_sticky_cuda_error(cudaError_t status) {
  switch (status) {
    case cudaErrorIllegalAddress:
    case cudaErrorLaunchFailure:
    case cudaErrorLaunchTimeout:
    case cudaErrorHardwareStackError:
    case cudaErrorIllegalInstruction:
    case cudaErrorMisalignedAddress:
    case cudaErrorInvalidAddressSpace:
    case cudaErrorInvalidPc:
    case cudaErrorAssert:
    case cudaErrorECCUncorrectable:
      return true;
    default:
      return false;
  }
}

struct DeviceStatus {
  bool usable = false;
  int device = 0;
  std::string why_not;
};

// Set once, when a call finds the CUDA context dead; from then on every GPU backend says it
// is unavailable with this reason, so "auto" picks the CPU (with select_backend's one-line
// notice) instead of failing each call anew.
std::mutex lost_context_mutex;
std::string lost_context_reason;

std::string lost_context() {
  std::lock_guard<std::mutex> lock(lost_context_mutex);
  return lost_context_reason;
}

void mark_context_lost(cudaError_t status) {
  std::lock_guard<std::mutex> lock(lost_context_mutex);
  if (lost_context_reason.empty())
    lost_context_reason = std::string("the GPU stopped working (") + cudaGetErrorName(status) +
                          ": " + cudaGetErrorString(status) +
                          "); CUDA cannot recover in this process, restart it to use the GPU";
}

// Probed once: the answer does not change while the process runs, and a machine without a
// driver answers in microseconds, so the registry may ask as often as it likes.
DeviceStatus probe_device(const cuda::KernelTable& kernels) {
  DeviceStatus s;
  int count = 0;
  const cudaError_t status = cudaGetDeviceCount(&count);
  if (status != cudaSuccess) {
    cudaGetLastError();
    s.why_not = describe_startup_error(status);
    return s;
  }
  if (count == 0) {
    s.why_not = "no CUDA-capable GPU found";
    return s;
  }
  const int device = gpu_device_for_probe();
  s.device = device;
  if (device >= count) {
    s.why_not = "there is no GPU " + std::to_string(device) + ": this machine has " +
                std::to_string(count) + " (numbered from 0)";
    return s;
  }
  int major = 0, minor = 0;
  if (cudaSetDevice(device) != cudaSuccess ||
      cudaDeviceGetAttribute(&major, cudaDevAttrComputeCapabilityMajor, device) != cudaSuccess ||
      cudaDeviceGetAttribute(&minor, cudaDevAttrComputeCapabilityMinor, device) != cudaSuccess) {
    s.why_not = std::string("cannot query the GPU: ") + cudaGetErrorString(cudaGetLastError());
    return s;
  }
  if (major * 10 + minor < 75) {
    s.why_not = "the GPU has compute capability " + std::to_string(major) + "." +
                std::to_string(minor) + "; this build needs 7.5 (Turing) or newer";
    return s;
  }
  const cudaError_t image = kernels.kernel_image_status();
  if (image != cudaSuccess) {
    s.why_not = describe_kernel_probe_error(image, major, minor);
    return s;
  }
  s.usable = true;
  return s;
}

// The first backend to ask probes with its kernels: one process has one set.
const DeviceStatus& device_status(const cuda::KernelTable& kernels) {
  static const DeviceStatus status = probe_device(kernels);
  return status;
}

// One stream, the stage events and grow-only buffers, created on first use so that merely
// registering the backend never touches the driver.
class GpuSession {
 public:
  static constexpr int kEvents = 5;

  explicit GpuSession(size_t staging_max_bytes) : staging_max_bytes_(staging_max_bytes) {}
  GpuSession(const GpuSession&) = delete;
  GpuSession& operator=(const GpuSession&) = delete;
  // Errors ignored: destructors must not throw, and at process exit the runtime may already
  // be unloaded.
  ~GpuSession() {
    for (cudaEvent_t& e : events_)
      if (e) cudaEventDestroy(e);
    if (stream_) cudaStreamDestroy(stream_);
    cudaGetLastError();
  }

  cudaStream_t stream() {
    if (!stream_) {
      KS_CUDA_CHECK(cudaStreamCreateWithFlags(&stream_, cudaStreamNonBlocking));
      for (cudaEvent_t& e : events_) KS_CUDA_CHECK(cudaEventCreate(&e));
    }
    return stream_;
  }
  // The stream if one was made, else the default stream: either answers a health query.
  cudaStream_t existing_stream() const { return stream_; }
  void mark(int i) { KS_CUDA_CHECK(cudaEventRecord(events_[i], stream())); }
  void wait(int i) { KS_CUDA_CHECK(cudaEventSynchronize(events_[i])); }
  double ms_between(int a, int b) {
    float ms = 0;
    KS_CUDA_CHECK(cudaEventElapsedTime(&ms, events_[a], events_[b]));
    return ms;
  }

  const float* upload(DeviceBuffer<float>& buffer, const float* data, size_t count) {
    float* device = buffer.reserve(count);
    if (count)
      KS_CUDA_CHECK(
          cudaMemcpyAsync(device, data, count * sizeof(float), cudaMemcpyHostToDevice, stream()));
    return device;
  }
  const float* upload(DeviceBuffer<float>& buffer, const Tensor& t) {
    return upload(buffer, t.ptr(), t.data.size());
  }
  // A result tensor and the device memory it is downloaded from.
  struct Download {
    Tensor* tensor;
    const float* device;
  };
  // Queues the copies of `downloads` (only the results asked for) on the stream. Once the
  // stream has passed them, finish_downloads() moves staged data into the tensors, whose
  // storage is never zero-filled first: every element is overwritten.
  void start_downloads(const std::vector<Download>& downloads) {
    staged_.clear();
    size_t total = 0;
    for (const Download& d : downloads) total += d.tensor->data.size();
    float* staging =
        total * sizeof(float) <= staging_max_bytes_ ? staging_.reserve(total) : nullptr;
    size_t offset = 0;
    for (const Download& d : downloads) {
      const size_t count = d.tensor->data.size();
      if (count == 0) continue;
      float* host = staging ? staging + offset : d.tensor->ptr();
      KS_CUDA_CHECK(
          cudaMemcpyAsync(host, d.device, count * sizeof(float), cudaMemcpyDeviceToHost, stream()));
      if (staging) staged_.push_back({d.tensor, staging + offset});
      offset += count;
    }
  }
  void finish_downloads() {
    for (const Staged& s : staged_)
      std::memcpy(s.tensor->ptr(), s.from, s.tensor->data.size() * sizeof(float));
    staged_.clear();
  }

  DeviceBuffer<float> input, output, weight, bias, kernels, kernel_sum, scratch;
  DeviceBuffer<float> reduce_weight, bn_scale, bn_shift, span_weight, span_bias;

 private:
  struct Staged {
    Tensor* tensor;
    const float* from;
  };

  size_t staging_max_bytes_;
  cudaStream_t stream_ = nullptr;
  cudaEvent_t events_[kEvents] = {};
  cuda::PinnedHostBuffer staging_;
  std::vector<Staged> staged_;  // what finish_downloads copies out of staging_
};

using cuda::Variant;

class CudaBackend final : public Backend {
 public:
  CudaBackend(Variant variant, const cuda::KernelTable& kernels, const cuda::BackendTuning& tuning)
      : variant_(variant), kernels_(kernels), session_(tuning.pinned_staging_max_bytes) {}

  std::string name() const override {
    switch (variant_) {
      case Variant::Tiled:
        return "cuda";
      case Variant::Naive:
        return "cuda-naive";
      case Variant::Cudnn:
        return "cudnn";
    }
    return "cuda";
  }
  std::string description() const override {
    switch (variant_) {
      case Variant::Tiled:
        return "CUDA kernels: shared-memory tiled convolution and involution";
      case Variant::Naive:
        return "CUDA, one thread per output element (the official involution CuPy algorithm)";
      case Variant::Cudnn:
        return "cuDNN convolution (convolution only)";
    }
    return "";
  }

  // The naive kernels and cuDNN are there to be raced against the tiled ones.
  bool auto_may_pick() const override { return variant_ == Variant::Tiled; }

  bool available(std::string* why_not) const override {
    const DeviceStatus& device = device_status(kernels_);
    if (!device.usable) {
      if (why_not) *why_not = device.why_not;
      return false;
    }
    const std::string lost = lost_context();
    if (!lost.empty()) {
      if (why_not) *why_not = lost;
      return false;
    }
#ifdef KS_HAVE_CUDNN
    if (variant_ == Variant::Cudnn) return cuda::cudnn_loadable(why_not);
#endif
    return true;
  }

  bool supports(const ConvParams& p) const override {
    return cuda::fits_cuda_kernels(p.kernel_size, p.stride, p.padding, p.dilation);
  }
  bool supports(const InvolutionParams& p) const override {
    return variant_ != Variant::Cudnn &&
           cuda::fits_cuda_kernels(p.kernel_size, p.stride, p.padding(), p.dilation);
  }

  void conv2d_into(const Tensor& input, const ConvParams& params, const ConvWeights& weights,
                   const RunOptions& options, Tensor* output, StageTimes* times) override {
    std::lock_guard<std::mutex> lock(mutex_);
    require_available();
    on_device([&] { run_conv2d(input, params, weights, options, output, times); });
  }

  void involution2d_into(const Tensor& input, const InvolutionParams& params,
                         const InvolutionWeights& weights, const RunOptions& options,
                         InvolutionResult* result_out, StageTimes* times) override {
    std::lock_guard<std::mutex> lock(mutex_);
    if (variant_ == Variant::Cudnn)
      throw Error("the cudnn backend computes convolution only; use cuda for involution");
    require_available();
    on_device([&] { run_involution2d(input, params, weights, options, result_out, times); });
  }

 private:
  void require_available() const {
    std::string why;
    if (!available(&why)) throw Error("backend '" + name() + "' is not available: " + why);
  }

  // Runs `work` on the probed GPU. The current device is per host thread, and the app calls
  // from worker threads, so it is set on every call. When work throws, the stream is asked
  // whether the context survived: a sticky error (an illegal address in a kernel, say)
  // answers every later call too, and marks the GPU lost for the rest of the process.
  template <typename Work>
  void on_device(Work&& work) {
    try {
      KS_CUDA_CHECK(cudaSetDevice(device_status(kernels_).device));
      work();
    } catch (const Error&) {
      const cudaError_t health = cudaStreamQuery(session_.existing_stream());
      if (is_sticky_cuda_error(health)) mark_context_lost(health);
      throw;
    }
  }

  void run_conv2d(const Tensor& input, const ConvParams& params, const ConvWeights& weights,
                  const RunOptions&, Tensor* output, StageTimes* times) {
    const Shape out_shape = conv_output_shape(input.shape, params);
    const cuda::ConvDims d = cuda::conv_dims(input.shape, params, out_shape);
    output->reshape_uninitialized(out_shape);  // the download overwrites it
    Tensor& out = *output;
    GpuSession& s = session_;
    const cudaStream_t stream = s.stream();

    s.mark(0);
    const float* x = s.upload(s.input, input);
    const float* w = s.upload(s.weight, weights.weight);
    const float* b = params.has_bias ? s.upload(s.bias, weights.bias) : nullptr;
    float* y = s.output.reserve(out.data.size());
    s.mark(1);
    switch (variant_) {
      case Variant::Tiled:
        kernels_.conv2d_tiled(d, x, w, b, y, stream);
        break;
      case Variant::Naive:
        kernels_.conv2d_naive(d, x, w, b, y, stream);
        break;
      case Variant::Cudnn:
#ifdef KS_HAVE_CUDNN
        cudnn_.forward(d, x, w, b, y, stream);
#endif
        break;
    }
    s.mark(2);
    s.start_downloads({{&out, y}});
    s.mark(3);
    s.wait(3);
    s.finish_downloads();
    if (times) {
      *times = {};
      times->upload_ms = s.ms_between(0, 1);
      times->aggregation_ms = s.ms_between(1, 2);
      times->download_ms = s.ms_between(2, 3);
      times->total_ms = s.ms_between(0, 3);
    }
  }

  // One call is a few milliseconds of GPU work at most, so options.cancel is not polled.
  void run_involution2d(const Tensor& input, const InvolutionParams& params,
                        const InvolutionWeights& weights, const RunOptions& options,
                        InvolutionResult* result_out, StageTimes* times) {
    const Shape out_shape = involution_output_shape(input.shape, params);
    const cuda::InvolutionDims d = cuda::involution_dims(input.shape, params, out_shape);
    InvolutionResult& result = *result_out;
    const KernelsMode mode = options.kernels;
    // Downloads overwrite every element: no zero-fill. The kernels tensor stays on the GPU
    // (generation writes it there) and is downloaded only when asked for.
    result.output.reshape_uninitialized(out_shape);
    const int64_t kernel_floats = shape_numel(involution_kernels_shape(input.shape, params));
    if (mode == KernelsMode::Full)
      result.kernels.reshape_uninitialized(involution_kernels_shape(input.shape, params));
    else
      result.kernels = Tensor();
    if (mode == KernelsMode::Sum)
      result.kernel_sum.reshape_uninitialized(involution_kernel_sum_shape(input.shape, params));
    else
      result.kernel_sum = Tensor();
    GpuSession& s = session_;
    const cudaStream_t stream = s.stream();

    const cuda::FoldedBatchNorm bn = cuda::fold_batch_norm(weights);

    s.mark(0);
    const float* x = s.upload(s.input, input);
    cuda::GenerationWeights w;
    w.reduce_weight = s.upload(s.reduce_weight, weights.reduce_weight);
    w.bn_scale = s.upload(s.bn_scale, bn.scale.data(), bn.scale.size());
    w.bn_shift = s.upload(s.bn_shift, bn.shift.data(), bn.shift.size());
    w.span_weight = s.upload(s.span_weight, weights.span_weight);
    w.span_bias = s.upload(s.span_bias, weights.span_bias);
    float* kernel_sum =
        mode == KernelsMode::Sum ? s.kernel_sum.reserve(result.kernel_sum.data.size()) : nullptr;
    float* y = s.output.reserve(result.output.data.size());
    const bool naive = variant_ == Variant::Naive;
    // cuda: one pass where a tile fits, so the kernels tensor exists on the GPU only when it
    // is asked for (Full). Its time is reported as aggregation: the two are one kernel.
    float* kernels =
        mode == KernelsMode::Full ? s.kernels.reserve(static_cast<size_t>(kernel_floats)) : nullptr;
    s.mark(1);
    s.mark(2);
    const bool one_pass =
        !naive && kernels_.involution_one_pass(d, x, w, y, kernels, kernel_sum, stream);
    if (!one_pass) {
      // cuda-naive, or no tile fits: generate into the kernels tensor, then aggregate.
      if (!kernels) kernels = s.kernels.reserve(static_cast<size_t>(kernel_floats));
      const long long scratch_floats = kernels_.involution_scratch_floats(d, naive);
      float* scratch = s.scratch.reserve(static_cast<size_t>(scratch_floats));
      s.mark(1);
      if (naive)
        kernels_.involution_generate_naive(d, x, w, kernels, scratch, stream);
      else
        kernels_.involution_generate_fused(d, x, w, kernels, scratch, stream);
      s.mark(2);
      if (naive)
        kernels_.involution_aggregate_naive(d, x, kernels, y, stream);
      else
        kernels_.involution_aggregate_tiled(d, x, kernels, y, stream);
      if (kernel_sum) kernels_.involution_kernel_sum(d, kernels, kernel_sum, stream);
    }
    s.mark(3);
    std::vector<GpuSession::Download> downloads = {{&result.output, y}};
    if (mode == KernelsMode::Full) downloads.push_back({&result.kernels, kernels});
    if (kernel_sum) downloads.push_back({&result.kernel_sum, kernel_sum});
    s.start_downloads(downloads);
    s.mark(4);
    s.wait(4);
    s.finish_downloads();
    if (times) {
      *times = {};
      times->upload_ms = s.ms_between(0, 1);
      times->kernel_generation_ms = s.ms_between(1, 2);
      times->aggregation_ms = s.ms_between(2, 3);
      times->download_ms = s.ms_between(3, 4);
      times->total_ms = s.ms_between(0, 4);
    }
  }

  Variant variant_;
  cuda::KernelTable kernels_;
  std::mutex mutex_;  // one call at a time: the session's buffers are shared state
  GpuSession session_;
#ifdef KS_HAVE_CUDNN
  cuda::CudnnConvolution cudnn_;
#endif
};

}  // namespace

namespace cuda {
std::unique_ptr<Backend> make_backend(Variant variant, const KernelTable& kernels,
                                      const BackendTuning& tuning) {
  return std::make_unique<CudaBackend>(variant, kernels, tuning);
}
}  // namespace cuda

}  // namespace ks
