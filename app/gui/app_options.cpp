// Applying the app's flags and scenes onto its state (app_options.h).
#include "gui/app_options.h"

#include <algorithm>
#include <climits>
#include <filesystem>
#include <stdexcept>

#include "core/flag_checks.h"
#include "core/parameter_limits.h"
#include "core/preset.h"
#include "core/weights.h"
#include "kernelscope/error.h"
#include "panels/learn_panel.h"

namespace ks::cli {

using namespace ks::app;

namespace {

// The settings hold int: a flag or scene value beyond INT_MAX is refused, not wrapped round.
int to_int(int64_t value, const std::string& name) {
  if (value >= INT_MIN && value <= INT_MAX) return static_cast<int>(value);
  throw Error(name + " " + std::to_string(value) + " is too large for the app (at most " +
              std::to_string(INT_MAX) + ")");
}

}  // namespace

void apply_options(const AppOptions& o, AppState* app) {
  check_flag_values(o.op);
  // Named by the flag where the command line gave it, else by the scene's field.
  const auto flag_int = [&o](int64_t value, const char* flag, const char* field) {
    return to_int(value, o.op.was_given(flag) ? flag : std::string("the scene's ") + field);
  };
  const auto scene_int = [](int64_t value, const char* field) {
    return to_int(value, std::string("the scene's ") + field);
  };
  OpSettings& s = app->doc.settings;
  OperatorOptions op = o.op;
  PresetLearn scene_learn;
  if (!o.op.preset.empty()) {
    const Preset scene = load_preset(o.op.preset);
    scene_learn = scene.learn;
    op = options_from_preset(scene, o.op.preset, o.op);
    for (const std::string& note : op.notes) app->set_status(note);
    // The scene decides the whole operation, as `kernelscope run --preset` does: nothing of
    // the saved session's (weights, variant, variation, ...) carries over into it. The
    // backend, the preview and the memory cap are the user's, not the scene's.
    OpSettings fresh;
    fresh.backend = s.backend;
    fresh.preview = s.preview;
    fresh.max_memory_mb = s.max_memory_mb;
    s = fresh;
    if (scene.variant == "notebook") {
      // The notebook's involution (K x K span, its own padding, default 0) on the worker;
      // --padding beats the scene's.
      s.notebook_variant = true;
      s.notebook_padding =
          flag_int(op.padding >= 0 ? op.padding : std::max<int64_t>(scene.padding, 0), "--padding",
                   "padding");
    }
    app->doc.scene_name = scene.name;
    s.relu = scene.activation == "relu";
    app->view.settings.colormap = colormap_from_name(scene.colormap);
    app->doc.scene_caption = scene.caption;
    // The step-through opens on the tab of the scene's operation.
    app->view.step.involution = op.op == "involution";
    app->view.step.select_tab =
        app->view.step.involution ? StepTab::Involution : StepTab::Convolution;
    // The scene's pixel belongs to the scene's image, which is still to be loaded: it is set
    // when the scene's first result arrives (apply_pending_pins). The pins on screen belong
    // to the old image and go.
    PendingPins pending;
    pending.active = true;
    pending.first_id = app->doc.next_id;
    if (scene.pixel_x >= 0 && scene.pixel_y >= 0) {
      // The scene's pixel is in output coordinates; with stride 1 and "same" padding (the
      // scenes' usual case) it is the input pixel too.
      const int stride = std::max(1, flag_int(op.stride, "--stride", "stride"));
      const int y = scene_int(scene.pixel_y, "pixel"), x = scene_int(scene.pixel_x, "pixel");
      pending.focus.pinned = true;
      pending.focus.pin_x = scene_int(int64_t{x} * stride, "pixel x stride");
      pending.focus.pin_y = scene_int(int64_t{y} * stride, "pixel x stride");
      // The step-through starts exactly at the scene's output pixel and channel.
      pending.step_given = true;
      pending.step_i = y;
      pending.step_j = x;
      pending.step_pin_x = pending.focus.pin_x;
      pending.step_pin_y = pending.focus.pin_y;
    }
    if (scene.channel >= 0) pending.step_channel = scene_int(scene.channel, "channel");
    app->view.pending_pins = pending;
    app->view.focus.pinned = app->view.focus.pinned_b = false;
  }
  if (!op.input.empty()) app->doc.image_path = op.input;
  if (o.compare)
    s.operation = Operation::Both;
  else if (!op.op.empty() && (o.op_given || !o.op.preset.empty()))
    s.operation = op.op == "involution" ? Operation::Involution : Operation::Convolution;
  // Every parameter the options and the settings share, named by the table's flag and field
  // (core/parameter_limits.h). Groups (G for involution) and the notebook's padding (from
  // --padding with the variant) follow their own rules below.
  for (const SettingsParam& p : settings_parameters(&s)) {
    if (p.param == Param::Groups) continue;
    const int64_t* value = option_field(op, p.param);
    if (value && *value >= 0)
      *p.value = flag_int(*value, limits(p.param).flag, limits(p.param).field);
  }
  if (op.groups >= 0) {
    // As in `kernelscope run`: --groups is the conv groups, or G for involution.
    const int groups = flag_int(op.groups, "--groups", "groups");
    if (s.operation == Operation::Involution && op.group_channels < 0)
      s.involution_groups = groups;  // group channels = C / G, resolved by the compute
    else
      s.groups = groups;
  }
  // Without an explicit padding, keep the output the size of the input ("same").
  if (op.padding < 0 && op.kernel_size >= 0)
    s.padding = to_int(int64_t{s.dilation} * (s.kernel_size - 1) / 2, "the padding d(K-1)/2");
  // A padding that is not d(K-1)/2 (from --padding or the scene) stays as given.
  if (op.padding >= 0) s.padding_same = s.padding == s.dilation * (s.kernel_size - 1) / 2;
  if (!op.weights.empty()) {
    s.weights = WeightSource::File;
    s.weights_file = op.weights;
  } else if (op.kernel == "grid") {
    s.weights = WeightSource::Custom;
    s.custom_kernel = op.kernel_grid;
  } else if (!op.kernel.empty()) {
    if (!weight_source_from_name(op.kernel, &s.weights))
      throw std::runtime_error("unknown --kernel '" + op.kernel + "'");
    if (is_designed_source(s.weights)) {
      // As `kernelscope run`: the generator decides K and the reduction (group channels are
      // the image's channel count, known once it is loaded; the panel keeps them in step).
      const InvolutionParams d = designed_involution_params(designed_of(s.weights), 3);
      if (op.kernel_size >= 0 && op.kernel_size != d.kernel_size)
        throw std::runtime_error("kernel size " + std::to_string(op.kernel_size) + " contradicts " +
                                 op.kernel + " (K=" + std::to_string(d.kernel_size) + ")");
      if (op.reduction >= 0 && op.reduction != d.reduction)
        throw std::runtime_error("reduction " + std::to_string(op.reduction) + " contradicts " +
                                 op.kernel + " (reduction 1)");
      s.kernel_size = static_cast<int>(d.kernel_size);
      s.reduction = static_cast<int>(d.reduction);
      if (!o.compare) s.operation = Operation::Involution;
    }
  } else if (o.seed_given) {
    s.weights = WeightSource::Random;
  }
  if (o.seed_given || !o.op.preset.empty()) s.seed = op.seed;
  if (o.relu) s.relu = true;
  if (o.backend_given) s.backend = op.backend;
  if (o.memory_given) s.max_memory_mb = op.max_memory_mb;
  if (!o.colormap.empty()) app->view.settings.colormap = colormap_from_name(o.colormap);
  if (o.scale == "map") app->view.settings.scale = ScaleMode::PerMap;
  if (o.scale == "layer") app->view.settings.scale = ScaleMode::PerLayer;
  if (o.scale == "symmetric") app->view.settings.scale = ScaleMode::Symmetric;
  if (o.ui_scale > 0) app->view.settings.ui_scale = o.ui_scale;
  if (!o.export_dir.empty()) app->view.settings.export_dir = o.export_dir;
  if (o.kernel_field) app->view.settings.kernel_field = true;
  if (o.variant == "notebook") {
    s.notebook_variant = true;
    if (!o.op_given && !o.compare) s.operation = Operation::Involution;
    if (op.padding >= 0) s.notebook_padding = flag_int(op.padding, "--padding", "padding");
  } else if (o.variant == "paper") {
    s.notebook_variant = false;
  }
  if (o.step_through) app->view.step.active = true;
  if (o.step_compare) {
    app->view.step.active = true;
    app->view.step.select_tab = StepTab::Compare;
  }
  if (o.help_window) app->view.show_help = true;
  if (o.present) app->view.presentation = true;
  // Pins from the command line beat the scene's pixel.
  Focus& pins = app->view.pending_pins.active ? app->view.pending_pins.focus : app->view.focus;
  if (o.pin_b.size() == 2) {
    pins.pinned_b = true;
    pins.pin_b_x = o.pin_b[0];
    pins.pin_b_y = o.pin_b[1];
  }
  if (o.pin.size() == 2) {
    pins.pinned = true;
    pins.pin_x = o.pin[0];
    pins.pin_y = o.pin[1];
    app->view.pending_pins.step_given = false;  // the step-through follows the pin
  }
  // Before the scene's settings are recorded: a learn scene shows the layers it trains.
  configure_learn_from_scene(*app, scene_learn);
  if (o.learn_steps > 0) request_scripted_learn(*app, o.learn_steps);
  if (!o.op.preset.empty()) {
    app->doc.scene_settings = s;
    app->doc.scene_image = app->doc.image_path;
  }
}

void open_scene(AppState* app, const std::string& path) {
  AppOptions scene;
  scene.op.preset = path;
  scene.op.op.clear();
  app->doc.scene_name.clear();
  const OpSettings before = app->doc.settings;
  const PendingPins pending_before = app->view.pending_pins;
  const Focus focus_before = app->view.focus;
  try {
    apply_options(scene, app);
    app->commands.post(app::cmd::Recompute{});
    app->commands.post(app::cmd::Redraw{});
    app->set_status("scene: " + app->doc.scene_name);
    app->clear_error("scene");
  } catch (const std::exception& e) {
    app->doc.settings = before;
    app->view.pending_pins = pending_before;
    app->view.focus = focus_before;
    app->set_error(e.what(), "scene");
  }
}

}  // namespace ks::cli
