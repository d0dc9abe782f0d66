// Reading, writing and applying preset scenes (see preset.h and docs/teaching.md).
#include "core/preset.h"

#include <algorithm>
#include <filesystem>
#include <set>
#include <utility>

#include "core/parameter_limits.h"
#include "kernelscope/designed_involution.h"
#include "kernelscope/error.h"
#include "kernelscope/io.h"
#include "kernelscope/kernel_presets.h"

namespace ks::core {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

const std::set<std::string> kFields = {
    "name",    "caption",  "image",    "op",      "variant",        "kernel_size", "out_channels",
    "stride",  "padding",  "dilation", "groups",  "group_channels", "reduction",   "activation",
    "weights", "colormap", "pixel",    "channel", "learn"};

// Reads one field with a message naming it when the type is wrong.
class Reader {
 public:
  Reader(const json& j, std::string origin) : j_(j), origin_(std::move(origin)) {}

  [[noreturn]] void fail(const std::string& what) const {
    throw Error("preset " + origin_ + ": " + what);
  }
  void text(const char* key, std::string* out, bool required = false) const {
    if (!j_.contains(key)) {
      if (required) fail(std::string("missing field '") + key + "'");
      return;
    }
    if (!j_[key].is_string()) fail(std::string("field '") + key + "' must be a string");
    *out = j_[key].get<std::string>();
  }
  void integer(const char* key, int64_t* out, int64_t min) const {
    if (!j_.contains(key)) return;
    if (!j_[key].is_number_integer() || j_[key].get<int64_t>() < min)
      fail(std::string("field '") + key + "' must be an integer >= " + std::to_string(min));
    *out = j_[key].get<int64_t>();
  }
  // An operator parameter: its field name and lower end from the table (parameter_limits.h).
  void parameter(Param p, int64_t* out) const {
    if (!j_.contains(limits(p).field)) return;
    const json& v = j_[limits(p).field];
    if (!v.is_number_integer() || v.get<int64_t>() < limits(p).min) fail(field_range_error(p));
    *out = v.get<int64_t>();
  }
  void one_of(const char* key, std::string* out, std::initializer_list<const char*> allowed) const {
    text(key, out);
    for (const char* a : allowed)
      if (*out == a) return;
    std::string list;
    for (const char* a : allowed) list += std::string(list.empty() ? "" : ", ") + a;
    fail(std::string("field '") + key + "' is '" + *out + "' (use " + list + ")");
  }

