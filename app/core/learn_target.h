// The targets `kernelscope learn --target` and the app's Learn panel fit to, by name: a
// kernel preset, bilateral, masked_blur, designed:NAME, or a file (kernelscope/targets.h).
#pragma once

#include <string>
#include <vector>

#include "kernelscope/ops.h"
#include "kernelscope/targets.h"

namespace ks::core {

// The computed target names, in the order menus list them.
std::vector<std::string> learn_target_names();

// The target called `name` (or read from the file `name`) for `input`, checked against the
// layer's output shape; mask_path is masked_blur's mask image ("" = the input's brightness).
// Throws ks::Error with one line naming both shapes on a mismatch.
Tensor make_learn_target(const std::string& name, const std::string& mask_path, const Tensor& input,
                         const targets::TargetGrid& grid, const Shape& output_shape);

}  // namespace ks::core
