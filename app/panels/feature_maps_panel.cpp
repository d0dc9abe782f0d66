// Feature maps panel: every output channel in a grid (click one to enlarge it), the colour
// map, the scaling (per map, per layer, symmetric about 0) with a legend, and an RGB
// composite when a layer has exactly 3 channels. "both" shows the two layers side by side.
#include <imgui.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <string>

#include "gui/widgets.h"
#include "panels/panels.h"

namespace ks::app {

namespace {

// Reports the hovered output pixel of a map drawn at `pos` with `size`: a tooltip with the
// value, and the focus for the other panels (the centre of its receptive field).
void hover_map(AppState& app, bool involution, int channel, ImVec2 pos, ImVec2 size) {
  if (!ImGui::IsItemHovered()) return;
  const OpResult& r = involution ? app.doc.result.involution : app.doc.result.conv;
  const int ho = static_cast<int>(r.output.dim(2)), wo = static_cast<int>(r.output.dim(3));
  const ImVec2 mouse = ImGui::GetIO().MousePos;
  const int x = std::clamp(static_cast<int>((mouse.x - pos.x) / size.x * wo), 0, wo - 1);
  const int y = std::clamp(static_cast<int>((mouse.y - pos.y) / size.y * ho), 0, ho - 1);
  int x0 = 0, y0 = 0, extent = 1, step = 1;
  receptive_field(app, involution, x, y, &x0, &y0, &extent, &step);
  app.view.hover_next = true;
  app.view.hover_next_x = x0 + extent / 2;
  app.view.hover_next_y = y0 + extent / 2;
  if (channel >= 0)
    ImGui::SetTooltip("channel %d  row %d, col %d\nvalue %g\nclick to %s", channel, y, x,
                      static_cast<double>(r.output.at(0, channel, y, x)),
                      app.view.enlarged_map >= 0 ? "return to the grid" : "enlarge");
  else
    ImGui::SetTooltip("RGB composite of channels 0-2  row %d, col %d", y, x);
}

// Step-through: the output pixel being explained lights up on every map of its layer (a
// thick frame on the explained channel, a thin one elsewhere).
void mark_step_pixel(const AppState& app, bool involution, int channel, ImVec2 pos, ImVec2 size,
                     int ho, int wo) {
  const StepThrough& st = app.view.step;
  if (!st.active || st.compare || st.involution != involution) return;
  const float cw = size.x / static_cast<float>(wo), ch = size.y / static_cast<float>(ho);
  const float mw = std::max(cw, 5.0f), mh = std::max(ch, 5.0f);
  const ImVec2 c(pos.x + (static_cast<float>(st.j) + 0.5f) * cw,
                 pos.y + (static_cast<float>(st.i) + 0.5f) * ch);
  const ImVec2 a(c.x - mw / 2, c.y - mh / 2), b(c.x + mw / 2, c.y + mh / 2);
  const ImU32 colour = involution ? IM_COL32(80, 230, 255, 255) : IM_COL32(255, 225, 60, 255);
  ImDrawList* draw = ImGui::GetWindowDrawList();
  const bool explained = channel == st.channel;
  draw->AddRect(ImVec2(a.x - 1, a.y - 1), ImVec2(b.x + 1, b.y + 1), IM_COL32(0, 0, 0, 200), 0, 0,
                explained ? 4.0f : 2.0f);
  draw->AddRect(a, b, colour, 0, 0, explained ? 2.5f : 1.0f);
  // The rows already visited (raster order) are underlined on the explained channel, so the
  // scan reads as "written so far".
  if (explained && st.playing)
    draw->AddLine(ImVec2(pos.x, c.y + mh / 2 + 2), ImVec2(c.x, c.y + mh / 2 + 2), colour, 1.5f);
}

// Largest tile size that fits n tiles of aspect w/h into the region.
int best_columns(int n, ImVec2 region, float aspect, float label_h, float* tile_w) {
  int best = 1;
  *tile_w = 0;
  for (int cols = 1; cols <= n; ++cols) {
    const int rows = (n + cols - 1) / cols;
    const float w = std::min(region.x / cols - 6, ((region.y / rows) - label_h - 6) * aspect);
    if (w > *tile_w) {
      *tile_w = w;
      best = cols;
    }
  }
  return best;
}

void layer_grid(AppState& app, bool involution, ImVec2 region) {
  const OpResult& r = involution ? app.doc.result.involution : app.doc.result.conv;
  LayerView& view = involution ? app.view.involution_view : app.view.conv_view;
  ImGui::Text("%s  %s  (%s)", involution ? "involution" : "convolution",
              shape_to_string(r.output.shape).c_str(), r.backend.c_str());
  const float legend_w = std::min(260.0f, region.x - 8);
  // After ReLU nothing is negative: the legend says the colours span 0 .. max only.
  draw_legend(app.view.settings.colormap, view.layer_range, legend_w,
              app.view.settings.scale == ScaleMode::PerMap
                  ? (r.relu ? "after ReLU, each map 0..own max" : "each map: own range")
                  : (r.relu ? "after ReLU: 0..max" : "value"));
  const int channels = static_cast<int>(view.maps.size());
  if (channels == 0) return;
  const int ho = static_cast<int>(r.output.dim(2)), wo = static_cast<int>(r.output.dim(3));
  const float aspect = static_cast<float>(wo) / static_cast<float>(std::max(1, ho));
  const float label_h = ImGui::GetTextLineHeight();
  ImVec2 avail = ImGui::GetContentRegionAvail();
  avail.x = region.x;

  if (app.view.enlarged_map >= 0 && app.view.enlarged_involution == involution &&
      app.view.enlarged_map < channels) {
    const int c = app.view.enlarged_map;
    ImGui::Text("channel %d   range %s .. %s", c,
                short_number(view.ranges[static_cast<size_t>(c)].lo).c_str(),
                short_number(view.ranges[static_cast<size_t>(c)].hi).c_str());
    const float h = avail.y - label_h * 2;
    const float w = std::min(avail.x - 4, h * aspect);
    const ImVec2 pos = ImGui::GetCursorScreenPos();
    app.view.colormap_pass->image(view.maps[static_cast<size_t>(c)], app.view.settings.colormap,
                                  view.ranges[static_cast<size_t>(c)], ImVec2(w, w / aspect));
    hover_map(app, involution, c, pos, ImVec2(w, w / aspect));
    mark_step_pixel(app, involution, c, pos, ImVec2(w, w / aspect), ho, wo);
    if (ImGui::IsItemClicked()) app.view.enlarged_map = -1;
    return;
  }

  const bool composite = view.composite && app.view.settings.rgb_composite && channels == 3;
  const int tiles = channels + (composite ? 1 : 0);
  float tile_w = 0;
  int cols = best_columns(tiles, avail, aspect, label_h, &tile_w);
  constexpr float kSmallestTile = 24;
  if (tile_w < kSmallestTile) {
    // Too many maps to fit (hundreds of channels): the smallest tiles, as many across as the
    // panel is wide, and the panel scrolls down. Never wider: columns past the right edge
    // could not be reached.
    tile_w = kSmallestTile;
    cols = std::clamp(static_cast<int>((avail.x + 6) / (tile_w + 6)), 1, tiles);
  }
  const float tile_h = tile_w / aspect;
  const ImVec2 origin = ImGui::GetCursorScreenPos();
  for (int i = 0; i < tiles; ++i) {
    const ImVec2 pos(origin.x + (i % cols) * (tile_w + 6),
                     origin.y + (i / cols) * (tile_h + label_h + 6));
    ImGui::SetCursorScreenPos(pos);
    if (i < channels) {
      ImGui::TextDisabled("%d", i);
      // A text item moves the cursor back to the window's left edge; the image belongs under
      // its own label.
      const ImVec2 img(pos.x, pos.y + label_h);
      ImGui::SetCursorScreenPos(img);
      app.view.colormap_pass->image(view.maps[static_cast<size_t>(i)], app.view.settings.colormap,
                                    view.ranges[static_cast<size_t>(i)], ImVec2(tile_w, tile_h));
      // Scripted runs log where each map went (tests compare its colours with the data).
      app.view.drawn_items.push_back(
          {std::string(involution ? "involution" : "conv") + " map " + std::to_string(i), img.x,
           img.y, tile_w, tile_h});
      hover_map(app, involution, i, img, ImVec2(tile_w, tile_h));
      mark_step_pixel(app, involution, i, img, ImVec2(tile_w, tile_h), ho, wo);
      if (ImGui::IsItemClicked()) {
        app.view.enlarged_map = i;
        app.view.enlarged_involution = involution;
      }
    } else {
      ImGui::TextDisabled("RGB 0-2");
      const ImVec2 img(pos.x, pos.y + label_h);
      ImGui::SetCursorScreenPos(img);
      ImGui::Image(reinterpret_cast<void*>(static_cast<intptr_t>(view.composite)),
                   ImVec2(tile_w, tile_h));
      hover_map(app, involution, -1, img, ImVec2(tile_w, tile_h));
    }
  }
  const int rows = (tiles + cols - 1) / cols;
  ImGui::SetCursorScreenPos(origin);
  ImGui::Dummy(ImVec2(cols * (tile_w + 6), rows * (tile_h + label_h + 6)));
}

}  // namespace

void draw_feature_maps_panel(AppState& app) {
  const float font = ImGui::GetFontSize();
  int map = static_cast<int>(app.view.settings.colormap);
  ImGui::SetNextItemWidth(font * 6.5f);
  if (ImGui::Combo("##colormap", &map, "diverging\0viridis\0grey\0")) {
    app.view.settings.colormap = static_cast<Colormap>(map);
    app.commands.post(cmd::Redraw{});
  }
  tooltip(
      "Colours for the maps: diverging (blue below, orange above the middle), viridis or grey.");
  same_line_if_room(font * 8.5f);
  int scale = static_cast<int>(app.view.settings.scale);
  ImGui::SetNextItemWidth(font * 8.5f);
  if (ImGui::Combo("##scale", &scale, "per map\0per layer\0symmetric 0\0")) {
    app.view.settings.scale = static_cast<ScaleMode>(scale);
    app.commands.post(cmd::Redraw{});
  }
  tooltip(
      "Which range the colours span: each map its own, one range for the whole layer, or\n"
      "symmetric about 0 (so 0 is always the middle colour).");
  same_line_if_fits("RGB composite");
  if (ImGui::Checkbox("RGB composite", &app.view.settings.rgb_composite))
    app.commands.post(cmd::Redraw{});
  tooltip("With exactly 3 output channels, also show them together as one colour image.");
  same_line_if_fits("Save PNG+npy");
  if (ImGui::SmallButton("Save PNG+npy")) app.commands.post(cmd::Export{ExportPanel::FeatureMaps});
  tooltip("Save the feature maps as a PNG figure and as a .npy array in the export folder.");
  if (app.view.enlarged_map >= 0) {
    same_line_if_fits("Back to grid");
    if (ImGui::SmallButton("Back to grid")) app.view.enlarged_map = -1;
    tooltip("Show every channel again.");
  }
  if (!app.doc.have_result) {
    ImGui::TextDisabled("waiting for the first result...");
    return;
  }
  const bool conv = app.doc.result.conv.ran, inv = app.doc.result.involution.ran;
  if (!conv && !inv) {
    ImGui::PushStyleColor(ImGuiCol_Text, ImVec4(1, 0.45f, 0.4f, 1));
    for (const OpResult* r : {&app.doc.result.conv, &app.doc.result.involution})
      if (!r->error.empty()) ImGui::TextWrapped("%s", r->error.c_str());
    ImGui::PopStyleColor();
    return;
  }
  // In "both", one operation may fail while the other runs: say so above the one shown.
  if (app.doc.settings.operation == Operation::Both && conv != inv) {
    const OpResult& failed = conv ? app.doc.result.involution : app.doc.result.conv;
    ImGui::PushStyleColor(ImGuiCol_Text, ImVec4(1, 0.45f, 0.4f, 1));
    ImGui::TextWrapped("%s: %s", conv ? "involution" : "convolution", failed.error.c_str());
    ImGui::PopStyleColor();
  }
  const ImVec2 avail = ImGui::GetContentRegionAvail();
  if (conv && inv) {
    const float half = avail.x * 0.5f - 4;
    ImGui::BeginChild("conv maps", ImVec2(half, 0), false, ImGuiWindowFlags_NoScrollbar);
    layer_grid(app, false, ImVec2(half, avail.y));
    ImGui::EndChild();
    ImGui::SameLine();
    ImGui::BeginChild("involution maps", ImVec2(0, 0), false, ImGuiWindowFlags_NoScrollbar);
    layer_grid(app, true, ImVec2(half, avail.y));
    ImGui::EndChild();
  } else {
    layer_grid(app, inv, avail);
  }
}

}  // namespace ks::app
