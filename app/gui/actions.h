// What the menus, keys and panels ask for and the frame loop carries out: panel exports,
// step-through slides, window screenshots, saving the session and the file browser's
// answers. Each reports success on the status line (and "kernelscope: wrote PATH" on
// stdout, which the app tests read) or the failure as an error.
#pragma once

#include <string>

#include "gui/app_state.h"

struct GLFWwindow;

namespace ks::app {

// The panel exports asked for (app.export_input, export_kernels, export_maps).
void do_exports(AppState& app);
// Step-through slides (PNG frames and a GIF) into the export folder, when asked.
void do_slide_export(AppState& app);
// The window's framebuffer as a PNG at path.
bool save_screenshot(AppState& app, GLFWwindow* window, const std::string& path);
// Saves the session to the file it came from (or the app's own).
void save_current_session(AppState& app);
// Opens the file browser when asked and carries out what it picked; inside the ImGui frame.
void handle_browser(AppState& app);

}  // namespace ks::app
