// The "cpu" backend: every core, AVX2/FMA when the processor has it (chosen at run time),
// a portable path otherwise. Same results as cpu-ref within float rounding.
#include "backend_factories.h"
#include "cpu/band.h"
#include "cpu/cpu_features.h"
#include "cpu/cpu_ops.h"
#include "stopwatch.h"

namespace ks {
namespace {

// The padded input band (band.h) of even one output row holds `channels` x d(K-1)+1 input
// rows of stride x (padded width / stride + 8) floats, in every thread. A stride, dilation
// or padding of thousands or millions would need gigabytes there (or overflow) for an output
// of a few pixels: the cpu backend declines those, and cpu-ref, which reads the input
// directly, runs them in milliseconds.
bool band_fits(int64_t channels, int64_t kernel_size, int64_t stride, int64_t padding,
               int64_t dilation) {
  if (channels < 1 || kernel_size < 1 || stride < 1 || padding < 0 || dilation < 1)
    return true;  // invalid: the shape functions refuse them with a message
  return cpu::least_band_bytes(channels, kernel_size, stride, padding, dilation) <=
         cpu::kMaxThreadBufferBytes;
}

// d(K-1)/2 without overflow; an absurd one saturates and is declined.
int64_t kernel_span_padding(const InvolutionParams& p) {
  return cpu::sat_mul(p.kernel_size - 1, p.dilation) / 2;
}

// The reference loops, for problems whose buffers would pass kMaxThreadBufferBytes.
Backend& reference() { return *find_backend("cpu-ref"); }

class CpuBackend final : public Backend {
 public:
  std::string name() const override { return "cpu"; }
  std::string description() const override {
    return std::string("multithreaded CPU (") + std::to_string(cpu::thread_count()) + " threads, " +
           cpu::active_path_name() + ")";
  }
  bool supports(const ConvParams& p) const override {
    return p.groups < 1 ||
           band_fits(p.in_channels / p.groups, p.kernel_size, p.stride, p.padding, p.dilation);
  }
  bool supports(const InvolutionParams& p) const override {
    return p.kernel_size < 1 || p.dilation < 1 ||
           band_fits(p.channels, p.kernel_size, p.stride, kernel_span_padding(p), p.dilation);
  }

  void conv2d_into(const Tensor& input, const ConvParams& params, const ConvWeights& weights,
                   const RunOptions& options, Tensor* output, StageTimes* times) override {
    // supports() sees no input: a wide one can still make the buffers too large.
    if (!cpu::conv2d_buffer_bytes(input.shape, params).fits())
      return reference().conv2d_into(input, params, weights, options, output, times);
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
    if (!cpu::involution2d_buffer_bytes(input.shape, params).fits())
      return reference().involution2d_into(input, params, weights, options, result, times);
    Stopwatch total;
    if (times) *times = {};
    cpu::involution2d(input, params, weights, options, result, times);
    if (times) times->total_ms = total.elapsed_ms();
  }
};

}  // namespace

std::unique_ptr<Backend> make_cpu_backend() { return std::make_unique<CpuBackend>(); }

}  // namespace ks
