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

  Tensor conv2d(const Tensor& input, const ConvParams& params, const ConvWeights& weights,
                StageTimes* times) override {
    Stopwatch total;
    Tensor out = ref::conv2d(input, params, weights);
    if (times) {
      *times = {};
      times->aggregation_ms = times->total_ms = total.elapsed_ms();
    }
    return out;
  }

  InvolutionResult involution2d(const Tensor& input, const InvolutionParams& params,
                                const InvolutionWeights& weights, StageTimes* times) override {
    Stopwatch total;
    InvolutionResult result;
    Stopwatch stage;
    result.kernels = ref::involution_kernels(input, params, weights);
    const double generation_ms = stage.elapsed_ms();
    stage.reset();
    result.output = ref::involution_aggregate(input, result.kernels, params);
    if (times) {
      *times = {};
      times->kernel_generation_ms = generation_ms;
      times->aggregation_ms = stage.elapsed_ms();
      times->total_ms = total.elapsed_ms();
    }
    return result;
  }
};

}  // namespace

std::unique_ptr<Backend> make_cpu_ref_backend() { return std::make_unique<CpuRefBackend>(); }

}  // namespace ks
