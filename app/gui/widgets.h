// Small drawing helpers the panels share: colour-map legends and heatmap grids of kernels.
#pragma once

#include <imgui.h>

#include <string>

#include "kernelscope/colormap.h"

namespace ks::app {

ImU32 colormap_color(Colormap map, float t);
// A horizontal colour bar with the range printed at its ends.
void draw_legend(Colormap map, ValueRange range, float width, const char* label = nullptr);
// A K x K heatmap of `values` (row-major) at pos with square cells; values mapped with the
// diverging map symmetric about 0 using abs_max. Returns the hovered tap or -1. Prints the
// values in the cells when they fit.
int draw_kernel_heatmap(ImDrawList* draw, ImVec2 pos, float cell, int k, const float* values,
                        float abs_max, bool print_values);
// "1.23", "-0.045", "1.2e+03": short enough for a pixel cell.
std::string short_number(float v);
// SameLine when an item with this label still fits on the line, else a new line: toolbars
// wrap instead of being clipped at large UI scales or narrow panels.
void same_line_if_fits(const char* label);
// The same for an item of a known width (a combo box).
void same_line_if_room(float item_width);
// A titled separator (ImGui 1.86 has no SeparatorText).
void section(const char* title);
// A dimmed one-line help marker "(?)" with a tooltip.
void help_marker(const char* text);
// A tooltip on the last item, in plain words, when it is hovered.
void tooltip(const char* text);

}  // namespace ks::app
