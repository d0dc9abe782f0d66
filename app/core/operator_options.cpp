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
  add("--kernel", o.weights.source,
      "named kernel instead of random weights (sobel_x, ...), or a designed involution "
      "generator (designed:edge_aware, designed:direction_follows_colour, "
      "designed:sharpen_bright_blur_dark, designed:blur_where_red)");
  // The source becomes "file"; --kernel with it is refused (check_flag_values).
  add("--weights", o.weights.file, "layer weights (.safetensors, PyTorch key names)")
      ->each([&o](const std::string&) { o.weights.source = "file"; });
  add("--seed", o.weights.seed, "seed of the random weights (PyTorch's default init)")
      ->check(any_seed());
  add("--variation", o.weights.variation,
      "involution with --kernel: scale of a seeded random span weight added to the kernel, so "
      "it varies with the pixel (0: the same kernel everywhere)")
      ->check(number_in(0, 100));
  add("--activation", o.activation, "applied to the output")
      ->check(CLI::IsMember({"none", "relu"}));
  // The numeric flags: help and lower end from the parameter table (parameter_limits.h).
  const auto add_param = [&add, &o](Param p) {
    add(limits(p).flag, *spec_field(&o, p), limits(p).help)->check(integer_in(limits(p).min));
  };
  for (const ParamLimits& l : kParamLimits)
    if (spec_field(o, l.param) && l.param != Param::MaxMemoryMb) add_param(l.param);
  add("--backend", o.backend, "auto or a backend name");
  add_device_option(app);
  // Range-checked in check_flag_values: CLI11's PositiveNumber printed its 300-digit range.
  add_param(Param::MaxMemoryMb);
}

void check_flag_values(const OperatorOptions& o) {
  // -1 means "not given" (the default or a preset decides), unless the flag itself said -1.
  for (const ParamLimits& l : kParamLimits) {
    const int64_t* value = spec_field(o, l.param);
    if (!value) continue;
    const std::string error = flag_range_error(l.param, *value);
    if (!error.empty() && (*value != -1 || o.was_given(l.flag))) throw Error(error);
  }
  // An empty value would read as "not given" and let a preset or the default decide.
  for (auto [value, name, what] : {std::tuple{&o.input, "--input", "a file path"},
                                   {&o.weights.file, "--weights", "a file path"},
                                   {&o.preset, "--preset", "a file path"},
                                   {&o.weights.source, "--kernel", "a kernel name"}})
    if (value->empty() && o.was_given(name))
      throw Error(std::string(name) + " needs " + what + ", got an empty value");
  if (o.was_given("--weights") && has_designed_prefix(o.weights.file))
    throw Error("--weights takes a .safetensors file; give a designed involution as --kernel " +
                o.weights.file);
  if (o.was_given("--weights") && o.was_given("--kernel"))
    throw Error("--kernel and --weights both set the weights; give one");
  if (o.was_given("--kernel") && (o.weights.source == "file" || o.weights.source == "learned"))
    throw Error("--kernel takes a kernel name or designed:NAME; give a weights file as --weights");
}

PreparedOperation prepare_operation(const OperatorOptions& given) {
  check_flag_values(given);  // the flags themselves; a preset's values are checked on load
  const OperatorOptions o = resolve_preset_options(given);
  check_spec(o, Naming::Flags);  // before the input is read: a typo fails at once
  const int64_t cap = memory_cap_bytes(o.max_memory_mb);
  Tensor input = load_input(o.input, cap);
  std::vector<std::string> warnings = o.notes;
  // Reported like non-finite weights: a NaN pixel spreads through every window it is in.
  const std::string bad_input = nonfinite_input_report(input);
  if (!bad_input.empty()) warnings.push_back("input contains non-finite values: " + bad_input);
  // A value the scene gave, not a flag, is named as the scene's field in the messages.
  const ParamNamer name = [&o](Param p) {
    if (o.was_given(limits(p).flag) || o.preset.empty()) return std::string(limits(p).flag);
    return "preset " + o.preset + ": " + limits(p).field;
  };
  PreparedOperation prepared = prepare(o, input, nullptr, name);
  prepared.input = std::move(input);
  prepared.warnings.insert(prepared.warnings.begin(), warnings.begin(), warnings.end());
  return prepared;
}

}  // namespace ks::core