 private:
  const json& j_;
  std::string origin_;
};

// The grid as a flat or nested (rows) array of numbers.
std::vector<float> read_grid(const json& g, const Reader& r) {
  std::vector<float> values;
  if (!g.is_array()) r.fail("weights.grid must be an array of numbers (flat or rows)");
  for (const json& v : g) {
    if (v.is_array()) {
      for (const json& w : v) {
        if (!w.is_number()) r.fail("weights.grid must hold numbers only");
        values.push_back(w.get<float>());
      }
    } else if (v.is_number()) {
      values.push_back(v.get<float>());
    } else {
      r.fail("weights.grid must hold numbers only");
    }
  }
  return values;
}

WeightsSpec read_weights(const json& w, const Reader& r) {
  WeightsSpec out;
  if (!w.is_object()) r.fail("field 'weights' must be an object");
  for (auto it = w.begin(); it != w.end(); ++it)
    if (it.key() != "preset" && it.key() != "seed" && it.key() != "grid" && it.key() != "file" &&
        it.key() != "variation")
      r.fail("unknown field 'weights." + it.key() + "'");
  if (w.contains("file")) {
    if (!w["file"].is_string()) r.fail("weights.file must be a string");
    out.file = w["file"].get<std::string>();
    out.source = "file";
  }
  if (w.contains("grid")) {
    out.grid = read_grid(w["grid"], r);
    out.source = "grid";
  }
  if (w.contains("preset")) {
    if (!w["preset"].is_string()) r.fail("weights.preset must be a string");
    out.source = w["preset"].get<std::string>();
    // A grid or a file beside another source would be dropped without a word.
    for (const char* with : {"grid", "file"})
      if (w.contains(with) && out.source != with)
        r.fail(std::string("weights.") + with + " is read only with weights.preset '" + with +
               "', not '" + out.source + "'");
    // Learned weights live in the app's memory; a scene names their saved file.
    if (out.source == "learned") r.fail("weights.preset 'learned' cannot be saved: use 'file'");
  }
  if (w.contains("seed")) {
    if (!w["seed"].is_number_unsigned()) r.fail("weights.seed must be an integer >= 0");
    out.seed = w["seed"].get<uint64_t>();
  }
  if (w.contains("variation")) {
    if (!w["variation"].is_number()) r.fail("weights.variation must be a number");
    out.variation = w["variation"].get<double>();
  }
  if (out.source == "file" && out.file.empty()) r.fail("weights.preset 'file' needs weights.file");
  if (out.source == "grid" && out.grid.empty()) r.fail("weights.preset 'grid' needs weights.grid");
  return out;
}

PresetLearn read_learn(const json& l, const Reader& r) {
  PresetLearn out;
  out.present = true;
  if (!l.is_object()) r.fail("field 'learn' must be an object");
  for (auto it = l.begin(); it != l.end(); ++it)
    if (it.key() != "target" && it.key() != "op" && it.key() != "steps" && it.key() != "lr" &&
        it.key() != "start")
      r.fail("unknown field 'learn." + it.key() + "'");
  if (!l.contains("target") || !l["target"].is_string())
    r.fail("learn.target must be a string (a target name or file)");
  out.target = l["target"].get<std::string>();
  if (l.contains("op")) {
    if (!l["op"].is_string()) r.fail("learn.op must be a string");
    out.ops = l["op"].get<std::string>();
    if (out.ops != "conv" && out.ops != "involution" && out.ops != "both")
      r.fail("learn.op is '" + out.ops + "' (use conv, involution, both)");
  }
  if (l.contains("steps")) {
    if (!l["steps"].is_number_integer() || l["steps"].get<int64_t>() < 1 ||
        l["steps"].get<int64_t>() > 1000000)
      r.fail("learn.steps must be an integer in [1, 1000000]");
    out.steps = l["steps"].get<int64_t>();
  }
  if (l.contains("lr")) {
    if (!l["lr"].is_number() || !(l["lr"].get<double>() > 0) || !(l["lr"].get<double>() < 1e3))
      r.fail("learn.lr must be a positive number");
    out.lr = l["lr"].get<double>();
  }
  if (l.contains("start")) {
    if (!l["start"].is_string()) r.fail("learn.start must be a string");
    out.start = l["start"].get<std::string>();
    if (out.start != "given" && out.start != "identity")
      r.fail("learn.start is '" + out.start + "' (use given, identity)");
  }
  return out;
}

}  // namespace

Preset preset_from_json(const json& j, const std::string& origin) {
  const Reader r(j, origin);
  if (!j.is_object()) r.fail("the file must hold one JSON object");
  for (auto it = j.begin(); it != j.end(); ++it)
    if (!kFields.count(it.key())) r.fail("unknown field '" + it.key() + "'");
  Preset p;
  r.text("name", &p.name, /*required=*/true);
  r.text("caption", &p.caption);
  r.text("image", &p.image, /*required=*/true);
  r.one_of("op", &p.op, {"conv", "involution"});
  r.one_of("variant", &p.variant, {"paper", "notebook"});
  // The keys and their limits come from the table (parameter_limits.h).
  for (const ParamLimits& l : kParamLimits)
    if (int64_t* field = spec_field(&p, l.param); field && scene_holds(l.param))
      r.parameter(l.param, field);
  r.integer("channel", &p.channel, 0);
  r.one_of("activation", &p.activation, {"none", "relu"});
  r.one_of("colormap", &p.colormap, {"diverging", "viridis", "grey"});
  if (j.contains("weights")) p.weights = read_weights(j["weights"], r);
  if (j.contains("learn")) p.learn = read_learn(j["learn"], r);
  if (j.contains("pixel")) {
    const json& px = j["pixel"];
    if (!px.is_array() || px.size() != 2 || !px[0].is_number_integer() ||
        !px[1].is_number_integer() || px[0].get<int64_t>() < 0 || px[1].get<int64_t>() < 0)
      r.fail("field 'pixel' must be [row, column] with integers >= 0");
    p.pixel_y = px[0].get<int64_t>();
    p.pixel_x = px[1].get<int64_t>();
  }
  // The rules every spec follows (a designed generator's K, the grid's size, ...), the
  // backend and memory cap being the user's.
  try {
    check_spec(p, Naming::Fields);
  } catch (const Error& e) {
    r.fail(e.what());
  }
  return p;
}

