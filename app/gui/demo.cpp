// Demo mode and scenes (demo.h).
#include "gui/demo.h"

#include <imgui.h>

#include <filesystem>
#include <sstream>

#include "core/preset.h"
#include "core/weights.h"

namespace ks::app {

namespace {

namespace fs = std::filesystem;

// The parts of the settings a scene's caption speaks about: the operation, its shape and
// weights, the activation. The backend and the memory cap change how it is computed, not
// what is shown, and do not make the caption wrong.
bool same_operation(const OpSettings& a, const OpSettings& b) {
  // Learning is what a learn scene is about: its note stays while the Learn panel turns the
  // weights into learned ones and switches to the layers it trains.
  const bool learning = a.weights == WeightSource::Learned || b.weights == WeightSource::Learned;
  // A pending "--groups G" becomes C / G group channels once C is known; a designed
  // generator sets K, group channels and reduction itself once C is known.
  // Weights from a file decide K, output channels, group channels and reduction too (the
  // sliders show what they decided once it ran).
  const bool designed =
      (is_designed_source(a.weights) || a.weights == WeightSource::File) && a.weights == b.weights;
  const bool same_groups = designed || a.involution_groups > 0 || b.involution_groups > 0 ||
                           a.group_channels == b.group_channels;
  const bool same_shape =
      designed || (a.kernel_size == b.kernel_size && a.reduction == b.reduction);
  const bool same_weights =
      learning || (a.weights == b.weights && a.seed == b.seed && a.variation == b.variation &&
                   a.custom_kernel == b.custom_kernel && a.weights_file == b.weights_file);
  return (learning || a.operation == b.operation) && same_shape && a.stride == b.stride &&
         a.padding == b.padding && a.dilation == b.dilation && a.groups == b.groups &&
         (designed || learning || a.out_channels == b.out_channels) && same_groups &&
         a.relu == b.relu && a.notebook_variant == b.notebook_variant &&
         a.notebook_padding == b.notebook_padding && same_weights;
}

SavedSetup save_setup(const AppState& app) {
  SavedSetup s;
  s.settings = app.doc.settings;
  s.colormap = app.view.settings.colormap;
  s.image_path = app.doc.image_path;
  s.scene_caption = app.doc.scene_caption;
  s.scene_name = app.doc.scene_name;
  s.scene_settings = app.doc.scene_settings;
  s.scene_image = app.doc.scene_image;
  // Pins still waiting for their image are the ones the user will see.
  s.focus = app.view.pending_pins.active ? app.view.pending_pins.focus : app.view.focus;
  s.step_i = app.view.step.i;
  s.step_j = app.view.step.j;
  s.step_channel = app.view.step.channel;
  s.step_pin_x = app.view.step.pin_x;
  s.step_pin_y = app.view.step.pin_y;
  s.step_synced = app.view.step.synced;
  s.step_involution = app.view.step.involution;
  return s;
}

void restore_setup(AppState& app, const SavedSetup& s) {
  // The backend and memory cap may have been changed during the demo: they stay the user's.
  const std::string backend = app.doc.settings.backend;
  const int64_t cap = app.doc.settings.max_memory_mb;
  app.doc.settings = s.settings;
  app.doc.settings.backend = backend;
  app.doc.settings.max_memory_mb = cap;
  app.view.settings.colormap = s.colormap;
  app.doc.image_path = s.image_path;
  app.doc.scene_caption = s.scene_caption;
  app.doc.scene_name = s.scene_name;
  app.doc.scene_settings = s.scene_settings;
  app.doc.scene_image = s.scene_image;
  // The pins are in the restored image's coordinates: they wait for its result.
  PendingPins& p = app.view.pending_pins;
  p = PendingPins();
  p.active = true;
  p.first_id = app.doc.next_id;
  p.focus = s.focus;
  p.step_given = s.step_synced;
  p.step_i = s.step_i;
  p.step_j = s.step_j;
  p.step_pin_x = s.step_pin_x;
  p.step_pin_y = s.step_pin_y;
  p.step_channel = s.step_channel;
  app.view.step.involution = s.step_involution;
  app.view.step.select_tab = s.step_involution ? StepTab::Involution : StepTab::Convolution;
  app.commands.post(cmd::Recompute{});
  app.commands.post(cmd::Redraw{});
}

}  // namespace

const std::vector<SceneEntry>& scene_entries(const std::string& assets_dir) {
  static std::string read_from = "-";
  static std::vector<SceneEntry> entries;
  if (read_from == assets_dir) return entries;
  read_from = assets_dir;
  entries.clear();
  std::vector<std::string> paths;
  try {
    if (!assets_dir.empty()) paths = core::list_presets(assets_dir + "/presets");
  } catch (const std::exception&) {
  }
  for (const std::string& path : paths) {
    SceneEntry e{path, fs::path(path).stem().string()};
    try {
      const core::Preset p = core::load_preset(path);
      if (!p.name.empty()) e.title = p.name;
    } catch (const std::exception&) {
    }
    entries.push_back(e);
  }
  return entries;
}

void toggle_demo(AppState& app) {
  DemoMode& d = app.demo;
  if (d.active) {
    d.active = false;
    restore_setup(app, d.saved);
    app.set_status("demo mode off: your setup is back");
    return;
  }
  d.scenes.clear();
  for (const SceneEntry& e : scene_entries(app.assets_dir)) d.scenes.push_back(e.path);
  if (d.scenes.empty()) {
    app.set_error("demo mode: no scenes found in assets/presets", "scene");
    return;
  }
  d.saved = save_setup(app);
  d.active = true;
  d.index = 0;
  app.commands.post(cmd::OpenScene{d.scenes[0]});
  d.shown_at = ImGui::GetTime();
}

void move_demo(AppState& app, int by) {
  DemoMode& d = app.demo;
  if (!d.active || by == 0) return;
  const int n = static_cast<int>(d.scenes.size());
  d.index = ((d.index + by) % n + n) % n;
  app.commands.post(cmd::OpenScene{d.scenes[static_cast<size_t>(d.index)]});
  d.shown_at = ImGui::GetTime();
}

void advance_demo_on_timer(AppState& app) {
  const DemoMode& d = app.demo;
  if (d.active && d.auto_advance && ImGui::GetTime() - d.shown_at > d.seconds &&
      !app.commands.has<cmd::MoveDemo>())
    app.commands.post(cmd::MoveDemo{1});
}

void apply_pending_pins(AppState& app, uint64_t result_id) {
  PendingPins& p = app.view.pending_pins;
  if (!p.active || result_id < p.first_id) return;
  p.active = false;
  app.view.focus.pinned = p.focus.pinned;
  app.view.focus.pin_x = p.focus.pin_x;
  app.view.focus.pin_y = p.focus.pin_y;
  app.view.focus.pinned_b = p.focus.pinned_b;
  app.view.focus.pin_b_x = p.focus.pin_b_x;
  app.view.focus.pin_b_y = p.focus.pin_b_y;
  StepThrough& st = app.view.step;
  st.playing = false;
  if (p.step_channel >= 0) st.channel = p.step_channel;
  if (p.step_given) {
    st.i = p.step_i;
    st.j = p.step_j;
    st.pin_x = p.step_pin_x;
    st.pin_y = p.step_pin_y;
    st.synced = true;
  } else {
    st.pin_x = st.pin_y = -1;  // follow the pin, or start at the centre
    st.synced = false;
  }
}

void clear_stale_scene_note(AppState& app) {
  if (app.doc.scene_caption.empty() || app.view.pending_pins.active ||
      app.commands.has<cmd::OpenScene>())
    return;
  if (same_operation(app.doc.settings, app.doc.scene_settings) &&
      app.doc.image_path == app.doc.scene_image)
    return;
  app.doc.scene_caption.clear();
  app.set_status("scene note hidden: the settings no longer match the scene");
}

std::string setup_line(const AppState& app) {
  const OpSettings& s = app.doc.settings;
  std::ostringstream o;
  o << "kernelscope: setup op " << operation_label(s.operation) << " K " << s.kernel_size
    << " stride " << s.stride << " padding " << s.padding << " dilation " << s.dilation
    << " groups " << s.groups << " out " << s.out_channels << " group-channels " << s.group_channels
    << " reduction " << s.reduction << " relu " << s.relu << " notebook " << s.notebook_variant
    << " weights " << weight_source_name(s.weights) << " seed " << s.seed << " image "
    << fs::path(app.doc.image_path).filename().string();
  const Focus& f = app.view.focus;
  if (f.pinned)
    o << " pin A row " << f.pin_y << " col " << f.pin_x;
  else
    o << " pin A none";
  if (f.pinned_b) o << " pin B row " << f.pin_b_y << " col " << f.pin_b_x;
  if (app.view.step.active)
    o << " step " << (app.view.step.involution ? "involution" : "conv") << " row "
      << app.view.step.i << " col " << app.view.step.j << " channel " << app.view.step.channel;
  return o.str();
}

std::string scene_line(const AppState& app, int number) {
  std::ostringstream o;
  o << "kernelscope: scene " << number << " \"" << app.doc.scene_name << "\"";
  if (app.view.focus.pinned)
    o << " pin row " << app.view.focus.pin_y << " col " << app.view.focus.pin_x;
  else
    o << " pin none";
  if (app.view.step.active)
    o << " step " << (app.view.step.involution ? "involution" : "conv") << " row "
      << app.view.step.i << " col " << app.view.step.j;
  return o.str();
}

}  // namespace ks::app
