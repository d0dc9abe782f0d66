// Presets: named teaching scenes (image, operation, parameters, weights, caption) stored as
// JSON in assets/presets/. Shared by the CLI (--preset, "kernelscope animate") and the app
// (load/save, demo mode). The format is documented in docs/teaching.md.
#pragma once

#include <nlohmann/json.hpp>

#include <cstdint>
#include <string>
#include <vector>

#include "core/operator_options.h"

namespace ks::core {

// Where the layer weights of a scene come from.
struct PresetWeights {
  // A named kernel of kernelscope/kernel_presets.h ("identity", "sobel_x", ...), "grid"
  // (the K*K values in `grid`), "random" (seeded PyTorch default init), "file", or
  // "designed:NAME", a hand-built involution generator (kernelscope/designed_involution.h)
  // that also decides K, group channels and reduction.
  std::string preset = "random";
  uint64_t seed = 0;
  std::vector<float> grid;  // row-major K*K, for "grid"
  std::string file;         // .safetensors, relative to the preset file or to assets/
};

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

// -1 (numbers) means "not set": the operator's default or the weights decide, exactly like
// an absent command-line flag.
struct Preset {
  std::string name;
  std::string caption;            // one or two sentences that teach what the scene shows
  std::string image;              // relative to assets/ ("samples/shapes.png"), or absolute
  std::string op = "conv";        // conv | involution
  std::string variant = "paper";  // involution only: paper | notebook (notebook_variant.h)
  int64_t kernel_size = -1;
  int64_t out_channels = -1;
  int64_t stride = -1;
  int64_t padding = -1;  // conv; the notebook variant's span/unfold padding (default 0)
  int64_t dilation = -1;
  int64_t groups = -1;
  int64_t group_channels = -1;
  int64_t reduction = -1;
  std::string activation = "none";  // none | relu, applied to the output for display
  PresetWeights weights;
  std::string colormap = "diverging";  // diverging | viridis | grey
  // Optional step-through start: the output pixel and channel to explain first.
  int64_t pixel_y = -1;
  int64_t pixel_x = -1;
  int64_t channel = -1;
  PresetLearn learn;
};

// Parse and validate; errors are ks::Error "preset <origin>: <what>" naming the field.
// Unknown fields are errors too (a typo should not silently fall back to a default).
// Where a parameter of the table lives in a preset (-1: not set), or null for those a scene
// does not hold (the memory cap; the notebook variant's padding is the padding field).
int64_t* preset_field(Preset* preset, Param param);
inline const int64_t* preset_field(const Preset& preset, Param param) {
  return preset_field(const_cast<Preset*>(&preset), param);
}

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

// The K*K kernel a preset's weights name (named kernel or grid), empty for random, file and
// designed:NAME (a generator, kernelscope/designed_involution.h, not one kernel).
std::vector<float> preset_kernel_values(const PresetWeights& weights, int64_t kernel_size);

}  // namespace ks::core
