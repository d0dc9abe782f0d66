// Sessions: the image, operation, parameters and view/layout as JSON, saved on exit to
// $XDG_CONFIG_HOME/kernelscope/session.json (or ~/.config/...) and to/from any file.
#pragma once

#include <string>

#include "gui/app_state.h"

namespace ks::app {

std::string default_session_path();
// Both return false and set *error (one line) on failure; a failed load changes nothing.
bool save_session(const std::string& path, const AppState& app, std::string* error);
// Relative paths in the file are relative to its folder; one that leads outside the folder
// is still used, and said in *notes (a session from someone else names files on your disk).
bool load_session(const std::string& path, AppState* app, std::string* error,
                  std::vector<std::string>* notes = nullptr);

}  // namespace ks::app
