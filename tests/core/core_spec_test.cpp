// The one operation model: the app's settings and the CLI's flags describe the same spec,
// and prepare() makes the same layer from it; the rules where the two used to disagree.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <fstream>
#include <functional>
#include <string>

#include "core/op_settings.h"
#include "core/operator_options.h"
#include "core/prepare.h"
#include "core/preset.h"
#include "kernelscope/error.h"
#include "kernelscope/io.h"

namespace ks::core {
namespace {

const std::string kShapes = std::string(KS_ASSET_DIR) + "/samples/shapes.png";

std::string thrown_by(const std::function<void()>& fn) {
  try {
    fn();
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

Tensor shapes() { return load_input(kShapes); }

// The same operation set up as the app's sliders and as `kernelscope run` flags.
struct SameOperation {
  OpSettings settings;
  OperatorOptions flags;
};

SameOperation involution_from_sobel() {
  SameOperation same;
  OpSettings& s = same.settings;
  s.operation = Operation::Involution;
  s.kernel_size = 5;
  s.stride = 2;
  s.dilation = 2;
  s.group_channels = 3;
  s.reduction = 1;
  s.weights = WeightSource::SobelX;
  s.seed = 9;
  s.variation = 0.5f;
  OperatorOptions& o = same.flags;
  o.op = "involution";
  o.input = kShapes;
  o.kernel_size = 5;
  o.stride = 2;
  o.dilation = 2;
  o.group_channels = 3;
  o.reduction = 1;
  o.weights.source = "sobel_x";
  o.weights.seed = 9;
  o.weights.variation = 0.5;
  return same;
}

TEST(OperationSpec, TheAppAndTheCliMakeTheSameInvolution) {
  const SameOperation same = involution_from_sobel();
  const PreparedOperation app =
      prepare(spec_from_settings(same.settings, OpKind::Involution), shapes());
  const PreparedOperation cli = prepare_operation(same.flags);
  EXPECT_EQ(app.involution.kernel_size, 5);
  EXPECT_EQ(app.involution.stride, 2);
  EXPECT_EQ(app.involution.dilation, 2);
  EXPECT_EQ(app.involution.group_channels, cli.involution.group_channels);
  EXPECT_EQ(app.involution.reduction, cli.involution.reduction);
  EXPECT_EQ(app.involution_weights.span_weight.data, cli.involution_weights.span_weight.data);
  EXPECT_EQ(app.involution_weights.span_bias.data, cli.involution_weights.span_bias.data);
  EXPECT_EQ(app.involution_weights.reduce_weight.data, cli.involution_weights.reduce_weight.data);
  // The variation made the span weight non-zero: without it the comparison would be of zeros.
  float largest = 0;
  for (float v : cli.involution_weights.span_weight.data) largest = std::max(largest, std::abs(v));
  EXPECT_GT(largest, 0.0f);
}

TEST(OperationSpec, TheAppAndTheCliMakeTheSameConvolution) {
  OpSettings s;
  s.operation = Operation::Convolution;
  s.kernel_size = 3;
  s.out_channels = 3;
  s.padding = 1;
  s.weights = WeightSource::Gaussian;
  OperatorOptions o;
  o.input = kShapes;
  o.kernel_size = 3;
  o.out_channels = 3;
  o.padding = 1;
  o.stride = 1;
  o.dilation = 1;
  o.groups = 1;
  o.weights.source = "gaussian";
  const PreparedOperation app = prepare(spec_from_settings(s, OpKind::Conv), shapes());
  const PreparedOperation cli = prepare_operation(o);
  EXPECT_EQ(app.conv.padding, 1);
  EXPECT_EQ(app.conv_weights.weight.data, cli.conv_weights.weight.data);
  EXPECT_EQ(app.conv_weights.bias.data, cli.conv_weights.bias.data);
}

TEST(OperationSpec, TheSettingsLeaveTheShapeToWeightsThatDecideIt) {
  OpSettings s;
  s.kernel_size = 7;
  s.reduction = 2;
  s.weights = WeightSource::DesignedEdgeAware;
  const OperationSpec designed = spec_from_settings(s, OpKind::Involution);
  EXPECT_EQ(designed.kernel_size, -1);
  EXPECT_EQ(designed.reduction, -1);
  // prepare() takes the design's K; a stale slider value does not contradict it.
  const PreparedOperation p = prepare(designed, shapes());
  EXPECT_NE(p.involution.kernel_size, 7);
  // An explicit value (a flag, a scene field) that contradicts it is an error, in both.
  OperationSpec explicit_k = designed;
  explicit_k.kernel_size = 7;
  EXPECT_NE(thrown_by([&] { prepare(explicit_k, shapes()); }).find("contradicts designed:"),
            std::string::npos);
  s.weights = WeightSource::File;
  s.weights_file.clear();
  EXPECT_EQ(thrown_by([&] { spec_from_settings(s, OpKind::Conv); }), "no weights file chosen");
}

TEST(OperationSpec, TheAppsGridIsSentAsKByK) {
  OpSettings s;
  s.kernel_size = 3;
  s.weights = WeightSource::Custom;
  s.custom_kernel = {1, 2, 3, 4};  // the editor still holds a 2 x 2 grid
  const OperationSpec spec = spec_from_settings(s, OpKind::Conv);
  ASSERT_EQ(spec.weights.source, "grid");
  EXPECT_EQ(spec.weights.grid.size(), 9u);
  EXPECT_NO_THROW(prepare(spec, shapes()));
  // A spec's own grid must hold exactly K x K values.
  OperationSpec wrong = spec;
  wrong.weights.grid.resize(4);
  EXPECT_NE(thrown_by([&] { check_spec(wrong, Naming::Flags); }).find("the grid has 4 values"),
            std::string::npos);
  // Without K, the grid's size says it.
  wrong.kernel_size = -1;
  EXPECT_EQ(prepare(wrong, shapes()).conv.kernel_size, 2);
}

TEST(OperationSpec, ChecksNameTheFlagOrTheField) {
  OperationSpec s;
  s.op = "conv";
  s.weights.source = "designed:edge_aware";
  EXPECT_NE(thrown_by([&] { check_spec(s, Naming::Flags); }).find("use --op involution"),
            std::string::npos);
  EXPECT_NE(thrown_by([&] { check_spec(s, Naming::Fields); }).find("set op to 'involution'"),
            std::string::npos);
  s.op = "involution";
  s.kernel_size = 3;
  EXPECT_NE(thrown_by([&] { check_spec(s, Naming::Flags); }).find("--kernel-size 3 contradicts"),
            std::string::npos);
  EXPECT_NE(thrown_by([&] { check_spec(s, Naming::Fields); }).find("kernel_size 3 contradicts"),
            std::string::npos);
  OperationSpec v;
  v.op = "involution";
  v.weights.variation = 0.5;  // random weights: nothing to vary
  EXPECT_NE(thrown_by([&] { check_spec(v, Naming::Flags); }).find("variation applies to"),
            std::string::npos);
  v.weights.source = "box";
  EXPECT_EQ(thrown_by([&] { check_spec(v, Naming::Flags); }), "");
  v.op = "conv";
  EXPECT_NE(thrown_by([&] { check_spec(v, Naming::Flags); }), "");
  OperationSpec unknown;
  unknown.weights.source = "blurry";
  EXPECT_NE(thrown_by([&] { check_spec(unknown, Naming::Flags); }).find("unknown kernel"),
            std::string::npos);
}

TEST(OperationSpec, ASceneKeepsItsVariationAndActivation) {
  Preset p;
  p.name = "v";
  p.image = "samples/shapes.png";
  p.op = "involution";
  p.kernel_size = 3;
  p.activation = "relu";
  p.weights.source = "gaussian";
  p.weights.variation = 0.25;
  const Preset back = preset_from_json(preset_to_json(p), "test");
  EXPECT_EQ(back.weights.variation, 0.25);
  EXPECT_EQ(back.activation, "relu");
  const std::string path = std::string(KS_ASSET_DIR) + "/presets/v.json";
  OperatorOptions none;
  none.op.clear();
  const OperatorOptions o = options_from_preset(back, path, none);
  EXPECT_EQ(o.weights.variation, 0.25);
  EXPECT_TRUE(prepare(o, shapes()).relu);
  // --variation alone changes the scene's variation, not its kernel.
  OperatorOptions flag = none;
  flag.weights.variation = 1.0;
  flag.given.insert("--variation");
  const OperatorOptions o2 = options_from_preset(back, path, flag);
  EXPECT_EQ(o2.weights.source, "gaussian");
  EXPECT_EQ(o2.weights.variation, 1.0);
  // A wrong variation in a scene file is a one-line error naming the scene.
  nlohmann::json j = preset_to_json(p);
  j["weights"]["variation"] = 0.5;
  j["op"] = "conv";
  EXPECT_NE(thrown_by([&] { preset_from_json(j, "bad.json"); }).find("preset bad.json:"),
            std::string::npos);
}

// Every slider an operator reads reaches its spec: distinct values in the settings come out
// in the spec's fields (a parameter added to the settings but not to spec_from_settings
// fails here).
TEST(OperationSpec, EverySliderReachesTheSpec) {
  OpSettings s;
  int next = 2;
  for (const SettingsParam& p : settings_parameters(&s)) *p.value = next++;
  s.padding_same = false;
  for (OpKind op : {OpKind::Conv, OpKind::Involution}) {
    const unsigned reader = op == OpKind::Conv ? kUsedByConv : kUsedByInvolution;
    const OperationSpec spec = spec_from_settings(s, op);
    for (const SettingsParam& p : settings_parameters(&s)) {
      const ParamLimits& l = limits(p.param);
      // Involution pads d(K-1)/2 itself and reads --groups as G = C / group channels.
      if (!(l.used_by & reader) || (op == OpKind::Involution && p.param == Param::Groups)) continue;
      SCOPED_TRACE(std::string(l.field) + (op == OpKind::Conv ? " conv" : " involution"));
      const int64_t* field = spec_field(spec, p.param);
      ASSERT_NE(field, nullptr);
      EXPECT_EQ(*field, *p.value);
    }
  }
  s.notebook_variant = true;
  const OperationSpec notebook = spec_from_settings(s, OpKind::Involution);
  EXPECT_EQ(notebook.variant, "notebook");
  EXPECT_EQ(notebook.padding, s.notebook_padding);
}

// Scene files: what a hand edit can get wrong is refused with the scene's name, and a value
// that came from the scene is named as its field, not as a flag nobody gave.
TEST(OperationSpec, SceneMistakesNameTheScene) {
  const auto scene_error = [](const std::string& text) {
    return thrown_by([&] { preset_from_json(nlohmann::json::parse(text), "s.json"); });
  };
  EXPECT_NE(scene_error(R"({"name": "x", "image": "i.png", "op": "involution", "kernel_size": 3,
      "weights": {"grid": [0, 0, 0, 0, 1, 0, 0, 0, 0], "preset": "box"}})")
                .find("preset s.json: weights.grid is read only with weights.preset 'grid'"),
            std::string::npos);
  EXPECT_NE(scene_error(R"({"name": "x", "image": "i.png", "op": "involution",
      "weights": {"preset": "box", "variation": 1e300}})")
                .find("variation must be a number from 0 to 100, got 1e+300"),
            std::string::npos);
  // A number beyond a double is the JSON reader's error, still one line naming the file.
  const std::string dir = ::testing::TempDir();
  const std::string path = dir + "/huge_variation.json";
  std::ofstream(path) << R"({"name": "x", "image": "i.png", "weights": {"variation": 1e999}})";
  EXPECT_NE(thrown_by([&] { load_preset(path); }).find("preset " + path + ": not valid JSON"),
            std::string::npos);
  // A scene's reduction against a weights file: named as the scene's field.
  InvolutionParams p;
  p.channels = 3;
  p.kernel_size = 3;
  p.group_channels = 1;
  p.reduction = 1;
  const std::string weights = dir + "/r1.safetensors";
  save_safetensors(weights, involution_weights_to_tensors(p, random_involution_weights(p, 1)));
  const std::string scene = dir + "/r3.json";
  std::ofstream(scene) << R"({"name": "x", "image": ")" << kShapes
                       << R"(", "op": "involution", "reduction": 3, "weights": {"file": ")"
                       << weights << R"("}})";
  OperatorOptions o;
  o.preset = scene;
  o.given.insert("--preset");
  o.op.clear();
  EXPECT_NE(thrown_by([&] {
              prepare_operation(o);
            }).find("preset " + scene + ": reduction 3 contradicts the weights file"),
            std::string::npos);
  o.reduction = 3;
  o.given.insert("--reduction");
  EXPECT_NE(thrown_by([&] { prepare_operation(o); }).find("--reduction 3 contradicts"),
            std::string::npos);
}

}  // namespace
}  // namespace ks::core
