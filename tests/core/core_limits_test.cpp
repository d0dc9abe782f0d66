// The parameter table (app/core/parameter_limits.h) is the one source of every limit: the
// CLI's flag checks, the preset reader and the session's clamps all answer from it.
#include <gtest/gtest.h>

#include <CLI/CLI.hpp>
#include <functional>
#include <string>
#include <utility>
#include <vector>

#include "core/op_settings.h"
#include "core/operator_options.h"
#include "core/parameter_limits.h"
#include "core/preset.h"
#include "kernelscope/error.h"

namespace ks::core {
namespace {

std::string thrown_by(const std::function<void()>& fn) {
  try {
    fn();
  } catch (const std::exception& e) {
    return e.what();
  }
  return "(nothing thrown)";
}

TEST(ParameterLimits, TableIsConsistent) {
  for (const ParamLimits& l : kParamLimits) {
    SCOPED_TRACE(l.field);
    EXPECT_EQ(std::string(l.flag).rfind("--", 0), 0u);
    EXPECT_LE(l.min, l.default_value);
    if (l.app_max >= 0) {
      EXPECT_LE(l.default_value, l.app_max);
      EXPECT_EQ(app_max(l.param, 3), l.app_max);
    }
    EXPECT_NE(l.used_by, 0u);
  }
  EXPECT_EQ(app_max(Param::GroupChannels, 12), 12);  // bound by the image's channels
  EXPECT_EQ(app_max(Param::Groups, 0), 1);           // never below min
}

// The exact messages users and the CLI tests see are kept.
TEST(ParameterLimits, FlagMessagesAreTheOldOnes) {
  EXPECT_EQ(flag_range_error(Param::Stride, 0), "--stride must be at least 1, got 0");
  EXPECT_EQ(flag_range_error(Param::Padding, -2), "--padding must be at least 0, got -2");
  EXPECT_EQ(flag_range_error(Param::MaxMemoryMb, 0), "--max-memory-mb must be at least 1, got 0");
  EXPECT_EQ(flag_range_error(Param::Stride, 1), "");
  EXPECT_EQ(field_range_error(Param::KernelSize), "field 'kernel_size' must be an integer >= 1");
}

TEST(ParameterLimits, FlagChecksAnswerFromTheTable) {
  for (const ParamLimits& l : kParamLimits) {
    if (l.param == Param::NotebookPadding) continue;  // --padding, checked as Padding
    SCOPED_TRACE(l.flag);
    OperatorOptions o;
    const int64_t below = l.min - 1;
    ASSERT_NE(spec_field(&o, l.param), nullptr);
    *spec_field(&o, l.param) = below;
    o.given.insert(l.flag);
    EXPECT_EQ(thrown_by([&] { check_flag_values(o); }), flag_range_error(l.param, below));
    *spec_field(&o, l.param) = l.min;
    EXPECT_NO_THROW(check_flag_values(o));
  }
  // -1 not given means "unset" and passes; given, it is refused.
  OperatorOptions unset;
  unset.stride = -1;
  EXPECT_NO_THROW(check_flag_values(unset));
  unset.given.insert("--stride");
  EXPECT_THROW(check_flag_values(unset), Error);
}

TEST(ParameterLimits, CommandLineParserUsesTheTableMinimum) {
  for (const ParamLimits& l : kParamLimits) {
    if (l.param == Param::NotebookPadding) continue;
    SCOPED_TRACE(l.flag);
    CLI::App app;
    OperatorOptions o;
    add_operator_options(app, o, /*input_required=*/false);
    const std::string below = std::to_string(l.min - 1), at = std::to_string(l.min);
    std::vector<std::string> args = {below, l.flag};  // CLI11 parses the vector from its back
    try {
      app.parse(args);
      ADD_FAILURE() << l.flag << " " << below << " was accepted";
    } catch (const CLI::ParseError& e) {
      EXPECT_NE(std::string(e.what()).find("a whole number >= " + at), std::string::npos)
          << e.what();
    }
  }
}

TEST(ParameterLimits, PresetFieldsAnswerFromTheTable) {
  Preset p;
  for (const ParamLimits& l : kParamLimits) {
    if (l.param == Param::NotebookPadding || l.param == Param::MaxMemoryMb) continue;
    SCOPED_TRACE(l.field);
    nlohmann::json j = {{"name", "t"}, {"image", "x.png"}, {"op", "conv"}};
    j[l.field] = l.min - 1;
    EXPECT_EQ(thrown_by([&] { preset_from_json(j, "t.json"); }),
              "preset t.json: " + field_range_error(l.param));
    j[l.field] = l.min;
    EXPECT_NO_THROW(p = preset_from_json(j, "t.json"));
  }
}

// A value a flag refuses is moved to the same lower end when a session file holds it, and
// a session beyond a slider's end is brought back to it.
TEST(ParameterLimits, SessionClampsUseTheSameEnds) {
  OpSettings s;
  s.kernel_size = 99;
  s.stride = 0;
  s.padding = -3;
  s.dilation = 1000;
  s.out_channels = 65;
  s.groups = -5;
  s.group_channels = 0;
  s.reduction = 0;
  s.notebook_padding = 100;
  s.max_memory_mb = 0;
  clamp_to_app_ranges(&s);
  EXPECT_EQ(s.kernel_size, 15);
  EXPECT_EQ(s.stride, limits(Param::Stride).min);
  EXPECT_EQ(s.padding, 0);
  EXPECT_EQ(s.dilation, 8);
  EXPECT_EQ(s.out_channels, 64);
  EXPECT_EQ(s.groups, 1);
  EXPECT_EQ(s.group_channels, 1);
  EXPECT_EQ(s.reduction, 1);
  EXPECT_EQ(s.notebook_padding, 8);
  EXPECT_EQ(s.max_memory_mb, 1);
  for (const SettingsParam& p : settings_parameters(&s))
    EXPECT_TRUE(flag_range_error(p.param, *p.value).empty()) << limits(p.param).field;
}

// The app's ranges are the sliders' and session clamps' ranges from before the table.
TEST(ParameterLimits, AppRangesAreTheOldSliderRanges) {
  const std::pair<Param, std::pair<int64_t, int64_t>> ranges[] = {
      {Param::KernelSize, {1, 15}},  {Param::Stride, {1, 8}},
      {Param::Dilation, {1, 8}},     {Param::Padding, {0, 32}},
      {Param::OutChannels, {1, 64}}, {Param::NotebookPadding, {0, 8}},
      {Param::Groups, {1, 5}},       {Param::GroupChannels, {1, 5}},
      {Param::Reduction, {1, 5}}};
  for (const auto& [param, range] : ranges) {
    EXPECT_EQ(limits(param).min, range.first) << limits(param).field;
    EXPECT_EQ(app_max(param, 5), range.second) << limits(param).field;  // a 5-channel image
    EXPECT_EQ(clamp_to_app_range(param, 1000), limits(param).app_max < 0 ? 1000 : range.second)
        << limits(param).field;
  }
}

// The app starts where the table says, except its padding, which follows K ("same").
TEST(ParameterLimits, SettingsStartAtTheTableDefaults) {
  OpSettings s;
  for (const SettingsParam& p : settings_parameters(&s)) {
    if (p.param == Param::Padding) continue;
    EXPECT_EQ(*p.value, limits(p.param).default_value) << limits(p.param).field;
  }
  EXPECT_EQ(s.padding, s.dilation * (s.kernel_size - 1) / 2);
  EXPECT_EQ(s.max_memory_mb, limits(Param::MaxMemoryMb).default_value);
  EXPECT_EQ(OperatorOptions().max_memory_mb, limits(Param::MaxMemoryMb).default_value);
}

// Every parameter a flag sets and a scene holds goes from the scene to the options and back
// through its one field (spec_field): distinct values survive the trip, and the JSON too.
TEST(ParameterLimits, FieldListReachesDistinctFields) {
  Preset scene;
  scene.op = "involution";
  scene.name = "x";
  int64_t next = 11;
  for (const ParamLimits& l : kParamLimits)
    if (int64_t* field = spec_field(&scene, l.param); field && scene_holds(l.param))
      *field = next++;
  OperatorOptions none;
  none.op.clear();
  const std::string path = std::string(KS_ASSET_DIR) + "/presets/x.json";
  scene.image = "samples/shapes.png";
  const OperatorOptions o = options_from_preset(scene, path, none);
  const Preset back = preset_from_options(o, path);
  const Preset reread = preset_from_json(preset_to_json(back), "test");
  for (const ParamLimits& l : kParamLimits)
    if (const int64_t* field = spec_field(scene, l.param); field && scene_holds(l.param)) {
      EXPECT_EQ(*spec_field(o, l.param), *field) << l.field;
      EXPECT_EQ(*spec_field(back, l.param), *field) << l.field;
      EXPECT_EQ(*spec_field(reread, l.param), *field) << l.field;
    }
  EXPECT_EQ(next, 11 + 8);  // the eight operator parameters a scene holds
}

}  // namespace
}  // namespace ks::core
