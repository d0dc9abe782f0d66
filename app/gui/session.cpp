// Session files (see session.h). Unknown keys are ignored and missing ones keep their
// defaults, so sessions survive the app gaining or losing settings.
#include "gui/session.h"

#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <limits>
#include <nlohmann/json.hpp>
#include <stdexcept>
#include <type_traits>

#include "core/parameter_limits.h"
#include "core/weights.h"
#include "kernelscope/io.h"

namespace ks::app {

namespace {

using nlohmann::json;
namespace fs = std::filesystem;

// A value of the wrong type or out of the field's range is an error naming the field; a
// number like 1e30 is never cast into an int.
template <typename T>
void read(const json& j, const char* key, T* value) {
  if (!j.contains(key)) return;
  const json& v = j.at(key);
  if constexpr (std::is_integral_v<T> && !std::is_same_v<T, bool>) {
    bool fits = false;
    if (v.is_number_unsigned()) {
      fits = v.get<uint64_t>() <= static_cast<uint64_t>(std::numeric_limits<T>::max());
    } else if (v.is_number_integer()) {
      const int64_t x = v.get<int64_t>();
      fits = x >= 0
                 ? static_cast<uint64_t>(x) <= static_cast<uint64_t>(std::numeric_limits<T>::max())
                 : std::is_signed_v<T> && x >= static_cast<int64_t>(std::numeric_limits<T>::min());
    }
    if (!fits)
      throw std::runtime_error(std::string("field '") + key + "' must be a whole number from " +
                               std::to_string(std::numeric_limits<T>::min()) + " to " +
                               std::to_string(std::numeric_limits<T>::max()));
  }
  *value = v.get<T>();
}

// Readable lines from nlohmann's exceptions, without their "[json.exception...]" prefix and
// without quoting the file's bytes (it may not be a session at all).
std::string json_error_text(const json::exception& e) {
  if (const auto* parse = dynamic_cast<const json::parse_error*>(&e))
    return "not a JSON file (syntax error at byte " + std::to_string(parse->byte) + ")";
  std::string text = e.what();
  const size_t bracket = text.find("] ");
  if (text.rfind("[json.exception", 0) == 0 && bracket != std::string::npos)
    text = text.substr(bracket + 2);
  return text;
}

// Paths inside the session's folder are saved relative to it (a folder with its session and
// images can move as one); others absolute.
std::string portable_path(const std::string& path, const fs::path& session_dir) {
  if (path.empty()) return path;
  const fs::path abs = fs::absolute(path).lexically_normal();
  const fs::path rel = abs.lexically_relative(session_dir);
  if (!rel.empty() && *rel.begin() != "..") return rel.generic_string();
  return abs.string();
}

// Relative paths in a session are relative to its folder, whatever the working directory.
std::string resolve_path(const std::string& path, const fs::path& session_dir, bool* outside) {
  if (path.empty()) return path;
  const fs::path resolved = (session_dir / fs::path(path)).lexically_normal();  // abs stays abs
  const fs::path rel = resolved.lexically_relative(session_dir);
  *outside = rel.empty() || *rel.begin() == "..";
  return resolved.string();
}

json to_json(const AppState& app) {
  const OpSettings& s = app.doc.settings;
  const ViewSettings& v = app.view.settings;
  json j;
  j["version"] = 1;
  j["image"] = app.doc.image_path;
  j["operation"] = operation_label(s.operation);
  j["params"] = {{"padding_same", s.padding_same},
                 {"relu", s.relu},
                 {"notebook_variant", s.notebook_variant},
                 {"weights", weight_source_name(s.weights)},
                 {"seed", s.seed},
                 {"variation", s.variation},
                 {"custom_kernel", s.custom_kernel},
                 {"weights_file", s.weights_file},
                 {"backend", s.backend},
                 {"preview", s.preview},
                 {"max_memory_mb", s.max_memory_mb}};
  OpSettings copy = s;
  for (const SettingsParam& p : settings_parameters(&copy))
    j["params"][limits(p.param).field] = *p.value;
  j["view"] = {{"colormap", colormap_name(v.colormap)},
               {"scale", static_cast<int>(v.scale)},
               {"rgb_composite", v.rgb_composite},
               {"kernel_field", v.kernel_field},
               {"grid_values", v.grid_values},
               {"ui_scale", v.ui_scale},
               {"export_dir", v.export_dir}};
  j["layout"] = {{"left", v.left_fraction},
                 {"middle", v.middle_fraction},
                 {"input", v.input_fraction},
                 {"maps", v.maps_fraction},
                 {"step", v.step_fraction}};
  return j;
}

void from_json(const json& j, AppState* app) {
  OpSettings s = app->doc.settings;
  ViewSettings v = app->view.settings;
  std::string image = app->doc.image_path;
  read(j, "image", &image);
  if (j.contains("operation")) {
    const std::string op = j.at("operation").get<std::string>();
    s.operation = op == "convolution"  ? Operation::Convolution
                  : op == "involution" ? Operation::Involution
                                       : Operation::Both;
  }
  if (j.contains("params")) {
    const json& p = j.at("params");
    for (const SettingsParam& param : settings_parameters(&s))
      read(p, limits(param.param).field, param.value);
    read(p, "padding_same", &s.padding_same);
    read(p, "relu", &s.relu);
    read(p, "notebook_variant", &s.notebook_variant);
    if (p.contains("weights"))
      weight_source_from_name(p.at("weights").get<std::string>(), &s.weights);
    // Learned weights live in memory only (Learn > Save writes a file): start from random.
    if (s.weights == WeightSource::Learned) s.weights = WeightSource::Random;
    read(p, "seed", &s.seed);
    read(p, "variation", &s.variation);
    read(p, "custom_kernel", &s.custom_kernel);
    // Sessions from before the "same" switch: it is on where their padding was d(K-1)/2.
    if (p.contains("padding") && !p.contains("padding_same"))
      s.padding_same = s.padding == s.dilation * (s.kernel_size - 1) / 2;
    read(p, "weights_file", &s.weights_file);
    read(p, "backend", &s.backend);
    read(p, "preview", &s.preview);
    read(p, "max_memory_mb", &s.max_memory_mb);
  }
  if (j.contains("view")) {
    const json& p = j.at("view");
    if (p.contains("colormap"))
      v.colormap = colormap_from_name(p.at("colormap").get<std::string>());
    int scale = static_cast<int>(v.scale);
    read(p, "scale", &scale);
    v.scale = static_cast<ScaleMode>(std::clamp(scale, 0, 2));
    read(p, "rgb_composite", &v.rgb_composite);
    read(p, "kernel_field", &v.kernel_field);
    read(p, "grid_values", &v.grid_values);
    read(p, "ui_scale", &v.ui_scale);
    read(p, "export_dir", &v.export_dir);
  }
  if (j.contains("layout")) {
    const json& p = j.at("layout");
    read(p, "left", &v.left_fraction);
    read(p, "middle", &v.middle_fraction);
    read(p, "input", &v.input_fraction);
    read(p, "maps", &v.maps_fraction);
    read(p, "step", &v.step_fraction);
  }
  // Clamp what a hand-edited file could break.
  clamp_to_app_ranges(&s);  // the sliders' ranges (core/parameter_limits.h)
  v.ui_scale = std::clamp(v.ui_scale, 0.5f, 3.0f);
  v.left_fraction = std::clamp(v.left_fraction, 0.12f, 0.45f);
  v.middle_fraction = std::clamp(v.middle_fraction, 0.15f, 0.6f);
  v.input_fraction = std::clamp(v.input_fraction, 0.2f, 0.85f);
  v.maps_fraction = std::clamp(v.maps_fraction, 0.2f, 0.9f);
  v.step_fraction = std::clamp(v.step_fraction, 0.2f, 0.75f);
  app->doc.settings = s;
  app->view.settings = v;
  app->doc.image_path = image;
}

}  // namespace

std::string default_session_path() {
  namespace fs = std::filesystem;
  const char* xdg = std::getenv("XDG_CONFIG_HOME");
  const char* home = std::getenv("HOME");
  fs::path dir;
  if (xdg && *xdg)
    dir = fs::path(xdg) / "kernelscope";
  else if (home && *home)
    dir = fs::path(home) / ".config" / "kernelscope";
  else
    return "";
  return (dir / "session.json").string();
}

bool save_session(const std::string& path, const AppState& app, std::string* error) {
  try {
    const fs::path p(path);
    if (p.has_parent_path()) fs::create_directories(p.parent_path());
    const fs::path dir = fs::absolute(p).lexically_normal().parent_path();
    json j = to_json(app);
    j["image"] = portable_path(app.doc.image_path, dir);
    j["params"]["weights_file"] = portable_path(app.doc.settings.weights_file, dir);
    std::string text;
    try {
      text = j.dump(2) + "\n";
    } catch (const json::type_error&) {
      throw std::runtime_error(
          "a file path in it is not UTF-8 text, which a JSON session cannot hold; rename the "
          "file");
    }
    write_file_atomically(path, text.data(), text.size());
    return true;
  } catch (const std::exception& e) {
    *error = "could not save the session to " + path + ": " + e.what();
    return false;
  }
}

bool load_session(const std::string& path, AppState* app, std::string* error,
                  std::vector<std::string>* notes) {
  try {
    const std::vector<uint8_t> bytes = read_file_bytes(path, 16 << 20);
    const json j = json::parse(bytes.begin(), bytes.end());
    if (!j.is_object()) throw std::runtime_error("not a JSON object");
    AppState copy_check;  // parse into a scratch state first so a bad file changes nothing
    copy_check.doc.settings = app->doc.settings;
    copy_check.view.settings = app->view.settings;
    copy_check.doc.image_path = app->doc.image_path;
    from_json(j, &copy_check);
    const fs::path dir = fs::absolute(path).lexically_normal().parent_path();
    const auto resolve = [&](std::string* file, const char* what) {
      bool outside = false;
      *file = resolve_path(*file, dir, &outside);
      if (outside && notes)
        notes->push_back("session " + path + " reads its " + what +
                         " from outside its folder: " + *file);
    };
    if (j.contains("image")) resolve(&copy_check.doc.image_path, "image");
    if (j.contains("params") && j["params"].contains("weights_file"))
      resolve(&copy_check.doc.settings.weights_file, "weights");
    app->doc.settings = copy_check.doc.settings;
    app->view.settings = copy_check.view.settings;
    app->doc.image_path = copy_check.doc.image_path;
    return true;
  } catch (const json::exception& e) {
    *error = "could not load the session " + path + ": " + json_error_text(e);
    return false;
  } catch (const std::exception& e) {
    *error = "could not load the session " + path + ": " + e.what();
    return false;
  }
}

}  // namespace ks::app
