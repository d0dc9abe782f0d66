// The fixed panel grid (Debian's ImGui 1.86 has no docking): three columns computed from the
// window size and the layout fractions, with draggable gaps between panels.
#pragma once

#include <string>
#include <vector>

#include "gui/app_state.h"

namespace ks::app {

struct PanelRect {
  std::string name;
  float x, y, w, h;
};

// Draws all panels below `top` (the menu bar height) and returns where each went.
std::vector<PanelRect> draw_layout(AppState& app, float top);

}  // namespace ks::app
