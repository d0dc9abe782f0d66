// Preset kernels and the weights the app feeds to the engine.
#include "core/weights.h"

#include <algorithm>

#include "kernelscope/error.h"
#include "kernelscope/io.h"
#include "kernelscope/kernel_presets.h"

namespace ks::core {

namespace {

// The presets use the engine's names (kernelscope/kernel_presets.h), as the CLI's --kernel.
// The designed generators use the engine's designed:NAME too (designed_involution.h).
const char* const kSourceNames[kWeightSourceCount] = {"identity",
                                                      "box",
                                                      "gaussian",
                                                      "sharpen",
                                                      "sobel_x",
                                                      "sobel_y",
                                                      "laplacian",
                                                      "emboss",
                                                      "custom",
                                                      "random",
                                                      "file",
                                                      "designed:edge_aware",
                                                      "designed:direction_follows_colour",
                                                      "designed:sharpen_bright_blur_dark",
                                                      "designed:blur_where_red",
                                                      "learned"};

}  // namespace

const char* weight_source_name(WeightSource source) {
  const int i = static_cast<int>(source);
  return i >= 0 && i < kWeightSourceCount ? kSourceNames[i] : "?";
}

bool weight_source_from_name(const std::string& given, WeightSource* source) {
  std::string name = given;
  std::replace(name.begin(), name.end(), '-', '_');
  for (int i = 0; i < kWeightSourceCount; ++i)
    if (name == kSourceNames[i]) {
      *source = static_cast<WeightSource>(i);
      return true;
    }
  return false;
}

bool is_designed_source(WeightSource source) {
  return static_cast<int>(source) >= static_cast<int>(WeightSource::DesignedEdgeAware) &&
         static_cast<int>(source) <= static_cast<int>(WeightSource::DesignedBlurWhereRed);
}

DesignedInvolution designed_of(WeightSource source) {
  if (!is_designed_source(source))
    throw Error(std::string(weight_source_name(source)) + " is not a designed involution");
  return designed_involution_from_name(weight_source_name(source));
}

void apply_designed_shape(WeightSource source, int64_t channels, OpSettings* s) {
  if (!is_designed_source(source)) return;
  try {
    const InvolutionParams p = designed_involution_params(designed_of(source), channels);
    s->kernel_size = static_cast<int>(p.kernel_size);
    s->group_channels = static_cast<int>(p.group_channels);
    s->reduction = static_cast<int>(p.reduction);
  } catch (const Error&) {
    // An unsupported channel count: the computation reports it where results are shown.
  }
}

const char* const kPresetMappingHelp =
    "Convolution: output channel o filters input channel (o mod C_in/groups) of its group\n"
    "with the preset; every other tap is 0 and the bias is 0. With 3 output channels\n"
    "'identity' reproduces the image.\n"
    "Involution: the preset is the span bias of every group and the span weight is\n"
    "'variation' x a seeded random matrix. At variation 0 every pixel gets exactly the\n"
    "preset (involution = depthwise convolution); raise it to let the kernel depend on\n"
    "the pixel. Reduce and BN keep their default initialisation.\n"
    "designed:*: hand-built involution generators whose kernel follows the pixel's colour\n"
    "(docs/teaching.md); they set K, group channels and reduction themselves.";

std::vector<float> preset_kernel(WeightSource source, int k) {
  // WeightSource lists the engine's presets first and in the same order.
  if (static_cast<int>(source) > static_cast<int>(WeightSource::Emboss))
    throw Error(std::string(weight_source_name(source)) + " is not a preset kernel");
  return kernel_preset(static_cast<KernelPreset>(source), k);
}

}  // namespace ks::core
