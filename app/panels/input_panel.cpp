// Input panel: the image with zoom (wheel, around the cursor) and pan (drag); at high zoom a
// pixel grid with the values in the cells; the receptive field of the focused output pixel,
// the pinned pixel and, for involution, a field of kernel glyphs over the image.
#include <imgui.h>

#include <algorithm>
#include <cfloat>
#include <cmath>
#include <cstdio>
#include <filesystem>

#include "gui/legend.h"
#include "gui/widgets.h"
#include "panels/panels.h"

namespace ks::app {

namespace {

struct View {
  ImVec2 origin, size;
  float zoom, cx, cy;
  ImVec2 to_screen(float x, float y) const {
    return ImVec2(origin.x + size.x * 0.5f + (x - cx) * zoom,
                  origin.y + size.y * 0.5f + (y - cy) * zoom);
  }
  float image_x(float sx) const { return cx + (sx - origin.x - size.x * 0.5f) / zoom; }
  float image_y(float sy) const { return cy + (sy - origin.y - size.y * 0.5f) / zoom; }
};

void draw_grid_and_values(ImDrawList* draw, const View& v, const Tensor& image, int x0, int y0,
                          int x1, int y1, bool values) {
  const ImU32 line = IM_COL32(0, 0, 0, 110);
  for (int x = x0; x <= x1; ++x)
    draw->AddLine(v.to_screen(static_cast<float>(x), static_cast<float>(y0)),
                  v.to_screen(static_cast<float>(x), static_cast<float>(y1)), line);
  for (int y = y0; y <= y1; ++y)
    draw->AddLine(v.to_screen(static_cast<float>(x0), static_cast<float>(y)),
                  v.to_screen(static_cast<float>(x1), static_cast<float>(y)), line);
  if (!values) return;
  const int channels = static_cast<int>(std::min<int64_t>(image.dim(1), 4));
  // Values use a smaller font than the UI so three channels fit a cell from about 40x zoom.
  ImFont* font = ImGui::GetFont();
  const float size = ImGui::GetFontSize() * 0.75f;
  const float line_h = size * 1.05f;
  const float text_w = font->CalcTextSizeA(size, FLT_MAX, 0, "-0.00").x;
  if (v.zoom < text_w + 4 || v.zoom < line_h * channels + 2) return;
  for (int y = y0; y < y1; ++y)
    for (int x = x0; x < x1; ++x) {
      const ImVec2 p = v.to_screen(static_cast<float>(x), static_cast<float>(y));
      float lum = 0;
      for (int c = 0; c < channels; ++c) lum += image.at(0, c, y, x) / channels;
      const ImU32 col = lum > 0.55f ? IM_COL32(0, 0, 0, 255) : IM_COL32(255, 255, 255, 255);
      const float top = p.y + (v.zoom - line_h * channels) * 0.5f;
      for (int c = 0; c < channels; ++c) {
        const std::string s = short_number(image.at(0, c, y, x));
        const float w = font->CalcTextSizeA(size, FLT_MAX, 0, s.c_str()).x;
        draw->AddText(font, size, ImVec2(p.x + (v.zoom - w) * 0.5f, top + line_h * c), col,
                      s.c_str());
      }
    }
}

// K x K glyphs of the generated kernels on a grid of output positions, spaced so they do not
// overlap. A glyph is never smaller than about three text lines (so its taps read on a
// projector at any zoom: zoomed out, only every n-th pixel gets one) and grows with the zoom
// up to the receptive field it stands for. A legend gives the taps' scale.
void draw_kernel_field(ImDrawList* draw, const View& v, const AppState& app) {
  const OpResult& r = app.doc.result.involution;
  if (!r.ran || r.output.rank() != 4) return;
  const int k = static_cast<int>(r.involution.kernel_size);
  const int s = static_cast<int>(r.involution.stride);
  const int taps = k * k;
  const int g = std::clamp(app.view.kernel_group, 0, static_cast<int>(r.involution.groups()) - 1);
  const int ho = static_cast<int>(r.output.dim(2)), wo = static_cast<int>(r.output.dim(3));
  const float min_glyph = std::max(40.0f, ImGui::GetFontSize() * 2.8f);
  const float field = v.zoom * static_cast<float>(r.involution.dilation * (k - 1) + 1);
  const float glyph =
      std::min(std::max(min_glyph, field * 0.8f), std::min(v.size.x, v.size.y) * 0.45f);
  const float cell = glyph / static_cast<float>(k);
  // Most of a glyph apart, so the image still shows between them.
  const int step = std::max(1, static_cast<int>(std::ceil(glyph * 1.7f / (v.zoom * s))));
  const float centre = 0.5f * static_cast<float>(r.involution.dilation * (k - 1));
  const int pad = static_cast<int>(r.involution.padding());
  // The visible glyphs' kernels, each generated for its own pixel (kernels_at caches them),
  // coloured on one scale: the largest magnitude among them.
  struct Glyph {
    ImVec2 centre;
    const float* kernel;
  };
  std::vector<Glyph> glyphs;
  float m = 0;
  for (int oy = step / 2; oy < ho; oy += step)
    for (int ox = step / 2; ox < wo; ox += step) {
      // Centre of this output pixel's receptive field in image coordinates.
      const ImVec2 c = v.to_screen(static_cast<float>(ox * s - pad) + centre + 0.5f,
                                   static_cast<float>(oy * s - pad) + centre + 0.5f);
      if (c.x < v.origin.x - glyph || c.y < v.origin.y - glyph ||
          c.x > v.origin.x + v.size.x + glyph || c.y > v.origin.y + v.size.y + glyph)
        continue;
      const std::vector<float>& at = kernels_at(r, oy, ox);
      if (at.size() < static_cast<size_t>((g + 1) * taps)) continue;
      const float* kernel = at.data() + static_cast<ptrdiff_t>(g) * taps;
      for (int t = 0; t < taps; ++t)
        if (std::isfinite(kernel[t])) m = std::max(m, std::fabs(kernel[t]));
      glyphs.push_back({c, kernel});
    }
  for (const Glyph& gl : glyphs) {
    const ImVec2 at(gl.centre.x - glyph * 0.5f, gl.centre.y - glyph * 0.5f);
    // A dark frame so a glyph reads against a light image.
    draw->AddRect(ImVec2(at.x - 2, at.y - 2), ImVec2(at.x + glyph + 2, at.y + glyph + 2),
                  IM_COL32(0, 0, 0, 200), 0, 0, 2.0f);
    draw_kernel_heatmap(draw, at, cell, k, gl.kernel, m, true);
  }
  if (glyphs.empty()) return;
  // The scale of the glyphs in the panel's top-right corner.
  const ValueRange range{-m, m};
  const float inset = ImGui::GetFontSize() * 0.4f;
  const float legend_w = vertical_legend_width(Colormap::Diverging, range, "kernel field");
  overlay_legend(draw, ImVec2(v.origin.x + v.size.x - legend_w - 2 * inset, v.origin.y + 2 * inset),
                 Colormap::Diverging, range, ImGui::GetFontSize() * 5, "kernel field");
}

void draw_receptive_fields(ImDrawList* draw, const View& v, const AppState& app, int fx, int fy) {
  const struct {
    bool involution;
    ImU32 colour;
  } ops[2] = {{false, IM_COL32(255, 220, 0, 255)}, {true, IM_COL32(0, 230, 255, 255)}};
  for (const auto& op : ops) {
    const OpResult& r = op.involution ? app.doc.result.involution : app.doc.result.conv;
    if (!r.ran) continue;
    int ox = 0, oy = 0, x0 = 0, y0 = 0, extent = 1, step = 1;
    if (!output_pixel_for(app, op.involution, fx, fy, &ox, &oy)) continue;
    receptive_field(app, op.involution, ox, oy, &x0, &y0, &extent, &step);
    draw->AddRect(v.to_screen(static_cast<float>(x0), static_cast<float>(y0)),
                  v.to_screen(static_cast<float>(x0 + extent), static_cast<float>(y0 + extent)),
                  op.colour, 0, 0, 2.0f);
    if (step > 1) {  // dilation: mark the taps that are actually read
      for (int ty = y0; ty < y0 + extent; ty += step)
        for (int tx = x0; tx < x0 + extent; tx += step)
          draw->AddRect(v.to_screen(static_cast<float>(tx), static_cast<float>(ty)),
                        v.to_screen(static_cast<float>(tx + 1), static_cast<float>(ty + 1)),
                        op.colour);
    }
  }
}

}  // namespace

void draw_input_panel(AppState& app) {
  if (!app.doc.image.compute || !app.view.input_texture) {
    ImGui::TextDisabled("loading the image...");
    return;
  }
  const Tensor& image = *app.doc.image.compute;
  const int iw = static_cast<int>(image.dim(3)), ih = static_cast<int>(image.dim(2));
  // The image on screen (app.doc.image), not the one being loaded (app.doc.image_path): the name
  // and size change when the new image is in.
  const std::string name = app.doc.image.path.empty()
                               ? std::string("built-in test pattern")
                               : std::filesystem::path(app.doc.image.path).filename().string();
  ImGui::Text("%s  %d x %d x %d", name.c_str(), static_cast<int>(app.doc.image.full->dim(3)),
              static_cast<int>(app.doc.image.full->dim(2)), static_cast<int>(image.dim(1)));
  if (app.doc.image.downscale > 1) {
    ImGui::SameLine();
    ImGui::TextColored(ImVec4(1, 0.8f, 0.3f, 1), "computed at 1/%d", app.doc.image.downscale);
  }
  if (ImGui::SmallButton("Fit")) app.commands.post(cmd::FitView{});
  tooltip("Fit the whole image into the panel (key F).");
  ImGui::SameLine();
  if (ImGui::SmallButton("1:1")) app.view.zoom = 1;
  tooltip("One screen pixel per image pixel.");
  same_line_if_fits("grid+values");
  ImGui::Checkbox("grid+values", &app.view.settings.grid_values);
  tooltip("When zoomed in far, draw the pixel grid and print each pixel's channel values.");
  same_line_if_fits("kernel field");
  if (ImGui::Checkbox("kernel field", &app.view.settings.kernel_field))
    app.commands.post(cmd::Redraw{});
  tooltip("Draw small glyphs of the involution kernels generated at a grid of positions.");
  same_line_if_fits("Save PNG+npy");
  if (ImGui::SmallButton("Save PNG+npy")) app.commands.post(cmd::Export{ExportPanel::Input});
  tooltip("Save the input image as a PNG and as a .npy array in the export folder.");
  if (app.view.focus.pinned) {
    same_line_if_fits("Unpin");
    if (ImGui::SmallButton("Unpin")) app.view.focus.pinned = false;
    tooltip("Release the pinned pixel (or right-click the image).");
  }

  const float status_h = ImGui::GetTextLineHeightWithSpacing();
  ImVec2 size = ImGui::GetContentRegionAvail();
  size.y -= status_h;
  if (size.x < 16 || size.y < 16) return;
  const ImVec2 origin = ImGui::GetCursorScreenPos();
  ImGui::InvisibleButton("canvas", size,
                         ImGuiButtonFlags_MouseButtonLeft | ImGuiButtonFlags_MouseButtonRight);
  const bool hovered = ImGui::IsItemHovered();
  ImGuiIO& io = ImGui::GetIO();

  if (app.view.fit_view) {
    app.view.zoom = std::min(size.x / iw, size.y / ih);
    app.view.centre_x = iw * 0.5f;
    app.view.centre_y = ih * 0.5f;
    app.view.fit_view = false;
  }
  View v{origin, size, app.view.zoom, app.view.centre_x, app.view.centre_y};
  if (hovered && io.MouseWheel != 0) {
    // Zoom around the cursor: the image point under it stays under it.
    const float px = v.image_x(io.MousePos.x), py = v.image_y(io.MousePos.y);
    app.view.zoom = std::clamp(app.view.zoom * std::pow(1.2f, io.MouseWheel), 0.02f, 256.0f);
    app.view.centre_x = px - (io.MousePos.x - origin.x - size.x * 0.5f) / app.view.zoom;
    app.view.centre_y = py - (io.MousePos.y - origin.y - size.y * 0.5f) / app.view.zoom;
  }
  if (ImGui::IsItemActive() && ImGui::IsMouseDragging(ImGuiMouseButton_Left, 3.0f)) {
    app.view.centre_x -= io.MouseDelta.x / app.view.zoom;
    app.view.centre_y -= io.MouseDelta.y / app.view.zoom;
  }
  v = View{origin, size, app.view.zoom, app.view.centre_x, app.view.centre_y};

  int mx = -1, my = -1;
  if (hovered) {
    mx = static_cast<int>(std::floor(v.image_x(io.MousePos.x)));
    my = static_cast<int>(std::floor(v.image_y(io.MousePos.y)));
    if (mx < 0 || my < 0 || mx >= iw || my >= ih) mx = my = -1;
  }
  // A click that did not drag pins the pixel; right click unpins.
  // Shift-click sets pin B once A is set: the Kernels panel then compares the two.
  if (ImGui::IsItemDeactivated() && mx >= 0 && io.MouseDragMaxDistanceSqr[0] < 9.0f) {
    if (io.KeyShift && app.view.focus.pinned) {
      app.view.focus.pinned_b = true;
      app.view.focus.pin_b_x = mx;
      app.view.focus.pin_b_y = my;
    } else {
      app.view.focus.pinned = true;
      app.view.focus.pin_x = mx;
      app.view.focus.pin_y = my;
    }
  }
  if (hovered && ImGui::IsMouseClicked(ImGuiMouseButton_Right))
    app.view.focus.pinned = app.view.focus.pinned_b = false;
  if (mx >= 0) {
    app.view.hover_next = true;
    app.view.hover_next_x = mx;
    app.view.hover_next_y = my;
  }

  ImDrawList* draw = ImGui::GetWindowDrawList();
  draw->PushClipRect(origin, ImVec2(origin.x + size.x, origin.y + size.y), true);
  // The backdrop only where the image leaves the canvas uncovered: under software OpenGL
  // every pixel shaded twice costs (a full backdrop was about a tenth of a frame).
  const ImVec2 end(origin.x + size.x, origin.y + size.y);
  const ImVec2 i0 = v.to_screen(0, 0),
               i1 = v.to_screen(static_cast<float>(iw), static_cast<float>(ih));
  const ImVec2 c0(std::clamp(i0.x, origin.x, end.x), std::clamp(i0.y, origin.y, end.y));
  const ImVec2 c1(std::clamp(i1.x, origin.x, end.x), std::clamp(i1.y, origin.y, end.y));
  const ImU32 backdrop = IM_COL32(20, 20, 22, 255);
  draw->AddRectFilled(origin, ImVec2(end.x, c0.y), backdrop);                 // above
  draw->AddRectFilled(ImVec2(origin.x, c1.y), end, backdrop);                 // below
  draw->AddRectFilled(ImVec2(origin.x, c0.y), ImVec2(c0.x, c1.y), backdrop);  // left
  draw->AddRectFilled(ImVec2(c1.x, c0.y), ImVec2(end.x, c1.y), backdrop);     // right
  set_magnification(app.view.input_texture, app.view.zoom >= 3);
  draw->AddImage(reinterpret_cast<void*>(static_cast<intptr_t>(app.view.input_texture)),
                 v.to_screen(0, 0), v.to_screen(static_cast<float>(iw), static_cast<float>(ih)));
  if (app.view.zoom >= 8 && app.view.settings.grid_values) {
    const int x0 = std::max(0, static_cast<int>(v.image_x(origin.x)));
    const int y0 = std::max(0, static_cast<int>(v.image_y(origin.y)));
    const int x1 = std::min(iw, static_cast<int>(v.image_x(origin.x + size.x)) + 1);
    const int y1 = std::min(ih, static_cast<int>(v.image_y(origin.y + size.y)) + 1);
    draw_grid_and_values(draw, v, image, x0, y0, x1, y1, true);
  }
  if (app.view.settings.kernel_field) draw_kernel_field(draw, v, app);
  int fx = 0, fy = 0;
  if (app.view.focus.current(&fx, &fy)) draw_receptive_fields(draw, v, app, fx, fy);
  // Pins: red A, green B, each labelled once both are set.
  const struct {
    bool set;
    int x, y;
    ImU32 colour;
    const char* label;
  } pins[2] = {{app.view.focus.pinned, app.view.focus.pin_x, app.view.focus.pin_y,
                IM_COL32(255, 60, 60, 255), "A"},
               {app.view.focus.pinned && app.view.focus.pinned_b, app.view.focus.pin_b_x,
                app.view.focus.pin_b_y, IM_COL32(60, 230, 90, 255), "B"}};
  for (const auto& pin : pins) {
    if (!pin.set) continue;
    const ImVec2 a = v.to_screen(static_cast<float>(pin.x), static_cast<float>(pin.y));
    const ImVec2 b(a.x + std::max(app.view.zoom, 3.0f), a.y + std::max(app.view.zoom, 3.0f));
    draw->AddRect(ImVec2(a.x - 1, a.y - 1), ImVec2(b.x + 1, b.y + 1), pin.colour, 0, 0, 2.0f);
    if (app.view.focus.pinned_b)
      draw->AddText(ImVec2(b.x + 3, a.y - ImGui::GetFontSize()), pin.colour, pin.label);
  }
  draw->PopClipRect();

  // Status line: what is under the cursor (or pinned).
  int sx = mx, sy = my;
  if (sx < 0 && app.view.focus.pinned) {
    sx = app.view.focus.pin_x;
    sy = app.view.focus.pin_y;
  }
  if (sx >= 0) {
    std::string values;
    for (int c = 0; c < std::min<int>(static_cast<int>(image.dim(1)), 4); ++c)
      values += (c ? " " : "") + short_number(image.at(0, c, sy, sx));
    ImGui::Text("row %d, col %d  [%s]%s   zoom %.2fx", sy, sx, values.c_str(),
                mx < 0 ? " (pinned)" : "", static_cast<double>(app.view.zoom));
  } else {
    ImGui::TextDisabled("wheel: zoom  drag: pan  click: pin  right-click: unpin   zoom %.2fx",
                        static_cast<double>(app.view.zoom));
  }
}

}  // namespace ks::app
