// Keyboard shortcuts (shortcuts.h).
#include "gui/shortcuts.h"

#define GLFW_INCLUDE_NONE
#include <GLFW/glfw3.h>
#include <imgui.h>

namespace ks::app {

void handle_shortcuts(AppState& app, const std::vector<KeyPress>& keys) {
  const bool typing = ImGui::GetIO().WantTextInput;
  for (const KeyPress& k : keys) {
    const bool ctrl = (k.mods & GLFW_MOD_CONTROL) != 0;
    if (k.key == GLFW_KEY_F12) app.commands.post(cmd::Screenshot{});
    if (k.key == GLFW_KEY_F1) app.view.show_help = !app.view.show_help;
    if (k.key == GLFW_KEY_F2) app.view.step.active = !app.view.step.active;
    if (k.key == GLFW_KEY_F5) app.commands.post(cmd::ToggleDemo{});
    if (k.key == GLFW_KEY_F11) app.view.presentation = !app.view.presentation;
    if (app.demo.active && !typing) {
      if (k.key == GLFW_KEY_RIGHT || k.key == GLFW_KEY_PAGE_DOWN)
        app.commands.post(cmd::MoveDemo{1});
      if (k.key == GLFW_KEY_LEFT || k.key == GLFW_KEY_PAGE_UP) app.commands.post(cmd::MoveDemo{-1});
      if (k.key == GLFW_KEY_ESCAPE) app.commands.post(cmd::ToggleDemo{});
    }
    if (ctrl && k.key == GLFW_KEY_Q) app.commands.post(cmd::Quit{});
    if (typing) continue;  // letters belong to the text field
    if (!ctrl && k.key == GLFW_KEY_F) app.commands.post(cmd::FitView{});
    if (ctrl && k.key == GLFW_KEY_O)
      app.commands.post(cmd::Browse{BrowsePurpose::OpenImage, app.doc.image_path});
    if (ctrl && k.key == GLFW_KEY_S) app.commands.post(cmd::SaveSession{});
  }
}

}  // namespace ks::app
