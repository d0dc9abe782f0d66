// Demo mode: the teaching scenes of assets/presets one after another, each with its title
// and caption in large type across the bottom of the window (readable from the back of a
// room), previous/next, and an auto-advance timer.
#include <imgui.h>

#include <algorithm>

#include "panels/panels.h"

namespace ks::app {

void draw_demo_overlay(AppState& app) {
  DemoMode& demo = app.demo;
  if (!demo.active || demo.scenes.empty()) return;
  const ImVec2 display = ImGui::GetIO().DisplaySize;
  const float font = ImGui::GetFontSize();
  const float width = std::min(display.x - 2 * font, font * 70);
  ImGuiWindowFlags sizing = ImGuiWindowFlags_AlwaysAutoResize;
  if (app.view.presentation) {
    // The presentation layout left a band for the caption: fill it, cover nothing.
    ImGui::SetNextWindowPos(ImVec2(app.view.caption_band[0], app.view.caption_band[1]));
    ImGui::SetNextWindowSize(ImVec2(app.view.caption_band[2], app.view.caption_band[3]));
    sizing = ImGuiWindowFlags_NoScrollbar;
  } else {
    ImGui::SetNextWindowPos(ImVec2(display.x * 0.5f, display.y - font), ImGuiCond_Always,
                            ImVec2(0.5f, 1.0f));
    ImGui::SetNextWindowSize(ImVec2(width, 0));
  }
  ImGui::SetNextWindowBgAlpha(0.92f);
  ImGui::PushStyleColor(ImGuiCol_WindowBg, ImVec4(0.06f, 0.08f, 0.12f, 1));
  ImGui::PushStyleColor(ImGuiCol_Border, ImVec4(0.35f, 0.55f, 0.85f, 1));
  ImGui::PushStyleVar(ImGuiStyleVar_WindowBorderSize, 2.0f);
  ImGui::Begin("Demo", nullptr,
               ImGuiWindowFlags_NoDecoration | ImGuiWindowFlags_NoMove |
                   ImGuiWindowFlags_NoSavedSettings | sizing);
  if (app.view.big_font) ImGui::PushFont(app.view.big_font);
  ImGui::PushStyleColor(ImGuiCol_Text, ImVec4(1.0f, 0.85f, 0.45f, 1));
  ImGui::TextWrapped("%d/%zu  %s", demo.index + 1, demo.scenes.size(),
                     app.doc.scene_name.empty() ? "scene" : app.doc.scene_name.c_str());
  ImGui::PopStyleColor();
  // In the presentation view the body font is already projector-sized; the caption in it
  // fits the band in two lines.
  if (app.view.big_font && app.view.presentation) ImGui::PopFont();
  if (!app.doc.scene_caption.empty())
    ImGui::TextWrapped("%s", app.doc.scene_caption.c_str());
  else
    ImGui::TextDisabled("(settings changed: the scene's caption no longer applies)");
  if (app.view.big_font && !app.view.presentation) ImGui::PopFont();
  ImGui::Separator();
  if (ImGui::Button("< Previous")) app.commands.post(cmd::MoveDemo{-1});
  if (ImGui::IsItemHovered()) ImGui::SetTooltip("The previous scene (Left arrow or Page Up).");
  ImGui::SameLine();
  if (ImGui::Button("Next >")) app.commands.post(cmd::MoveDemo{1});
  if (ImGui::IsItemHovered()) ImGui::SetTooltip("The next scene (Right arrow or Page Down).");
  ImGui::SameLine();
  // The timer starts when it is switched on, not when the scene appeared.
  if (ImGui::Checkbox("auto-advance", &demo.auto_advance) && demo.auto_advance)
    demo.shown_at = ImGui::GetTime();
  if (ImGui::IsItemHovered())
    ImGui::SetTooltip("Move to the next scene on a timer (off: only Next moves on).");
  ImGui::SameLine();
  ImGui::BeginDisabled(!demo.auto_advance);
  ImGui::SetNextItemWidth(font * 8);
  ImGui::SliderFloat("##seconds", &demo.seconds, 3.0f, 60.0f, "%.0f s per scene");
  ImGui::EndDisabled();
  if (ImGui::IsItemHovered(ImGuiHoveredFlags_AllowWhenDisabled))
    ImGui::SetTooltip("How long each scene stays when auto-advancing.");
  if (demo.auto_advance) {
    ImGui::SameLine();
    const double left = demo.seconds - (ImGui::GetTime() - demo.shown_at);
    ImGui::TextDisabled("next in %.0f s", std::max(left, 0.0));
  }
  ImGui::SameLine();
  if (ImGui::Button("Exit demo")) app.commands.post(cmd::ToggleDemo{});
  if (ImGui::IsItemHovered())
    ImGui::SetTooltip("Leave demo mode (F5 or Esc): your own setup from before comes back.");
  ImGui::End();
  ImGui::PopStyleVar();
  ImGui::PopStyleColor(2);
}

}  // namespace ks::app
