// Shape rules, validation, cost model and default initialisation of both operators.
#include "kernelscope/ops.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <sstream>

#include "cpu/cpu_ops.h"
#include "kernelscope/error.h"

namespace ks {
namespace {

void require(bool ok, const std::string& message) {
  if (!ok) throw Error(message);
}

void check_input_rank(const Shape& input) {
  require(input.size() == 4, "input must be [B, C, H, W], got " + shape_to_string(input));
  for (int64_t d : input)
    require(d > 0, "input dimensions must be positive, got " + shape_to_string(input));
}

std::string str(int64_t v) { return std::to_string(v); }

constexpr int64_t kMaxInt64 = std::numeric_limits<int64_t>::max();

// Without a + b - 1, which overflows for an absurd stride.
int64_t ceil_div(int64_t a, int64_t b) { return a / b + (a % b != 0); }

// d(K-1)+1, the extent of a dilated kernel. Absurd flags must fail with a message here,
// not wrap round to a plausible geometry that the backends then index with.
int64_t kernel_span(int64_t kernel_size, int64_t dilation) {
  int64_t span = 0;
  if (__builtin_mul_overflow(dilation, kernel_size - 1, &span) ||
      __builtin_add_overflow(span, int64_t{1}, &span))
    throw Error("the kernel span d(K-1)+1 overflows 64-bit integers with d=" + str(dilation) +
                " K=" + str(kernel_size));
  return span;
}

double as_double(int64_t v) { return static_cast<double>(v); }

double numel_as_double(const Shape& shape) {
  double n = 1;
  for (int64_t d : shape) n *= as_double(d);
  return n;
}

// Bytes of this many float32 values, saturated at INT64_MAX: an estimate for absurd
// parameters must fail the memory cap, never wrap round to a small number that passes it.
int64_t saturated_float_bytes(double floats) {
  const double bytes = 4 * floats;
  return bytes >= static_cast<double>(kMaxInt64) ? kMaxInt64 : static_cast<int64_t>(bytes);
}

void check_shape(const Tensor& t, const Shape& expected, const char* name) {
  require(t.shape == expected, std::string(name) + " must have shape " + shape_to_string(expected) +
                                   ", got " + shape_to_string(t.shape));
}

// splitmix64: small, fast and identical on every platform, unlike std:: distributions.
struct SeededUniform {
  uint64_t state;
  uint64_t next() {
    uint64_t z = (state += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
  }
  // Uniform in [-bound, bound).
  float symmetric(float bound) {
    double u = static_cast<double>(next() >> 11) * (1.0 / 9007199254740992.0);
    return static_cast<float>((2.0 * u - 1.0) * bound);
  }
  void fill(Tensor& t, float bound) {
    for (float& v : t.data) v = symmetric(bound);
  }
};

int64_t nonfinite_count(const Tensor& t) {
  int64_t n = 0;
  for (float v : t.data) n += !std::isfinite(v);
  return n;
}

void report_nonfinite(std::ostringstream& out, const Tensor& t, const char* name) {
  int64_t n = nonfinite_count(t);
  if (n == 0) return;
  if (out.tellp() > 0) out << "; ";
  out << name << " has " << n << " NaN/Inf value" << (n == 1 ? "" : "s");
}

// A variance below zero (or NaN/Inf) makes 1/sqrt(var + eps) NaN, which the ReLU after BN
// then turns into a silently dead channel: no trained layer has one, so it is an error.
void check_bn_variance(const Tensor& var) {
  for (size_t i = 0; i < var.data.size(); ++i) {
    const float v = var.data[i];
    if (std::isfinite(v) && v >= 0) continue;
    std::ostringstream value;
    value << v;
    throw Error("conv1.bn.running_var[" + std::to_string(i) + "] is " + value.str() +
                ": a BN running variance must be finite and >= 0");
  }
}

}  // namespace

Shape conv_output_shape(const Shape& input, const ConvParams& p) {
  check_input_rank(input);
  require(p.kernel_size >= 1, "kernel size must be >= 1, got " + str(p.kernel_size));
  require(p.stride >= 1, "stride must be >= 1, got " + str(p.stride));
  require(p.padding >= 0, "padding must be >= 0, got " + str(p.padding));
  require(p.dilation >= 1, "dilation must be >= 1, got " + str(p.dilation));
  require(p.groups >= 1, "groups must be >= 1, got " + str(p.groups));
  require(p.out_channels >= 1, "output channels must be >= 1, got " + str(p.out_channels));
  require(input[1] == p.in_channels,
          "input has " + str(input[1]) + " channels but the layer expects " + str(p.in_channels));
  require(
      p.in_channels % p.groups == 0,
      "groups (" + str(p.groups) + ") must divide the input channels (" + str(p.in_channels) + ")");
  require(p.out_channels % p.groups == 0, "groups (" + str(p.groups) +
                                              ") must divide the output channels (" +
                                              str(p.out_channels) + ")");
  const int64_t span = kernel_span(p.kernel_size, p.dilation);
  int64_t two_p = 0, padded_h = 0, padded_w = 0;
  if (__builtin_mul_overflow(p.padding, int64_t{2}, &two_p) ||
      __builtin_add_overflow(input[2], two_p, &padded_h) ||
      __builtin_add_overflow(input[3], two_p, &padded_w))
    throw Error("the padded size H + 2p overflows 64-bit integers with p=" + str(p.padding));
  if (padded_h < span || padded_w < span) {
    throw Error("output size would be <= 0: floor((H + 2p - d(K-1) - 1)/s) + 1 with H=" +
                str(input[2]) + " W=" + str(input[3]) + " p=" + str(p.padding) +
                " d=" + str(p.dilation) + " K=" + str(p.kernel_size) + " s=" + str(p.stride));
  }
  return {input[0], p.out_channels, (padded_h - span) / p.stride + 1,
          (padded_w - span) / p.stride + 1};
}

static void check_involution_params(const Shape& input, const InvolutionParams& p) {
  check_input_rank(input);
  require(p.kernel_size >= 1 && p.kernel_size % 2 == 1,
          "involution kernel size must be odd and >= 1, got " + str(p.kernel_size));
  require(p.stride >= 1, "stride must be >= 1, got " + str(p.stride));
  require(p.dilation >= 1, "dilation must be >= 1, got " + str(p.dilation));
  require(p.group_channels >= 1, "group channels must be >= 1, got " + str(p.group_channels));
  require(p.reduction >= 1, "reduction must be >= 1, got " + str(p.reduction));
  require(input[1] == p.channels,
          "input has " + str(input[1]) + " channels but the layer expects " + str(p.channels));
  require(p.channels % p.group_channels == 0, "channels (" + str(p.channels) +
                                                  ") must be divisible by group channels (" +
                                                  str(p.group_channels) + ")");
  require(p.channels / p.reduction >= 1, "reduction (" + str(p.reduction) +
                                             ") must not exceed the channels (" + str(p.channels) +
                                             ")");
  // The image padded by d(K-1)/2 on each side, and K*K, must fit in 64-bit integers.
  const int64_t span = kernel_span(p.kernel_size, p.dilation);
  require(span - 1 <= kMaxInt64 - std::max(input[2], input[3]),
          "the padded size overflows 64-bit integers with d=" + str(p.dilation) +
              " K=" + str(p.kernel_size));
  require(p.kernel_size <= 3037000499,  // floor(sqrt(INT64_MAX))
          "involution kernel size " + str(p.kernel_size) + " is too large: K*K overflows");
}

Shape involution_output_shape(const Shape& input, const InvolutionParams& p) {
  check_involution_params(input, p);
  return {input[0], p.channels, ceil_div(input[2], p.stride), ceil_div(input[3], p.stride)};
}

Shape involution_kernels_shape(const Shape& input, const InvolutionParams& p) {
  Shape out = involution_output_shape(input, p);
  return {input[0], p.groups(), p.taps(), out[2], out[3]};
}

Shape involution_kernel_sum_shape(const Shape& input, const InvolutionParams& p) {
  Shape out = involution_output_shape(input, p);
  return {input[0], p.groups(), out[2], out[3]};
}

Shape involution_kernels_at_shape(const Shape& input, const InvolutionParams& p,
                                  int64_t pixel_count) {
  involution_output_shape(input, p);  // validates
  return {pixel_count, input[0], p.groups(), p.taps()};
}

const char* op_kind_name(OpKind op) { return op == OpKind::Conv ? "conv" : "involution"; }

OpKind parse_op_kind(const std::string& name) {
  if (name == "conv") return OpKind::Conv;
  if (name == "involution") return OpKind::Involution;
  throw Error("unknown operator '" + name + "' (use conv or involution)");
}

const char* kernels_mode_name(KernelsMode mode) {
  switch (mode) {
    case KernelsMode::None:
      return "none";
    case KernelsMode::Sum:
      return "sum";
    case KernelsMode::Full:
      break;
  }
  return "full";
}

KernelsMode parse_kernels_mode(const std::string& name) {
  if (name == "none") return KernelsMode::None;
  if (name == "sum") return KernelsMode::Sum;
  if (name == "full") return KernelsMode::Full;
  throw Error("unknown kernels mode '" + name + "' (use full, sum or none)");
}

std::vector<OutputPixel> parse_output_pixels(const std::string& text) {
  std::vector<OutputPixel> pixels;
  auto fail = [&] {
    throw Error("cannot read output pixels '" + text +
                "' (expected \"y,x;y,x\", e.g. \"10,20;0,0\")");
  };
  std::stringstream items(text);
  std::string item;
  while (std::getline(items, item, ';')) {
    if (item.find_first_not_of(" \t") == std::string::npos) continue;  // "1,2;" is fine
    long long y = 0, x = 0;
    char comma = 0, rest = 0;
    std::istringstream in(item);
    if (!(in >> y >> comma >> x) || comma != ',' || (in >> rest)) fail();
    pixels.push_back({y, x});
  }
  if (pixels.empty()) fail();
  return pixels;
}

void check_output_pixels(const Shape& input, const InvolutionParams& p,
                         const std::vector<OutputPixel>& pixels) {
  const Shape out = involution_output_shape(input, p);
  require(!pixels.empty(), "no output pixels given");
  for (const OutputPixel& px : pixels)
    require(px.y >= 0 && px.y < out[2] && px.x >= 0 && px.x < out[3],
            "output pixel (" + str(px.y) + ", " + str(px.x) + ") is outside the output of " +
                str(out[2]) + " x " + str(out[3]) + " (y in 0.." + str(out[2] - 1) + ", x in 0.." +
                str(out[3] - 1) + ")");
}

void validate_conv_weights(const ConvParams& p, const ConvWeights& w) {
  check_shape(w.weight, {p.out_channels, p.in_channels / p.groups, p.kernel_size, p.kernel_size},
              "conv weight");
  if (p.has_bias)
    check_shape(w.bias, {p.out_channels}, "conv bias");
  else
    require(w.bias.empty(), "conv bias given but the layer has no bias");
}

void validate_involution_weights(const InvolutionParams& p, const InvolutionWeights& w) {
  int64_t cr = p.reduced_channels();
  check_shape(w.reduce_weight, {cr, p.channels}, "conv1.conv.weight");
  check_shape(w.bn_gamma, {cr}, "conv1.bn.weight");
  check_shape(w.bn_beta, {cr}, "conv1.bn.bias");
  check_shape(w.bn_mean, {cr}, "conv1.bn.running_mean");
  check_shape(w.bn_var, {cr}, "conv1.bn.running_var");
  check_shape(w.span_weight, {p.taps() * p.groups(), cr}, "conv2.conv.weight");
  check_shape(w.span_bias, {p.taps() * p.groups()}, "conv2.conv.bias");
  require(std::isfinite(w.bn_eps) && w.bn_eps > 0, "BN eps must be positive and finite");
  check_bn_variance(w.bn_var);
}

// The cost model counts in double: products of absurd parameters overflow int64.
double conv_flops(const Shape& input, const ConvParams& p) {
  const Shape out = conv_output_shape(input, p);
  const double macs = numel_as_double(out) * as_double(p.in_channels / p.groups) *
                      as_double(p.kernel_size) * as_double(p.kernel_size);
  return 2.0 * macs;
}

double involution_flops(const Shape& input, const InvolutionParams& p) {
  const Shape out = involution_output_shape(input, p);
  const double taps = as_double(p.kernel_size) * as_double(p.kernel_size);
  const double pixels = as_double(out[0]) * as_double(out[2]) * as_double(out[3]);
  const double generation = pixels * as_double(p.reduced_channels()) *
                            (as_double(p.channels) + taps * as_double(p.groups()));
  const double aggregation = numel_as_double(out) * taps;
  return 2.0 * (generation + aggregation);
}

// The tensors are counted in double above; the CPU's working buffers come saturated in
// bytes. Their sum saturates too.
static int64_t plus_buffers(int64_t tensor_bytes, int64_t buffer_bytes) {
  int64_t sum = 0;
  return __builtin_add_overflow(tensor_bytes, buffer_bytes, &sum) ? kMaxInt64 : sum;
}

int64_t conv_memory_bytes(const Shape& input, const ConvParams& p) {
  const Shape out = conv_output_shape(input, p);
  const double weights = as_double(p.out_channels) * as_double(p.in_channels / p.groups) *
                             as_double(p.kernel_size) * as_double(p.kernel_size) +
                         as_double(p.out_channels);
  const int64_t tensors =
      saturated_float_bytes(numel_as_double(input) + numel_as_double(out) + weights);
  // The cpu backend's bands and packed weights; a problem whose buffers pass the budget runs
  // on the reference loops, which allocate nothing besides the output.
  const cpu::BufferBytes buffers = cpu::conv2d_buffer_bytes(input, p);
  return plus_buffers(tensors, buffers.fits() ? buffers.total() : 0);
}

int64_t involution_memory_bytes(const Shape& input, const InvolutionParams& p, KernelsMode mode) {
  const Shape out = involution_output_shape(input, p);
  const double rows = as_double(p.kernel_size) * as_double(p.kernel_size) * as_double(p.groups());
  const double pixels = as_double(out[0]) * as_double(out[2]) * as_double(out[3]);
  const double kernels = mode == KernelsMode::Full  ? rows * pixels
                         : mode == KernelsMode::Sum ? as_double(p.groups()) * pixels
                                                    : 0.0;
  const double weights = as_double(p.reduced_channels()) * (as_double(p.channels) + 4 + rows + 1);
  const int64_t tensors =
      saturated_float_bytes(numel_as_double(input) + numel_as_double(out) + kernels + weights);
  // The cpu backend's bands and tiles; a problem whose buffers pass the budget runs on the
  // reference loops, which make the full kernels tensor whatever the mode.
  const cpu::BufferBytes buffers = cpu::involution2d_buffer_bytes(input, p);
  if (buffers.fits()) return plus_buffers(tensors, buffers.total());
  return plus_buffers(tensors,
                      mode == KernelsMode::Full ? 0 : saturated_float_bytes(rows * pixels));
}

int64_t memory_cap_bytes(int64_t mib) {
  if (mib <= 0) return 0;
  return mib > (kMaxInt64 >> 20) ? kMaxInt64 : mib << 20;
}

void check_memory_cap(int64_t needed, int64_t cap, const std::string& what) {
  // A saturated estimate means "too large to count": refused even under a saturated cap.
  if (needed <= cap && needed < kMaxInt64) return;
  // Rounds up without overflowing near INT64_MAX.
  auto mib = [](int64_t b) { return std::to_string(b / (1 << 20) + (b % (1 << 20) != 0)); };
  throw Error(what + " needs " + mib(needed) + " MiB, more than the memory cap of " + mib(cap) +
              " MiB (raise it with --max-memory-mb)");
}

ConvWeights random_conv_weights(const ConvParams& p, uint64_t seed) {
  SeededUniform rng{seed};
  ConvWeights w;
  w.weight = Tensor({p.out_channels, p.in_channels / p.groups, p.kernel_size, p.kernel_size});
  float bound = 1.0f / std::sqrt(static_cast<float>(w.weight.numel() / p.out_channels));
  rng.fill(w.weight, bound);
  if (p.has_bias) {
    w.bias = Tensor({p.out_channels});
    rng.fill(w.bias, bound);
  }
  return w;
}

InvolutionWeights random_involution_weights(const InvolutionParams& p, uint64_t seed) {
  SeededUniform rng{seed};
  int64_t cr = p.reduced_channels();
  InvolutionWeights w;
  w.reduce_weight = Tensor({cr, p.channels});
  rng.fill(w.reduce_weight, 1.0f / std::sqrt(static_cast<float>(p.channels)));
  w.bn_gamma = Tensor({cr}, 1.0f);
  w.bn_beta = Tensor({cr}, 0.0f);
  w.bn_mean = Tensor({cr}, 0.0f);
  w.bn_var = Tensor({cr}, 1.0f);
  float span_bound = 1.0f / std::sqrt(static_cast<float>(cr));
  w.span_weight = Tensor({p.taps() * p.groups(), cr});
  rng.fill(w.span_weight, span_bound);
  w.span_bias = Tensor({p.taps() * p.groups()});
  rng.fill(w.span_bias, span_bound);
  return w;
}

std::string nonfinite_input_report(const Tensor& input) {
  std::ostringstream out;
  report_nonfinite(out, input, "input");
  return out.str();
}

std::string nonfinite_weights_report(const ConvWeights& w) {
  std::ostringstream out;
  report_nonfinite(out, w.weight, "weight");
  report_nonfinite(out, w.bias, "bias");
  return out.str();
}

std::string nonfinite_weights_report(const InvolutionWeights& w) {
  std::ostringstream out;
  report_nonfinite(out, w.reduce_weight, "conv1.conv.weight");
  report_nonfinite(out, w.bn_gamma, "conv1.bn.weight");
  report_nonfinite(out, w.bn_beta, "conv1.bn.bias");
  report_nonfinite(out, w.bn_mean, "conv1.bn.running_mean");
  report_nonfinite(out, w.bn_var, "conv1.bn.running_var");
  report_nonfinite(out, w.span_weight, "conv2.conv.weight");
  report_nonfinite(out, w.span_bias, "conv2.conv.bias");
  return out.str();
}

}  // namespace ks
