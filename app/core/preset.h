// Presets: named teaching scenes (image, operation, parameters, weights, caption) stored as
// JSON in assets/presets/. Shared by the CLI (--preset, "kernelscope animate") and the app
// (load/save, demo mode). The format is documented in docs/teaching.md.
#pragma once

#include <nlohmann/json.hpp>

#include <cstdint>
#include <string>
#include <vector>

#include "core/operation_spec.h"
#include "core/operator_options.h"

namespace ks::core {

// A learn scene: what the Learn panel (and `kernelscope learn --preset`) fits, to which
// target, how long. present is false for the other scenes.
struct PresetLearn {
  bool present = false;
  std::string target;        // a --target name (learn_target.h) or a file
  std::string ops = "both";  // conv | involution | both: which layers learn
  int64_t steps = 300;
  double lr = 0.02;
  // Where the involution starts learning from: "given" (the scene's weights as they are),
  // "identity" (kernelscope/learn.h apply_identity_start), or empty: the learner's default
  // (identity from seeded random weights, given from a weights file).
  std::string start;
};

// A scene is an operation spec (operation_spec.h; -1 = not set, the operator's default or
// the weights decide, exactly like an absent flag) with what only a scene has. Its JSON holds
// the spec's fields except the backend, the memory cap and the kernels request, which are
// the user's, not the scene's. The weights are {"preset": SOURCE, "seed", "grid", "file",
// "variation"} (WeightsSpec, source under the key "preset").
struct Preset : OperationSpec {
  std::string name;
  std::string caption;                 // one or two sentences that teach what the scene shows
  std::string image;                   // relative to assets/ ("samples/shapes.png"), or absolute
  std::string colormap = "diverging";  // diverging | viridis | grey
  // Optional step-through start: the output pixel and channel to explain first.
  int64_t pixel_y = -1;
  int64_t pixel_x = -1;
  int64_t channel = -1;
  PresetLearn learn;
};

// Whether a scene holds a parameter of the table (the memory cap is the user's).
constexpr bool scene_holds(Param p) { return p != Param::MaxMemoryMb; }

// Parse and validate (check_spec, naming fields); errors are ks::Error "preset <origin>:
// <what>" naming the field. Unknown fields are errors too (a typo should not silently fall
// back to a default).
Preset preset_from_json(const nlohmann::json& json, const std::string& origin);
nlohmann::json preset_to_json(const Preset& preset);  // omits unset fields
Preset load_preset(const std::string& path);
void save_preset(const std::string& path, const Preset& preset);  // atomic write

// Every *.json in a directory (assets/presets/), sorted by file name: the demo-mode order.
std::vector<std::string> list_presets(const std::string& directory);

// A path from a preset (image, weights file) made usable: absolute paths as they are;
// otherwise the first that exists of <assets>/<path> (the parent of the preset's directory,
// since presets live in assets/presets/) and <preset's directory>/<path>. Throws naming
// the places tried. A path that leads outside that tree (absolute, or through "..") is still
// read, but says so in *notes: a preset shared by someone else should not read files
// elsewhere on the user's disk unnoticed.
std::string resolve_preset_path(const std::string& relative, const std::string& preset_path,
                                std::vector<std::string>* notes = nullptr);

// The operator options the preset describes, with every field that `given` already set
// (a flag on the command line, recorded in given.given) kept: explicit flags override the
// preset whatever their value, --seed 0 included. given.op empty means --op was not given.
// Throws for the notebook variant, which only the step-through computes (animate, app); run
// computes the paper's operators.
OperatorOptions options_from_preset(const Preset& preset, const std::string& preset_path,
                                    const OperatorOptions& given);
// options.preset empty: returns options unchanged; otherwise loads and applies that file.
OperatorOptions resolve_preset_options(const OperatorOptions& options);

// The reverse: a preset that reproduces these resolved options (image and weights paths
// made relative to the assets directory of save_path, i.e. its parent's parent, when they
// lie inside it, absolute otherwise). The caller adds name, caption and view fields.
Preset preset_from_options(const OperatorOptions& options, const std::string& save_path);

}  // namespace ks::core
