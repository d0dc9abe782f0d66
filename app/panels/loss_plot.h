// A loss-against-step plot on a log10 axis, drawn with ImDrawList (ImGui::PlotLines is
// linear, and a loss falls over decades). Several curves share the axes, with a legend.
#pragma once

#include <imgui.h>

#include <vector>

namespace ks::app {

struct PlotCurve {
  const char* label;
  const std::vector<double>* losses;  // losses[t]: after t updates
  ImU32 colour;
};

// Fills `size` at the cursor; the x axis runs from step 0 to at least x_max.
void draw_loss_plot(const std::vector<PlotCurve>& curves, double x_max, ImVec2 size);

}  // namespace ks::app
