// Turning the user's weight choice into layer weights: preset kernels, the editable grid,
// seeded random weights (PyTorch's default init) or a safetensors file.
#pragma once

#include <string>
#include <vector>

#include "core/op_settings.h"
#include "kernelscope/designed_involution.h"
#include "kernelscope/ops.h"

namespace ks::core {

// Weights the Learn panel trained, with the layer geometry they were trained for (which
// overrides the sliders, as a weights file does).
struct LearnedLayers {
  bool has_conv = false;
  ConvParams conv;
  ConvWeights conv_weights;
  bool has_involution = false;
  InvolutionParams involution;
  InvolutionWeights involution_weights;
};

// The K x K preset kernel (row-major), from the engine's kernelscope/kernel_presets.h, so the
// app and `kernelscope run --kernel` agree. Throws ks::Error where a preset has no K x K form.
std::vector<float> preset_kernel(WeightSource source, int kernel_size);

// Whether the source is one of the engine's designed involution generators, and which.
bool is_designed_source(WeightSource source);
DesignedInvolution designed_of(WeightSource source);  // throws ks::Error for other sources

// A designed source decides K, group channels and reduction: sets them in the settings, so
// the sliders show what runs. Does nothing for other sources or unsupported channel counts.
void apply_designed_shape(WeightSource source, int64_t channels, OpSettings* settings);

// Convolution: each output channel o filters the input channel (o mod C_in/groups) of its
// group with the kernel, other taps are zero, bias 0; so "identity" with 3 output channels
// reproduces the image and depthwise layers filter every channel on its own.
// Random: ks::random_conv_weights. File: load_safetensors, params updated from the file.
ConvWeights make_conv_weights(const OpSettings& settings, ConvParams* params);

// Involution: a preset becomes the span bias of every group with the span weight set to
// `variation` times a seeded random matrix (0 = the same kernel everywhere, which makes the
// layer a depthwise convolution with that kernel); reduce/BN are the default init. A designed
// source gives its hand-built generator and sets K, group channels and reduction in params.
InvolutionWeights make_involution_weights(const OpSettings& settings, InvolutionParams* params);

// The tooltip text that documents the mapping above.
extern const char* const kPresetMappingHelp;

}  // namespace ks::core
