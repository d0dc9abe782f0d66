// What the user chose: the operation and its parameters (which trigger a recompute) and
// the view settings (which only change how results are drawn). Both persist in the session.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "kernelscope/colormap.h"

namespace ks::app {

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

struct LearnedLayers;  // gui/weights.h

enum class ScaleMode { PerMap, PerLayer, Symmetric };

struct OpSettings {
  Operation operation = Operation::Both;
  int kernel_size = 3;
  int stride = 1;
  int padding = 1;  // convolution only; involution always pads dilation*(K-1)/2
  // Convolution padding follows K and dilation ("same": d(K-1)/2), so in "both" mode the two
  // outputs keep one size while K changes.
  bool padding_same = true;
  int dilation = 1;
  int groups = 1;          // convolution
  int out_channels = 8;    // convolution
  int group_channels = 1;  // involution: channels sharing one generated kernel
  int reduction = 1;       // involution
  bool relu = false;       // activation applied after the operation
  // Involution as the seed notebook computes it (notebook_variant.h): K x K span, reduce with
  // bias, no BN/ReLU, unfold padding notebook_padding (default 0, so the map shrinks by K-1).
  bool notebook_variant = false;
  int notebook_padding = 0;
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
  int64_t max_memory_mb = 4096;
};

struct ViewSettings {
  Colormap colormap = Colormap::Diverging;
  ScaleMode scale = ScaleMode::PerLayer;
  bool rgb_composite = true;  // shown when there are exactly 3 output channels
  bool kernel_field = false;  // involution kernel glyphs over the input
  bool grid_values = true;    // pixel grid and values at high zoom
  float ui_scale = 1.0f;
  // Layout fractions of the panel grid, changed by dragging the gaps between panels.
  float left_fraction = 0.22f;
  float middle_fraction = 0.36f;
  float input_fraction = 0.58f;
  float maps_fraction = 0.68f;
  float step_fraction = 0.42f;  // step-through mode: height of the Input/Feature maps row
  std::string export_dir;
};

}  // namespace ks::app
