// The operator flags shared by "kernelscope run" and the app's scripted mode
// (--screenshot), and the step that turns them into a ready-to-run operation.
#pragma once

#include <CLI/CLI.hpp>

#include <cstdint>
#include <set>
#include <string>
#include <vector>

#include "core/parameter_limits.h"
#include "kernelscope/ops.h"

namespace ks::core {

// -1 means "not given on the command line": the default or the weights file decides. A flag
// given as -1 is refused (check_flag_values), so -1 never comes from the command line.
struct OperatorOptions {
  std::string op = "conv";  // conv | involution
  std::string input;
  std::string weights;  // .safetensors; empty: seeded random weights
  uint64_t seed = 0;
  int64_t kernel_size = -1;
  int64_t out_channels = -1;
  int64_t stride = -1;
  int64_t padding = -1;
  int64_t dilation = -1;
  int64_t groups = -1;
  int64_t group_channels = -1;
  int64_t reduction = -1;
  std::string backend = "auto";
  int64_t max_memory_mb = limits(Param::MaxMemoryMb).default_value;
  // --preset FILE (core/preset.h): a scene that fills every field no flag gave. op is
  // cleared after parsing when --op was not given, so the preset can decide it.
  std::string preset;
  // --kernel NAME: one named K x K kernel (kernelscope/kernel_presets.h) spread over the
  // layer instead of random weights; "grid" takes kernel_grid (from a preset).
  std::string kernel;
  std::vector<float> kernel_grid;
  // The flags given on the command line ("--seed", "--stride", ...), recorded while parsing:
  // a given flag beats a preset even where its value equals the default (--seed 0).
  std::set<std::string> given;
  // What the user should hear about where values came from (a preset reading a file outside
  // its folder); prepare_operation passes them on as warnings.
  std::vector<std::string> notes;
  bool was_given(const std::string& flag) const { return given.count(flag) > 0; }
  // Which generated kernels the caller will ask the backend for (run's --kernels; not a flag
  // of add_operator_options): the memory cap counts the kernels tensor only for Full, so a
  // 4K involution that keeps just the kernel sum is not refused for kernels it never makes.
  KernelsMode kernels = KernelsMode::Full;
};

// Where a parameter of the table lives in the options: the field its flag sets, or null
// (the notebook variant's padding, which --padding sets through Padding). The flag checks,
// the parser and the preset merge walk the table through it.
int64_t* option_field(OperatorOptions* options, Param param);
inline const int64_t* option_field(const OperatorOptions& options, Param param) {
  return option_field(const_cast<OperatorOptions*>(&options), param);
}

// Adds --op, --input, --weights, --seed, --kernel-size, --out-channels, --stride, --padding,
// --dilation, --groups, --group-channels, --reduction, --backend, --max-memory-mb, --preset,
// --kernel. input_required: "run" needs --input (or --preset); the app falls back to its
// bundled sample.
void add_operator_options(CLI::App& app, OperatorOptions& options, bool input_required);

// Throws ks::Error ("--stride must be at least 1, got 0") for a numeric flag out of range,
// including a given -1, which would otherwise read as "not given" and let the default or a preset
// decide; likewise for an empty --input, --weights, --preset or --kernel ("--input needs a file
// path").
void check_flag_values(const OperatorOptions& options);

struct PreparedOperation {
  OpKind op = OpKind::Conv;
  Tensor input;  // [B, C, H, W]
  ConvParams conv;
  ConvWeights conv_weights;
  InvolutionParams involution;
  InvolutionWeights involution_weights;
  std::vector<std::string> warnings;  // e.g. NaN in weights
};

// Loads the input and the weights, fills defaults, checks flags against the weights file
// (a contradiction is an error naming both values), validates shapes and the memory cap.
// Throws ks::Error with a one-line message.
PreparedOperation prepare_operation(const OperatorOptions& options);

// Defaults where neither a flag nor a weights file decides.
constexpr int64_t kDefaultKernelSize = limits(Param::KernelSize).default_value;
constexpr int64_t kDefaultConvOutChannels = limits(Param::OutChannels).default_value;

}  // namespace ks::core
