// Presets as a (de)serialisation of the operator options: every bundled scene survives
// JSON -> preset -> JSON and preset -> options -> preset, and flags beat the scene.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "core/operator_options.h"
#include "core/preset.h"

namespace ks::core {
namespace {

const std::string kPresets = std::string(KS_ASSET_DIR) + "/presets";

TEST(CorePresets, EveryBundledSceneRoundTripsThroughJson) {
  const std::vector<std::string> paths = list_presets(kPresets);
  ASSERT_GE(paths.size(), 10u);
  for (const std::string& path : paths) {
    SCOPED_TRACE(path);
    const Preset p = load_preset(path);
    const nlohmann::json once = preset_to_json(p);
    const nlohmann::json twice = preset_to_json(preset_from_json(once, path));
    EXPECT_EQ(once, twice);
  }
}

// What `kernelscope run --preset` computes, written back as a scene, is the same scene.
TEST(CorePresets, SceneToOptionsAndBackKeepsTheOperation) {
  int checked = 0;
  for (const std::string& path : list_presets(kPresets)) {
    const Preset p = load_preset(path);
    if (p.variant != "paper" || p.weights.source == "file") continue;
    SCOPED_TRACE(path);
    OperatorOptions none;
    none.op.clear();  // --op not given: the scene decides
    const OperatorOptions o = options_from_preset(p, path, none);
    const Preset back = preset_from_options(o, path);
    EXPECT_EQ(back.op, p.op);
    EXPECT_EQ(back.image, p.image);
    EXPECT_EQ(back.kernel_size, p.kernel_size);
    EXPECT_EQ(back.out_channels, p.out_channels);
    EXPECT_EQ(back.stride, p.stride);
    EXPECT_EQ(back.padding, p.padding);
    EXPECT_EQ(back.dilation, p.dilation);
    EXPECT_EQ(back.groups, p.groups);
    if (p.op == "involution") {
      EXPECT_EQ(back.group_channels, p.group_channels);
      EXPECT_EQ(back.reduction, p.reduction);
    }
    EXPECT_EQ(back.weights.source, p.weights.source);
    EXPECT_EQ(back.weights.seed, p.weights.seed);
    EXPECT_EQ(back.weights.grid, p.weights.grid);
    ++checked;
  }
  EXPECT_GE(checked, 5);
}

TEST(CorePresets, GivenFlagsBeatTheScene) {
  const std::string path = kPresets + "/04_stride_dilation_checker.json";
  const Preset p = load_preset(path);
  OperatorOptions given;
  given.op.clear();
  given.stride = 3;
  given.given.insert("--stride");
  given.weights.seed = 0;
  given.given.insert("--seed");  // --seed 0 counts although it equals the default
  const OperatorOptions o = options_from_preset(p, path, given);
  EXPECT_EQ(o.stride, 3);
  EXPECT_EQ(o.dilation, p.dilation);
  EXPECT_EQ(o.weights.seed, 0u);
  EXPECT_EQ(o.weights.source, "random");  // the seed given: random weights, not the kernel
}

}  // namespace
}  // namespace ks::core
