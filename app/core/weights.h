// The app's weight choices: the preset kernels' names and values and the designed
// generators' shapes, for the panel. The weights themselves are made by core::prepare()
// from the spec the settings describe (op_settings.h spec_from_settings).
#pragma once

#include <string>
#include <vector>

#include "core/op_settings.h"
#include "core/prepare.h"
#include "kernelscope/designed_involution.h"
#include "kernelscope/ops.h"

namespace ks::core {

// The K x K preset kernel (row-major), from the engine's kernelscope/kernel_presets.h, so the
// app and `kernelscope run --kernel` agree. Throws ks::Error where a preset has no K x K form.
std::vector<float> preset_kernel(WeightSource source, int kernel_size);

// Whether the source is one of the engine's designed involution generators, and which.
bool is_designed_source(WeightSource source);
DesignedInvolution designed_of(WeightSource source);  // throws ks::Error for other sources

// A designed source decides K, group channels and reduction: sets them in the settings, so
// the sliders show what runs. Does nothing for other sources or unsupported channel counts.
void apply_designed_shape(WeightSource source, int64_t channels, OpSettings* settings);

// The tooltip text that says how a kernel becomes a layer's weights (core/prepare.cpp, with
// the engine's conv_weights_from_kernel and involution_weights_from_kernel).
extern const char* const kPresetMappingHelp;

}  // namespace ks::core
