// Vertical colour legends beside kernel heatmaps (see legend.h).
#include "gui/legend.h"

#include <algorithm>
#include <cmath>

#include "gui/widgets.h"

namespace ks::app {

namespace {

bool symmetric_about_zero(ValueRange r) {
  const float m = std::max(std::fabs(r.lo), std::fabs(r.hi));
  return m > 0 && std::fabs(r.lo + r.hi) <= 1e-6f * m;
}

struct LegendText {
  std::string description, hi, lo;
  bool zero = false;  // the range holds 0 strictly inside: mark it
};

LegendText legend_text(Colormap map, ValueRange range) {
  return {scale_description(map, range), short_number(range.hi), short_number(range.lo),
          range.lo < 0 && range.hi > 0};
}

float bar_width() { return ImGui::GetFontSize() * 0.8f; }

float width_of(const LegendText& t, const char* title) {
  const float labels = std::max({ImGui::CalcTextSize(t.hi.c_str()).x,
                                 ImGui::CalcTextSize(t.lo.c_str()).x, ImGui::CalcTextSize("0").x});
  float w = bar_width() + ImGui::GetFontSize() * 0.5f + labels;
  w = std::max(w, ImGui::CalcTextSize(t.description.c_str()).x);
  if (title) w = std::max(w, ImGui::CalcTextSize(title).x);
  return w;
}

// Draws title, description and bar with its labels from `pos`; returns the size taken.
ImVec2 draw_at(ImDrawList* draw, ImVec2 pos, Colormap map, ValueRange range, float bar_height,
               const char* title) {
  const LegendText t = legend_text(map, range);
  const float line = ImGui::GetTextLineHeight();
  const ImU32 text = ImGui::GetColorU32(ImGuiCol_Text);
  const ImU32 dim = ImGui::GetColorU32(ImGuiCol_TextDisabled);
  float y = pos.y;
  if (title) {
    draw->AddText(ImVec2(pos.x, y), dim, title);
    y += line;
  }
  draw->AddText(ImVec2(pos.x, y), text, t.description.c_str());
  y += line + 2;
  // The bar: the top is the maximum, as on every chart axis.
  const float bw = bar_width(), h = std::max(bar_height, line * 2.2f);
  const int segments = 48;
  for (int i = 0; i < segments; ++i) {
    const float y0 = y + h * static_cast<float>(i) / segments;
    const float y1 = y + h * static_cast<float>(i + 1) / segments;
    const ImU32 top = colormap_color(map, 1.0f - static_cast<float>(i) / segments);
    const ImU32 bottom = colormap_color(map, 1.0f - static_cast<float>(i + 1) / segments);
    draw->AddRectFilledMultiColor(ImVec2(pos.x, y0), ImVec2(pos.x + bw, y1), top, top, bottom,
                                  bottom);
  }
  draw->AddRect(ImVec2(pos.x, y), ImVec2(pos.x + bw, y + h), IM_COL32(170, 170, 170, 255));
  const float label_x = pos.x + bw + ImGui::GetFontSize() * 0.5f;
  const auto tick = [&](float at, const std::string& s, float text_y) {
    draw->AddLine(ImVec2(pos.x + bw, at), ImVec2(label_x - 2, at), text, 1.5f);
    draw->AddText(ImVec2(label_x, text_y), text, s.c_str());
  };
  tick(y, t.hi, y - 1);
  tick(y + h, t.lo, y + h - line + 1);
  if (t.zero) {
    const float at = y + h * range.hi / (range.hi - range.lo);
    // Only where it does not run into the ends' numbers: its text is centred on the tick,
    // theirs hang below the top and sit on the bottom (1.1 lines let them overlap).
    if (at - y > line * 1.5f && y + h - at > line * 1.5f) tick(at, "0", at - line * 0.5f);
  }
  return ImVec2(width_of(t, title), y + h - pos.y);
}

}  // namespace

std::string scale_description(Colormap map, ValueRange range) {
  if (map == Colormap::Diverging && symmetric_about_zero(range))
    return "symmetric \u00b1" + short_number(range.hi);
  const std::string span = short_number(range.lo) + ".." + short_number(range.hi);
  if (map == Colormap::Viridis) return "sequential " + span;
  if (map == Colormap::Grey) return "grey " + span;
  return "diverging " + span;
}

float vertical_legend_width(Colormap map, ValueRange range, const char* title) {
  return width_of(legend_text(map, range), title);
}

float vertical_legend(Colormap map, ValueRange range, float bar_height, const char* title) {
  const ImVec2 size = draw_at(ImGui::GetWindowDrawList(), ImGui::GetCursorScreenPos(), map, range,
                              bar_height, title);
  ImGui::Dummy(size);
  return size.x;
}

ImVec2 overlay_legend(ImDrawList* draw, ImVec2 pos, Colormap map, ValueRange range,
                      float bar_height, const char* title) {
  // Measure first (drawing into a scratch list is not worth it: the size is known).
  const LegendText t = legend_text(map, range);
  const float line = ImGui::GetTextLineHeight();
  const float pad = ImGui::GetFontSize() * 0.4f;
  const ImVec2 size(width_of(t, title),
                    (title ? line : 0) + line + 2 + std::max(bar_height, line * 2.2f));
  draw->AddRectFilled(ImVec2(pos.x - pad, pos.y - pad),
                      ImVec2(pos.x + size.x + pad, pos.y + size.y + pad), IM_COL32(10, 12, 16, 215),
                      4.0f);
  draw_at(draw, pos, map, range, bar_height, title);
  return ImVec2(size.x + 2 * pad, size.y + 2 * pad);
}

}  // namespace ks::app
