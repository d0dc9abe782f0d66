// Applying the app's flags and scenes onto its state (app_options.h).
#include "gui/app_options.h"

#include <algorithm>
#include <climits>
#include <filesystem>
#include <stdexcept>

#include "core/flag_checks.h"
#include "core/parameter_limits.h"
#include "core/prepare.h"
#include "core/preset.h"
#include "core/weights.h"
#include "kernelscope/error.h"
#include "kernelscope/io.h"
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

// A scene replaces the whole operation, as `kernelscope run --preset` does: nothing of the
// session's (weights, variant, variation, ...) carries over into it. The backend, the preview
// and the memory cap are the user's, not the scene's. `op` is the scene with any flags on
// top (options_from_preset).
void start_scene(const Preset& scene, const OperatorOptions& op, AppState* app) {
  OpSettings& s = app->doc.settings;
  OpSettings fresh;
  fresh.backend = s.backend;
  fresh.preview = s.preview;
  fresh.max_memory_mb = s.max_memory_mb;
  s = fresh;
  if (scene.variant == "notebook") {
    // The notebook's involution (K x K span, its own padding, default 0) on the worker;
    // --padding beats the scene's.
    s.notebook_variant = true;
    s.notebook_padding = to_int(op.padding >= 0 ? op.padding : std::max<int64_t>(scene.padding, 0),
                                op.was_given("--padding") ? "--padding" : "the scene's padding");
  }
  app->doc.scene_name = scene.name;
  app->view.settings.colormap = colormap_from_name(scene.colormap);
  app->doc.scene_caption = scene.caption;
  // The step-through opens on the tab of the scene's operation.
  app->view.step.involution = op.op == "involution";
  app->view.step.select_tab =
      app->view.step.involution ? StepTab::Involution : StepTab::Convolution;
  // The scene's pixel belongs to the scene's image, which is still to be loaded: it is set
  // when the scene's first result arrives (apply_pending_pins). The pins on screen belong
  // to the old image and go.
  const auto scene_int = [](int64_t value, const char* field) {
    return to_int(value, std::string("the scene's ") + field);
  };
  PendingPins pending;
  pending.active = true;
  pending.first_id = app->doc.next_id;
  if (scene.pixel_x >= 0 && scene.pixel_y >= 0) {
    // The scene's pixel is in output coordinates; with stride 1 and "same" padding (the
    // scenes' usual case) it is the input pixel too.
    const int stride = std::max(1, to_int(op.stride, "the stride"));
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

// The spec onto the settings: for a scene (`whole`) every part of it, for flags alone only
// what was given (the session keeps the rest). A value is named by its flag where the command
// line gave it, else by the scene's field.
void apply_spec(const OperatorOptions& op, bool whole, bool compare, OpSettings* s) {
  const auto given = [&](const char* flag) { return whole || op.was_given(flag); };
  const auto flag_int = [&op](int64_t value, const char* flag, const char* field) {
    return to_int(value, op.was_given(flag) ? flag : std::string("the scene's ") + field);
  };
  if (compare)
    s->operation = Operation::Both;
  else if (!op.op.empty() && given("--op"))
    s->operation = op.op == "involution" ? Operation::Involution : Operation::Convolution;
  // Every parameter the spec and the settings share, named by the table's flag and field
  // (core/parameter_limits.h). Groups (G for involution) and the notebook's padding (from
  // --padding with the variant) follow their own rules below.
  for (const SettingsParam& p : settings_parameters(s)) {
    if (p.param == Param::Groups) continue;
    const int64_t* value = spec_field(op, p.param);
    if (value && *value >= 0)
      *p.value = flag_int(*value, limits(p.param).flag, limits(p.param).field);
  }
  if (op.groups >= 0) {
    // As in `kernelscope run`: --groups is the conv groups, or G for involution.
    const int groups = flag_int(op.groups, "--groups", "groups");
    if (s->operation == Operation::Involution && op.group_channels < 0)
      s->involution_groups = groups;  // group channels = C / G, resolved by the compute
    else
      s->groups = groups;
  }
  // A convolution scene is a whole spec: without a padding field it pads 0, PyTorch's default,
  // as `kernelscope run --preset` does. Flags alone move the app's controls: --kernel-size
  // without --padding keeps the output the size of the input ("same" stays on).
  const bool conv_scene = whole && op.op == "conv";
  if (op.padding < 0 && conv_scene)
    s->padding = 0;
  else if (op.padding < 0 && op.kernel_size >= 0)
    s->padding = to_int(int64_t{s->dilation} * (s->kernel_size - 1) / 2, "the padding d(K-1)/2");
  // A padding that is not d(K-1)/2 (from --padding or the scene) stays as given.
  if (op.padding >= 0 || conv_scene)
    s->padding_same = s->padding == s->dilation * (s->kernel_size - 1) / 2;
  if (given("--activation")) s->relu = op.activation == "relu";
  const WeightsSpec& w = op.weights;
  if (given("--weights") || given("--kernel") || given("--seed")) {
    if (w.source == "file") {
      s->weights = WeightSource::File;
      s->weights_file = w.file;
    } else if (w.source == "grid") {
      s->weights = WeightSource::Custom;
      s->custom_kernel = w.grid;
    } else if (!weight_source_from_name(w.source, &s->weights) ||
               s->weights == WeightSource::Learned) {
      throw Error("unknown --kernel '" + w.source + "'");
    }
    s->seed = w.seed;
    s->variation = static_cast<float>(w.variation);
  }
  if (given("--variation")) s->variation = static_cast<float>(w.variation);
  if (is_designed_source(s->weights)) {
    // As `kernelscope run`: the generator decides K and the reduction (group channels are
    // the image's channel count, known once it is loaded; the panel keeps them in step).
    // It makes the app show the involution (below), whatever --op said.
    OperationSpec as_involution = op;
    as_involution.op = "involution";
    check_spec(as_involution, whole ? Naming::Fields : Naming::Flags);
    const InvolutionParams d = designed_involution_params(designed_of(s->weights), 3);
    s->kernel_size = static_cast<int>(d.kernel_size);
    s->reduction = static_cast<int>(d.reduction);
    if (!compare) s->operation = Operation::Involution;
  }
  if (op.was_given("--backend")) s->backend = op.backend;
  if (op.was_given("--max-memory-mb")) s->max_memory_mb = op.max_memory_mb;
}

// What `kernelscope run` refuses in a spec, the app refuses at start-up too, with the same
// line, instead of computing something else: a designed generator with --op conv, a grid
// without values, a variation where it does not apply. `op` holds the flags (and the scene
// under them); `s` the settings they made, which supply what the flags left to the session.
void check_like_run(const OperatorOptions& op, bool scene, bool compare, const OpSettings& s) {
  OperationSpec spec = op;
  const bool designed = is_designed_source(s.weights);
  if (compare || !op.was_given("--op"))
    spec.op = designed || s.operation != Operation::Convolution ? "involution" : "conv";
  if (!scene) spec.weights.variation = 0;  // checked against the settings below
  check_spec(spec, Naming::Flags);
  const bool kernel_weights = s.weights != WeightSource::Random &&
                              s.weights != WeightSource::File &&
                              s.weights != WeightSource::Learned && !designed;
  if (op.was_given("--variation") && op.weights.variation != 0 &&
      (s.operation == Operation::Convolution || s.notebook_variant || !kernel_weights))
    throw Error("variation applies to the paper's involution from a named kernel or a grid");
}

// A weights file decides the layer's shape; a flag or scene value that contradicts it is an
// error here as in `kernelscope run` (prepare() compares them), not silently overruled. The
// file is read once here, so a missing or broken one is refused at start-up as `run` refuses
// it; with shape values given, the image too, to compare them.
void check_against_weights_file(const OperatorOptions& op, const OpSettings& s,
                                const std::string& image) {
  if (op.weights.source != "file") return;
  load_safetensors(op.weights.file, memory_cap_bytes(s.max_memory_mb));
  if (image.empty()) return;
  bool any_shape = false;
  for (Param p : {Param::KernelSize, Param::OutChannels, Param::GroupChannels, Param::Reduction})
    any_shape |= *spec_field(op, p) >= 0;
  if (!any_shape) return;
  Tensor input;
  try {
    input = load_input(image, memory_cap_bytes(s.max_memory_mb));
  } catch (const std::exception&) {
    return;  // the app reports the image where it shows results
  }
  const bool wants_conv = s.operation != Operation::Involution;
  const bool wants_involution = s.operation != Operation::Convolution;
  for (OpKind kind : {OpKind::Conv, OpKind::Involution}) {
    if (!(kind == OpKind::Conv ? wants_conv : wants_involution)) continue;
    OperationSpec spec = op;
    spec.op = kind == OpKind::Conv ? "conv" : "involution";
    spec.variant = "paper";
    spec.kernels = KernelsMode::Sum;
    // Each operator on its own fields (the app may show both).
    if (kind == OpKind::Conv)
      spec.group_channels = spec.reduction = -1;
    else
      spec.out_channels = spec.padding = -1;
    // A file of the other operator's layer (in "both" mode) is reported with the results.
    OperationSpec file_alone = spec;
    for (Param p : {Param::KernelSize, Param::OutChannels, Param::GroupChannels, Param::Reduction})
      *spec_field(&file_alone, p) = -1;
    try {
      prepare(file_alone, input);
    } catch (const std::exception&) {
      continue;
    }
    prepare(spec, input);
  }
}

}  // namespace

void apply_options(const AppOptions& o, AppState* app) {
  check_flag_values(o.op);
  OperatorOptions op = o.op;
  PresetLearn scene_learn;
  const bool scene = !o.op.preset.empty();
  if (scene) {
    const Preset preset = load_preset(o.op.preset);
    scene_learn = preset.learn;
    op = options_from_preset(preset, o.op.preset, o.op);
    start_scene(preset, op, app);
  }
  OpSettings& s = app->doc.settings;
  if (!op.input.empty()) app->doc.image_path = op.input;
  apply_spec(op, scene, o.compare, &s);
  check_like_run(op, scene, o.compare, s);
  check_against_weights_file(op, s, app->doc.image_path);
  if (o.relu && op.was_given("--activation") && op.activation != "relu")
    throw Error("--relu and --activation " + op.activation + " disagree; give one");
  if (o.relu) s.relu = true;
  if (!o.colormap.empty()) app->view.settings.colormap = colormap_from_name(o.colormap);
  if (o.scale == "map") app->view.settings.scale = ScaleMode::PerMap;
  if (o.scale == "layer") app->view.settings.scale = ScaleMode::PerLayer;
  if (o.scale == "symmetric") app->view.settings.scale = ScaleMode::Symmetric;
  if (o.ui_scale > 0) app->view.settings.ui_scale = o.ui_scale;
  if (!o.export_dir.empty()) app->view.settings.export_dir = o.export_dir;
  if (o.kernel_field) app->view.settings.kernel_field = true;
  if (o.variant == "notebook") {
    s.notebook_variant = true;
    if (!o.op.was_given("--op") && !o.compare) s.operation = Operation::Involution;
    if (op.padding >= 0) s.notebook_padding = to_int(op.padding, "--padding");
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
  // Only now, so a refused start-up prints its one error line and nothing else.
  for (const std::string& note : op.notes) app->set_status("warning: " + note);
}

void open_scene(AppState* app, const std::string& path) {
  app->doc.scene_name.clear();
  const OpSettings before = app->doc.settings;
  const PendingPins pending_before = app->view.pending_pins;
  const Focus focus_before = app->view.focus;
  try {
    // The scene alone: no flag is on top of it (OperatorOptions with nothing given).
    const Preset preset = load_preset(path);
    OperatorOptions none;
    none.op.clear();
    const OperatorOptions op = options_from_preset(preset, path, none);
    start_scene(preset, op, app);
    app->doc.image_path = op.input;
    apply_spec(op, /*whole=*/true, /*compare=*/false, &app->doc.settings);
    check_like_run(op, /*scene=*/true, /*compare=*/false, app->doc.settings);
    configure_learn_from_scene(*app, preset.learn);
    app->doc.scene_settings = app->doc.settings;
    app->doc.scene_image = app->doc.image_path;
    app->commands.post(app::cmd::Recompute{});
    app->commands.post(app::cmd::Redraw{});
    app->set_status("scene: " + app->doc.scene_name);
    for (const std::string& note : op.notes) app->set_status("warning: " + note);
    app->clear_error("scene");
  } catch (const std::exception& e) {
    app->doc.settings = before;
    app->view.pending_pins = pending_before;
    app->view.focus = focus_before;
    app->set_error(e.what(), "scene");
  }
}

}  // namespace ks::cli
