// The app's panels, one file each. Each draws its content into the current ImGui window;
// the layout (gui/layout.cpp) owns the windows.
#pragma once

#include <string>
#include <vector>

#include "gui/app_state.h"

namespace ks::app {

void draw_input_panel(AppState& app);
void draw_parameters_panel(AppState& app);
// The note the Parameters panel shows under a control whose typed value it corrected
// ("control: text"), or "" (for scripted runs).
std::string parameters_note();
void draw_kernels_panel(AppState& app);
// Pins A and B side by side (pin_comparison.cpp); false, drawing nothing, unless both pins
// are set on an involution result.
bool draw_pin_comparison(AppState& app);
// Scripted mode's record of the comparison: one line per pin, "kernelscope: pin A output
// OY OX kernels v0 v1 ..." (all G*K*K generated values), empty unless both pins are set.
std::vector<std::string> pin_comparison_report(const AppState& app);
void draw_feature_maps_panel(AppState& app);
void draw_timing_panel(AppState& app);
void draw_step_through_panel(AppState& app);

// Step-through bookkeeping once per frame before the panels: follows a new pin, advances
// while playing, and mirrors the output pixel into the pin.
void update_step_through(AppState& app);
// The explained value at the step-through's pixel (after the activation) and the feature
// map's value there; false when there is nothing to explain.
bool step_through_total(const AppState& app, double* explained, float* shown);
// Writes the step-through along the current row as PNG frames and a GIF into the export
// folder; returns the files. Throws on failure.
std::vector<std::string> export_step_slides(AppState& app);
// Help > Guide: what each view shows.
void draw_help_window(AppState& app);
// Demo mode's caption bar over the bottom of the window.
void draw_demo_overlay(AppState& app);

}  // namespace ks::app
