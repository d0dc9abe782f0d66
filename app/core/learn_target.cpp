// Learn targets by name, shared by the CLI and the app's Learn panel.
#include "core/learn_target.h"

#include "kernelscope/designed_involution.h"
#include "kernelscope/error.h"
#include "kernelscope/kernel_presets.h"

namespace ks::core {

namespace {

bool is_kernel_preset_name(const std::string& name) {
  for (KernelPreset p : all_kernel_presets())
    if (name == kernel_preset_name(p)) return true;
  return false;
}

}  // namespace

std::vector<std::string> learn_target_names() {
  std::vector<std::string> names;
  for (KernelPreset p : all_kernel_presets()) names.emplace_back(kernel_preset_name(p));
  names.emplace_back("bilateral");
  names.emplace_back("masked_blur");
  for (DesignedInvolution d : all_designed_involutions())
    names.push_back(std::string(kDesignedPrefix) + designed_involution_name(d));
  return names;
}

Tensor make_learn_target(const std::string& name, const std::string& mask_path, const Tensor& input,
                         const targets::TargetGrid& grid, const Shape& out) {
  Tensor target;
  if (is_kernel_preset_name(name)) {
    target = targets::kernel_preset_target(input, kernel_preset_from_name(name), grid);
  } else if (name == "bilateral") {
    target = targets::bilateral_target(input, grid);
  } else if (name == "masked_blur") {
    const Tensor mask = mask_path.empty() ? targets::brightness_mask(input)
                                          : targets::load_mask(mask_path, input.shape);
    target = targets::masked_blur_target(input, mask, grid);
  } else if (has_designed_prefix(name)) {
    target = targets::designed_target(input, designed_involution_from_name(name), grid);
  } else {
    return targets::load_target_file(name, out);  // checks the shape itself
  }
  if (target.shape != out)
    throw Error("--target " + name + " is " + shape_to_string(target.shape) +
                " but the output is " + shape_to_string(out) +
                " (computed targets use \"same\" padding d*(K-1)/2 and an odd K)");
  return target;
}

}  // namespace ks::core
