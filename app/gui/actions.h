// Carrying out the commands that menus, keys and panels post (commands.h): opening files and
// scenes, demo mode, the file browser, and what needs the drawn frame (screenshots, panel
// exports, step-through slides, saving the session). Each output reports success on the
// status line (and "kernelscope: wrote PATH" on stdout, which the app tests read) or the
// failure as an error.
#pragma once

#include <string>
#include <vector>

#include "gui/app_state.h"

struct GLFWwindow;

namespace ks::app {

// What a frame's commands leave to the frame loop.
struct FrameWork {
  bool recompute = false;  // submit the settings, after the frame's results are taken
  bool redraw = false;     // redo the textures from the result on screen
  bool race = false;       // race the backends once the worker is idle (may wait frames)
  bool quit = false;
  std::vector<Command> after_render;  // carried out once the frame is drawn
};

// At the start of a frame: carries out the queued commands, and those they post, in order.
void carry_out_commands(AppState& app, FrameWork* work);
// After the frame is rendered, before it is shown: screenshots, exports, session saves.
void carry_out_after_render(AppState& app, GLFWwindow* window, FrameWork* work);

// One panel's PNG figure and .npy array into the export folder.
void export_one_panel(AppState& app, ExportPanel panel);
// Step-through slides (PNG frames and a GIF) into the export folder.
void export_slides(AppState& app);
// The window's framebuffer as a PNG at path.
bool save_screenshot(AppState& app, GLFWwindow* window, const std::string& path);
// Draws the file browser when open and carries out what it picked; inside the ImGui frame.
void handle_browser(AppState& app);

}  // namespace ks::app
