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

namespace {

// The K x K kernel the user picked (preset or grid), or empty for random/file weights.
std::vector<float> chosen_kernel(const OpSettings& s) {
  if (s.weights == WeightSource::Random || s.weights == WeightSource::File ||
      s.weights == WeightSource::Learned)
    return {};
  if (is_designed_source(s.weights))
    throw Error(std::string(weight_source_name(s.weights)) +
                " generates involution kernels; convolution has no designed weights");
  if (s.weights == WeightSource::Custom) {
    std::vector<float> grid = s.custom_kernel;
    grid.resize(static_cast<size_t>(s.kernel_size * s.kernel_size), 0.0f);
    return grid;
  }
  return preset_kernel(s.weights, s.kernel_size);
}

}  // namespace

ConvWeights make_conv_weights(const OpSettings& s, ConvParams* p) {
  if (s.weights == WeightSource::Learned) {
    if (!s.learned || !s.learned->has_conv)
      throw Error("no learned convolution weights: train one in the Learn panel (View > Learn)");
    if (s.learned->conv.in_channels != p->in_channels)
      throw Error("the learned weights are for another image's channel count");
    *p = s.learned->conv;
    return s.learned->conv_weights;
  }
  if (s.weights == WeightSource::File) {
    if (s.weights_file.empty()) throw Error("no weights file chosen");
    ConvParams from_file = *p;
    ConvWeights w = conv_weights_from_tensors(
        load_safetensors(s.weights_file, memory_cap_bytes(s.max_memory_mb)), &from_file);
    if (from_file.in_channels != p->in_channels)
      throw Error("the weights file expects " + std::to_string(from_file.in_channels) +
                  " input channels, the image has " + std::to_string(p->in_channels));
    p->kernel_size = from_file.kernel_size;
    p->out_channels = from_file.out_channels;
    p->groups = from_file.groups;
    p->has_bias = from_file.has_bias;
    return w;
  }
  const std::vector<float> kernel = chosen_kernel(s);
  if (kernel.empty()) return random_conv_weights(*p, s.seed);
  return conv_weights_from_kernel(*p, kernel, KernelSpread::PerChannel);
}

InvolutionWeights make_involution_weights(const OpSettings& s, InvolutionParams* p) {
  if (s.weights == WeightSource::Learned) {
    if (!s.learned || !s.learned->has_involution)
      throw Error("no learned involution weights: train one in the Learn panel (View > Learn)");
    if (s.learned->involution.channels != p->channels)
      throw Error("the learned weights are for another image's channel count");
    *p = s.learned->involution;
    return s.learned->involution_weights;
  }
  if (s.weights == WeightSource::File) {
    if (s.weights_file.empty()) throw Error("no weights file chosen");
    InvolutionParams from_file = *p;
    from_file.kernel_size = 0;  // let the file decide K (and so G)
    from_file.group_channels = 0;
    InvolutionWeights w = involution_weights_from_tensors(
        load_safetensors(s.weights_file, memory_cap_bytes(s.max_memory_mb)), &from_file);
    if (from_file.channels != p->channels)
      throw Error("the weights file is for " + std::to_string(from_file.channels) +
                  " channels, the image has " + std::to_string(p->channels));
    *p = from_file;
    return w;
  }
  if (is_designed_source(s.weights)) {
    // The design's shape wins over the sliders (apply_designed_shape keeps them in step);
    // stride and dilation stay the user's.
    const DesignedInvolution design = designed_of(s.weights);
    const InvolutionParams d = designed_involution_params(design, p->channels);
    p->kernel_size = d.kernel_size;
    p->group_channels = d.group_channels;
    p->reduction = d.reduction;
    return designed_involution_weights(design, *p);
  }
  const std::vector<float> kernel = chosen_kernel(s);
  if (kernel.empty()) return random_involution_weights(*p, s.seed);
  InvolutionWeights w = involution_weights_from_kernel(*p, kernel, s.seed);
  if (s.variation != 0) {
    // The seeded default-init span weight, scaled: kernels now depend on the pixel.
    w.span_weight = random_involution_weights(*p, s.seed).span_weight;
    for (auto& v : w.span_weight.data) v *= s.variation;
  }
  return w;
}

}  // namespace ks::core
