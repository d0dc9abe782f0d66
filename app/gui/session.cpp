// Session files (see session.h). Unknown keys are ignored and missing ones keep their
// defaults, so sessions survive the app gaining or losing settings.
#include "gui/session.h"

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "gui/weights.h"
#include "kernelscope/io.h"

namespace ks::app {

namespace {

using nlohmann::json;

template <typename T>
void read(const json& j, const char* key, T* value) {
  if (j.contains(key)) *value = j.at(key).get<T>();
}

json to_json(const AppState& app) {
  const OpSettings& s = app.settings;
  const ViewSettings& v = app.view;
  json j;
  j["version"] = 1;
  j["image"] = app.image_path;
  j["operation"] = operation_label(s.operation);
  j["params"] = {{"kernel_size", s.kernel_size},
                 {"stride", s.stride},
                 {"padding", s.padding},
                 {"dilation", s.dilation},
                 {"groups", s.groups},
                 {"out_channels", s.out_channels},
                 {"group_channels", s.group_channels},
                 {"reduction", s.reduction},
                 {"relu", s.relu},
                 {"notebook_variant", s.notebook_variant},
                 {"notebook_padding", s.notebook_padding},
                 {"weights", weight_source_name(s.weights)},
                 {"seed", s.seed},
                 {"variation", s.variation},
                 {"custom_kernel", s.custom_kernel},
                 {"weights_file", s.weights_file},
                 {"backend", s.backend},
                 {"preview", s.preview},
                 {"max_memory_mb", s.max_memory_mb}};
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
  OpSettings s = app->settings;
  ViewSettings v = app->view;
  std::string image = app->image_path;
  read(j, "image", &image);
  if (j.contains("operation")) {
    const std::string op = j.at("operation").get<std::string>();
    s.operation = op == "convolution"  ? Operation::Convolution
                  : op == "involution" ? Operation::Involution
                                       : Operation::Both;
  }
  if (j.contains("params")) {
    const json& p = j.at("params");
    read(p, "kernel_size", &s.kernel_size);
    read(p, "stride", &s.stride);
    read(p, "padding", &s.padding);
    read(p, "dilation", &s.dilation);
    read(p, "groups", &s.groups);
    read(p, "out_channels", &s.out_channels);
    read(p, "group_channels", &s.group_channels);
    read(p, "reduction", &s.reduction);
    read(p, "relu", &s.relu);
    read(p, "notebook_variant", &s.notebook_variant);
    read(p, "notebook_padding", &s.notebook_padding);
    if (p.contains("weights"))
      weight_source_from_name(p.at("weights").get<std::string>(), &s.weights);
    read(p, "seed", &s.seed);
    read(p, "variation", &s.variation);
    read(p, "custom_kernel", &s.custom_kernel);
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
  s.kernel_size = std::clamp(s.kernel_size, 1, 15);
  s.stride = std::clamp(s.stride, 1, 8);
  s.dilation = std::clamp(s.dilation, 1, 8);
  s.padding = std::clamp(s.padding, 0, 32);
  s.out_channels = std::clamp(s.out_channels, 1, 64);
  s.groups = std::max(1, s.groups);
  s.group_channels = std::max(1, s.group_channels);
  s.reduction = std::max(1, s.reduction);
  v.ui_scale = std::clamp(v.ui_scale, 0.5f, 3.0f);
  v.left_fraction = std::clamp(v.left_fraction, 0.12f, 0.45f);
  v.middle_fraction = std::clamp(v.middle_fraction, 0.15f, 0.6f);
  v.input_fraction = std::clamp(v.input_fraction, 0.2f, 0.85f);
  v.maps_fraction = std::clamp(v.maps_fraction, 0.2f, 0.9f);
  v.step_fraction = std::clamp(v.step_fraction, 0.2f, 0.75f);
  s.notebook_padding = std::clamp(s.notebook_padding, 0, 8);
  app->settings = s;
  app->view = v;
  app->image_path = image;
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
    const std::filesystem::path p(path);
    if (p.has_parent_path()) std::filesystem::create_directories(p.parent_path());
    const std::string text = to_json(app).dump(2) + "\n";
    write_file_atomically(path, text.data(), text.size());
    return true;
  } catch (const std::exception& e) {
    *error = "could not save the session to " + path + ": " + e.what();
    return false;
  }
}

bool load_session(const std::string& path, AppState* app, std::string* error) {
  try {
    const std::vector<uint8_t> bytes = read_file_bytes(path, 16 << 20);
    const json j = json::parse(bytes.begin(), bytes.end());
    if (!j.is_object()) throw std::runtime_error("not a JSON object");
    AppState copy_check;  // parse into a scratch state first so a bad file changes nothing
    copy_check.settings = app->settings;
    copy_check.view = app->view;
    copy_check.image_path = app->image_path;
    from_json(j, &copy_check);
    app->settings = copy_check.settings;
    app->view = copy_check.view;
    app->image_path = copy_check.image_path;
    return true;
  } catch (const std::exception& e) {
    *error = "could not load the session " + path + ": " + e.what();
    return false;
  }
}

}  // namespace ks::app
