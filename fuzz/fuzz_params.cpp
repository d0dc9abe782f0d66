// libFuzzer target over the operators' parameters: stride, padding, dilation, K, channels,
// groups, reduction, kernels mode, on small random images. The absurd values (2^60 + 1
// strides, 9000 dilations) were heap overflows and uncaught bad_allocs in the cpu backend's
// band arithmetic, so values are mostly small and sometimes anything.
//
// Each input must either be refused with ks::Error (by the shape rules or the 64 MiB cap)
// or run on cpu-ref and, where the cpu backend takes it, give the same numbers there. A
// crash, a sanitizer report, another exception type, or a difference is a bug.
#include <fuzzer/FuzzedDataProvider.h>

#include <cmath>
#include <cstdio>
#include <cstdlib>

#include "kernelscope/backend.h"
#include "kernelscope/error.h"
#include "kernelscope/ops.h"

namespace {

constexpr int64_t kCapBytes = int64_t{64} << 20;
// Above this the problem is valid but merely slow on cpu-ref, which is not a bug.
constexpr double kMaxFlops = 4e6;

int64_t draw_param(FuzzedDataProvider& in, int64_t lo, int64_t hi) {
  switch (in.ConsumeIntegralInRange<int>(0, 9)) {
    case 0:
      return in.ConsumeIntegral<int64_t>();
    case 1: {  // near a power of two, where products overflow
      const int64_t p = int64_t{1} << in.ConsumeIntegralInRange<int>(8, 62);
      return p + in.ConsumeIntegralInRange<int64_t>(-1, 1);
    }
    default:
      return in.ConsumeIntegralInRange<int64_t>(lo, hi);
  }
}

ks::Tensor random_input(FuzzedDataProvider& in, const ks::Shape& shape) {
  ks::Tensor x(shape);
  uint32_t state = in.ConsumeIntegral<uint32_t>() | 1u;
  for (float& v : x.data) {
    state ^= state << 13;
    state ^= state >> 17;
    state ^= state << 5;
    v = static_cast<float>(state % 2001) / 1000.0f - 1.0f;
  }
  return x;
}

void expect_close(const ks::Tensor& got, const ks::Tensor& want, const char* what) {
  if (got.shape != want.shape) {
    std::fprintf(stderr, "%s: shape %s, cpu-ref %s\n", what, ks::shape_to_string(got.shape).c_str(),
                 ks::shape_to_string(want.shape).c_str());
    std::abort();
  }
  for (size_t i = 0; i < got.data.size(); ++i) {
    const float a = got.data[i], b = want.data[i];
    if (!(std::fabs(a - b) <= 1e-4f + 1e-3f * std::fabs(b))) {
      std::fprintf(stderr, "%s: element %zu is %g, cpu-ref %g\n", what, i, a, b);
      std::abort();
    }
  }
}

void fuzz_conv(FuzzedDataProvider& in, const ks::Shape& shape) {
  ks::ConvParams p;
  p.in_channels = in.ConsumeBool() ? shape[1] : draw_param(in, 0, 9);
  p.out_channels = draw_param(in, 0, 9);
  p.kernel_size = draw_param(in, 0, 6);
  p.stride = draw_param(in, 0, 4);
  p.padding = draw_param(in, -1, 5);
  p.dilation = draw_param(in, 0, 4);
  p.groups = draw_param(in, 0, 4);
  p.has_bias = in.ConsumeBool();
  const uint64_t seed = in.ConsumeIntegral<uint64_t>();
  const ks::Shape out = ks::conv_output_shape(shape, p);
  ks::check_memory_cap(ks::conv_memory_bytes(shape, p), kCapBytes, "fuzzed conv");
  if (ks::conv_flops(shape, p) > kMaxFlops) return;
  const ks::ConvWeights w = ks::random_conv_weights(p, seed);
  ks::validate_conv_weights(p, w);
  const ks::Tensor x = random_input(in, shape);
  const ks::Tensor ref = ks::find_backend("cpu-ref")->conv2d(x, p, w, nullptr);
  if (ref.shape != out) std::abort();
  ks::Backend& cpu = *ks::find_backend("cpu");
  if (!cpu.supports(p)) return;
  // Twice into one tensor: the second call reuses the first's storage, as the app does.
  ks::Tensor reused(ks::Shape{1, 1, 1, 1});
  for (int i = 0; i < 2; ++i) {
    cpu.conv2d_into(x, p, w, ks::RunOptions{}, &reused, nullptr);
    expect_close(reused, ref, "cpu conv");
  }
}

void fuzz_involution(FuzzedDataProvider& in, const ks::Shape& shape) {
  ks::InvolutionParams p;
  p.channels = in.ConsumeBool() ? shape[1] : draw_param(in, 0, 9);
  p.kernel_size = draw_param(in, 0, 7);
  p.stride = draw_param(in, 0, 4);
  p.dilation = draw_param(in, 0, 4);
  p.group_channels = draw_param(in, 0, 8);
  p.reduction = draw_param(in, 0, 8);
  const auto mode = static_cast<ks::KernelsMode>(in.ConsumeIntegralInRange<int>(0, 2));
  const uint64_t seed = in.ConsumeIntegral<uint64_t>();
  const ks::Shape out = ks::involution_output_shape(shape, p);
  ks::check_memory_cap(ks::involution_memory_bytes(shape, p, mode), kCapBytes, "fuzzed involution");
  if (ks::involution_flops(shape, p) > kMaxFlops) return;
  const ks::InvolutionWeights w = ks::random_involution_weights(p, seed);
  ks::validate_involution_weights(p, w);
  const ks::Tensor x = random_input(in, shape);
  const ks::InvolutionResult ref =
      ks::find_backend("cpu-ref")->involution2d(x, p, w, nullptr, ks::KernelsMode::Full);
  if (ref.output.shape != out) std::abort();

  ks::Backend& cpu = *ks::find_backend("cpu");
  std::vector<ks::OutputPixel> pixels;
  const int count = in.ConsumeIntegralInRange<int>(1, 3);
  for (int i = 0; i < count; ++i)
    pixels.push_back({draw_param(in, 0, out[2] - 1), draw_param(in, 0, out[3] - 1)});
  bool pixels_valid = true;
  for (const ks::OutputPixel& px : pixels)
    pixels_valid = pixels_valid && px.y >= 0 && px.y < out[2] && px.x >= 0 && px.x < out[3];
  if (pixels_valid) {
    // [N, B, G, K*K] slices of the full tensor [B, G, K*K, H, W].
    const ks::Tensor at = cpu.involution_kernels_at(x, p, w, pixels);
    const int64_t b_count = out[0], groups = p.groups(), taps = p.taps();
    for (int64_t n = 0; n < count; ++n)
      for (int64_t b = 0; b < b_count; ++b)
        for (int64_t g = 0; g < groups; ++g)
          for (int64_t t = 0; t < taps; ++t) {
            const float got =
                at.data[static_cast<size_t>(((n * b_count + b) * groups + g) * taps + t)];
            const int64_t plane = ((b * groups + g) * taps + t) * out[2] * out[3];
            const float want =
                ref.kernels.data[static_cast<size_t>(plane + pixels[n].y * out[3] + pixels[n].x)];
            if (got != want) {
              std::fprintf(stderr, "kernels_at %g, full tensor %g\n", got, want);
              std::abort();
            }
          }
  }
  if (!cpu.supports(p)) return;
  ks::RunOptions options;
  options.kernels = mode;
  ks::InvolutionResult reused;
  for (int run = 0; run < 2; ++run) {
    cpu.involution2d_into(x, p, w, options, &reused, nullptr);
    expect_close(reused.output, ref.output, "cpu involution output");
    if (mode == ks::KernelsMode::Full) expect_close(reused.kernels, ref.kernels, "cpu kernels");
    if (mode == ks::KernelsMode::Sum) {
      const ks::Shape sum_shape = ks::involution_kernel_sum_shape(shape, p);
      if (reused.kernel_sum.shape != sum_shape) std::abort();
      for (int64_t i = 0; i < reused.kernel_sum.numel(); ++i) {
        const int64_t taps = p.taps(), hw = sum_shape[2] * sum_shape[3];
        const int64_t bg = i / hw, pix = i % hw;
        double want = 0;
        for (int64_t t = 0; t < taps; ++t)
          want += ref.kernels.data[static_cast<size_t>((bg * taps + t) * hw + pix)];
        const float got = reused.kernel_sum.data[static_cast<size_t>(i)];
        if (!(std::fabs(got - want) <= 1e-4 + 1e-3 * std::fabs(want))) {
          std::fprintf(stderr, "kernel sum %g, summed kernels %g\n", got, want);
          std::abort();
        }
      }
    }
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  FuzzedDataProvider in(data, size);
  const bool involution = in.ConsumeBool();
  const ks::Shape shape{
      in.ConsumeIntegralInRange<int64_t>(1, 2), in.ConsumeIntegralInRange<int64_t>(1, 8),
      in.ConsumeIntegralInRange<int64_t>(1, 20), in.ConsumeIntegralInRange<int64_t>(1, 20)};
  try {
    if (involution)
      fuzz_involution(in, shape);
    else
      fuzz_conv(in, shape);
  } catch (const ks::Error&) {
    // Refused with a message: the expected outcome for impossible or oversized parameters.
  }
  return 0;
}
