// The "cpu-ref" backend: the reference loops behind the Backend interface.
#include "backend_factories.h"
#include "cpu_ref/reference.h"
#include "stopwatch.h"

namespace ks {
namespace {

class CpuRefBackend final : public Backend {
 public:
  std::string name() const override { return "cpu-ref"; }
  std::string description() const override {
    return "reference loops on one CPU thread (the oracle, slow)";
  }
  bool supports(const ConvParams&) const override { return true; }
  bool supports(const InvolutionParams&) const override { return true; }
  bool supports(const NotebookVariantParams&) const override { return true; }

  void conv2d_into(const Tensor& input, const ConvParams& params, const ConvWeights& weights,
                   const RunOptions& options, Tensor* output, StageTimes* times) override {
    Stopwatch total;
    if (options.cancel && options.cancel->load()) throw Cancelled();
    *output = ref::conv2d(input, params, weights);
    if (times) {
      *times = {};
      times->aggregation_ms = times->total_ms = total.elapsed_ms();
    }
  }

  // The reference makes the full kernels tensor whatever is asked (it is the oracle), then
  // keeps only what the options ask for.
  void involution2d_into(const Tensor& input, const InvolutionParams& params,
                         const InvolutionWeights& weights, const RunOptions& options,
                         InvolutionResult* result, StageTimes* times) override {
    Stopwatch total;
    Stopwatch stage;
    Tensor kernels = ref::involution_kernels(input, params, weights);
    const double generation_ms = stage.elapsed_ms();
    if (options.cancel && options.cancel->load()) throw Cancelled();
    stage.reset();
    result->output = ref::involution_aggregate(input, kernels, params);
    const double aggregation_ms = stage.elapsed_ms();
    result->kernel_sum =
        options.kernels == KernelsMode::Sum ? ref::involution_kernel_sum(kernels) : Tensor();
    result->kernels = options.kernels == KernelsMode::Full ? std::move(kernels) : Tensor();
    if (times) {
      *times = {};
      times->kernel_generation_ms = generation_ms;
      times->aggregation_ms = aggregation_ms;
      times->total_ms = total.elapsed_ms();
    }
  }

  // The notebook's inv() is plain loops already (notebook_variant.cpp): the oracle runs it.
  void notebook_variant_into(const Tensor& input, const NotebookVariantParams& params,
                             const NotebookVariantWeights& weights, const RunOptions& options,
                             NotebookVariantResult* result, StageTimes* times) override {
    Stopwatch total;
    if (options.cancel && options.cancel->load()) throw Cancelled();
    *result = notebook_variant_involution(input, params, weights);
    if (times) {
      *times = {};
      times->aggregation_ms = times->total_ms = total.elapsed_ms();
    }
  }
};

}  // namespace

std::unique_ptr<Backend> make_cpu_ref_backend() { return std::make_unique<CpuRefBackend>(); }

}  // namespace ks
