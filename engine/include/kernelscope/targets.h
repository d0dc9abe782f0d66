// Target outputs for learning (kernelscope/learn.h): what a layer is asked to reproduce.
//
// Every computed target lives on the grid of a layer with "same" padding: output pixel
// (i, j) looks at input pixel (i*s, j*s) and a K x K window of taps (ky - (K-1)/2) * d
// around it, so its shape is [B, C, ceil(H/s), ceil(W/s)] for odd K, the output shape of an
// involution, or of a convolution with padding d*(K-1)/2, with the same K, stride and
// dilation. Taps outside the image count as zero for the linear targets (as the layers' zero
// padding does) and are left out of the bilateral filter's normalised average.
#pragma once

#include <cstdint>
#include <string>

#include "kernelscope/designed_involution.h"
#include "kernelscope/kernel_presets.h"
#include "kernelscope/ops.h"

namespace ks::targets {

// The window and grid the targets are computed on (see above).
struct TargetGrid {
  int64_t kernel_size = 3;
  int64_t stride = 1;
  int64_t dilation = 1;
  int64_t padding() const { return dilation * (kernel_size - 1) / 2; }
};
// [B, C, H_out, W_out] for an input [B, C, H, W]; throws ks::Error when empty or invalid.
Shape target_shape(const Shape& input, const TargetGrid& grid);

// (a) A named kernel (kernel_presets.h) at the grid's K, applied to every channel on its own
// (a depthwise convolution with zero padding d*(K-1)/2). Throws where the preset does not
// exist for K (laplacian, sharpen and emboss need an odd K >= 3).
Tensor kernel_preset_target(const Tensor& input, KernelPreset preset, const TargetGrid& grid);

// (b) Edge-preserving smoothing: a bilateral filter over the K x K window. Each tap's weight
// is exp(-(dy^2 + dx^2) / (2 sigma_space^2) - r^2 / (2 sigma_range^2)), with (dy, dx) the
// tap's offset in taps and r^2 the mean over channels of the squared difference to the centre
// pixel, so all channels share one weight (colours are not shifted apart); weights are
// normalised over the taps inside the image. Smooths flat regions, keeps edges.
struct BilateralSettings {
  double sigma_space = 0;  // in taps; 0 picks max(1, (K-1)/2)
  double sigma_range = 0.1;
};
Tensor bilateral_target(const Tensor& input, const TargetGrid& grid,
                        const BilateralSettings& settings = {});

// (b) Blur where a mask says: target = m * gaussian(x) + (1 - m) * x at each output pixel,
// with m the mask at the centre pixel, the Gaussian of kernel_preset_target and x the centre
// pixel. mask is [1 or B, 1, H, W] with values in [0, 1] (clamped).
Tensor masked_blur_target(const Tensor& input, const Tensor& mask, const TargetGrid& grid);
// The default mask: brightness (mean over channels) ramped, clamp((b - 0.4) / 0.2, 0, 1), so
// bright regions (b >= 0.6) are blurred and dark ones (b <= 0.4) kept; [B, 1, H, W].
Tensor brightness_mask(const Tensor& input);
// A mask image (any image load_image reads, or a .npy [1, 1, H, W]): the mean over its
// channels, of the input's height and width; throws ks::Error naming the file otherwise.
Tensor load_mask(const std::string& path, const Shape& input_shape);

// (d) The output of a designed involution (designed_involution.h) with the grid's stride and
// dilation; the design fixes K (the grid's kernel_size is not used).
Tensor designed_target(const Tensor& input, DesignedInvolution design, const TargetGrid& grid);

// (c) A target file: a .npy array of exactly output_shape, or an image whose [1, C, H, W]
// equals it. Throws ks::Error with one line naming the file and both shapes on a mismatch, or
// when the file cannot be read.
Tensor load_target_file(const std::string& path, const Shape& output_shape);

}  // namespace ks::targets
