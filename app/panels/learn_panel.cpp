// The Learn panel (learn_panel.h): target and layers, Learn / Pause / Step / Reset / Save,
// the live loss curves, and the hand-over of learned weights to the rest of the app.
#include "panels/learn_panel.h"

#include <imgui.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>

#include "core/learn_target.h"
#include "gui/export.h"
#include "kernelscope/io.h"
#include "panels/loss_plot.h"

namespace ks::app {

namespace {

// While training runs, the feature maps follow at most this often: each refresh is a full
// forward pass on the worker, competing with training for the same cores.
constexpr double kApplySeconds = 0.4;

constexpr ImU32 kConvColour = IM_COL32(240, 160, 60, 255);
constexpr ImU32 kInvolutionColour = IM_COL32(90, 190, 250, 255);

Operation operation_for(LearnOps ops) {
  switch (ops) {
    case LearnOps::Conv:
      return Operation::Convolution;
    case LearnOps::Involution:
      return Operation::Involution;
    case LearnOps::Both:
      break;
  }
  return Operation::Both;
}

// What a training run depends on besides its own settings: changing any of it resets it.
std::string job_signature(const AppState& app) {
  const OpSettings& s = app.doc.settings;
  char text[160];
  std::snprintf(text, sizeof text, "%p k%d s%d d%d g%d gc%d r%d nb%d",
                static_cast<const void*>(app.doc.image.compute.get()), s.kernel_size, s.stride,
                s.dilation, s.groups, s.group_channels, s.reduction, s.notebook_variant ? 1 : 0);
  return text;
}

void start_training(AppState& app, bool run) {
  LearnPanelState& l = learn_state(app);
  LearnJob job;
  job.target = l.target;
  job.ops = l.ops;
  job.steps = l.steps;
  job.lr = l.lr;
  job.identity_start = l.identity_start;
  job.seed = app.doc.settings.seed;
  job.settings = app.doc.settings;
  job.input = app.doc.image.compute;
  l.job_signature = job_signature(app);
  l.session.start(std::move(job), run);
}

// Training dropped: the app goes back to seeded random weights.
void reset_training(AppState& app) {
  LearnPanelState& l = learn_state(app);
  l.session.reset();
  l.applied_version = 0;
  if (app.doc.settings.weights == WeightSource::Learned) {
    app.doc.settings.weights = WeightSource::Random;
    app.commands.post(cmd::Recompute{});
  }
  app.doc.settings.learned.reset();
}

void save_learned(AppState& app, const LearnedLayers& layers) {
  namespace fs = std::filesystem;
  const std::string dir = export_folder(app);
  std::error_code ec;
  fs::create_directories(dir, ec);
  std::string list;
  try {
    // The names of `kernelscope learn`'s weights.safetensors: File > Open weights reads them.
    if (layers.has_conv) {
      const std::string path = export_stem(dir, "learned-conv") + ".safetensors";
      save_safetensors(path, conv_weights_to_tensors(layers.conv_weights));
      list += path;
    }
    if (layers.has_involution) {
      const std::string path = export_stem(dir, "learned-involution") + ".safetensors";
      save_safetensors(path,
                       involution_weights_to_tensors(layers.involution, layers.involution_weights));
      list += (list.empty() ? "" : ", ") + path;
    }
    std::printf("kernelscope: wrote %s\n", list.c_str());
    app.set_status("wrote " + list);
  } catch (const std::exception& e) {
    app.set_error(std::string("saving the learned weights failed: ") + e.what());
  }
}

// Target, layers, rate and steps; true when a change invalidates the training.
bool settings_section(LearnPanelState& l) {
  bool changed = false;
  const float label_w = ImGui::GetFontSize() * 6;
  ImGui::SetNextItemWidth(-label_w);
  if (ImGui::BeginCombo("target", l.target.c_str())) {
    for (const std::string& name : core::learn_target_names())
      if (ImGui::Selectable(name.c_str(), name == l.target)) {
        changed = changed || name != l.target;
        l.target = name;
      }
    ImGui::EndCombo();
  }
  if (ImGui::IsItemHovered())
    ImGui::SetTooltip(
        "What the layers are asked to output for this image: a kernel applied to every\n"
        "channel, a bilateral filter (edge-preserving smoothing), a blur where the image is\n"
        "bright, or a designed involution's output. docs/learn.md lists them.");
  ImGui::TextUnformatted("learns");
  for (LearnOps ops : {LearnOps::Conv, LearnOps::Involution, LearnOps::Both}) {
    ImGui::SameLine();
    if (ImGui::RadioButton(learn_ops_name(ops), l.ops == ops) && l.ops != ops) {
      l.ops = ops;
      changed = true;
    }
  }
  if (ImGui::IsItemHovered())
    ImGui::SetTooltip("both: convolution and involution learn the same target side by side.");
  ImGui::SetNextItemWidth(ImGui::GetFontSize() * 6);
  if (ImGui::SliderFloat("lr", &l.lr, 1e-4f, 0.5f, "%.4f", ImGuiSliderFlags_Logarithmic))
    changed = true;
  if (ImGui::IsItemHovered()) ImGui::SetTooltip("Adam's learning rate (changing it restarts).");
  ImGui::SameLine();
  ImGui::SetNextItemWidth(ImGui::GetFontSize() * 6);
  ImGui::InputInt("steps", &l.steps, 50, 500);
  l.steps = std::max(1, std::min(l.steps, 1000000));
  if (ImGui::IsItemDeactivatedAfterEdit() || ImGui::IsItemEdited()) l.session.set_steps(l.steps);
  if (ImGui::Checkbox("identity start", &l.identity_start)) changed = true;
  if (ImGui::IsItemHovered())
    ImGui::SetTooltip(
        "Involution: every pixel's kernel starts as the identity, with BN calibrated on this\n"
        "image so each hidden unit is on for about half the pixels. From PyTorch's random\n"
        "start the units often all switch off, and the kernels stop depending on the pixel.\n"
        "Changing it restarts.");
  return changed;
}

void buttons(AppState& app, LearnPanelState& l) {
  const LearnSnapshot& s = l.shown;
  const bool training = s.preparing || s.layers;
  if (s.running) {
    if (ImGui::Button("Pause")) l.session.pause();
  } else {
    ImGui::BeginDisabled(s.finished);
    if (ImGui::Button("Learn")) {
      if (training)
        l.session.resume();
      else
        start_training(app, true);
    }
    ImGui::EndDisabled();
  }
  if (ImGui::IsItemHovered())
    ImGui::SetTooltip("Train on the image shown, with the layer shape of the Parameters panel.");
  ImGui::SameLine();
  ImGui::BeginDisabled(s.running || s.finished);
  if (ImGui::Button("Step")) {
    if (!training) start_training(app, false);
    l.session.step_once();
  }
  ImGui::EndDisabled();
  if (ImGui::IsItemHovered()) ImGui::SetTooltip("One optimiser update, then pause.");
  ImGui::SameLine();
  if (ImGui::Button("Reset")) reset_training(app);
  if (ImGui::IsItemHovered()) ImGui::SetTooltip("Forget the learned weights and the curve.");
  ImGui::SameLine();
  ImGui::BeginDisabled(!s.layers);
  if (ImGui::Button("Save") && s.layers) save_learned(app, *s.layers);
  ImGui::EndDisabled();
  if (ImGui::IsItemHovered())
    ImGui::SetTooltip(
        "Write the learned weights as .safetensors to the export folder (PyTorch names);\n"
        "File > Open weights loads them back.");
}

void status_line(const LearnSnapshot& s) {
  if (!s.error.empty()) {
    ImGui::TextColored(ImVec4(1, 0.45f, 0.4f, 1), "cannot learn: %s", s.error.c_str());
    return;
  }
  if (s.preparing) {
    ImGui::TextDisabled("preparing the target...");
    return;
  }
  if (!s.layers) {
    ImGui::TextDisabled("not started: pick a target and press Learn");
    return;
  }
  ImGui::Text("step %lld / %lld", static_cast<long long>(s.step), static_cast<long long>(s.steps));
  ImGui::SameLine();
  if (s.running)
    ImGui::TextDisabled("(%.0f steps/s)", s.steps_per_s);
  else
    ImGui::TextDisabled("%s", s.finished ? "(done)" : "(paused)");
  for (const LossCurve* c : {&s.conv, &s.involution}) {
    if (!c->active || c->losses.empty()) continue;
    const double first = c->losses.front(), last = c->losses.back();
    ImGui::SameLine();
    ImGui::TextColored(c == &s.conv ? ImVec4(0.94f, 0.63f, 0.24f, 1) : ImVec4(0.35f, 0.75f, 1, 1),
                       " %s %.3g (x%.2g)%s", c == &s.conv ? "conv" : "involution", last,
                       first > 0 ? last / first : 0.0, c->diverged_at >= 0 ? " diverged" : "");
  }
}

}  // namespace

LearnPanelState& learn_state(AppState& app) {
  if (!app.learn) app.learn = std::make_shared<LearnPanelState>();
  return *app.learn;
}

bool learn_panel_open(const AppState& app) { return app.learn && app.learn->open; }

void toggle_learn_panel(AppState& app) {
  LearnPanelState& l = learn_state(app);
  l.open = !l.open;
}

void draw_learn_panel(AppState& app) {
  LearnPanelState& l = learn_state(app);
  if (settings_section(l) && (l.shown.layers || l.shown.preparing)) {
    reset_training(app);
    app.set_status("learning reset: the target, layers or rate changed");
  }
  buttons(app, l);
  status_line(l.shown);
  std::vector<PlotCurve> curves;
  if (l.shown.conv.active) curves.push_back({"conv", &l.shown.conv.losses, kConvColour});
  if (l.shown.involution.active)
    curves.push_back({"involution", &l.shown.involution.losses, kInvolutionColour});
  const ImVec2 avail = ImGui::GetContentRegionAvail();
  draw_loss_plot(curves, static_cast<double>(l.shown.steps),
                 ImVec2(avail.x, std::max(avail.y, ImGui::GetFontSize() * 6)));
}

void update_learn(AppState& app) {
  if (!app.learn) return;
  LearnPanelState& l = *app.learn;
  if (l.scripted_steps > 0 && !l.scripted_started && app.doc.have_result && app.doc.image.compute) {
    l.scripted_started = true;
    start_training(app, true);
  }
  if ((l.shown.layers || l.shown.preparing) && job_signature(app) != l.job_signature) {
    reset_training(app);
    app.set_status("learning reset: the image or the layer shape changed");
  }
  l.shown = l.session.snapshot();
  if (!l.shown.layers || l.shown.version == l.applied_version) return;
  const double now = ImGui::GetTime();
  // The last weights of a run always; while it runs, a few refreshes a second.
  if (l.shown.running && now - l.applied_at < kApplySeconds) return;
  if (l.shown.running && app.worker && app.worker->busy()) return;
  if (app.doc.settings.learned != l.shown.layers) {
    app.doc.settings.learned = l.shown.layers;
    app.doc.settings.weights = WeightSource::Learned;
    app.doc.settings.operation = operation_for(l.ops);
    app.commands.post(cmd::Recompute{});
  }
  l.applied_version = l.shown.version;
  l.applied_at = now;
}

void configure_learn_from_scene(AppState& app, const core::PresetLearn& scene) {
  if (!scene.present) return;
  LearnPanelState& l = learn_state(app);
  reset_training(app);
  l.open = true;
  l.target = scene.target;
  learn_ops_from_name(scene.ops, &l.ops);
  l.steps = static_cast<int>(scene.steps);
  l.lr = static_cast<float>(scene.lr);
  l.identity_start = scene.start != "given";
  app.doc.settings.operation = operation_for(l.ops);
}

void request_scripted_learn(AppState& app, int steps) {
  LearnPanelState& l = learn_state(app);
  l.open = true;
  l.steps = steps;
  l.scripted_steps = steps;
}

bool learn_busy(const AppState& app) {
  if (!app.learn || app.learn->scripted_steps <= 0) return false;
  const LearnPanelState& l = *app.learn;
  if (!l.scripted_started) return true;
  const LearnSnapshot s = l.session.snapshot();
  if (!s.error.empty()) return false;
  return s.preparing || s.running || !s.layers || s.version != l.applied_version;
}

std::vector<std::string> learn_report(const AppState& app) {
  std::vector<std::string> lines;
  if (!app.learn) return lines;
  const LearnPanelState& l = *app.learn;
  const LearnSnapshot s = l.session.snapshot();
  if (!s.error.empty()) lines.push_back("kernelscope: learn error: " + s.error);
  for (const LossCurve* c : {&s.conv, &s.involution}) {
    if (!c->active || c->losses.empty()) continue;
    char line[256];
    std::snprintf(line, sizeof line,
                  "kernelscope: learn op=%s target=%s step=%lld points=%zu loss_initial=%.9g "
                  "loss_final=%.9g",
                  c == &s.conv ? "conv" : "involution", l.target.c_str(),
                  static_cast<long long>(s.step), c->losses.size(), c->losses.front(),
                  c->losses.back());
    lines.emplace_back(line);
  }
  return lines;
}

}  // namespace ks::app
