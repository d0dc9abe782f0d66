// The keyboard shortcuts (F1 guide, F2 step-through, F5 demo, F11 presentation, F12
// screenshot, Ctrl+O/S/Q, F fit, arrows in demo mode), applied once per frame.
#pragma once

#include <vector>

#include "gui/app_state.h"
#include "gui/platform.h"

namespace ks::app {

// Call inside the ImGui frame: a text field that has the keyboard keeps the letters.
void handle_shortcuts(AppState& app, const std::vector<KeyPress>& keys);

}  // namespace ks::app
