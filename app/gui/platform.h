// The window the app lives in: GLFW with an OpenGL 3.3 core context, Dear ImGui on top of it,
// the app's theme and fonts, and the input GLFW reports between frames (dropped files, key
// presses). Nothing here knows about the app's state.
#pragma once

#include <string>
#include <vector>

struct GLFWwindow;
struct ImFont;

namespace ks::app {

// Opens the window and starts Dear ImGui. exact_size: scripted and profiled runs get the
// pixel size asked for, no DPI scaling, no vsync and no mouse. On failure prints why (and
// that `kernelscope run` works headless) and returns nullptr.
GLFWwindow* open_window(int width, int height, bool exact_size);
// Starts Dear ImGui on the window, after the app's state is set up: the UI scale comes from
// it. Returns the large font (setup_style_and_fonts).
ImFont* start_imgui(GLFWwindow* window, bool exact_size, float ui_scale);
// Ends Dear ImGui (when started) and closes the window.
void close_window(GLFWwindow* window, bool imgui_started);

// The window's content scale (1 on a normal screen, 2 on HiDPI).
float window_content_scale(GLFWwindow* window);

// Dark theme, DejaVu Sans where installed, everything scaled by `scale`. Returns the large
// font (twice the size) for demo captions. rebuild: the fonts texture exists and is replaced.
ImFont* setup_style_and_fonts(float scale, bool rebuild);

// Key presses for the shortcuts. ImGui 1.86 only samples key state once per frame, so a press
// and release within one frame (fast typing, scripted input) would be missed; this queue
// keeps them.
struct KeyPress {
  int key, mods;
};
std::vector<KeyPress> take_key_presses();
// Files dropped on the window since the last call.
std::vector<std::string> take_dropped_paths();

// The bundled assets: the source tree's (compiled in), then next to the executable; "" when
// not found.
std::string find_assets_dir();

}  // namespace ks::app
