// Drawing primitives of the CPU canvas (see canvas.h).
#include "render/canvas.h"

#include <algorithm>
#include <cmath>
#include <cstdlib>

#include "kernelscope/io.h"

namespace ks::render {

Canvas::Canvas(int width, int height, Rgb background)
    : width_(std::max(width, 1)), height_(std::max(height, 1)) {
  rgb_.resize(static_cast<size_t>(width_) * height_ * 3);
  for (size_t p = 0; p < rgb_.size(); p += 3) {
    rgb_[p] = background.r;
    rgb_[p + 1] = background.g;
    rgb_[p + 2] = background.b;
  }
}

void Canvas::fill_rect(int x, int y, int w, int h, Rgb c) {
  const int x0 = std::max(x, 0), y0 = std::max(y, 0);
  const int x1 = std::min(x + w, width_), y1 = std::min(y + h, height_);
  for (int yy = y0; yy < y1; ++yy)
    for (int xx = x0; xx < x1; ++xx) {
      uint8_t* p = &rgb_[(static_cast<size_t>(yy) * width_ + xx) * 3];
      p[0] = c.r;
      p[1] = c.g;
      p[2] = c.b;
    }
}

void Canvas::blend_pixel(int x, int y, Rgb c, int coverage) {
  if (x < 0 || y < 0 || x >= width_ || y >= height_ || coverage <= 0) return;
  uint8_t* p = &rgb_[(static_cast<size_t>(y) * width_ + x) * 3];
  const int a = std::min(coverage, 255);
  p[0] = static_cast<uint8_t>((c.r * a + p[0] * (255 - a) + 127) / 255);
  p[1] = static_cast<uint8_t>((c.g * a + p[1] * (255 - a) + 127) / 255);
  p[2] = static_cast<uint8_t>((c.b * a + p[2] * (255 - a) + 127) / 255);
}

void Canvas::blend_rect(int x, int y, int w, int h, Rgb c, float alpha) {
  const int a = static_cast<int>(std::lround(std::clamp(alpha, 0.0f, 1.0f) * 255));
  for (int yy = std::max(y, 0); yy < std::min(y + h, height_); ++yy)
    for (int xx = std::max(x, 0); xx < std::min(x + w, width_); ++xx) blend_pixel(xx, yy, c, a);
}

void Canvas::outline_rect(int x, int y, int w, int h, Rgb c, int t) {
  fill_rect(x, y, w, t, c);
  fill_rect(x, y + h - t, w, t, c);
  fill_rect(x, y, t, h, c);
  fill_rect(x + w - t, y, t, h, c);
}

void Canvas::line(int x0, int y0, int x1, int y1, Rgb c, int t) {
  // Bresenham with a square brush; enough for arrows and box edges.
  const int dx = std::abs(x1 - x0), dy = -std::abs(y1 - y0);
  const int sx = x0 < x1 ? 1 : -1, sy = y0 < y1 ? 1 : -1;
  int err = dx + dy;
  for (;;) {
    fill_rect(x0 - t / 2, y0 - t / 2, t, t, c);
    if (x0 == x1 && y0 == y1) break;
    const int e2 = 2 * err;
    if (e2 >= dy) err += dy, x0 += sx;
    if (e2 <= dx) err += dx, y0 += sy;
  }
}

void Canvas::hatch_rect(int x, int y, int w, int h, Rgb c, int spacing) {
  spacing = std::max(spacing, 2);
  for (int yy = std::max(y, 0); yy < std::min(y + h, height_); ++yy)
    for (int xx = std::max(x, 0); xx < std::min(x + w, width_); ++xx)
      if (((xx - x) + (yy - y)) % spacing == 0) blend_pixel(xx, yy, c, 255);
}

void Canvas::blit_rgb(const uint8_t* src, int src_w, int src_h, int x, int y, int w, int h) {
  for (int yy = std::max(y, 0); yy < std::min(y + h, height_); ++yy) {
    const int sy = std::min(static_cast<int>(static_cast<int64_t>(yy - y) * src_h / h), src_h - 1);
    for (int xx = std::max(x, 0); xx < std::min(x + w, width_); ++xx) {
      const int sx =
          std::min(static_cast<int>(static_cast<int64_t>(xx - x) * src_w / w), src_w - 1);
      const uint8_t* s = src + (static_cast<size_t>(sy) * src_w + sx) * 3;
      uint8_t* p = &rgb_[(static_cast<size_t>(yy) * width_ + xx) * 3];
      p[0] = s[0];
      p[1] = s[1];
      p[2] = s[2];
    }
  }
}

void Canvas::blit_plane(const float* plane, int src_w, int src_h, Colormap map, ValueRange range,
                        int x, int y, int w, int h) {
  const std::vector<uint8_t> rgb = colorize_plane(plane, src_w, src_h, map, range);
  blit_rgb(rgb.data(), src_w, src_h, x, y, w, h);
}

void Canvas::save_png(const std::string& path) const { save_png_rgb(path, width_, height_, rgb_); }

}  // namespace ks::render
