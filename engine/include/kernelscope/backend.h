// The backend interface and the registry. Every backend computes the same two operators
// and fills the same per-stage timing record, so the CLI and the app can race them. Which
// backend runs a request is decided by dispatch() (dispatch.h), not by the front ends.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "kernelscope/error.h"
#include "kernelscope/notebook_variant.h"
#include "kernelscope/ops.h"

namespace ks {

// Milliseconds per stage. Stages a backend does not have stay 0 (a CPU backend has no
// upload); total_ms covers the whole call.
struct StageTimes {
  double upload_ms = 0;
  double kernel_generation_ms = 0;
  double aggregation_ms = 0;
  double download_ms = 0;
  double total_ms = 0;
};

class Backend {
 public:
  virtual ~Backend() = default;
  virtual std::string name() const = 0;
  virtual std::string description() const = 0;
  // False when the backend cannot run on this machine (no GPU, no driver...); why_not then
  // gets a one-line reason.
  virtual bool available(std::string* why_not = nullptr) const {
    (void)why_not;
    return true;
  }
  virtual bool supports(const ConvParams& params) const = 0;
  virtual bool supports(const InvolutionParams& params) const = 0;
  // The seed notebook's involution (notebook_variant.h): a teaching variant, only cpu-ref
  // has it.
  virtual bool supports(const NotebookVariantParams& params) const {
    (void)params;
    return false;
  }
  // False for variants that exist to be raced (cuda-naive, cudnn): "auto" never picks them.
  virtual bool auto_may_pick() const { return true; }

  // Inputs are validated by the caller's shape functions; backends may assume valid shapes.
  // The *_into calls write into caller-owned results and reuse their storage when it is
  // large enough, so a caller that keeps its results across calls (the app) touches no fresh
  // memory; tensors the options do not ask for are left empty. A set options.cancel makes
  // them stop between tiles and throw ks::Cancelled. Exceptions: cpu-ref (the oracle,
  // plain loops) makes fresh tensors and checks cancel only between its two stages; the
  // CUDA backends do not poll cancel (a call is milliseconds of GPU work).
  virtual void conv2d_into(const Tensor& input, const ConvParams& params,
                           const ConvWeights& weights, const RunOptions& options, Tensor* output,
                           StageTimes* times) = 0;
  virtual void involution2d_into(const Tensor& input, const InvolutionParams& params,
                                 const InvolutionWeights& weights, const RunOptions& options,
                                 InvolutionResult* result, StageTimes* times) = 0;

  // Only for a backend whose supports(NotebookVariantParams) says yes; the default throws.
  virtual void notebook_variant_into(const Tensor& input, const NotebookVariantParams& params,
                                     const NotebookVariantWeights& weights,
                                     const RunOptions& options, NotebookVariantResult* result,
                                     StageTimes* times);

  // The kernels generated at a few output pixels, [N, B, G, K*K] (involution_kernels_at_shape),
  // for hover, pins and the step-through. Pixels are checked (check_output_pixels). The
  // default runs the reference generation on the CPU for just those pixels, in double
  // precision: for a handful of pixels that beats any device round trip, and it equals the
  // matching slices of cpu-ref's full kernels tensor bit for bit.
  virtual Tensor involution_kernels_at(const Tensor& input, const InvolutionParams& params,
                                       const InvolutionWeights& weights,
                                       const std::vector<OutputPixel>& pixels);

  // Fresh results, all kernels: the one-shot form of the calls above.
  Tensor conv2d(const Tensor& input, const ConvParams& params, const ConvWeights& weights,
                StageTimes* times) {
    Tensor out;
    conv2d_into(input, params, weights, RunOptions{}, &out, times);
    return out;
  }
  InvolutionResult involution2d(const Tensor& input, const InvolutionParams& params,
                                const InvolutionWeights& weights, StageTimes* times,
                                KernelsMode kernels = KernelsMode::Full) {
    InvolutionResult result;
    RunOptions options;
    options.kernels = kernels;
    involution2d_into(input, params, weights, options, &result, times);
    return result;
  }
};

// Every backend compiled into this build, available or not, in preference order
// (fastest first; "cpu-ref" last).
std::vector<std::string> backend_names();
// The same backends as objects, in the same order. The registry owns them.
std::vector<Backend*> registered_backends();
// nullptr when no backend has that name. The registry owns the backends.
Backend* find_backend(const std::string& name);
// For callers that have no parameters to ask about (listings, benchmarks): "auto" is the
// first available backend auto may pick, a name must exist and be available; throws
// ks::Error otherwise. When auto skips a backend that is compiled in but unusable (no GPU),
// notice gets a one-line explanation. Runs go through dispatch() instead, which also asks
// supports().
Backend& select_backend(const std::string& name, std::string* notice = nullptr);

// Which GPU the CUDA backends use, counting from 0 as CUDA does (default 0; CUDA_VISIBLE_DEVICES
// applies first). The device is probed once, at the first question to a GPU backend, so set
// it before that; a later call throws Error. A build without CUDA accepts only 0.
void set_gpu_device(int index);
int gpu_device();

// True for the backends that run on the CPU ("cpu", "cpu-ref"): they have no device to
// lose or run out of.
bool is_cpu_backend(const Backend& backend);

}  // namespace ks
