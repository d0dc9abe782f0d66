// CPU-side figures for PNG export: an RGB canvas, text rendered with stb_truetype from the
// DejaVu font (no text when the font is missing), and a colour-map legend.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "kernelscope/colormap.h"

namespace ks::app {

struct Canvas {
  int width = 0, height = 0;
  std::vector<uint8_t> rgb;
  Canvas(int w, int h, uint8_t grey = 24);
  void fill(int x, int y, int w, int h, uint8_t r, uint8_t g, uint8_t b);
  // Copies RGB rows (width w, height h) with the top-left at (x, y); each source pixel
  // becomes a scale x scale block.
  void blit(const std::vector<uint8_t>& src, int w, int h, int x, int y, int scale = 1);
  // Draws a line of text with its top at y; returns the width it took (0 without a font).
  int text(const std::string& s, int x, int y, float pixel_height, uint8_t grey = 230);
  // A horizontal legend bar with the range written under its ends.
  void legend(Colormap map, ValueRange range, int x, int y, int w, const std::string& label);
  // The kernel heatmaps' legend: title, the scale in words ("symmetric ±0.42"), then a
  // vertical bar bar_height tall, maximum at the top, with min / 0 / max written beside it.
  // Returns its width (vertical_legend_height gives its height).
  int vertical_legend(Colormap map, ValueRange range, int x, int y, int bar_height,
                      const std::string& title);
};
int vertical_legend_height(int bar_height);
// Width vertical_legend takes, before drawing it (title, description, the longest number).
int figure_legend_width(Colormap map, ValueRange range, const std::string& title);

// Width of a text line in pixels at this height (0 without a font).
int text_width(const std::string& s, float pixel_height);

}  // namespace ks::app