json preset_to_json(const Preset& p) {
  json j;
  j["name"] = p.name;
  if (!p.caption.empty()) j["caption"] = p.caption;
  j["image"] = p.image;
  j["op"] = p.op;
  if (p.variant != "paper") j["variant"] = p.variant;
  for (const ParamLimits& l : kParamLimits)
    if (const int64_t* value = spec_field(p, l.param); value && scene_holds(l.param) && *value >= 0)
      j[l.field] = *value;
  j["activation"] = p.activation;
  json w;
  w["preset"] = p.weights.source;
  if (p.weights.source == "random" || p.weights.seed != 0) w["seed"] = p.weights.seed;
  if (!p.weights.grid.empty()) w["grid"] = p.weights.grid;
  if (!p.weights.file.empty()) w["file"] = p.weights.file;
  if (p.weights.variation != 0) w["variation"] = p.weights.variation;
  j["weights"] = w;
  j["colormap"] = p.colormap;
  if (p.pixel_y >= 0 && p.pixel_x >= 0) j["pixel"] = {p.pixel_y, p.pixel_x};
  if (p.channel >= 0) j["channel"] = p.channel;
  if (p.learn.present)
    j["learn"] = {{"target", p.learn.target},
                  {"op", p.learn.ops},
                  {"steps", p.learn.steps},
                  {"lr", p.learn.lr}};
  if (p.learn.present && !p.learn.start.empty()) j["learn"]["start"] = p.learn.start;
  return j;
}

Preset load_preset(const std::string& path) {
  const std::vector<uint8_t> bytes = read_file_bytes(path, int64_t{1} << 20);
  json j;
  try {
    j = json::parse(bytes.begin(), bytes.end());
  } catch (const json::exception& e) {  // syntax, or a number beyond a double (1e999)
    throw Error("preset " + path + ": not valid JSON (" + e.what() + ")");
  }
  return preset_from_json(j, path);
}

void save_preset(const std::string& path, const Preset& preset) {
  const fs::path parent = fs::absolute(path).parent_path();
  std::error_code ec;
  fs::create_directories(parent, ec);
  if (ec) throw Error("cannot create " + parent.string() + ": " + ec.message());
  std::string text;
  try {
    text = preset_to_json(preset).dump(2) + "\n";
  } catch (const nlohmann::json::type_error&) {
    throw Error("cannot save the preset " + path +
                ": a file path in it is not UTF-8 text, which JSON cannot hold; rename the file");
  }
  write_file_atomically(path, text.data(), text.size());
}

std::vector<std::string> list_presets(const std::string& directory) {
  std::vector<std::string> files;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(directory, ec))
    if (e.is_regular_file() && e.path().extension() == ".json") files.push_back(e.path().string());
  if (ec) throw Error("cannot list presets in " + directory + ": " + ec.message());
  std::sort(files.begin(), files.end());
  return files;
}

