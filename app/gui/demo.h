// Demo mode and the teaching scenes: entering saves the user's setup and leaving restores it,
// a scene's pixel waits for the scene's own image, and a scene's caption goes as soon as the
// settings it describes change.
#pragma once

#include <string>
#include <vector>

#include "gui/app_state.h"

namespace ks::app {

// A teaching scene of assets/presets/: its file and its title (the preset's "name").
struct SceneEntry {
  std::string path;
  std::string title;
};
// The scenes in demo order (file-name order), read once; a file that does not parse is
// listed under its file name, and opening it reports why.
const std::vector<SceneEntry>& scene_entries(const std::string& assets_dir);

// F5 / the menu toggle demo mode; next/previous and the auto-advance timer pick the scene,
// which the main loop then opens like File > Scenes.
// Demo mode on (the scenes of assets/presets, from the first) or off (the user's setup
// back); the scene opens through the command queue.
void toggle_demo(AppState& app);
// The next (+1) or previous (-1) scene, wrapping; nothing outside demo mode.
void move_demo(AppState& app, int by);
// Auto-advance: asks for the next scene once the current one has been shown long enough.
void advance_demo_on_timer(AppState& app);

// Sets the pins waiting for a scene's (or the restored setup's) image once a result of
// request `result_id` shows that image.
void apply_pending_pins(AppState& app, uint64_t result_id);

// Clears the open scene's caption once the operation or the image differs from the scene's.
void clear_stale_scene_note(AppState& app);

// Scripted runs: one line describing the operation, image and pins, `kernelscope: setup ...`,
// and one per scene opened by --scene-order, `kernelscope: scene N "title" pin row R col C
// step OP row I col J`.
std::string setup_line(const AppState& app);
std::string scene_line(const AppState& app, int number);

}  // namespace ks::app
