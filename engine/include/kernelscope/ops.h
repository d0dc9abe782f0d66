// Parameters, weights and shape rules of the two operators.
//
// conv2d follows PyTorch's F.conv2d; involution2d follows the official d-li14/involution
// module (reduce 1x1 -> BN(eval) -> ReLU -> span 1x1 generates a KxK kernel per pixel
// and group), with stride > 1 averaging s x s windows in ceil mode for kernel generation.
#pragma once

#include <atomic>
#include <cstdint>
#include <string>
#include <vector>

#include "kernelscope/tensor.h"

namespace ks {

// Which operator: the one name the engine, the CLI, the benchmarks and the tests use.
enum class OpKind { Conv, Involution };
// "conv" / "involution", the spelling of --op and of the JSON files.
const char* op_kind_name(OpKind op);
// Throws ks::Error naming the choices for anything but "conv" or "involution".
OpKind parse_op_kind(const std::string& name);

struct ConvParams {
  int64_t in_channels = 3;
  int64_t out_channels = 8;
  int64_t kernel_size = 3;
  int64_t stride = 1;
  int64_t padding = 0;
  int64_t dilation = 1;
  int64_t groups = 1;
  bool has_bias = true;
};

struct ConvWeights {
  Tensor weight;  // [C_out, C_in/groups, K, K]
  Tensor bias;    // [C_out], empty when the layer has no bias
};

struct InvolutionParams {
  int64_t channels = 3;
  int64_t kernel_size = 3;  // odd
  int64_t stride = 1;
  int64_t dilation = 1;
  int64_t group_channels = 1;  // channels sharing one generated kernel
  int64_t reduction = 1;

  int64_t groups() const { return channels / group_channels; }
  int64_t reduced_channels() const { return channels / reduction; }
  int64_t padding() const { return dilation * (kernel_size - 1) / 2; }
  int64_t taps() const { return kernel_size * kernel_size; }
};

struct InvolutionWeights {
  Tensor reduce_weight;  // [C/r, C]         conv1.conv.weight
  Tensor bn_gamma;       // [C/r]            conv1.bn.weight
  Tensor bn_beta;        // [C/r]            conv1.bn.bias
  Tensor bn_mean;        // [C/r]            conv1.bn.running_mean
  Tensor bn_var;         // [C/r]            conv1.bn.running_var
  float bn_eps = 1e-5f;
  Tensor span_weight;  // [K*K*G, C/r]     conv2.conv.weight, row g*K*K + ky*K + kx
  Tensor span_bias;    // [K*K*G]          conv2.conv.bias
};

// What a caller wants of the generated kernels. The full tensor is K*K*G floats per output
// pixel (1.2 GB for a 1080p image at K7, one channel per group): a screen needs only the
// per-group sum map and the kernels of a few pixels (involution_kernels_at).
enum class KernelsMode {
  None,  // the output only
  Sum,   // kernel_sum [B, G, H_out, W_out]: each pixel's K*K taps summed
  Full,  // kernels [B, G, K*K, H_out, W_out]
};
// "none" / "sum" / "full"; parse_kernels_mode throws ks::Error naming the choices.
const char* kernels_mode_name(KernelsMode mode);
KernelsMode parse_kernels_mode(const std::string& name);

struct InvolutionResult {
  Tensor output;      // [B, C, H_out, W_out]
  Tensor kernels;     // [B, G, K*K, H_out, W_out] with KernelsMode::Full, else empty
  Tensor kernel_sum;  // [B, G, H_out, W_out] with KernelsMode::Sum, else empty
};

// How one call runs. cancel, when set, is polled between tiles: once it reads true the call
// stops early and throws ks::Cancelled, leaving the result tensors unspecified.
struct RunOptions {
  KernelsMode kernels = KernelsMode::Full;
  const std::atomic<bool>* cancel = nullptr;
};

// An output pixel, (row, column) of the output grid.
struct OutputPixel {
  int64_t y = 0;
  int64_t x = 0;
};
// Parses "y,x;y,x;..." (spaces allowed); throws ks::Error on anything else.
std::vector<OutputPixel> parse_output_pixels(const std::string& text);
// Throws ks::Error when a pixel lies outside the output grid or the list is empty.
void check_output_pixels(const Shape& input, const InvolutionParams& params,
                         const std::vector<OutputPixel>& pixels);

// Output shapes. They validate the parameters against the input shape [B, C, H, W] and
// throw ks::Error with a one-line explanation (including the formula) when impossible.
Shape conv_output_shape(const Shape& input, const ConvParams& params);
Shape involution_output_shape(const Shape& input, const InvolutionParams& params);
Shape involution_kernels_shape(const Shape& input, const InvolutionParams& params);
Shape involution_kernel_sum_shape(const Shape& input, const InvolutionParams& params);
// [N, B, G, K*K]: the kernels generated at N output pixels.
Shape involution_kernels_at_shape(const Shape& input, const InvolutionParams& params,
                                  int64_t pixel_count);

// Checks that the weights have exactly the shapes the parameters imply, and that the BN
// statistics make sense (running_var finite and >= 0, eps positive).
void validate_conv_weights(const ConvParams& params, const ConvWeights& weights);
void validate_involution_weights(const InvolutionParams& params, const InvolutionWeights& weights);

// Multiply-adds counted as 2 FLOPs, for the GFLOP/s columns of benchmarks and the race.
double conv_flops(const Shape& input, const ConvParams& params);
double involution_flops(const Shape& input, const InvolutionParams& params);

// Bytes of input + weights + outputs (+ generated kernels) an operation needs, plus the
// working buffers of the CPU path that runs it (the cpu backend's bands and tiles for every
// thread, or what cpu-ref adds when the cpu backend hands it a problem); callers compare
// this with a cap before allocating anything. Saturates at INT64_MAX (never wraps round),
// so absurd parameters always fail the cap.
int64_t conv_memory_bytes(const Shape& input, const ConvParams& params);
// Involution counts the kernels tensor only when it is asked for (KernelsMode::Full).
int64_t involution_memory_bytes(const Shape& input, const InvolutionParams& params,
                                KernelsMode kernels = KernelsMode::Full);
// Throws ks::Error("... needs X MiB, more than the memory cap of Y MiB ...") when over; a
// saturated estimate (INT64_MAX) is always over.
void check_memory_cap(int64_t needed_bytes, int64_t cap_bytes, const std::string& what);
constexpr int64_t kDefaultMemoryCapBytes = int64_t{4} << 30;
// --max-memory-mb M in bytes (M << 20), saturated at INT64_MAX instead of overflowing.
int64_t memory_cap_bytes(int64_t mib);

// PyTorch's default initialisation (Kaiming-uniform with a = sqrt(5), i.e. U(-1/sqrt(fan_in),
// 1/sqrt(fan_in)) for weights and biases; BN gamma 1, beta 0, mean 0, var 1), drawn from a
// seeded generator of our own so results are reproducible across platforms.
ConvWeights random_conv_weights(const ConvParams& params, uint64_t seed);
InvolutionWeights random_involution_weights(const InvolutionParams& params, uint64_t seed);

// Returns the names of non-finite values found in the weights ("conv2.conv.weight has 3 NaN"),
// empty when all are finite. Callers print it as a warning.
std::string nonfinite_weights_report(const ConvWeights& weights);
std::string nonfinite_weights_report(const InvolutionWeights& weights);
// The same for an input tensor ("input has 2 NaN/Inf values"), empty when all are finite.
std::string nonfinite_input_report(const Tensor& input);

}  // namespace ks
