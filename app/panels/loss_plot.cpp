// The Learn panel's loss plot (loss_plot.h).
#include "panels/loss_plot.h"

#include <algorithm>
#include <cmath>
#include <cstdio>

namespace ks::app {

namespace {

bool plottable(double loss) { return std::isfinite(loss) && loss > 0; }

}  // namespace

void draw_loss_plot(const std::vector<PlotCurve>& curves, double x_max, ImVec2 size) {
  ImDrawList* draw = ImGui::GetWindowDrawList();
  const ImVec2 origin = ImGui::GetCursorScreenPos();
  ImGui::InvisibleButton("##loss-plot", size);
  const bool hovered = ImGui::IsItemHovered();
  const float font = ImGui::GetFontSize();
  // Room for the axis labels on the left and the step labels below.
  const ImVec2 p0(origin.x + font * 3.2f, origin.y + font * 0.4f);
  const ImVec2 p1(origin.x + size.x - font * 0.4f, origin.y + size.y - font * 1.4f);
  if (p1.x - p0.x < 20 || p1.y - p0.y < 20) return;
  draw->AddRectFilled(p0, p1, IM_COL32(20, 22, 26, 255));
  draw->AddRect(p0, p1, IM_COL32(90, 90, 100, 255));

  double lo = INFINITY, hi = -INFINITY;
  size_t longest = 0;
  for (const PlotCurve& c : curves) {
    longest = std::max(longest, c.losses->size());
    for (double v : *c.losses)
      if (plottable(v)) {
        lo = std::min(lo, std::log10(v));
        hi = std::max(hi, std::log10(v));
      }
  }
  if (!(lo <= hi)) {
    const char* empty = "the loss curve appears here once learning starts";
    const ImVec2 text = ImGui::CalcTextSize(empty);
    draw->AddText(ImVec2((p0.x + p1.x - text.x) / 2, (p0.y + p1.y - text.y) / 2),
                  IM_COL32(150, 150, 150, 255), empty);
    return;
  }
  // Whole decades, so the grid lines fall on 1e-k.
  lo = std::floor(lo);
  hi = std::max(std::ceil(hi), lo + 1);
  const double steps = std::max({x_max, static_cast<double>(longest) - 1, 1.0});
  const auto to_x = [&](double step) {
    return static_cast<float>(p0.x + (p1.x - p0.x) * step / steps);
  };
  const auto to_y = [&](double log_loss) {
    return static_cast<float>(p1.y - (p1.y - p0.y) * (log_loss - lo) / (hi - lo));
  };

  // Decade lines, labelled with the real loss; every other one when they crowd.
  const int decades = static_cast<int>(hi - lo);
  const int label_every = (p1.y - p0.y) / decades < font * 1.2f ? 2 : 1;
  char text[32];
  for (int d = 0; d <= decades; ++d) {
    const float y = to_y(lo + d);
    draw->AddLine(ImVec2(p0.x, y), ImVec2(p1.x, y), IM_COL32(60, 62, 70, 255));
    if (d % label_every != 0) continue;
    std::snprintf(text, sizeof text, "1e%d", static_cast<int>(lo) + d);
    const ImVec2 t = ImGui::CalcTextSize(text);
    draw->AddText(ImVec2(p0.x - t.x - font * 0.3f, y - t.y / 2), IM_COL32(170, 170, 170, 255),
                  text);
  }
  for (double step : {0.0, steps / 2, steps}) {
    std::snprintf(text, sizeof text, "%.0f", step);
    const ImVec2 t = ImGui::CalcTextSize(text);
    const float x = std::clamp(to_x(step) - t.x / 2, p0.x, p1.x - t.x);
    draw->AddText(ImVec2(x, p1.y + font * 0.15f), IM_COL32(170, 170, 170, 255), text);
  }

  // One point per pixel column at most: a long run stays cheap to draw.
  const float width = p1.x - p0.x;
  for (const PlotCurve& c : curves) {
    const std::vector<double>& v = *c.losses;
    std::vector<ImVec2> points;
    const size_t stride = std::max<size_t>(1, static_cast<size_t>(v.size() / width));
    for (size_t t = 0; t < v.size(); t += stride)
      if (plottable(v[t])) points.emplace_back(to_x(t), to_y(std::log10(v[t])));
    if (!v.empty() && plottable(v.back()))
      points.emplace_back(to_x(v.size() - 1), to_y(std::log10(v.back())));
    if (points.size() >= 2)
      draw->AddPolyline(points.data(), static_cast<int>(points.size()), c.colour, 0, 2.0f);
    else if (points.size() == 1)
      draw->AddCircleFilled(points[0], 3.0f, c.colour);
  }

  // Legend, top right: each curve's colour, name and latest loss.
  float ly = p0.y + font * 0.3f;
  for (const PlotCurve& c : curves) {
    const double last = c.losses->empty() ? NAN : c.losses->back();
    std::snprintf(text, sizeof text, "%s  %.3g", c.label, last);
    const ImVec2 t = ImGui::CalcTextSize(text);
    const float lx = p1.x - t.x - font * 2.0f;
    draw->AddRectFilled(ImVec2(lx - font * 0.3f, ly - 1), ImVec2(p1.x - font * 0.2f, ly + t.y + 1),
                        IM_COL32(20, 22, 26, 220));
    draw->AddLine(ImVec2(lx, ly + t.y / 2), ImVec2(lx + font * 1.2f, ly + t.y / 2), c.colour, 3);
    draw->AddText(ImVec2(lx + font * 1.5f, ly), IM_COL32(220, 220, 220, 255), text);
    ly += t.y + 2;
  }

  if (hovered) {
    const double step = std::round((ImGui::GetIO().MousePos.x - p0.x) / width * steps);
    if (step >= 0 && step <= steps) {
      draw->AddLine(ImVec2(to_x(step), p0.y), ImVec2(to_x(step), p1.y),
                    IM_COL32(200, 200, 200, 120));
      ImGui::BeginTooltip();
      ImGui::Text("step %.0f", step);
      for (const PlotCurve& c : curves) {
        const size_t t = static_cast<size_t>(step);
        if (t < c.losses->size()) ImGui::Text("%s loss %.6g", c.label, (*c.losses)[t]);
      }
      ImGui::EndTooltip();
    }
  }
}

}  // namespace ks::app
