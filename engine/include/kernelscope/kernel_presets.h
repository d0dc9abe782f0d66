// Named K x K kernels (identity, box, Gaussian, sharpen, Sobel, Laplacian, emboss) and the
// rules that turn one of them, or any K x K grid, into the weights of a whole layer. They
// give the step-through and the presets kernels whose effect a viewer can predict.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "kernelscope/ops.h"

namespace ks {

enum class KernelPreset { Identity, Box, Gaussian, Sharpen, SobelX, SobelY, Laplacian, Emboss };

// "identity", "box", "gaussian", "sharpen", "sobel_x", "sobel_y", "laplacian", "emboss".
const char* kernel_preset_name(KernelPreset preset);
// Accepts the names above; "-" works for "_" ("sobel-x"). Throws ks::Error listing them.
KernelPreset kernel_preset_from_name(const std::string& name);
std::vector<KernelPreset> all_kernel_presets();
// Whether the preset is defined for this K (see kernel_preset()).
bool kernel_preset_supports(KernelPreset preset, int64_t kernel_size);

// The K*K values, row-major (ky, kx); PyTorch's conv is a cross-correlation, so the grid is
// applied as written, not flipped. How each preset generalises beyond 3x3:
//   identity   one 1 at ((K-1)/2, (K-1)/2), any K (with padding (K-1)/2 the output equals
//              the input for odd K)
//   box        1/K^2 everywhere, any K
//   gaussian   outer product of binomial rows (1 2 1 for K=3) normalised to sum 1, any K
//   sobel_x    smoothing binomial row (K) down x derivative row across, where the
//              derivative is the difference of the K-1 binomial row: (-1 0 1) for K=3; any
//              K >= 2; positive where the image gets brighter to the right (vertical edges)
//   sobel_y    its transpose (horizontal edges, brighter downwards), K >= 2
//   laplacian  the 4-neighbour stencil (0 1 0 / 1 -4 1 / 0 1 0) at the centre, odd K >= 3
//   sharpen    identity - laplacian (0 -1 0 / -1 5 -1 / 0 -1 0), odd K >= 3
//   emboss     (dy + dx) * 2/(K-1) for the offset from the centre, centre 1
//              (-2 -1 0 / -1 1 1 / 0 1 2 for K=3), odd K >= 3
// Throws ks::Error naming the preset and the K when it is not defined.
std::vector<float> kernel_preset(KernelPreset preset, int64_t kernel_size);

// How one K x K kernel fills a convolution's [C_out, C_in/groups, K, K] weight.
enum class KernelSpread {
  // Output channel o filters input channel (o mod C_in/groups) of its group with the
  // kernel; the other taps are 0. Identity with C_out = C_in reproduces the image, and a
  // depthwise layer (groups = C) filters every channel on its own.
  PerChannel,
  // Every (o, i) pair gets kernel / (C_in/groups): each output filters the mean of its
  // group's input channels (the grey image, for RGB and groups = 1).
  ChannelMean,
};

// Bias 0 (present when params.has_bias). kernel must have K*K values.
ConvWeights conv_weights_from_kernel(const ConvParams& params, const std::vector<float>& kernel,
                                     KernelSpread spread = KernelSpread::PerChannel);

// Involution whose generated kernel is `kernel` at every pixel: span weight W1 = 0 and span
// bias = the kernel for each of the G groups, so the output equals a depthwise convolution
// with that kernel and padding d*(K-1)/2. Reduce and BN keep the seeded default init, so
// the generation chain still shows numbers (which W1 = 0 then ignores).
InvolutionWeights involution_weights_from_kernel(const InvolutionParams& params,
                                                 const std::vector<float>& kernel,
                                                 uint64_t seed = 0);

}  // namespace ks
