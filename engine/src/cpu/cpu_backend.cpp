// The "cpu" backend: every core, AVX2/FMA when the processor has it (chosen at run time),
// a portable path otherwise. Same results as cpu-ref within float rounding.
#include "backend_factories.h"
#include "cpu/cpu_features.h"
#include "cpu/cpu_ops.h"
#include "stopwatch.h"

namespace ks {
namespace {

class CpuBackend final : public Backend {
 public:
  std::string name() const override { return "cpu"; }
  std::string description() const override {
    return std::string("multithreaded CPU (") + std::to_string(cpu::thread_count()) + " threads, " +
           cpu::active_path_name() + ")";
  }
  bool supports(const ConvParams&) const override { return true; }
  bool supports(const InvolutionParams&) const override { return true; }

  Tensor conv2d(const Tensor& input, const ConvParams& params, const ConvWeights& weights,
                StageTimes* times) override {
    Stopwatch total;
    Tensor out = cpu::conv2d(input, params, weights);
    if (times) {
      *times = {};
      times->aggregation_ms = times->total_ms = total.elapsed_ms();
    }
    return out;
  }

  InvolutionResult involution2d(const Tensor& input, const InvolutionParams& params,
                                const InvolutionWeights& weights, StageTimes* times) override {
    Stopwatch total;
    if (times) *times = {};
    InvolutionResult result = cpu::involution2d(input, params, weights, times);
    if (times) times->total_ms = total.elapsed_ms();
    return result;
  }
};

}  // namespace

std::unique_ptr<Backend> make_cpu_backend() { return std::make_unique<CpuBackend>(); }

}  // namespace ks
