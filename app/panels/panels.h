// The app's panels, one file each. Each draws its content into the current ImGui window;
// the layout (gui/layout.cpp) owns the windows.
#pragma once

#include "gui/app_state.h"

namespace ks::app {

void draw_input_panel(AppState& app);
void draw_parameters_panel(AppState& app);
void draw_kernels_panel(AppState& app);
void draw_feature_maps_panel(AppState& app);
void draw_timing_panel(AppState& app);

}  // namespace ks::app
