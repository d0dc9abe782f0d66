// Export figures (see figure.h). The font is loaded once from the Debian DejaVu package.
#include "gui/figure.h"

#include <stb_truetype.h>

#include <algorithm>
#include <cmath>
#include <fstream>
#include <iterator>
#include <mutex>

#include "gui/legend.h"
#include "gui/widgets.h"

namespace ks::app {

namespace {

struct Font {
  std::vector<unsigned char> data;
  stbtt_fontinfo info{};
  bool ok = false;
};

const Font& font() {
  static Font f;
  static std::once_flag once;
  std::call_once(once, [] {
    std::ifstream in("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf", std::ios::binary);
    if (!in) return;
    f.data.assign(std::istreambuf_iterator<char>(in), {});
    f.ok =
        stbtt_InitFont(&f.info, f.data.data(), stbtt_GetFontOffsetForIndex(f.data.data(), 0)) != 0;
  });
  return f;
}

// The code points of a UTF-8 string ("±" in the legends is two bytes); a malformed byte is
// taken as Latin-1, as before.
std::vector<int> code_points(const std::string& s) {
  std::vector<int> out;
  for (size_t i = 0; i < s.size();) {
    const unsigned char c = static_cast<unsigned char>(s[i]);
    const int extra = c >= 0xF0 ? 3 : c >= 0xE0 ? 2 : c >= 0xC0 ? 1 : 0;
    int cp = extra ? c & (0x3F >> extra) : c;
    bool ok = i + extra < s.size() + (extra ? 0 : 1);
    for (int k = 1; ok && k <= extra; ++k) {
      const unsigned char next = static_cast<unsigned char>(s[i + k]);
      ok = (next & 0xC0) == 0x80;
      cp = (cp << 6) | (next & 0x3F);
    }
    if (!ok) {
      out.push_back(c);
      ++i;
      continue;
    }
    out.push_back(cp);
    i += static_cast<size_t>(extra) + 1;
  }
  return out;
}

}  // namespace

Canvas::Canvas(int w, int h, uint8_t grey)
    : width(w), height(h), rgb(static_cast<size_t>(w) * h * 3, grey) {}

void Canvas::fill(int x, int y, int w, int h, uint8_t r, uint8_t g, uint8_t b) {
  for (int yy = std::max(0, y); yy < std::min(height, y + h); ++yy)
    for (int xx = std::max(0, x); xx < std::min(width, x + w); ++xx) {
      uint8_t* p = &rgb[(static_cast<size_t>(yy) * width + xx) * 3];
      p[0] = r;
      p[1] = g;
      p[2] = b;
    }
}

void Canvas::blit(const std::vector<uint8_t>& src, int w, int h, int x, int y, int scale) {
  for (int sy = 0; sy < h * scale; ++sy) {
    const int yy = y + sy;
    if (yy < 0 || yy >= height) continue;
    for (int sx = 0; sx < w * scale; ++sx) {
      const int xx = x + sx;
      if (xx < 0 || xx >= width) continue;
      const uint8_t* s = &src[(static_cast<size_t>(sy / scale) * w + sx / scale) * 3];
      uint8_t* d = &rgb[(static_cast<size_t>(yy) * width + xx) * 3];
      d[0] = s[0];
      d[1] = s[1];
      d[2] = s[2];
    }
  }
}

int text_width(const std::string& s, float pixel_height) {
  const Font& f = font();
  if (!f.ok) return 0;
  const float scale = stbtt_ScaleForPixelHeight(&f.info, pixel_height);
  float x = 0;
  for (const int c : code_points(s)) {
    int advance = 0, lsb = 0;
    stbtt_GetCodepointHMetrics(&f.info, c, &advance, &lsb);
    x += advance * scale;
  }
  return static_cast<int>(std::ceil(x));
}

int Canvas::text(const std::string& s, int x, int y, float pixel_height, uint8_t grey) {
  const Font& f = font();
  if (!f.ok) return 0;
  const float scale = stbtt_ScaleForPixelHeight(&f.info, pixel_height);
  int ascent = 0, descent = 0, gap = 0;
  stbtt_GetFontVMetrics(&f.info, &ascent, &descent, &gap);
  const int baseline = y + static_cast<int>(std::lround(ascent * scale));
  float pen = static_cast<float>(x);
  for (const int c : code_points(s)) {
    int advance = 0, lsb = 0, x0 = 0, y0 = 0, x1 = 0, y1 = 0;
    stbtt_GetCodepointHMetrics(&f.info, c, &advance, &lsb);
    stbtt_GetCodepointBitmapBox(&f.info, c, scale, scale, &x0, &y0, &x1, &y1);
    const int gw = x1 - x0, gh = y1 - y0;
    if (gw > 0 && gh > 0) {
      std::vector<unsigned char> glyph(static_cast<size_t>(gw) * gh);
      stbtt_MakeCodepointBitmap(&f.info, glyph.data(), gw, gh, gw, scale, scale, c);
      const int ox = static_cast<int>(pen) + x0, oy = baseline + y0;
      for (int gy = 0; gy < gh; ++gy)
        for (int gx = 0; gx < gw; ++gx) {
          const int px = ox + gx, py = oy + gy;
          if (px < 0 || py < 0 || px >= width || py >= height) continue;
          const float a = glyph[static_cast<size_t>(gy) * gw + gx] / 255.0f;
          uint8_t* d = &rgb[(static_cast<size_t>(py) * width + px) * 3];
          for (int k = 0; k < 3; ++k)
            d[k] = static_cast<uint8_t>(std::lround(d[k] * (1 - a) + grey * a));
        }
    }
    pen += advance * scale;
  }
  return static_cast<int>(pen) - x;
}

void Canvas::legend(Colormap map, ValueRange range, int x, int y, int w, const std::string& label) {
  const int h = 14;
  for (int i = 0; i < w; ++i) {
    const auto c = colormap_rgb(map, static_cast<float>(i) / std::max(1, w - 1));
    fill(x + i, y, 1, h, c[0], c[1], c[2]);
  }
  const float size = 14;
  const std::string lo = short_number(range.lo), hi = short_number(range.hi);
  text(lo, x, y + h + 3, size);
  text(hi, x + w - text_width(hi, size), y + h + 3, size);
  text(label, x + (w - text_width(label, size)) / 2, y + h + 3, size, 170);
}

}  // namespace ks::app

namespace ks::app {

int Canvas::vertical_legend(Colormap map, ValueRange range, int x, int y, int bar_height,
                            const std::string& title) {
  const float size = 14;
  const int line = 18, bar_w = 14, gap = 6;
  const std::string description = scale_description(map, range);
  int width = std::max(text_width(title, size), text_width(description, size));
  text(title, x, y, size, 170);
  text(description, x, y + line, size, 230);
  const int top = y + 2 * line + 6, h = std::max(bar_height, 3 * line);
  for (int i = 0; i < h; ++i) {  // the maximum at the top
    const auto c = colormap_rgb(map, 1.0f - static_cast<float>(i) / std::max(1, h - 1));
    fill(x, top + i, bar_w, 1, c[0], c[1], c[2]);
  }
  const int label_x = x + bar_w + gap;
  const auto tick = [&](int at, const std::string& s) {
    fill(x + bar_w, at, gap - 2, 1, 230, 230, 230);
    text(s, label_x, std::clamp(at - line / 2, top - line / 2, top + h - line + 2), size, 230);
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
