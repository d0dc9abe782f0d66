// Export figures (see figure.h): text and legends on render::Canvas with render::Font.
#include "gui/figure.h"

#include <algorithm>
#include <cmath>
#include <memory>
#include <mutex>

#include "gui/legend.h"
#include "gui/widgets.h"
#include "render/font.h"

namespace ks::app {

namespace {

constexpr uint8_t kBackground = 24;

// Loaded once; nullptr where the font is missing (the figures then carry no text). Used on
// the UI thread only: render::Font's glyph cache is not thread-safe.
const render::Font* figure_font() {
  static std::unique_ptr<render::Font> font;
  static std::once_flag once;
  std::call_once(once, [] {
    try {
      font = std::make_unique<render::Font>();
    } catch (const std::exception&) {
    }
  });
  return font.get();
}

render::Rgb grey_rgb(uint8_t grey) { return {grey, grey, grey}; }

}  // namespace

Canvas figure_canvas(int width, int height) { return Canvas(width, height, grey_rgb(kBackground)); }

int text_width(const std::string& s, float pixel_height) {
  const render::Font* font = figure_font();
  return font ? font->text_width(s, pixel_height) : 0;
}

int draw_text(Canvas& c, const std::string& s, int x, int y, float pixel_height, uint8_t grey) {
  const render::Font* font = figure_font();
  if (!font) return 0;
  font->draw(c, x, y, s, pixel_height, grey_rgb(grey));
  return font->text_width(s, pixel_height);
}

void draw_legend(Canvas& c, Colormap map, ValueRange range, int x, int y, int w,
                 const std::string& label) {
  const int h = 14;
  for (int i = 0; i < w; ++i) {
    const auto rgb = colormap_rgb(map, static_cast<float>(i) / std::max(1, w - 1));
    c.fill_rect(x + i, y, 1, h, {rgb[0], rgb[1], rgb[2]});
  }
  const float size = 14;
  const std::string lo = short_number(range.lo), hi = short_number(range.hi);
  draw_text(c, lo, x, y + h + 3, size);
  draw_text(c, hi, x + w - text_width(hi, size), y + h + 3, size);
  draw_text(c, label, x + (w - text_width(label, size)) / 2, y + h + 3, size, 170);
}

int draw_vertical_legend(Canvas& c, Colormap map, ValueRange range, int x, int y, int bar_height,
                         const std::string& title) {
  const float size = 14;
  const int line = 18, bar_w = 14, gap = 6;
  const std::string description = scale_description(map, range);
  int width = std::max(text_width(title, size), text_width(description, size));
  draw_text(c, title, x, y, size, 170);
  draw_text(c, description, x, y + line, size, 230);
  const int top = y + 2 * line + 6, h = std::max(bar_height, 3 * line);
  for (int i = 0; i < h; ++i) {  // the maximum at the top
    const auto rgb = colormap_rgb(map, 1.0f - static_cast<float>(i) / std::max(1, h - 1));
    c.fill_rect(x, top + i, bar_w, 1, {rgb[0], rgb[1], rgb[2]});
  }
  const int label_x = x + bar_w + gap;
  const auto tick = [&](int at, const std::string& s) {
    c.fill_rect(x + bar_w, at, gap - 2, 1, grey_rgb(230));
    draw_text(c, s, label_x, std::clamp(at - line / 2, top - line / 2, top + h - line + 2), size,
              230);
    width = std::max(width, label_x - x + text_width(s, size));
  };
  tick(top, short_number(range.hi));
  tick(top + h - 1, short_number(range.lo));
  if (range.lo < 0 && range.hi > 0) {
    const int at = top + static_cast<int>(std::lround(h * range.hi / (range.hi - range.lo)));
    if (at - top > line && top + h - at > line) tick(at, "0");
  }
  return width;
}

int vertical_legend_height(int bar_height) { return 2 * 18 + 6 + std::max(bar_height, 3 * 18); }

int figure_legend_width(Colormap map, ValueRange range, const std::string& title) {
  const float size = 14;
  const int numbers = std::max({text_width(short_number(range.hi), size),
                                text_width(short_number(range.lo), size), text_width("0", size)});
  return std::max(
      {text_width(title, size), text_width(scale_description(map, range), size), 14 + 6 + numbers});
}

}  // namespace ks::app
