// The presentation layout (see presentation_layout.h).
//
//   step-through off:                      step-through on (F2):
//   +-----------+-----------+-----------+  +-----------+-------------------------+
//   |           |  Input    | Feature   |  |  Input    |  Step-through: result,  |
//   | Parameters|           | maps      |  |           |  generation chain, then |
//   |           +-----------+-----------+  +-----------+  the K x K tables (the  |
//   |           |  Kernels              |  | Feature   |  full height: K = 7     |
//   |           |                       |  | maps      |  tables wrap)           |
//   +-----------+-----------------------+  +-----------+-------------------------+
//   [ demo caption band, only in demo mode, under everything ]
#include "gui/presentation_layout.h"

#include <imgui.h>

#include <algorithm>
#include <cmath>

#include "panels/panels.h"

namespace ks::app {

namespace {

// Height of the demo caption band: the scene title in the large font, two lines of caption
// and the row of demo buttons.
float caption_band_height(const AppState& app) {
  const ImGuiStyle& style = ImGui::GetStyle();
  const float title = app.view.big_font ? app.view.big_font->FontSize : ImGui::GetFontSize() * 2;
  return title + 2 * ImGui::GetTextLineHeightWithSpacing() + ImGui::GetFrameHeightWithSpacing() +
         2 * style.WindowPadding.y + 2 * style.ItemSpacing.y + 4;
}

}  // namespace

float effective_ui_scale(const AppState& app) {
  if (!app.view.presentation) return app.view.settings.ui_scale;
  return std::max(app.view.settings.ui_scale, kPresentationFontPx / kBaseFontPx);
}

std::vector<PanelRect> draw_presentation_layout(AppState& app, float top) {
  const ImVec2 display = ImGui::GetIO().DisplaySize;
  const float font = ImGui::GetFontSize();
  const float W = display.x;
  const float band = app.demo.active ? caption_band_height(app) : 0.0f;
  const float H = std::max(display.y - top - band, 100.0f);
  constexpr ImGuiWindowFlags kCanvas =
      ImGuiWindowFlags_NoScrollbar | ImGuiWindowFlags_NoScrollWithMouse;

  std::vector<PanelRect> rects;
  if (app.view.step.active) {
    // The step-through gets the full height: its result line and chain come first and
    // stay in view, and the K x K tables (which wrap at large K) have room below them. The
    // input and the maps it explains are stacked on its left.
    const float left = std::floor(W * 0.32f);
    const float half = std::floor(H * 0.5f);
    draw_panel("Input", ImVec2(0, top), ImVec2(left, half), draw_input_panel, app, &rects, kCanvas);
    draw_panel("Feature maps", ImVec2(0, top + half), ImVec2(left, H - half),
               draw_feature_maps_panel, app, &rects);
    draw_panel("Step-through", ImVec2(left, top), ImVec2(W - left, H), draw_step_through_panel, app,
               &rects);
  } else {
    // Parameters as narrow as its widgets allow; the rest for the pictures.
    const float left = std::floor(std::clamp(W * 0.2f, std::min(font * 17, W * 0.3f), W * 0.3f));
    const float rest = W - left, half = std::floor(rest * 0.5f);
    const float top_h = std::floor(H * 0.58f);
    draw_panel("Parameters", ImVec2(0, top), ImVec2(left, H), draw_parameters_panel, app, &rects);
    draw_panel("Input", ImVec2(left, top), ImVec2(half, top_h), draw_input_panel, app, &rects,
               kCanvas);
    draw_panel("Feature maps", ImVec2(left + half, top), ImVec2(rest - half, top_h),
               draw_feature_maps_panel, app, &rects);
    draw_panel("Kernels", ImVec2(left, top + top_h), ImVec2(rest, H - top_h), draw_kernels_panel,
               app, &rects);
  }
  if (band > 0) {
    // draw_demo_overlay fills this band instead of floating over the panels.
    app.view.caption_band[0] = 0;
    app.view.caption_band[1] = top + H;
    app.view.caption_band[2] = W;
    app.view.caption_band[3] = band;
    rects.push_back({"Caption", 0, top + H, W, band});
  }
  return rects;
}

}  // namespace ks::app
