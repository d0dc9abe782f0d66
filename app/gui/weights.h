// Turning the user's weight choice into layer weights: preset kernels, the editable grid,
// seeded random weights (PyTorch's default init) or a safetensors file.
#pragma once

#include <string>
#include <vector>

#include "gui/settings.h"
#include "kernelscope/ops.h"

namespace ks::app {

// The K x K preset kernel (row-major), from the engine's kernelscope/kernel_presets.h, so the
// app and `kernelscope run --kernel` agree. Throws ks::Error where a preset has no K x K form.
std::vector<float> preset_kernel(WeightSource source, int kernel_size);

// Convolution: each output channel o filters the input channel (o mod C_in/groups) of its
// group with the kernel, other taps are zero, bias 0; so "identity" with 3 output channels
// reproduces the image and depthwise layers filter every channel on its own.
// Random: ks::random_conv_weights. File: load_safetensors, params updated from the file.
ConvWeights make_conv_weights(const OpSettings& settings, ConvParams* params);

// Involution: a preset becomes the span bias of every group with the span weight set to
// `variation` times a seeded random matrix (0 = the same kernel everywhere, which makes the
// layer a depthwise convolution with that kernel); reduce/BN are the default init.
InvolutionWeights make_involution_weights(const OpSettings& settings, InvolutionParams* params);

// The tooltip text that documents the mapping above.
extern const char* const kPresetMappingHelp;

}  // namespace ks::app
