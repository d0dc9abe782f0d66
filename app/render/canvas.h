// A small CPU canvas for figures and slide frames: rectangles, lines, hatching and
// colour-mapped planes on an 8-bit RGB image. No GL, so the CLI and the app's exports
// draw the same pixels.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "kernelscope/colormap.h"

namespace ks::render {

struct Rgb {
  uint8_t r = 0, g = 0, b = 0;
};

class Canvas {
 public:
  Canvas(int width, int height, Rgb background);

  int width() const { return width_; }
  int height() const { return height_; }
  const std::vector<uint8_t>& rgb() const { return rgb_; }  // rows top to bottom

  // Everything clips to the canvas, so callers may draw partly outside it.
  void fill_rect(int x, int y, int w, int h, Rgb colour);
  void blend_rect(int x, int y, int w, int h, Rgb colour, float alpha);
  void outline_rect(int x, int y, int w, int h, Rgb colour, int thickness = 1);
  void line(int x0, int y0, int x1, int y1, Rgb colour, int thickness = 1);
  // Diagonal stripes: the mark for zero-padding cells.
  void hatch_rect(int x, int y, int w, int h, Rgb colour, int spacing);
  // Blends one pixel with coverage 0..255 (text anti-aliasing).
  void blend_pixel(int x, int y, Rgb colour, int coverage);

  // Scales an RGB image (nearest neighbour, so pixels stay crisp when magnified) into the
  // rectangle (x, y, w, h).
  void blit_rgb(const uint8_t* rgb, int src_w, int src_h, int x, int y, int w, int h);
  // The same for one float plane through a colormap.
  void blit_plane(const float* plane, int src_w, int src_h, Colormap map, ValueRange range, int x,
                  int y, int w, int h);

  void save_png(const std::string& path) const;

 private:
  int width_, height_;
  std::vector<uint8_t> rgb_;
};

}  // namespace ks::render
