// Colour legends for kernel heatmaps: a small vertical bar with its maximum at the top, its
// minimum at the bottom and 0 marked where the range holds it, under a line that names the
// scale ("symmetric ±0.42", "sequential 0.10..0.90"). A heatmap without one cannot be read:
// the same colour means 0.4 in one panel and 0.004 in the next.
#pragma once

#include <imgui.h>

#include <string>

#include "kernelscope/colormap.h"

namespace ks::app {

// How a heatmap's colours map to values, in a few words: "symmetric ±0.42" for a diverging
// map centred on 0, "sequential 0.10..0.90" for one over its own range.
std::string scale_description(Colormap map, ValueRange range);

// Draws the legend as an ImGui item at the cursor, `bar_height` pixels tall (plus a line
// for the title and the description). Returns its width.
float vertical_legend(Colormap map, ValueRange range, float bar_height, const char* title);
// The width vertical_legend will take, for laying out the heatmaps beside it.
float vertical_legend_width(Colormap map, ValueRange range, const char* title);
// The same legend drawn at `pos` on a draw list (over an image), on a dark backing so it
// reads on any picture. Returns its size.
ImVec2 overlay_legend(ImDrawList* draw, ImVec2 pos, Colormap map, ValueRange range,
                      float bar_height, const char* title);

}  // namespace ks::app
