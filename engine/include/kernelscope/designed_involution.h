// Designed involutions: kernel generators built by hand (not trained, not random) so that the
// kernel at each pixel follows the pixel's colour in a way a viewer can predict. They are the
// "designed:NAME" weights of the CLI (--kernel designed:edge_aware), of scenes
// (weights.preset) and of the app's weights menu.
//
// The generator of an involution (ops.h) sees only the pixel's own channel vector: reduce is
// a 1x1 convolution, so "brightness" below is the brightness of that one pixel, not of its
// neighbourhood. Each design reads one or two linear measures of the colour (brightness =
// channel mean; red minus blue), and uses the ReLU after BN as a hinge: two hidden channels
// relu(s(m - a)) - relu(s(m - b)) with s = 1/(b - a) make a ramp that is 0 below a, 1 above b
// and linear between, so the span (a linear map plus bias) slides the kernel from one named
// kernel (kernel_presets.h) to another and stops exactly there.
//
//   edge_aware                K 5, any C >= 2. Brightness b = mean of the channels.
//                             kernel = box + t (identity - box), t = clamp((b - 0.6)/0.2, 0, 1):
//                             b <= 0.6 gives the 5x5 box (blur), b >= 0.8 the identity
//                             (bright pixels stay sharp).
//   direction_follows_colour  K 3, C = 3 (RGB). kernel = max(R - B, 0) sobel_x
//                             + max(B - R, 0) sobel_y: pure red gives Sobel x (vertical
//                             edges), pure blue Sobel y (horizontal edges), grey and magenta
//                             (R = B) the zero kernel.
//   sharpen_bright_blur_dark  K 5, any C >= 3. Three hinges at b = 0.3, 0.5, 0.7: b <= 0.3
//                             gives the 5x5 box, b = 0.5 the identity, b >= 0.7 sharpen
//                             (identity - laplacian), linear in between.
//   blur_where_red            K 5, C = 3 (RGB). kernel = identity + max(R - B, 0) (box -
//                             identity): red pixels are blurred in proportion to their
//                             redness, every other pixel is copied. The learn mode's lesson:
//                             involution learns it, one convolution kernel cannot.
//
// Every design has one kernel for all channels (group_channels = C, G = 1) and reduction 1
// (C hidden channels; those a design does not use have zero reduce and span weights, so
// they stay 0). Stride and dilation are not part of a design: the generator does not
// depend on them, and the layers come with 1 and 1.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "kernelscope/ops.h"

namespace ks {

enum class DesignedInvolution {
  EdgeAware,
  DirectionFollowsColour,
  SharpenBrightBlurDark,
  BlurWhereRed
};

// "designed:": how the CLI, scenes and the app name a design among other weight sources.
constexpr const char* kDesignedPrefix = "designed:";

// "edge_aware", "direction_follows_colour", "sharpen_bright_blur_dark", "blur_where_red"
// (no prefix).
const char* designed_involution_name(DesignedInvolution design);
std::vector<DesignedInvolution> all_designed_involutions();
// True for text starting with "designed:", whatever follows.
bool has_designed_prefix(const std::string& text);
// Accepts a name with or without the prefix; "-" works for "_". Throws a one-line ks::Error
// listing the valid designed:NAME names.
DesignedInvolution designed_involution_from_name(const std::string& name);
// One line for menus and --help: what the kernel follows.
const char* designed_involution_summary(DesignedInvolution design);
// The input channel counts a design supports, in words ("3 (RGB)", "2 or more").
const char* designed_involution_channels(DesignedInvolution design);

// The layer shape of a design for an input with `channels` channels: K, group_channels = C,
// reduction 1, stride 1, dilation 1. Cheap (no weights), so callers can check the memory
// cap before asking for the weights. Throws a one-line ks::Error naming the design and the
// channel counts it supports.
InvolutionParams designed_involution_params(DesignedInvolution design, int64_t channels);
// The hand-built generator for those params (as returned above): reduce, BN (eval) and
// span. Throws ks::Error when params are not the design's.
InvolutionWeights designed_involution_weights(DesignedInvolution design,
                                              const InvolutionParams& params);

}  // namespace ks
