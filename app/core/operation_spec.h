// One operation as every front end describes it: which operator, its parameters, where its
// weights come from, the activation, the backend, the memory cap and which generated kernels
// are wanted. The CLI's flags (OperatorOptions) and a scene file (Preset) are this type with
// a few fields of their own; the app's settings are turned into it (spec_from_settings) before
// every compute. prepare() (core/prepare.h) is the one step from a spec to a runnable layer.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/parameter_limits.h"
#include "kernelscope/ops.h"

namespace ks::core {

// Where the layer weights come from.
struct WeightsSpec {
  // "random" (seeded PyTorch default init), a named K x K kernel of kernelscope/
  // kernel_presets.h ("sobel_x", ...), "grid" (the K*K values in grid), "file" (a
  // .safetensors file), "designed:NAME" (a hand-built involution generator,
  // kernelscope/designed_involution.h, which also decides K, group channels and reduction)
  // or "learned" (the app's Learn panel, handed to prepare() in memory).
  std::string source = "random";
  uint64_t seed = 0;
  std::vector<float> grid;  // row-major K*K, for "grid"
  std::string file;         // for "file"
  // Involution from a named kernel or a grid: the kernel is the span bias of every group and
  // the span weight is this times a seeded random matrix (0: the same kernel at every pixel).
  double variation = 0;
};

// Whether the source is one of the K x K kernels (a name or the grid).
bool is_kernel_source(const std::string& source);
// Whether the weights, not the parameters, decide the layer's shape: a file, learned
// weights or a designed generator. An explicit value that contradicts them is an error.
bool weights_decide_shape(const WeightsSpec& weights);

// -1 in a parameter means "not set": the operator's default or the weights decide.
struct OperationSpec {
  std::string op = "conv";  // conv | involution ("" on the command line until a scene decides)
  std::string variant = "paper";  // involution: paper | notebook (kernelscope/notebook_variant.h)
  int64_t kernel_size = -1;
  int64_t out_channels = -1;  // conv
  int64_t stride = -1;
  int64_t padding = -1;  // conv; the notebook variant's span padding (default 0)
  int64_t dilation = -1;
  int64_t groups = -1;  // conv groups, or the involution's kernel groups G (= C / group channels)
  int64_t group_channels = -1;      // involution
  int64_t reduction = -1;           // involution
  std::string activation = "none";  // none | relu, applied to the output
  WeightsSpec weights;
  std::string backend = "auto";
  int64_t max_memory_mb = limits(Param::MaxMemoryMb).default_value;
  // Which generated kernels the caller asks the backend for: the memory cap counts the
  // kernels tensor only for Full, so a 4K involution that keeps only the kernel sum is not
  // refused for kernels it never makes.
  KernelsMode kernels = KernelsMode::Full;
};

// The one field list: where a parameter of the table (parameter_limits.h) lives in a spec.
// Null for the notebook variant's padding, which the padding field holds.
int64_t* spec_field(OperationSpec* spec, Param param);
inline const int64_t* spec_field(const OperationSpec& spec, Param param) {
  return spec_field(const_cast<OperationSpec*>(&spec), param);
}

// How check_spec names a parameter: by its flag ("--kernel-size 3 contradicts ...", the
// command line) or by its field ("kernel_size 3 contradicts ...", a scene file).
enum class Naming { Flags, Fields };

// The checks a spec passes before any image is loaded, the same for a command line and a
// scene: names (op, variant, activation, weights source), every set parameter's lower end,
// a grid of exactly K x K values, a variation only where it applies, and a designed
// generator only for the paper's involution with the K and reduction it decides. Throws
// ks::Error with one line.
void check_spec(const OperationSpec& spec, Naming naming);

// "conv" -> OpKind::Conv, "involution" -> OpKind::Involution; throws for anything else.
OpKind spec_op_kind(const OperationSpec& spec);

}  // namespace ks::core
