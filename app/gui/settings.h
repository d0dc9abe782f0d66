// What the user chose: the operation and its parameters (core/op_settings.h, which trigger a
// recompute) and the view settings (which only change how results are drawn). Both persist in
// the session.
#pragma once

#include <string>

#include "core/op_settings.h"
#include "kernelscope/colormap.h"

namespace ks::app {

// The operation's model lives in app/core (shared with the CLI); the GUI uses its names as
// its own.
using namespace ks::core;

enum class ScaleMode { PerMap, PerLayer, Symmetric };

struct ViewSettings {
  Colormap colormap = Colormap::Diverging;
  ScaleMode scale = ScaleMode::PerLayer;
  bool rgb_composite = true;  // shown when there are exactly 3 output channels
  bool kernel_field = false;  // involution kernel glyphs over the input
  bool grid_values = true;    // pixel grid and values at high zoom
  float ui_scale = 1.0f;
  // Layout fractions of the panel grid, changed by dragging the gaps between panels.
  float left_fraction = 0.22f;
  float middle_fraction = 0.36f;
  float input_fraction = 0.58f;
  float maps_fraction = 0.68f;
  float step_fraction = 0.42f;  // step-through mode: height of the Input/Feature maps row
  std::string export_dir;
};

}  // namespace ks::app
