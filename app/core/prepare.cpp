// From an operation spec to a layer ready to run (prepare.h).
#include "core/prepare.h"

#include <cmath>
#include <string>

#include "kernelscope/designed_involution.h"
#include "kernelscope/error.h"
#include "kernelscope/io.h"
#include "kernelscope/kernel_presets.h"

namespace ks::core {
namespace {

std::string str(int64_t v) { return std::to_string(v); }

bool set(int64_t value) { return value >= 0; }

// "--kernel-size 5 contradicts the weights file (kernel size 3)"
// `name` says where the value came from (prepare.h); the flag by default.
void check_matches(int64_t value, int64_t decided, Param param, const std::string& decider,
                   const ParamNamer& name) {
  if (set(value) && value != decided)
    throw Error((name ? name(param) : std::string(limits(param).flag)) + " " + str(value) +
                " contradicts " + decider + " (" + limits(param).label + " " + str(decided) + ")");
}

// K where the spec leaves it open: a grid says it by its size, else the default.
int64_t kernel_size_of(const OperationSpec& s) {
  if (set(s.kernel_size)) return s.kernel_size;
  if (s.weights.source == "grid") {
    const auto side = static_cast<int64_t>(std::lround(std::sqrt(s.weights.grid.size())));
    if (side * side == static_cast<int64_t>(s.weights.grid.size())) return side;
  }
  return kDefaultKernelSize;
}

// The K x K kernel of a named kernel or grid source.
std::vector<float> kernel_values(const WeightsSpec& w, int64_t kernel_size) {
  if (w.source != "grid") return kernel_preset(kernel_preset_from_name(w.source), kernel_size);
  if (static_cast<int64_t>(w.grid.size()) != kernel_size * kernel_size)
    throw Error("the grid has " + std::to_string(w.grid.size()) + " values but K=" +
                str(kernel_size) + " needs " + str(kernel_size) + " x " + str(kernel_size));
  return w.grid;
}

const LearnedLayers& learned_or_throw(const LearnedLayers* learned, bool has, const char* what) {
  if (!learned || !has)
    throw Error(std::string("no learned ") + what +
                " weights: train them in the app's Learn panel (View > Learn), or save them "
                "there and give the file");
  return *learned;
}

ConvParams conv_layer(const OperationSpec& s, const Tensor& input, const LearnedLayers* learned,
                      const ParamNamer& name, ConvWeights* weights,
                      std::vector<std::string>* warnings) {
  const WeightsSpec& w = s.weights;
  const int64_t cap = memory_cap_bytes(s.max_memory_mb);
  if (set(s.group_channels) || set(s.reduction))
    throw Error("--group-channels and --reduction apply to --op involution only");
  ConvParams p;
  p.in_channels = input.dim(1);
  p.stride = set(s.stride) ? s.stride : 1;
  p.padding = set(s.padding) ? s.padding : 0;
  p.dilation = set(s.dilation) ? s.dilation : 1;
  p.groups = set(s.groups) ? s.groups : 1;
  p.has_bias = true;
  const bool decided = w.source == "file" || w.source == "learned";
  if (w.source == "learned") {
    const LearnedLayers& l = learned_or_throw(learned, learned && learned->has_conv, "convolution");
    p = l.conv;
    *weights = l.conv_weights;
  } else if (w.source == "file") {
    ConvParams from_file = p;
    *weights = conv_weights_from_tensors(load_safetensors(w.file, cap), &from_file);
    check_matches(s.kernel_size, from_file.kernel_size, Param::KernelSize, "the weights file",
                  name);
    check_matches(s.out_channels, from_file.out_channels, Param::OutChannels, "the weights file",
                  name);
    p = from_file;
  } else {
    p.out_channels = set(s.out_channels) ? s.out_channels : kDefaultConvOutChannels;
    p.kernel_size = kernel_size_of(s);
  }
  if (decided && p.in_channels != input.dim(1))
    throw Error(std::string(w.source == "file" ? "the weights file" : "the learned weights") +
                (w.source == "file" ? " expects " : " expect ") + str(p.in_channels) +
                " input channels, the image has " + str(input.dim(1)));
  // Validate the shapes and the memory they need before random weights are allocated.
  check_memory_cap(conv_memory_bytes(input.shape, p), cap, "this convolution");
  if (!decided)
    *weights = w.source == "random" ? random_conv_weights(p, w.seed)
                                    : conv_weights_from_kernel(p, kernel_values(w, p.kernel_size));
  validate_conv_weights(p, *weights);
  const std::string bad = nonfinite_weights_report(*weights);
  if (!bad.empty()) warnings->push_back("weights contain non-finite values: " + bad);
  return p;
}

InvolutionParams involution_layer(const OperationSpec& s, const Tensor& input,
                                  const LearnedLayers* learned, const ParamNamer& name,
                                  InvolutionWeights* weights, std::vector<std::string>* warnings) {
  const WeightsSpec& w = s.weights;
  const int64_t cap = memory_cap_bytes(s.max_memory_mb);
  const int64_t channels = input.dim(1);
  InvolutionParams p;
  p.channels = channels;
  p.stride = set(s.stride) ? s.stride : 1;
  p.dilation = set(s.dilation) ? s.dilation : 1;
  if (set(s.out_channels) && s.out_channels != channels)
    throw Error("involution keeps the channel count: --out-channels " + str(s.out_channels) +
                " must equal the input's " + str(channels) + " channels");
  // --groups G means group channels C / G.
  int64_t group_channels = s.group_channels;
  if (set(s.groups)) {
    if (s.groups < 1 || channels % s.groups != 0)
      throw Error("--groups " + str(s.groups) + " must divide the input's " + str(channels) +
                  " channels");
    if (set(group_channels) && group_channels * s.groups != channels)
      throw Error("--groups " + str(s.groups) + " and --group-channels " + str(group_channels) +
                  " disagree: groups x group channels must equal the " + str(channels) +
                  " channels");
    group_channels = channels / s.groups;
  }
  const bool designed = has_designed_prefix(w.source);
  if (w.source == "learned") {
    const LearnedLayers& l =
        learned_or_throw(learned, learned && learned->has_involution, "involution");
    if (l.involution.channels != channels)
      throw Error("the learned weights are for " + str(l.involution.channels) +
                  " channels, the image has " + str(channels));
    p = l.involution;
    *weights = l.involution_weights;
  } else if (designed) {
    // The design decides the generator's shape; explicit values may repeat it but not
    // change it. Stride and dilation stay free: the generated kernels do not depend on them.
    const DesignedInvolution design = designed_involution_from_name(w.source);
    const InvolutionParams d = designed_involution_params(design, channels);
    check_matches(s.kernel_size, d.kernel_size, Param::KernelSize, w.source, name);
    check_matches(s.groups, d.groups(), Param::Groups, w.source, name);
    check_matches(group_channels, d.group_channels, Param::GroupChannels, w.source, name);
    check_matches(s.reduction, d.reduction, Param::Reduction, w.source, name);
    p.kernel_size = d.kernel_size;
    p.group_channels = d.group_channels;
    p.reduction = d.reduction;
  } else if (w.source == "file") {
    p.kernel_size = set(s.kernel_size) ? s.kernel_size : 0;  // 0: the file decides
    p.group_channels = set(group_channels) ? group_channels : 0;
    InvolutionParams from_file = p;
    *weights = involution_weights_from_tensors(load_safetensors(w.file, cap), &from_file);
    check_matches(s.reduction, from_file.reduction, Param::Reduction, "the weights file", name);
    check_matches(group_channels, from_file.group_channels, Param::GroupChannels,
                  "the weights file", name);
    check_matches(s.kernel_size, from_file.kernel_size, Param::KernelSize, "the weights file",
                  name);
    if (from_file.channels != channels)
      throw Error("the weights file is for " + str(from_file.channels) +
                  " channels but the input has " + str(channels));
    p = from_file;
  } else {
    p.kernel_size = kernel_size_of(s);
    // The paper's settings (16 channels per group, reduction 4) where the channel count
    // allows them; one kernel per channel and no reduction for small images.
    p.group_channels = set(group_channels) ? group_channels : (channels % 16 == 0 ? 16 : 1);
    p.reduction = set(s.reduction) ? s.reduction : (channels >= 16 ? 4 : 1);
  }
  if (set(s.padding) && s.padding != p.padding())
    throw Error("involution pads by d*(K-1)/2 = " + str(p.padding()) + "; --padding " +
                str(s.padding) + " cannot be honoured");
  // Validate the shapes and the memory they need before random weights are allocated.
  check_memory_cap(involution_memory_bytes(input.shape, p, s.kernels), cap, "this involution");
  if (designed) {
    *weights = designed_involution_weights(designed_involution_from_name(w.source), p);
  } else if (w.source == "random") {
    *weights = random_involution_weights(p, w.seed);
  } else if (is_kernel_source(w.source)) {
    *weights = involution_weights_from_kernel(p, kernel_values(w, p.kernel_size), w.seed);
    if (w.variation != 0) {
      // The seeded default-init span weight, scaled: the kernels now depend on the pixel.
      weights->span_weight = random_involution_weights(p, w.seed).span_weight;
      for (float& v : weights->span_weight.data) v *= static_cast<float>(w.variation);
    }
  }
  validate_involution_weights(p, *weights);
  const std::string bad = nonfinite_weights_report(*weights);
  if (!bad.empty()) warnings->push_back("weights contain non-finite values: " + bad);
  return p;
}

}  // namespace

PreparedOperation prepare(const OperationSpec& spec, const Tensor& input,
                          const LearnedLayers* learned, const ParamNamer& name) {
  check_spec(spec, Naming::Flags);
  if (spec.variant != "paper")
    throw Error("the notebook variant is computed by the step-through and the app, not here");
  PreparedOperation prepared;
  prepared.op = spec_op_kind(spec);
  prepared.relu = spec.activation == "relu";
  prepared.weights = spec.weights;
  if (prepared.op == OpKind::Involution)
    prepared.involution = involution_layer(spec, input, learned, name, &prepared.involution_weights,
                                           &prepared.warnings);
  else
    prepared.conv =
        conv_layer(spec, input, learned, name, &prepared.conv_weights, &prepared.warnings);
  return prepared;
}

}  // namespace ks::core
