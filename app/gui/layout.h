// The fixed panel grid (Debian's ImGui 1.86 has no docking): three columns computed from the
// window size and the layout fractions, with draggable gaps between panels.
#pragma once

#include <imgui.h>

#include <string>
#include <vector>

#include "gui/app_state.h"

namespace ks::app {

struct PanelRect {
  std::string name;
  float x, y, w, h;
};

// Draws all panels below `top` (the menu bar height) and returns where each went: the
// normal grid, or the presentation layout (presentation_layout.h) while that is on.
std::vector<PanelRect> draw_layout(AppState& app, float top);

// One fixed panel window at pos/size drawn by `draw`, recorded in rects.
void draw_panel(const char* title, ImVec2 pos, ImVec2 size, void (*draw)(AppState&), AppState& app,
                std::vector<PanelRect>* rects, ImGuiWindowFlags extra = 0);

}  // namespace ks::app
