// TrueType rendering through stb_truetype; glyph bitmaps are cached per (codepoint, size).
#include "render/font.h"

#include <stb_truetype.h>

#include <cmath>
#include <filesystem>

#include "kernelscope/error.h"
#include "kernelscope/io.h"

namespace ks::render {
namespace {

// Decodes one UTF-8 sequence at s[i], advancing i; invalid bytes become '?'.
int next_codepoint(const std::string& s, size_t& i) {
  const auto b = static_cast<unsigned char>(s[i++]);
  int extra = b >= 0xF0 ? 3 : b >= 0xE0 ? 2 : b >= 0xC0 ? 1 : 0;
  if (b >= 0x80 && extra == 0) return '?';
  int cp = extra == 3 ? b & 0x07 : extra == 2 ? b & 0x0F : extra == 1 ? b & 0x1F : b;
  for (; extra > 0; --extra) {
    if (i >= s.size() || (static_cast<unsigned char>(s[i]) & 0xC0) != 0x80) return '?';
    cp = (cp << 6) | (static_cast<unsigned char>(s[i++]) & 0x3F);
  }
  return cp;
}

}  // namespace

struct Font::Impl {
  std::vector<uint8_t> data;
  stbtt_fontinfo info{};
  int ascent = 0, descent = 0, line_gap = 0;
};

struct Font::Glyph {
  int advance = 0;  // 1/64 pixel, so runs of digits do not drift
  int x0 = 0, y0 = 0, w = 0, h = 0;
  std::vector<uint8_t> coverage;
};

std::string Font::default_font_path() { return "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"; }

Font::Font(const std::string& path) : impl_(std::make_unique<Impl>()) {
  if (!std::filesystem::exists(path))
    throw Error("font " + path + " not found (install fonts-dejavu-core: apt-get install " +
                "fonts-dejavu-core)");
  impl_->data = read_file_bytes(path, int64_t{64} << 20);
  const int offset = stbtt_GetFontOffsetForIndex(impl_->data.data(), 0);
  if (offset < 0 || !stbtt_InitFont(&impl_->info, impl_->data.data(), offset))
    throw Error("font " + path + " is not a TrueType font stb_truetype can read");
  stbtt_GetFontVMetrics(&impl_->info, &impl_->ascent, &impl_->descent, &impl_->line_gap);
}

Font::~Font() = default;

const Font::Glyph& Font::glyph(int cp, float px) const {
  const auto key = std::make_pair(cp, static_cast<int>(std::lround(px * 4)));
  auto it = cache_.find(key);
  if (it != cache_.end()) return *it->second;
  auto g = std::make_unique<Glyph>();
  const float scale = stbtt_ScaleForPixelHeight(&impl_->info, px);
  int advance = 0, lsb = 0;
  stbtt_GetCodepointHMetrics(&impl_->info, cp, &advance, &lsb);
  g->advance = static_cast<int>(std::lround(advance * scale * 64));
  int x1 = 0, y1 = 0;
  stbtt_GetCodepointBitmapBox(&impl_->info, cp, scale, scale, &g->x0, &g->y0, &x1, &y1);
  g->w = x1 - g->x0;
  g->h = y1 - g->y0;
  if (g->w > 0 && g->h > 0) {
    g->coverage.resize(static_cast<size_t>(g->w) * g->h);
    stbtt_MakeCodepointBitmap(&impl_->info, g->coverage.data(), g->w, g->h, g->w, scale, scale, cp);
  }
  return *cache_.emplace(key, std::move(g)).first->second;
}

int Font::line_height(float px) const {
  const float scale = stbtt_ScaleForPixelHeight(&impl_->info, px);
  return static_cast<int>(std::ceil((impl_->ascent - impl_->descent + impl_->line_gap) * scale));
}

int Font::text_width(const std::string& s, float px) const {
  int width64 = 0;
  for (size_t i = 0; i < s.size();) width64 += glyph(next_codepoint(s, i), px).advance;
  return (width64 + 63) / 64;
}

void Font::draw(Canvas& canvas, int x, int y, const std::string& s, float px, Rgb colour) const {
  const float scale = stbtt_ScaleForPixelHeight(&impl_->info, px);
  const int baseline = y + static_cast<int>(std::lround(impl_->ascent * scale));
  int pen64 = x * 64;
  for (size_t i = 0; i < s.size();) {
    const Glyph& g = glyph(next_codepoint(s, i), px);
    const int gx = pen64 / 64 + g.x0, gy = baseline + g.y0;
    for (int yy = 0; yy < g.h; ++yy)
      for (int xx = 0; xx < g.w; ++xx)
        canvas.blend_pixel(gx + xx, gy + yy, colour,
                           g.coverage[static_cast<size_t>(yy * g.w + xx)]);
    pen64 += g.advance;
  }
}

std::vector<std::string> Font::wrap(const std::string& s, float px, int max_width) const {
  std::vector<std::string> lines;
  std::string line, word;
  auto flush_word = [&] {
    if (word.empty()) return;
    const std::string candidate = line.empty() ? word : line + " " + word;
    if (!line.empty() && text_width(candidate, px) > max_width) {
      lines.push_back(line);
      line = word;
    } else {
      line = candidate;
    }
    word.clear();
  };
  for (char c : s) {
    if (c == ' ' || c == '\n') {
      flush_word();
      if (c == '\n') lines.push_back(line), line.clear();
    } else {
      word += c;
    }
  }
  flush_word();
  if (!line.empty()) lines.push_back(line);
  return lines;
}

}  // namespace ks::render