std::string resolve_preset_path(const std::string& relative, const std::string& preset_path,
                                std::vector<std::string>* notes) {
  const fs::path p(relative);
  const fs::path dir = fs::absolute(preset_path).lexically_normal().parent_path();
  const fs::path tree = dir.parent_path();
  // Lexically: a symlink inside the tree is the user's own doing, "../../x" is the file's.
  const auto note_if_outside = [&](const fs::path& resolved) {
    const fs::path rel = resolved.lexically_normal().lexically_relative(tree);
    if (notes && (rel.empty() || *rel.begin() == ".."))
      notes->push_back("preset " + preset_path + " reads '" + relative + "', outside its folder " +
                       tree.string());
  };
  if (p.is_absolute()) {
    note_if_outside(p);
    return relative;
  }
  const fs::path candidates[] = {tree / p, dir / p};
  for (const fs::path& c : candidates)
    if (fs::exists(c)) {
      note_if_outside(c);
      return c.lexically_normal().string();
    }
  throw Error("preset " + preset_path + ": '" + relative + "' not found in " +
              candidates[0].parent_path().lexically_normal().string() + " or " + dir.string());
}

OperatorOptions options_from_preset(const Preset& p, const std::string& preset_path,
                                    const OperatorOptions& given) {
  OperatorOptions o = given;
  if (o.op.empty()) o.op = p.op;
  if (!o.was_given("--variant")) o.variant = p.variant;
  if (o.input.empty()) o.input = resolve_preset_path(p.image, preset_path, &o.notes);
  if (!o.was_given("--activation")) o.activation = p.activation;
  // A given flag wins whatever its value; -1 from a flag is refused by check_flag_values.
  for (const ParamLimits& l : kParamLimits) {
    int64_t* flag = spec_field(&o, l.param);
    const int64_t* from_preset = spec_field(p, l.param);
    if (!flag || !from_preset || !scene_holds(l.param)) continue;
    // The notebook variant's padding is its own (the span's), not conv padding.
    if (l.param == Param::Padding && p.variant == "notebook") continue;
    // An involution scene run with --op conv keeps the shared fields; involution's own
    // fields (group channels, reduction) are not the user's to answer for.
    if (o.op == "conv" && !(l.used_by & kUsedByConv)) continue;
    if (*flag < 0 && !o.was_given(l.flag)) *flag = *from_preset;
  }
  // Weights: a --weights file, --kernel or a --seed on the command line win as a whole;
  // --seed 0 too, so it is its being given that counts, not its value. --variation alone
  // changes only the variation of the scene's kernel.
  const bool weights_given =
      o.was_given("--weights") || o.was_given("--kernel") || o.was_given("--seed");
  if (!weights_given) {
    const double variation = o.weights.variation;
    o.weights = p.weights;
    if (o.weights.source == "file")
      o.weights.file = resolve_preset_path(p.weights.file, preset_path, &o.notes);
    if (o.was_given("--variation")) o.weights.variation = variation;
  }
  return o;
}

namespace {

// `path` relative to `base` when it lies inside it, else absolute.
std::string portable_path(const std::string& path, const fs::path& base) {
  const fs::path abs = fs::absolute(path).lexically_normal();
  const fs::path rel = abs.lexically_relative(base);
  if (!rel.empty() && *rel.begin() != "..") return rel.generic_string();
  return abs.string();
}

}  // namespace

Preset preset_from_options(const OperatorOptions& o, const std::string& save_path) {
  const fs::path assets = fs::absolute(save_path).lexically_normal().parent_path().parent_path();
  Preset p;
  static_cast<OperationSpec&>(p) = o;
  if (p.op.empty()) p.op = "conv";
  p.image = portable_path(o.input, assets);
  if (p.weights.source == "file") p.weights.file = portable_path(o.weights.file, assets);
  return p;
}

OperatorOptions resolve_preset_options(const OperatorOptions& options) {
  if (options.preset.empty()) {
    OperatorOptions o = options;
    if (o.op.empty()) o.op = "conv";
    return o;
  }
  const Preset p = load_preset(options.preset);
  if (p.variant == "notebook")
    throw Error("preset " + options.preset +
                " uses the notebook's involution variant, which `kernelscope animate` and the "
                "app compute; `run` computes the paper's operators");
  return options_from_preset(p, options.preset, options);
}

}  // namespace ks::core
