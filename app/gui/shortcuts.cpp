// Keyboard shortcuts (shortcuts.h).
#include "gui/shortcuts.h"

#define GLFW_INCLUDE_NONE
#include <GLFW/glfw3.h>
#include <imgui.h>

#include "gui/file_browser.h"

namespace ks::app {

void handle_shortcuts(AppState& app, const std::vector<KeyPress>& keys) {
  const bool typing = ImGui::GetIO().WantTextInput;
  for (const KeyPress& k : keys) {
    const bool ctrl = (k.mods & GLFW_MOD_CONTROL) != 0;
    if (k.key == GLFW_KEY_F12) app.screenshot_requested = true;
    if (k.key == GLFW_KEY_F1) app.show_help = !app.show_help;
    if (k.key == GLFW_KEY_F2) app.step.active = !app.step.active;
    if (k.key == GLFW_KEY_F5) app.demo_requested = true;
    if (k.key == GLFW_KEY_F11) app.presentation = !app.presentation;
    if (app.demo.active && !typing) {
      if (k.key == GLFW_KEY_RIGHT || k.key == GLFW_KEY_PAGE_DOWN) app.demo_move = 1;
      if (k.key == GLFW_KEY_LEFT || k.key == GLFW_KEY_PAGE_UP) app.demo_move = -1;
      if (k.key == GLFW_KEY_ESCAPE) app.demo_requested = true;
    }
    if (ctrl && k.key == GLFW_KEY_Q) app.quit_requested = true;
    if (typing) continue;  // letters belong to the text field
    if (!ctrl && k.key == GLFW_KEY_F) app.fit_view = true;
    if (ctrl && k.key == GLFW_KEY_O) open_file_browser(BrowsePurpose::OpenImage, app.image_path);
    if (ctrl && k.key == GLFW_KEY_S) app.save_session_requested = true;
  }
}

}  // namespace ks::app
