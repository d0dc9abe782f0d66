// The "cpu" backend: every core, AVX2/FMA when the processor has it (chosen at run time),
// a portable path otherwise. Same results as cpu-ref within float rounding.
#include "backend_factories.h"
#include "cpu/cpu_features.h"
#include "cpu/cpu_ops.h"
#include "stopwatch.h"

namespace ks {
namespace {

// The padded input band of even one output row (band.h) holds `channels` x d(K-1)+1 input
// rows of at least d(K-1) floats each. Huge dilations would need terabytes there for an
// output of a few pixels (a bad_alloc in a worker thread ends the process): those are left
// to cpu-ref, which reads the input directly.
bool band_fits(int64_t channels, int64_t kernel_size, int64_t dilation) {
  constexpr double kMaxBandFloats = double(int64_t{1} << 30);  // 4 GiB
  const double reach = static_cast<double>(dilation) * static_cast<double>(kernel_size - 1);
  return static_cast<double>(channels) * (reach + 1) * reach <= kMaxBandFloats;
}

class CpuBackend final : public Backend {
 public:
  std::string name() const override { return "cpu"; }
  std::string description() const override {
    return std::string("multithreaded CPU (") + std::to_string(cpu::thread_count()) + " threads, " +
           cpu::active_path_name() + ")";
  }
  bool supports(const ConvParams& p) const override {
    return p.groups < 1 || band_fits(p.in_channels / p.groups, p.kernel_size, p.dilation);
  }
  bool supports(const InvolutionParams& p) const override {
    return band_fits(p.channels, p.kernel_size, p.dilation);
  }

  void conv2d_into(const Tensor& input, const ConvParams& params, const ConvWeights& weights,
                   const RunOptions& options, Tensor* output, StageTimes* times) override {
    Stopwatch total;
    cpu::conv2d(input, params, weights, options, output);
    if (times) {
      *times = {};
      times->aggregation_ms = times->total_ms = total.elapsed_ms();
    }
  }

  void involution2d_into(const Tensor& input, const InvolutionParams& params,
                         const InvolutionWeights& weights, const RunOptions& options,
                         InvolutionResult* result, StageTimes* times) override {
    Stopwatch total;
    if (times) *times = {};
    cpu::involution2d(input, params, weights, options, result, times);
    if (times) times->total_ms = total.elapsed_ms();
  }
};

}  // namespace

std::unique_ptr<Backend> make_cpu_backend() { return std::make_unique<CpuBackend>(); }

}  // namespace ks
