// Turns the shared operator flags into a validated, ready-to-run operation.
#include "core/operator_options.h"

#include <string>
#include <tuple>
#include <utility>

#include "core/flag_checks.h"
#include "core/parameter_limits.h"
#include "core/preset.h"
#include "kernelscope/designed_involution.h"
#include "kernelscope/error.h"
#include "kernelscope/io.h"
#include "kernelscope/kernel_presets.h"

namespace ks::core {
namespace {

std::string str(int64_t v) { return std::to_string(v); }

bool given(int64_t flag) { return flag >= 0; }

// "--kernel-size 5 contradicts the weights file (kernel size 3)"
void check_flag_matches_file(int64_t flag, int64_t from_file, const char* flag_name,
                             const char* what) {
  if (given(flag) && flag != from_file)
    throw Error(std::string("--") + flag_name + " " + str(flag) +
                " contradicts the weights file (" + what + " " + str(from_file) + ")");
}

// "--kernel-size 3 contradicts designed:edge_aware (kernel size 5)"
void check_flag_matches_design(int64_t flag, int64_t from_design, const char* flag_name,
                               const char* what, DesignedInvolution design) {
  if (given(flag) && flag != from_design)
    throw Error(std::string("--") + flag_name + " " + str(flag) + " contradicts " +
                kDesignedPrefix + designed_involution_name(design) + " (" + what + " " +
                str(from_design) + ")");
}

// The --kernel (or preset) kernel for this K; a file and a kernel cannot both decide.
std::vector<float> named_kernel(const OperatorOptions& o, int64_t kernel_size) {
  PresetWeights w;
  w.preset = o.kernel;
  w.grid = o.kernel_grid;
  return preset_kernel_values(w, kernel_size);
}

ConvParams conv_params(const OperatorOptions& o, const Tensor& input, int64_t cap,
                       ConvWeights* weights, std::vector<std::string>* warnings) {
  if (has_designed_prefix(o.kernel))
    throw Error(o.kernel + " generates involution kernels: use it with --op involution");
  ConvParams p;
  p.stride = given(o.stride) ? o.stride : 1;
  p.padding = given(o.padding) ? o.padding : 0;
  p.dilation = given(o.dilation) ? o.dilation : 1;
  if (given(o.group_channels) || given(o.reduction))
    throw Error("--group-channels and --reduction apply to --op involution only");
  if (!o.weights.empty()) {
    p.groups = given(o.groups) ? o.groups : 1;
    const TensorMap tensors = load_safetensors(o.weights, cap);
    ConvParams from_file = p;
    *weights = conv_weights_from_tensors(tensors, &from_file);
    check_flag_matches_file(o.kernel_size, from_file.kernel_size, "kernel-size", "kernel size");
    check_flag_matches_file(o.out_channels, from_file.out_channels, "out-channels",
                            "output channels");
    p = from_file;
  } else {
    p.in_channels = input.dim(1);
    p.out_channels = given(o.out_channels) ? o.out_channels : kDefaultConvOutChannels;
    p.kernel_size = given(o.kernel_size) ? o.kernel_size : kDefaultKernelSize;
    p.groups = given(o.groups) ? o.groups : 1;
    p.has_bias = true;
  }
  // Validate the shapes and the memory they need before random weights are allocated.
  check_memory_cap(conv_memory_bytes(input.shape, p), cap, "this convolution");
  if (o.weights.empty())
    *weights = o.kernel.empty() ? random_conv_weights(p, o.seed)
                                : conv_weights_from_kernel(p, named_kernel(o, p.kernel_size));
  validate_conv_weights(p, *weights);
  const std::string bad = nonfinite_weights_report(*weights);
  if (!bad.empty()) warnings->push_back("weights contain non-finite values: " + bad);
  return p;
}

InvolutionParams involution_params(const OperatorOptions& o, const Tensor& input, int64_t cap,
                                   InvolutionWeights* weights, std::vector<std::string>* warnings) {
  const int64_t channels = input.dim(1);
  InvolutionParams p;
  p.channels = channels;
  p.stride = given(o.stride) ? o.stride : 1;
  p.dilation = given(o.dilation) ? o.dilation : 1;
  if (given(o.out_channels) && o.out_channels != channels)
    throw Error("involution keeps the channel count: --out-channels " + str(o.out_channels) +
                " must equal the input's " + str(channels) + " channels");
  int64_t group_channels = o.group_channels;
  if (given(o.groups)) {
    if (o.groups < 1 || channels % o.groups != 0)
      throw Error("--groups " + str(o.groups) + " must divide the input's " + str(channels) +
                  " channels");
    if (given(group_channels) && group_channels * o.groups != channels)
      throw Error("--groups " + str(o.groups) + " and --group-channels " + str(group_channels) +
                  " disagree: groups x group channels must equal the " + str(channels) +
                  " channels");
    group_channels = channels / o.groups;
  }
  const bool designed = has_designed_prefix(o.kernel);
  if (designed) {
    // The design decides the generator's shape; flags may repeat it but not change it.
    // Stride and dilation stay free: the generated kernels do not depend on them.
    const DesignedInvolution design = designed_involution_from_name(o.kernel);
    const InvolutionParams d = designed_involution_params(design, channels);
    check_flag_matches_design(o.kernel_size, d.kernel_size, "kernel-size", "kernel size", design);
    check_flag_matches_design(o.groups, d.groups(), "groups", "groups", design);
    check_flag_matches_design(o.group_channels, d.group_channels, "group-channels",
                              "group channels", design);
    check_flag_matches_design(o.reduction, d.reduction, "reduction", "reduction", design);
    p.kernel_size = d.kernel_size;
    p.group_channels = d.group_channels;
    p.reduction = d.reduction;
  } else if (!o.weights.empty()) {
    p.kernel_size = given(o.kernel_size) ? o.kernel_size : 0;
    p.group_channels = given(group_channels) ? group_channels : 0;
    const TensorMap tensors = load_safetensors(o.weights, cap);
    InvolutionParams from_file = p;
    *weights = involution_weights_from_tensors(tensors, &from_file);
    check_flag_matches_file(o.reduction, from_file.reduction, "reduction", "reduction");
    check_flag_matches_file(group_channels, from_file.group_channels, "group-channels",
                            "group channels");
    check_flag_matches_file(o.kernel_size, from_file.kernel_size, "kernel-size", "kernel size");
    if (from_file.channels != channels)
      throw Error("the weights file is for " + str(from_file.channels) +
                  " channels but the input has " + str(channels));
    p = from_file;
  } else {
    p.kernel_size = given(o.kernel_size) ? o.kernel_size : kDefaultKernelSize;
    // The paper's settings (16 channels per group, reduction 4) where the channel count
    // allows them; one kernel per channel and no reduction for small images.
    p.group_channels = given(group_channels) ? group_channels : (channels % 16 == 0 ? 16 : 1);
    p.reduction = given(o.reduction) ? o.reduction : (channels >= 16 ? 4 : 1);
  }
  if (given(o.padding) && o.padding != p.padding())
    throw Error("involution pads by d*(K-1)/2 = " + str(p.padding()) + "; --padding " +
                str(o.padding) + " cannot be honoured");
  // Validate the shapes and the memory they need before random weights are allocated.
  check_memory_cap(involution_memory_bytes(input.shape, p, o.kernels), cap, "this involution");
  if (designed)
    *weights = designed_involution_weights(designed_involution_from_name(o.kernel), p);
  else if (o.weights.empty())
    *weights = o.kernel.empty()
                   ? random_involution_weights(p, o.seed)
                   : involution_weights_from_kernel(p, named_kernel(o, p.kernel_size), o.seed);
  validate_involution_weights(p, *weights);
  const std::string bad = nonfinite_weights_report(*weights);
  if (!bad.empty()) warnings->push_back("weights contain non-finite values: " + bad);
  return p;
}

}  // namespace

int64_t* option_field(OperatorOptions* o, Param param) {
  switch (param) {
    case Param::KernelSize:
      return &o->kernel_size;
    case Param::OutChannels:
      return &o->out_channels;
    case Param::Stride:
      return &o->stride;
    case Param::Padding:
      return &o->padding;
    case Param::Dilation:
      return &o->dilation;
    case Param::Groups:
      return &o->groups;
    case Param::GroupChannels:
      return &o->group_channels;
    case Param::Reduction:
      return &o->reduction;
    case Param::NotebookPadding:
      return nullptr;  // --padding, stored as padding
    case Param::MaxMemoryMb:
      return &o->max_memory_mb;
  }
  return nullptr;
}

void add_operator_options(CLI::App& app, OperatorOptions& o, bool input_required) {
  // Every flag records that it was given: its value then counts even where it equals the
  // value that means "not given" (--seed 0 over a preset's seed).
  const auto add = [&app, &o](const std::string& name, auto& value, const std::string& help) {
    return app.add_option(name, value, help)->each([&o, name](const std::string&) {
      o.given.insert(name);
    });
  };
  auto* op = add("--op", o.op, "operator")->check(CLI::IsMember({"conv", "involution"}));
  auto* input = add("--input", o.input, "image (PNG, JPEG, BMP, ...) or .npy array");
  if (input_required) input->required();
  // A preset brings its own image and operator: option callbacks run before CLI11 checks
  // requirements, so this one can lift --input's, and clear the default --op for the preset.
  add("--preset", o.preset, "scene (.json, assets/presets/); flags override it")
      ->each([&o, op, input](const std::string&) {
        input->required(false);
        if (op->count() == 0) o.op.clear();
      });
  add("--kernel", o.kernel,
      "named kernel instead of random weights (sobel_x, ...), or a designed involution "
      "generator (designed:edge_aware, designed:direction_follows_colour, "
      "designed:sharpen_bright_blur_dark, designed:blur_where_red)");
  add("--weights", o.weights, "layer weights (.safetensors, PyTorch key names)");
  add("--seed", o.seed, "seed of the random weights (PyTorch's default init)")->check(any_seed());
  // The numeric flags: help and lower end from the parameter table (parameter_limits.h).
  const auto add_param = [&add, &o](Param p) {
    add(limits(p).flag, *option_field(&o, p), limits(p).help)->check(integer_in(limits(p).min));
  };
  for (const ParamLimits& l : kParamLimits)
    if (option_field(&o, l.param) && l.param != Param::MaxMemoryMb) add_param(l.param);
  add("--backend", o.backend, "auto or a backend name");
  add_device_option(app);
  // Range-checked in check_flag_values: CLI11's PositiveNumber printed its 300-digit range.
  add_param(Param::MaxMemoryMb);
}

void check_flag_values(const OperatorOptions& o) {
  // -1 means "not given" (the default or a preset decides), unless the flag itself said -1.
  for (const ParamLimits& l : kParamLimits) {
    const int64_t* value = option_field(o, l.param);
    if (!value) continue;
    const std::string error = flag_range_error(l.param, *value);
    if (!error.empty() && (*value != -1 || o.was_given(l.flag))) throw Error(error);
  }
  // An empty value would read as "not given" and let a preset or the default decide.
  for (auto [value, name, what] : {std::tuple{&o.input, "--input", "a file path"},
                                   {&o.weights, "--weights", "a file path"},
                                   {&o.preset, "--preset", "a file path"},
                                   {&o.kernel, "--kernel", "a kernel name"}})
    if (value->empty() && o.was_given(name))
      throw Error(std::string(name) + " needs " + what + ", got an empty value");
}

PreparedOperation prepare_operation(const OperatorOptions& given) {
  check_flag_values(given);  // the flags themselves; a preset's values are checked on load
  const OperatorOptions o = resolve_preset_options(given);
  if (has_designed_prefix(o.weights))
    throw Error("--weights takes a .safetensors file; give a designed involution as --kernel " +
                o.weights);
  if (!o.weights.empty() && !o.kernel.empty())
    throw Error("--kernel and --weights both set the weights; give one");
  const int64_t cap = memory_cap_bytes(o.max_memory_mb);

  PreparedOperation prepared;
  prepared.warnings = o.notes;
  prepared.input = load_input(o.input, cap);
  // Reported like non-finite weights: a NaN pixel spreads through every window it is in.
  const std::string bad_input = nonfinite_input_report(prepared.input);
  if (!bad_input.empty())
    prepared.warnings.push_back("input contains non-finite values: " + bad_input);
  if (o.op == "involution") {
    prepared.op = OpKind::Involution;
    prepared.involution =
        involution_params(o, prepared.input, cap, &prepared.involution_weights, &prepared.warnings);
  } else if (o.op == "conv") {
    prepared.op = OpKind::Conv;
    prepared.conv = conv_params(o, prepared.input, cap, &prepared.conv_weights, &prepared.warnings);
  } else {
    throw Error("unknown --op '" + o.op + "' (use conv or involution)");
  }
  return prepared;
}

}  // namespace ks::core
