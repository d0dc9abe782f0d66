// Shared drawing helpers for the panels.
#include "gui/widgets.h"

#include <cmath>
#include <cstdio>

namespace ks::app {

ImU32 colormap_color(Colormap map, float t) {
  const auto rgb = colormap_rgb(map, t);
  return IM_COL32(rgb[0], rgb[1], rgb[2], 255);
}

void draw_legend(Colormap map, ValueRange range, float width, const char* label) {
  ImDrawList* draw = ImGui::GetWindowDrawList();
  const float h = ImGui::GetTextLineHeight() * 0.8f;
  const ImVec2 p = ImGui::GetCursorScreenPos();
  const int segments = 32;
  for (int i = 0; i < segments; ++i) {
    const float x0 = p.x + width * static_cast<float>(i) / segments;
    const float x1 = p.x + width * static_cast<float>(i + 1) / segments;
    draw->AddRectFilledMultiColor(ImVec2(x0, p.y), ImVec2(x1, p.y + h),
                                  colormap_color(map, static_cast<float>(i) / segments),
                                  colormap_color(map, static_cast<float>(i + 1) / segments),
                                  colormap_color(map, static_cast<float>(i + 1) / segments),
                                  colormap_color(map, static_cast<float>(i) / segments));
  }
  draw->AddRect(p, ImVec2(p.x + width, p.y + h), IM_COL32(160, 160, 160, 255));
  // The numbers go under the bar's ends, the label under its middle.
  const std::string lo = short_number(range.lo), hi = short_number(range.hi);
  const float ty = p.y + h + 2;
  const ImU32 text = ImGui::GetColorU32(ImGuiCol_Text);
  draw->AddText(ImVec2(p.x, ty), text, lo.c_str());
  draw->AddText(ImVec2(p.x + width - ImGui::CalcTextSize(hi.c_str()).x, ty), text, hi.c_str());
  const float needed = ImGui::CalcTextSize(lo.c_str()).x + ImGui::CalcTextSize(hi.c_str()).x +
                       (label ? ImGui::CalcTextSize(label).x : 0) + 16;
  if (label && needed < width)  // the label only where it does not collide with the numbers
    draw->AddText(ImVec2(p.x + 0.5f * (width - ImGui::CalcTextSize(label).x), ty),
                  ImGui::GetColorU32(ImGuiCol_TextDisabled), label);
  ImGui::Dummy(ImVec2(width, h + 2 + ImGui::GetTextLineHeight()));
}

std::string short_number(float v) {
  char buf[32];
  const float a = std::fabs(v);
  if (!std::isfinite(v))
    std::snprintf(buf, sizeof buf, "%s", std::isnan(v) ? "nan" : (v > 0 ? "inf" : "-inf"));
  else if (a != 0 && (a < 0.01f || a >= 1000))
    std::snprintf(buf, sizeof buf, "%.1e", static_cast<double>(v));
  else
    std::snprintf(buf, sizeof buf, "%.2f", static_cast<double>(v));
  return buf;
}

int draw_kernel_heatmap(ImDrawList* draw, ImVec2 pos, float cell, int k, const float* values,
                        float abs_max, bool print_values) {
  const ImVec2 mouse = ImGui::GetIO().MousePos;
  int hovered = -1;
  const float scale = abs_max > 0 ? abs_max : 1.0f;
  for (int y = 0; y < k; ++y)
    for (int x = 0; x < k; ++x) {
      const float v = values[y * k + x];
      const ImVec2 a(pos.x + x * cell, pos.y + y * cell), b(a.x + cell, a.y + cell);
      draw->AddRectFilled(a, b, colormap_color(Colormap::Diverging, 0.5f + 0.5f * v / scale));
      if (mouse.x >= a.x && mouse.x < b.x && mouse.y >= a.y && mouse.y < b.y &&
          ImGui::IsWindowHovered())
        hovered = y * k + x;
      if (print_values) {
        const std::string s = short_number(v);
        const ImVec2 size = ImGui::CalcTextSize(s.c_str());
        if (size.x < cell - 2)
          draw->AddText(ImVec2(a.x + (cell - size.x) * 0.5f, a.y + (cell - size.y) * 0.5f),
                        IM_COL32(255, 255, 255, 230), s.c_str());
      }
    }
  draw->AddRect(pos, ImVec2(pos.x + k * cell, pos.y + k * cell), IM_COL32(90, 90, 90, 255));
  if (hovered >= 0) {
    const ImVec2 a(pos.x + (hovered % k) * cell, pos.y + (hovered / k) * cell);
    draw->AddRect(a, ImVec2(a.x + cell, a.y + cell), IM_COL32(255, 255, 0, 255));
  }
  return hovered;
}

void same_line_if_room(float item_width) {
  ImGui::SameLine();
  if (ImGui::GetContentRegionAvail().x < item_width) ImGui::NewLine();
}

void same_line_if_fits(const char* label) {
  const ImGuiStyle& style = ImGui::GetStyle();
  const float width = ImGui::CalcTextSize(label).x + style.FramePadding.x * 2 +
                      style.ItemSpacing.x + ImGui::GetFrameHeight();  // room for a checkbox square
  ImGui::SameLine();
  if (ImGui::GetContentRegionAvail().x < width) ImGui::NewLine();
}

void section(const char* title) {
  ImGui::Spacing();
  ImGui::PushStyleColor(ImGuiCol_Text, ImVec4(0.55f, 0.75f, 1.0f, 1.0f));
  ImGui::TextUnformatted(title);
  ImGui::PopStyleColor();
  ImGui::Separator();
}

void tooltip(const char* text) {
  if (ImGui::IsItemHovered()) ImGui::SetTooltip("%s", text);
}

void help_marker(const char* text) {
  ImGui::SameLine();
  ImGui::TextDisabled("(?)");
  if (ImGui::IsItemHovered()) {
    ImGui::BeginTooltip();
    ImGui::TextUnformatted(text);
    ImGui::EndTooltip();
  }
}

}  // namespace ks::app
