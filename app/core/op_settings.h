// The operation the user chose (which operator, its parameters, the weights, the backend and
// the memory cap): what the app's worker computes. Changing any of it triggers a recompute.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "core/operation_spec.h"
#include "core/parameter_limits.h"

namespace ks::core {

enum class Operation { Convolution, Involution, Both };

// Where the weights come from. The presets are single K x K kernels spread over the layer
// (weights.h explains how); Custom is the editable grid. The Designed* sources are the
// engine's hand-built involution generators (kernelscope/designed_involution.h), named
// "designed:edge_aware", ...; they decide K, group channels and reduction.
enum class WeightSource {
  Identity,
  Box,
  Gaussian,
  Sharpen,
  SobelX,
  SobelY,
  Laplacian,
  Emboss,
  Custom,
  Random,
  File,
  DesignedEdgeAware,
  DesignedDirectionFollowsColour,
  DesignedSharpenBrightBlurDark,
  DesignedBlurWhereRed,
  Learned  // the Learn panel's weights (OpSettings::learned)
};
constexpr int kWeightSourceCount = 16;
const char* weight_source_name(WeightSource source);  // "identity", "sobel-x", ...
bool weight_source_from_name(const std::string& name, WeightSource* source);

struct LearnedLayers;  // core/weights.h

constexpr int default_int(Param p) { return static_cast<int>(limits(p).default_value); }

// The integer parameters start at the table's defaults (parameter_limits.h), except where
// the app has its own rule (padding follows K and dilation, "same").
struct OpSettings {
  Operation operation = Operation::Both;
  int kernel_size = default_int(Param::KernelSize);
  int stride = default_int(Param::Stride);
  int padding = 1;  // convolution only; involution always pads dilation*(K-1)/2
  // Convolution padding follows K and dilation ("same": d(K-1)/2), so in "both" mode the two
  // outputs keep one size while K changes.
  bool padding_same = true;
  int dilation = default_int(Param::Dilation);
  int groups = default_int(Param::Groups);                 // convolution
  int out_channels = default_int(Param::OutChannels);      // convolution
  int group_channels = default_int(Param::GroupChannels);  // involution: channels per kernel
  // --groups G for involution (a flag or a scene), which means group_channels = C / G: the
  // compute resolves it with the image's channel count C, and the app then writes the result
  // into group_channels and clears this. 0: nothing pending, group_channels decides.
  int involution_groups = 0;
  int reduction = default_int(Param::Reduction);  // involution
  bool relu = false;                              // activation applied after the operation
  // Involution as the seed notebook computes it (notebook_variant.h): K x K span, reduce with
  // bias, no BN/ReLU, unfold padding notebook_padding (default 0, so the map shrinks by K-1).
  bool notebook_variant = false;
  int notebook_padding = default_int(Param::NotebookPadding);
  WeightSource weights = WeightSource::Random;
  uint64_t seed = 0;
  // Involution presets: the preset is the span bias; this scales a random span weight
  // added on top, so kernels start equal everywhere and can be made to vary with the pixel.
  float variation = 0.0f;
  std::vector<float> custom_kernel;  // K*K, row-major, used by WeightSource::Custom
  std::string weights_file;          // .safetensors, used by WeightSource::File
  // The Learn panel's latest weights, used by WeightSource::Learned; shared, never changed
  // once published, so the worker reads them while training goes on.
  std::shared_ptr<const LearnedLayers> learned;
  std::string backend = "auto";
  // Old sessions' "downscaled preview" switch: read and written for compatibility, ignored.
  // The app computes at full resolution (only images beyond 8192 px a side are downscaled).
  bool preview = false;
  int64_t max_memory_mb = limits(Param::MaxMemoryMb).default_value;
};

// An integer parameter of the settings with its table entry.
struct SettingsParam {
  Param param;
  int* value;
};
// Every integer parameter of the settings: the one list the session reads, writes and
// clamps (the memory cap, a 64-bit value, is handled beside it).
std::vector<SettingsParam> settings_parameters(OpSettings* settings);
// Moves every parameter into the app's range (a hand-edited session file).
void clamp_to_app_ranges(OpSettings* settings);

// The spec the settings describe for one operator (the app computes one or both), which
// core::prepare() turns into a layer, as it does for `kernelscope run`. Everything the
// sliders show is set, except where the weights decide the shape (a file, learned weights, a
// designed generator): there the weights decide, as they do for a command line that does not
// give those flags. The custom grid is sent as K x K (the editor pads or cuts it with K);
// the variation only where it applies (a named kernel or the grid, the paper's involution).
// Throws ks::Error("no weights file chosen") for File without a path.
OperationSpec spec_from_settings(const OpSettings& settings, OpKind op);

}  // namespace ks::core
