// The operator flags shared by "kernelscope run" and the app's scripted mode
// (--screenshot), and the step that turns them into a ready-to-run operation.
#pragma once

#include <CLI/CLI.hpp>

#include <cstdint>
#include <set>
#include <string>
#include <vector>

#include "core/operation_spec.h"
#include "core/prepare.h"

namespace ks::core {

// The command line's operation: a spec (operation_spec.h; -1 = not given, so the default, a
// scene or the weights decide) with what only a command line has. A flag given as -1 is
// refused (check_flag_values), so -1 never comes from the command line. op is cleared after
// parsing when --op was not given but --preset was, so the scene can decide it.
struct OperatorOptions : OperationSpec {
  std::string input;
  // --preset FILE (core/preset.h): a scene that fills every field no flag gave.
  std::string preset;
  // The flags given on the command line ("--seed", "--stride", ...), recorded while parsing:
  // a given flag beats a preset even where its value equals the default (--seed 0).
  std::set<std::string> given;
  // What the user should hear about where values came from (a preset reading a file outside
  // its folder); prepare_operation passes them on as warnings.
  std::vector<std::string> notes;
  bool was_given(const std::string& flag) const { return given.count(flag) > 0; }
};

// Adds --op, --input, --weights, --seed, --kernel, --variation, --activation, one flag per
// parameter of the table (--kernel-size, ...), --backend, --max-memory-mb, --preset.
// input_required: "run" needs --input (or --preset); the app falls back to its bundled sample.
void add_operator_options(CLI::App& app, OperatorOptions& options, bool input_required);

// Throws ks::Error ("--stride must be at least 1, got 0") for a numeric flag out of range,
// including a given -1, which would otherwise read as "not given" and let the default or a preset
// decide; likewise for an empty --input, --weights, --preset or --kernel ("--input needs a file
// path").
void check_flag_values(const OperatorOptions& options);

// The flags' own checks, then the scene (--preset) under them, the input loaded, and
// prepare() (core/prepare.h). Throws ks::Error with a one-line message.
PreparedOperation prepare_operation(const OperatorOptions& options);

}  // namespace ks::core
