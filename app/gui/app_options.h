// The desktop app's command-line options and how they (and a --preset scene, or a scene
// opened from the menu or demo mode) are applied onto the app's state.
#pragma once

#include <string>
#include <vector>

#include "core/operator_options.h"
#include "gui/app_state.h"

namespace ks::cli {

using core::OperatorOptions;

struct AppOptions {
  OperatorOptions op;
  std::string screenshot;
  int frames = 3;
  std::string session;
  float ui_scale = 0;  // 0: keep the session's
  int width = 1600, height = 1000;
  std::string export_dir;
  bool compare = false;
  bool relu = false;
  std::string colormap;
  std::string scale;
  float timeout_s = 120;
  float zoom = 0;          // scripted: input zoom (0 = fit)
  std::vector<int> pin;    // scripted: pinned pixel x y
  std::vector<int> pin_b;  // the second pin: the Kernels panel compares A and B
  bool race = false;       // scripted: run the race before the screenshot
  bool kernel_field = false;
  std::string variant;           // paper | notebook (involution)
  bool step_through = false;     // open the step-through panel
  bool step_compare = false;     // open the step-through's Compare tab
  bool step_export = false;      // scripted: export the step-through's slides
  int demo = 0;                  // scripted: demo mode, showing this many scenes
  bool demo_leave = false;       // scripted: leave demo mode after those scenes
  std::vector<int> scene_order;  // scripted: open these scenes (1-based) one after another
  bool help_window = false;      // open Help > Guide
  bool present = false;          // start in the presentation view (F11)
  int profile = 0;               // --profile N: measure N recomputes, print the numbers, exit
  bool json = false;             // --profile prints JSON
  int learn_steps = 0;           // scripted: learn N steps (Learn panel) before the screenshot
};

// Flags given on the command line (and a --preset scene, which fills what the flags leave
// open) override the session. Throws ks::Error / std::runtime_error with a one-line message.
void apply_options(const AppOptions& o, app::AppState* app);

// Opens a scene (assets/presets/*.json) the menu or demo mode asked for, replacing the
// operation as --preset would at start-up; on failure the settings stay and the error shows.
void open_scene(app::AppState* app, const std::string& path);

}  // namespace ks::cli
