// Anti-aliased text on a Canvas with stb_truetype (Debian's libstb) and a TrueType font,
// DejaVu Sans by default, so frames carry numbers and captions without a GUI.
#pragma once

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "render/canvas.h"

namespace ks::render {

class Font {
 public:
  // Throws ks::Error naming the file (and the package that ships it) when it is missing.
  explicit Font(const std::string& path = default_font_path());
  ~Font();
  Font(const Font&) = delete;
  Font& operator=(const Font&) = delete;

  // /usr/share/fonts/truetype/dejavu/DejaVuSans.ttf (fonts-dejavu-core).
  static std::string default_font_path();

  // UTF-8 text; px is the pixel height of the em. y is the top of the line box.
  int text_width(const std::string& utf8, float px) const;
  int line_height(float px) const;
  void draw(Canvas& canvas, int x, int y, const std::string& utf8, float px, Rgb colour) const;
  // Breaks text at spaces to fit max_width; returns the lines.
  std::vector<std::string> wrap(const std::string& utf8, float px, int max_width) const;

 private:
  struct Glyph;
  const Glyph& glyph(int codepoint, float px) const;

  struct Impl;
  std::unique_ptr<Impl> impl_;
  mutable std::map<std::pair<int, int>, std::unique_ptr<Glyph>> cache_;  // not thread-safe
};

}  // namespace ks::render
