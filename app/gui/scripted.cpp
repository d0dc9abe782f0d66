// Scripted runs and what they print (scripted.h).
#include "gui/scripted.h"

#include <imgui.h>

#include <algorithm>
#include <cstdio>
#include <string>

#include "gui/actions.h"
#include "gui/demo.h"
#include "panels/learn_panel.h"
#include "panels/panels.h"

namespace ks::app {

namespace {

// Where everything went, for the app tests. The layout, the body font's pixel height, each
// panel's rectangle and the marked items (the step-through's result line, generation chain
// and visible body) with the body's scroll range.
void report_layout(const AppState& app, const std::vector<PanelRect>& rects) {
  std::printf("kernelscope: layout %s font %.1f\n",
              app.view.presentation ? "presentation" : "normal",
              static_cast<double>(ImGui::GetFontSize()));
  for (const PanelRect& r : rects)
    std::printf("kernelscope: panel \"%s\" %.0f %.0f %.0f %.0f\n", r.name.c_str(),
                static_cast<double>(r.x), static_cast<double>(r.y), static_cast<double>(r.w),
                static_cast<double>(r.h));
  for (const ViewState::DrawnItem& r : app.view.drawn_items)
    std::printf("kernelscope: item \"%s\" %.0f %.0f %.0f %.0f\n", r.name.c_str(),
                static_cast<double>(r.x), static_cast<double>(r.y), static_cast<double>(r.w),
                static_cast<double>(r.h));
}

}  // namespace

ScriptedRun::ScriptedRun(const cli::AppOptions& options)
    : options_(options), active_(!options.screenshot.empty() && options.profile == 0) {}

void ScriptedRun::begin(AppState& app) {
  if (options_.demo > 0) app.commands.post(cmd::ToggleDemo{});
}

void ScriptedRun::on_results(AppState& app, bool upload, bool raced) {
  if (upload || raced) frames_since_result_ = 0;  // tables auto-size over a few frames
  if (!active_ || !upload || setup_done_) return;
  // Scripted zoom and race act once the first result (and so the image) is there.
  setup_done_ = true;
  if (options_.race) app.commands.post(cmd::Race{});
  if (options_.zoom > 0) {
    app.view.fit_view = false;
    app.view.zoom = options_.zoom;
    app.view.centre_x =
        app.view.focus.pinned ? app.view.focus.pin_x + 0.5f : app.doc.image.compute->dim(3) * 0.5f;
    app.view.centre_y =
        app.view.focus.pinned ? app.view.focus.pin_y + 0.5f : app.doc.image.compute->dim(2) * 0.5f;
  }
}

bool ScriptedRun::after_frame(AppState& app, GLFWwindow* window,
                              const std::vector<PanelRect>& rects, bool busy, int* exit_code) {
  if (!active_) return false;
  if (frames_since_result_ >= 0) ++frames_since_result_;
  // The newest request must have been answered: between a submit and the worker taking it
  // up, the worker is not busy yet.
  bool settled = app.doc.have_result && app.doc.answered_id == app.doc.latest_id && !busy &&
                 app.commands.empty() && app.view.upload_queue.empty() && !app.doc.race_running &&
                 !learn_busy(app) && frames_since_result_ >= std::max(options_.frames, 2);
  if (settled && app.demo.active && demo_shown_ < options_.demo) {
    // Scripted demo: log the scene on screen, then advance until N were shown.
    ++demo_shown_;
    if (demo_shown_ == 1)
      std::printf("kernelscope: demo auto-advance %s\n", app.demo.auto_advance ? "on" : "off");
    std::printf("kernelscope: demo scene %d/%zu \"%s\": %s\n", app.demo.index + 1,
                app.demo.scenes.size(), app.doc.scene_name.c_str(), app.doc.scene_caption.c_str());
    if (demo_shown_ < options_.demo) {
      app.commands.post(cmd::MoveDemo{1});
      frames_since_result_ = -1;
      settled = false;
    } else if (options_.demo_leave) {
      app.commands.post(cmd::ToggleDemo{});
      frames_since_result_ = -1;
      settled = false;
    }
  }
  if (settled && scenes_opened_ <= options_.scene_order.size() && !options_.scene_order.empty()) {
    // Scripted scene order: report where the last scene put its pins, open the next.
    if (scenes_opened_ > 0)
      std::printf("%s\n", scene_line(app, options_.scene_order[scenes_opened_ - 1]).c_str());
    if (scenes_opened_ < options_.scene_order.size()) {
      const auto& scenes = scene_entries(app.assets_dir);
      const int n = options_.scene_order[scenes_opened_];
      if (n >= 1 && n <= static_cast<int>(scenes.size()))
        app.commands.post(cmd::OpenScene{scenes[static_cast<size_t>(n - 1)].path});
      frames_since_result_ = -1;
      settled = false;
    }
    ++scenes_opened_;
  }
  const double elapsed =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
  if (!settled && elapsed <= options_.timeout_s) return false;
  if (!settled) {
    std::fprintf(stderr, "kernelscope: no result after %.0f s; saving what is on screen\n",
                 elapsed);
    *exit_code = 1;
  }
  report(app, rects);
  if (!save_screenshot(app, window, options_.screenshot)) *exit_code = 1;
  return true;
}

void ScriptedRun::report(AppState& app, const std::vector<PanelRect>& rects) {
  if (!options_.export_dir.empty()) {
    for (ExportPanel panel : {ExportPanel::Input, ExportPanel::Kernels, ExportPanel::FeatureMaps})
      export_one_panel(app, panel);
  }
  double explained = 0;
  float shown = 0;
  if (step_through_total(app, &explained, &shown))
    std::printf(
        "kernelscope: step-through %s channel %d pixel %d %d explained %.9g output "
        "%.9g\n",
        app.view.step.involution ? (app.doc.result.involution.notebook ? "notebook" : "involution")
                                 : "conv",
        app.view.step.channel, app.view.step.i, app.view.step.j, explained,
        static_cast<double>(shown));
  for (const std::string& line : learn_report(app)) std::printf("%s\n", line.c_str());
  for (const std::string& line : pin_comparison_report(app)) std::printf("%s\n", line.c_str());
  if (options_.step_export) export_slides(app);
  report_layout(app, rects);
  std::printf("%s\n", setup_line(app).c_str());
  if (!parameters_note().empty())
    std::printf("kernelscope: control note: %s\n", parameters_note().c_str());
  if (app.view.show_help)
    std::printf(
        "kernelscope: window \"Help - Guide\" %.0f %.0f %.0f %.0f\n",
        static_cast<double>(app.view.help_rect[0]), static_cast<double>(app.view.help_rect[1]),
        static_cast<double>(app.view.help_rect[2]), static_cast<double>(app.view.help_rect[3]));
  if (!app.error.empty()) std::printf("kernelscope: shown error: %s\n", app.error.c_str());
  for (const OpResult* op : {&app.doc.result.conv, &app.doc.result.involution})
    if (!op->error.empty()) {
      const char* name = op == &app.doc.result.conv ? "convolution" : "involution";
      std::printf("kernelscope: %s error: %s\n", name, op->error.c_str());
      // As the Parameters panel words it.
      std::printf("kernelscope: shown %s error: %s\n", name, in_app_terms(op->error).c_str());
    }
}

void report_profile(const AppState& app, const AppProfiler& profiler, bool json, int* exit_code) {
  const Shape input = app.doc.image.compute ? app.doc.image.compute->shape : Shape{};
  std::printf("%s\n", json ? profiler.json(input).c_str() : profiler.summary(input).c_str());
  for (const OpResult* op : {&app.doc.result.conv, &app.doc.result.involution})
    if (!op->error.empty()) {
      std::fprintf(stderr, "kernelscope: %s error: %s\n",
                   op == &app.doc.result.conv ? "convolution" : "involution", op->error.c_str());
      *exit_code = 1;
    }
}

void finish_profile(AppState& app, GLFWwindow* window, const cli::AppOptions& options) {
  // Not the kernels panel: its export computes the full kernels tensor, which a profile of a
  // large image does not want to wait for.
  if (!options.export_dir.empty()) {
    export_one_panel(app, ExportPanel::Input);
    export_one_panel(app, ExportPanel::FeatureMaps);
  }
  if (!options.screenshot.empty()) save_screenshot(app, window, options.screenshot);
}

}  // namespace ks::app
