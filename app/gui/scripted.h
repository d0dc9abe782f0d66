// Scripted runs (--screenshot, --profile) and their output protocol. The app tests read what
// is printed here line by line ("kernelscope: wrote ...", "kernelscope: layout ...", "panel",
// "item", "setup", "step-through", "demo scene", "scene ...", errors): change a line only
// together with tests/app/app_test_driver.cpp.
#pragma once

#include <chrono>
#include <cstddef>
#include <vector>

#include "gui/app_options.h"
#include "gui/app_state.h"
#include "gui/layout.h"
#include "gui/profiler.h"

struct GLFWwindow;

namespace ks::app {

// --screenshot: render until the result (and any demo scenes, scene order, race or learning
// asked for) is on screen, export the panels, print the report, save the window, exit.
class ScriptedRun {
 public:
  explicit ScriptedRun(const cli::AppOptions& options);
  // --screenshot alone is scripted mode; with --profile the screenshot is taken at its end.
  bool active() const { return active_; }

  // Before the first frame: --demo turns demo mode on.
  void begin(AppState& app);
  // After the worker's results were taken: upload, a new result is shown; raced, a race
  // finished.
  void on_results(AppState& app, bool upload, bool raced);
  // After the frame is drawn, before it is shown: moves the demo or the scene order on, and
  // once everything has settled writes the exports, the report and the screenshot. Returns
  // true when the run is over (exit_code says how it went). busy: a job runs or a race waits.
  bool after_frame(AppState& app, GLFWwindow* window, const std::vector<PanelRect>& rects,
                   bool busy, int* exit_code);

 private:
  void report(AppState& app, const std::vector<PanelRect>& rects);

  const cli::AppOptions& options_;
  bool active_;
  std::chrono::steady_clock::time_point start_ = std::chrono::steady_clock::now();
  int frames_since_result_ = -1;
  bool setup_done_ = false;   // the scripted zoom and race, once the first result is there
  int demo_shown_ = 0;        // scripted demo: scenes logged so far
  size_t scenes_opened_ = 0;  // --scene-order: scenes requested so far
};

// --profile: the numbers (text or JSON) on stdout, each operation's error on stderr.
void report_profile(const AppState& app, const AppProfiler& profiler, bool json, int* exit_code);
// After --profile: the panels' exports and the screenshot, when asked for, show the last
// job's result (what the app tests compare with `kernelscope run`).
void finish_profile(AppState& app, GLFWwindow* window, const cli::AppOptions& options);

}  // namespace ks::app
