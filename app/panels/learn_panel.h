// The Learn panel (View > Learn): fit a convolution, an involution or both to a target while
// the app shows the learned weights like any others (weights source "learned"). Its state
// lives in AppState::learn, made when the panel first opens; the main loop calls
// update_learn once per frame.
#pragma once

#include <string>
#include <vector>

#include "core/preset.h"
#include "gui/app_state.h"
#include "gui/learn_session.h"

namespace ks::app {

struct LearnPanelState {
  bool open = false;
  std::string target = "designed:edge_aware";
  LearnOps ops = LearnOps::Both;
  int steps = 300;
  float lr = 0.02f;
  bool identity_start = true;  // the involution's start (LearnJob::identity_start)
  LearnSession session;
  LearnSnapshot shown;           // the newest snapshot, copied once per frame
  uint64_t applied_version = 0;  // the snapshot whose weights the app computes with
  double applied_at = -1;        // ImGui time of that
  std::string job_signature;     // the image and layer shape the training started with
  int scripted_steps = 0;        // --learn-steps: start once the image is there, run N
  bool scripted_started = false;
};

LearnPanelState& learn_state(AppState& app);  // made on first use
bool learn_panel_open(const AppState& app);
void toggle_learn_panel(AppState& app);
void draw_learn_panel(AppState& app);
// Once per frame before the panels: starts a scripted run, resets training that the image or
// layer shape invalidated, and makes the newest learned weights the app's weights (at most
// a few times a second while training runs, and always the last ones).
void update_learn(AppState& app);
// A scene's "learn" field: opens the panel with its target, layers, steps and rate.
void configure_learn_from_scene(AppState& app, const core::PresetLearn& learn);
// --learn-steps N (scripted mode): learn N steps once the first result is on screen.
void request_scripted_learn(AppState& app, int steps);
// Scripted mode: true until the requested steps are done and their weights applied.
bool learn_busy(const AppState& app);
// Scripted mode's record: "kernelscope: learn op=conv target=... step=N loss_initial=...
// loss_final=..." per trained layer (empty when nothing was learned).
std::vector<std::string> learn_report(const AppState& app);

}  // namespace ks::app
