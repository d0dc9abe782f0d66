// CPU helpers of the display path, shared by the texture upload and the PNG export so a saved
// figure shows what the screen shows.
#pragma once

#include <cstdint>
#include <vector>

#include "gui/settings.h"
#include "kernelscope/colormap.h"
#include "kernelscope/tensor.h"

namespace ks::app {

// The range of each channel of [1, C, H, W] under a scale mode; *layer gets the layer range.
// The first form scans the tensor (exports); the second starts from each channel's own
// min/max, which the worker has already scanned (the screen).
std::vector<ValueRange> map_ranges(const Tensor& output, ScaleMode mode, ValueRange* layer);
std::vector<ValueRange> map_ranges(const std::vector<ValueRange>& channel_ranges, ScaleMode mode,
                                   ValueRange* layer);
// How the kernel-sum map is coloured, from its raw min/max: diverging and symmetric when the
// sums have both signs, else a sequential map over their own range; label names the choice.
struct KernelSumScale {
  ValueRange range;
  Colormap map = Colormap::Diverging;
  const char* label = "";
};
KernelSumScale kernel_sum_scale(ValueRange raw);
// [H, W]: the sum of the K*K taps of one group's generated kernels, from [1, G, K*K, H, W].
Tensor kernel_sum_plane(const Tensor& kernels, int group);
// Channels 0-2 of [1, 3, H, W] as RGB, each mapped through the same range.
std::vector<uint8_t> composite_rgb(const Tensor& output, ValueRange range);

}  // namespace ks::app
