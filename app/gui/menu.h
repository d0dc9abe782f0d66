// The main menu bar: files, samples, sessions, exports, view settings and the status line.
#pragma once

#include "gui/app_state.h"

namespace ks::app {

// Draws the bar and returns its height.
float draw_main_menu(AppState& app);
// Opens a file by kind: .safetensors -> weights, .json -> session, anything else -> image.
void open_path(AppState& app, const std::string& path);

}  // namespace ks::app
