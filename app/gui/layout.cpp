// Panel grid: Parameters on the left; Input over Kernels in the middle; Feature maps over
// Timing on the right. The fractions persist in the session.
#include "gui/layout.h"

#include <imgui.h>

#include <algorithm>

#include "gui/presentation_layout.h"
#include "panels/learn_panel.h"
#include "panels/panels.h"

namespace ks::app {

namespace {

// The panels tile the window and never overlap, so they draw no background of their own:
// the frame is cleared to the same colour (draw_frame). Under software OpenGL filling their
// backgrounds, most of the window, took 9 of a frame's 22 ms.
constexpr ImGuiWindowFlags kPanelFlags =
    ImGuiWindowFlags_NoMove | ImGuiWindowFlags_NoResize | ImGuiWindowFlags_NoCollapse |
    ImGuiWindowFlags_NoBringToFrontOnFocus | ImGuiWindowFlags_NoSavedSettings |
    ImGuiWindowFlags_NoBackground;

void panel(const char* title, ImVec2 pos, ImVec2 size, void (*draw)(AppState&), AppState& app,
           std::vector<PanelRect>* rects, ImGuiWindowFlags extra = 0) {
  draw_panel(title, pos, size, draw, app, rects, extra);
}

// An invisible strip over the gap between panels; dragging it moves the gap. Returns the
// drag distance along the axis this frame.
float splitter(const char* id, ImVec2 pos, ImVec2 size, bool vertical) {
  ImGui::SetNextWindowPos(pos);
  ImGui::SetNextWindowSize(size);
  ImGui::PushStyleVar(ImGuiStyleVar_WindowPadding, ImVec2(0, 0));
  ImGui::PushStyleVar(ImGuiStyleVar_WindowMinSize, ImVec2(1, 1));
  float delta = 0;
  ImGui::Begin(id, nullptr,
               ImGuiWindowFlags_NoDecoration | ImGuiWindowFlags_NoBackground |
                   ImGuiWindowFlags_NoSavedSettings | ImGuiWindowFlags_NoMove |
                   ImGuiWindowFlags_NoFocusOnAppearing);
  ImGui::InvisibleButton("split", size);
  if (ImGui::IsItemHovered() || ImGui::IsItemActive())
    ImGui::SetMouseCursor(vertical ? ImGuiMouseCursor_ResizeEW : ImGuiMouseCursor_ResizeNS);
  if (ImGui::IsItemActive())
    delta = vertical ? ImGui::GetIO().MouseDelta.x : ImGui::GetIO().MouseDelta.y;
  ImGui::End();
  ImGui::PopStyleVar(2);
  return delta;
}

}  // namespace

void draw_panel(const char* title, ImVec2 pos, ImVec2 size, void (*draw)(AppState&), AppState& app,
                std::vector<PanelRect>* rects, ImGuiWindowFlags extra) {
  ImGui::SetNextWindowPos(pos);
  ImGui::SetNextWindowSize(size);
  if (ImGui::Begin(title, nullptr, kPanelFlags | extra)) draw(app);
  ImGui::End();
  rects->push_back({title, pos.x, pos.y, size.x, size.y});
}

std::vector<PanelRect> draw_layout(AppState& app, float top) {
  if (app.view.presentation) return draw_presentation_layout(app, top);
  const ImVec2 display = ImGui::GetIO().DisplaySize;
  const float font = ImGui::GetFontSize();
  const float W = display.x, H = std::max(display.y - top, 100.0f);
  ViewSettings& v = app.view.settings;
  // Widths in pixels with minimums that keep the parameter widgets usable at 1280 x 720.
  const float left = std::clamp(W * v.left_fraction, std::min(font * 19, W * 0.4f), W * 0.45f);
  const float middle = std::clamp(W * v.middle_fraction, W * 0.15f, W - left - W * 0.2f);
  const float right = W - left - middle;
  const float input_h = H * v.input_fraction;
  const float maps_h = H * v.maps_fraction;

  std::vector<PanelRect> rects;
  panel("Parameters", ImVec2(0, top), ImVec2(left, H), draw_parameters_panel, app, &rects);
  if (app.view.step.active) {
    // Step-through: Input and Feature maps side by side on top, the step-through (wide
    // tables) under both; Kernels and Timing make way.
    const float top_h = std::clamp(H * v.step_fraction, H * 0.2f, H * 0.75f);
    panel("Input", ImVec2(left, top), ImVec2(middle, top_h), draw_input_panel, app, &rects,
          ImGuiWindowFlags_NoScrollbar | ImGuiWindowFlags_NoScrollWithMouse);
    panel("Feature maps", ImVec2(left + middle, top), ImVec2(right, top_h), draw_feature_maps_panel,
          app, &rects);
    panel("Step-through", ImVec2(left, top + top_h), ImVec2(W - left, H - top_h),
          draw_step_through_panel, app, &rects);
    const float g = 6;
    v.left_fraction += splitter("##split-left", ImVec2(left - g / 2, top), ImVec2(g, H), true) / W;
    v.middle_fraction +=
        splitter("##split-mid", ImVec2(left + middle - g / 2, top), ImVec2(g, top_h), true) / W;
    v.step_fraction +=
        splitter("##split-step", ImVec2(left, top + top_h - g / 2), ImVec2(W - left, g), false) / H;
    v.left_fraction = std::clamp(v.left_fraction, 0.12f, 0.45f);
    v.middle_fraction = std::clamp(v.middle_fraction, 0.15f, 0.6f);
    v.step_fraction = std::clamp(v.step_fraction, 0.2f, 0.75f);
    return rects;
  }
  panel("Input", ImVec2(left, top), ImVec2(middle, input_h), draw_input_panel, app, &rects,
        ImGuiWindowFlags_NoScrollbar | ImGuiWindowFlags_NoScrollWithMouse);
  panel("Kernels", ImVec2(left, top + input_h), ImVec2(middle, H - input_h), draw_kernels_panel,
        app, &rects);
  panel("Feature maps", ImVec2(left + middle, top), ImVec2(right, maps_h), draw_feature_maps_panel,
        app, &rects);
  // The Learn panel takes the Timing panel's place while it is open.
  const bool learn = learn_panel_open(app);
  panel(learn ? "Learn" : "Timing", ImVec2(left + middle, top + maps_h), ImVec2(right, H - maps_h),
        learn ? draw_learn_panel : draw_timing_panel, app, &rects);

  const float g = 6;
  v.left_fraction += splitter("##split-left", ImVec2(left - g / 2, top), ImVec2(g, H), true) / W;
  const float dm =
      splitter("##split-mid", ImVec2(left + middle - g / 2, top), ImVec2(g, H), true) / W;
  v.middle_fraction += dm;
  v.input_fraction +=
      splitter("##split-input", ImVec2(left, top + input_h - g / 2), ImVec2(middle, g), false) / H;
  v.maps_fraction += splitter("##split-maps", ImVec2(left + middle, top + maps_h - g / 2),
                              ImVec2(right, g), false) /
                     H;
  v.left_fraction = std::clamp(v.left_fraction, 0.12f, 0.45f);
  v.middle_fraction = std::clamp(v.middle_fraction, 0.15f, 0.6f);
  v.input_fraction = std::clamp(v.input_fraction, 0.2f, 0.85f);
  v.maps_fraction = std::clamp(v.maps_fraction, 0.2f, 0.9f);
  return rects;
}

}  // namespace ks::app
