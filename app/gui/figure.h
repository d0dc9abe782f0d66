// The panel exports' figure parts, drawn on the CPU canvas that the step-through slides and
// the GIF use too (render/canvas.h, render/font.h): text in DejaVu Sans (no text where the
// font is missing) and the colour-map legends.
#pragma once

#include <cstdint>
#include <string>

#include "kernelscope/colormap.h"
#include "render/canvas.h"

namespace ks::app {

using render::Canvas;

// A blank figure in the exports' background grey.
Canvas figure_canvas(int width, int height);

// Draws a line of text with its top at y; returns the width it took (0 without a font).
int draw_text(Canvas& c, const std::string& s, int x, int y, float pixel_height,
              uint8_t grey = 230);
// Width of a text line in pixels at this height (0 without a font).
int text_width(const std::string& s, float pixel_height);

// A horizontal legend bar with the range written under its ends.
void draw_legend(Canvas& c, Colormap map, ValueRange range, int x, int y, int w,
                 const std::string& label);
// The kernel heatmaps' legend: title, the scale in words ("symmetric ±0.42"), then a
// vertical bar bar_height tall, maximum at the top, with min / 0 / max written beside it.
// Returns its width (vertical_legend_height gives its height).
int draw_vertical_legend(Canvas& c, Colormap map, ValueRange range, int x, int y, int bar_height,
                         const std::string& title);
int vertical_legend_height(int bar_height);
// Width draw_vertical_legend takes, before drawing it (title, description, the longest
// number).
int figure_legend_width(Colormap map, ValueRange range, const std::string& title);

}  // namespace ks::app
