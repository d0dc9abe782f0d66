// The one step from an operation spec to a layer ready to run, for every front end: the
// parameters with their defaults, the weights (random, a named kernel or grid, a file, a
// designed generator or the app's learned weights), the checks of explicit values against
// what the weights decide, the shapes and the memory cap.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "core/operation_spec.h"
#include "kernelscope/ops.h"

namespace ks::core {

// Weights the app's Learn panel trained, with the layer geometry they were trained for
// (which decides the shape, as a weights file does).
struct LearnedLayers {
  bool has_conv = false;
  ConvParams conv;
  ConvWeights conv_weights;
  bool has_involution = false;
  InvolutionParams involution;
  InvolutionWeights involution_weights;
};

struct PreparedOperation {
  OpKind op = OpKind::Conv;
  Tensor input;  // [B, C, H, W]; prepare() leaves it empty, prepare_operation() loads it
  ConvParams conv;
  ConvWeights conv_weights;
  InvolutionParams involution;
  InvolutionWeights involution_weights;
  bool relu = false;    // the spec's activation, which the caller applies to the output
  WeightsSpec weights;  // where the weights came from (for the records a run writes)
  std::vector<std::string> warnings;  // e.g. NaN in weights
};

// Checks the spec (check_spec), fills defaults, builds or loads the weights, checks explicit
// values against a weights file or a designed generator (a contradiction is an error naming
// both values), validates the shapes against the input and the memory cap (counting the
// kernels tensor only when spec.kernels is Full). `learned` is read for the "learned" source.
// The paper's operators only: the notebook variant has its own step (notebook_variant.h).
// Throws ks::Error with one line. Does not copy the input.
// `name` says where an explicit value came from, for the messages ("--reduction", or a scene's
// "reduction"); by default the flag.
using ParamNamer = std::function<std::string(Param)>;
PreparedOperation prepare(const OperationSpec& spec, const Tensor& input,
                          const LearnedLayers* learned = nullptr, const ParamNamer& name = {});

// Defaults where neither a value nor the weights decide.
constexpr int64_t kDefaultKernelSize = limits(Param::KernelSize).default_value;
constexpr int64_t kDefaultConvOutChannels = limits(Param::OutChannels).default_value;

}  // namespace ks::core
