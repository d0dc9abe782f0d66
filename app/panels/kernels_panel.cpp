// Kernels panel. Convolution: the filter bank, one K x K heatmap per (output, input) pair.
// Involution: the G kernels generated at the focused pixel, with values on hover, and the
// per-pixel kernel-sum heatmap of one group.
#include <imgui.h>

#include <algorithm>
#include <cmath>

#include "gui/legend.h"
#include "gui/widgets.h"
#include "panels/panels.h"

namespace ks::app {

namespace {

float abs_max(const FloatBuffer& v) {
  float m = 0;
  for (float x : v)
    if (std::isfinite(x)) m = std::max(m, std::fabs(x));
  return m;
}

void filter_bank(const OpResult& r) {
  const Tensor& w = r.conv_weights.weight;  // [C_out, C_in/groups, K, K]
  const int out = static_cast<int>(w.dim(0)), in = static_cast<int>(w.dim(1)),
            k = static_cast<int>(w.dim(2));
  const float m = abs_max(w.data);
  ImGui::Text("filter bank [%d, %d, %d, %d]", out, in, k, k);
  if (ImGui::IsItemHovered())
    ImGui::SetTooltip("rows: output channel, columns: input channel of its group; hover a tap");
  // The legend stays beside the bank, outside its scrolling region, so it is always in view.
  const ValueRange range{-m, m};
  const float legend_w = vertical_legend_width(Colormap::Diverging, range, "weight");
  const float spacing = ImGui::GetStyle().ItemSpacing.x;
  // Cells large enough to read, small enough that a 64-channel bank still scrolls sensibly;
  // narrow filters (depthwise: one input each) share a row so the panel is not one long strip.
  const float avail = ImGui::GetContentRegionAvail().x - legend_w - spacing;
  const float gap = 6, label_w = ImGui::CalcTextSize("00 ").x;
  // A filter is never shorter than its row label (at UI scale 2 the labels overlapped): a
  // narrow panel scrolls sideways instead.
  const float cell = std::clamp((avail - label_w - 8) / (in * k) - gap / k,
                                std::max(3.0f, ImGui::GetFontSize() / k),
                                std::max(22.0f, ImGui::GetFontSize() * 1.6f));
  const float block_w = label_w + in * (cell * k + gap) + 8;
  const int per_row = std::max(1, std::min(out, static_cast<int>(avail / block_w)));
  ImGui::BeginChild("bank",
                    ImVec2(std::min(avail, per_row * block_w + ImGui::GetStyle().ScrollbarSize), 0),
                    false, ImGuiWindowFlags_HorizontalScrollbar);
  ImDrawList* draw = ImGui::GetWindowDrawList();
  const ImVec2 origin = ImGui::GetCursorScreenPos();
  const float row_h = std::max(cell * k, ImGui::GetFontSize()) + 6;
  for (int o = 0; o < out; ++o) {
    const ImVec2 p(origin.x + (o % per_row) * block_w, origin.y + (o / per_row) * row_h);
    draw->AddText(ImVec2(p.x, p.y + (cell * k - ImGui::GetFontSize()) * 0.5f),
                  ImGui::GetColorU32(ImGuiCol_TextDisabled), std::to_string(o).c_str());
    for (int i = 0; i < in; ++i) {
      const ImVec2 at(p.x + label_w + i * (cell * k + gap), p.y);
      const float* taps = w.ptr() + (static_cast<int64_t>(o) * in + i) * k * k;
      const int hovered = draw_kernel_heatmap(draw, at, cell, k, taps, m, cell >= 20);
      if (hovered >= 0) {
        const float bias = r.conv_weights.bias.empty() ? 0.0f : r.conv_weights.bias.data[o];
        ImGui::SetTooltip("out %d, in %d, tap row %d, col %d\nweight %g\nbias %g", o, i,
                          hovered / k, hovered % k, static_cast<double>(taps[hovered]),
                          static_cast<double>(bias));
      }
    }
  }
  const int rows = (out + per_row - 1) / per_row;
  ImGui::Dummy(ImVec2(per_row * block_w, rows * row_h));
  ImGui::EndChild();
  ImGui::SameLine();
  // Never taller than the panel leaves (its bottom label would be cut off).
  const float legend_room = ImGui::GetContentRegionAvail().y - 3 * ImGui::GetTextLineHeight();
  vertical_legend(Colormap::Diverging, range,
                  std::max(std::min(std::clamp(rows * row_h, cell * 4, cell * 12), legend_room),
                           2 * ImGui::GetTextLineHeight()),
                  "weight");
}

// The per-pixel sum of one group's taps as a heatmap, within max_w x max_h, with its legend.
void kernel_sum_map(AppState& app, const OpResult& r, int g_count, float max_w, float max_h) {
  const int ho = static_cast<int>(r.output.dim(2)), wo = static_cast<int>(r.output.dim(3));
  const float spacing = ImGui::GetStyle().ItemSpacing.x;
  const float top = ImGui::GetCursorScreenPos().y;
  ImGui::TextDisabled("sum of taps per pixel");
  if (g_count > 1) {
    // Beside the title where both fit (a narrow panel, "both" at 1280 x 720, cut the label).
    const float slider_w = ImGui::GetFontSize() * 6;
    const ImGuiStyle& style = ImGui::GetStyle();
    const float line_w = ImGui::CalcTextSize("sum of taps per pixel").x + style.ItemSpacing.x +
                         slider_w + style.ItemInnerSpacing.x + ImGui::CalcTextSize("group").x;
    if (line_w <= max_w) ImGui::SameLine();
    ImGui::SetNextItemWidth(slider_w);
    if (ImGui::SliderInt("group", &app.view.kernel_group, 0, g_count - 1))
      app.commands.post(cmd::Redraw{});
    tooltip("Which involution group's kernels the heatmap and the kernel field show.");
  }
  const LayerView& view = app.view.involution_view;
  if (!view.kernel_sum.values) return;
  const char* sum_title = view.kernel_sum_label;
  auto fitted_height = [&](const char* title) {
    const float legend_w = vertical_legend_width(view.kernel_sum_map, view.kernel_sum_range, title);
    return std::min((max_w - legend_w - spacing) * ho / std::max(1, wo),
                    max_h - (ImGui::GetCursorScreenPos().y - top));
  };
  // The legend's title ("kernel sum (symmetric about 0)") is wider than its numbers: where it
  // would squeeze the map away (large UI scales, the projector layout) it goes above the map.
  float height = fitted_height(sum_title);
  if (height < 6 * ImGui::GetTextLineHeight() &&
      fitted_height(nullptr) - ImGui::GetTextLineHeightWithSpacing() > height) {
    ImGui::PushTextWrapPos(ImGui::GetCursorPosX() + max_w);
    ImGui::TextDisabled("%s", sum_title);
    ImGui::PopTextWrapPos();
    sum_title = nullptr;
    height = fitted_height(nullptr);
  }
  const float width = height * wo / std::max(1, ho);
  if (height <= 8) {
    ImGui::TextDisabled("(the kernel-sum map needs a larger panel)");
    return;
  }
  const ImVec2 img = ImGui::GetCursorScreenPos();
  app.view.colormap_pass->image(view.kernel_sum, view.kernel_sum_map, view.kernel_sum_range,
                                ImVec2(width, height));
  if (ImGui::IsItemHovered()) {
    const ImVec2 mouse = ImGui::GetIO().MousePos;
    const int x = std::clamp(static_cast<int>((mouse.x - img.x) / width * wo), 0, wo - 1);
    const int y = std::clamp(static_cast<int>((mouse.y - img.y) / height * ho), 0, ho - 1);
    const int g = std::clamp(app.view.kernel_group, 0, g_count - 1);
    const double sum = r.kernel_sum.empty()
                           ? 0.0
                           : r.kernel_sum.ptr()[(static_cast<int64_t>(g) * ho + y) * wo + x];
    ImGui::SetTooltip("row %d, col %d: %g", y, x, sum);
    app.view.hover_next = true;  // hovering the heatmap focuses that output pixel
    app.view.hover_next_x = x * static_cast<int>(r.involution.stride);
    app.view.hover_next_y = y * static_cast<int>(r.involution.stride);
  }
  // The legend says which scale the sums use: symmetric about 0 when they have both signs,
  // else sequential over their own min..max (display.h, kernel_sum_scale).
  ImGui::SameLine();
  vertical_legend(view.kernel_sum_map, view.kernel_sum_range,
                  height - 2.2f * ImGui::GetTextLineHeight(), sum_title);
}

void generated_kernels(AppState& app) {
  const OpResult& r = app.doc.result.involution;
  if (!r.ran || r.output.rank() != 4) return;
  const int g_count = static_cast<int>(r.involution.groups()),
            k = static_cast<int>(r.involution.kernel_size);
  const int ho = static_cast<int>(r.output.dim(2)), wo = static_cast<int>(r.output.dim(3));
  int fx = 0, fy = 0, ox = wo / 2, oy = ho / 2;
  const bool focused = app.view.focus.current(&fx, &fy);
  if (focused) output_pixel_for(app, true, fx, fy, &ox, &oy);
  // Generated for just this pixel (the engine's per-pixel call), not read from a full tensor.
  const std::vector<float>& at = kernels_at(r, oy, ox);
  const int taps = k * k;
  if (at.size() != static_cast<size_t>(g_count * taps)) {
    ImGui::TextDisabled("no kernels at row %d, col %d", oy, ox);
    return;
  }
  ImGui::Text("G=%d kernels at row %d, col %d%s", g_count, oy, ox,
              focused ? (app.view.focus.hover ? "" : " pinned") : " centre");
  if (ImGui::IsItemHovered())
    ImGui::SetTooltip(
        "The kernels generated for output pixel row %d, col %d, one per group.\n"
        "Hover or pin a pixel on the input or a feature map to move it.",
        oy, ox);
  std::vector<float> kernel(static_cast<size_t>(taps));
  float m = 0;
  for (float v : at)
    if (std::isfinite(v)) m = std::max(m, std::fabs(v));

  // The kernels in a row (wrapping when G is large) with their legend beside them, the
  // kernel-sum heatmap below. Cells grow with the font so a projector shows the numbers.
  const ValueRange range{-m, m};
  const float spacing = ImGui::GetStyle().ItemSpacing.x;
  const float legend_w = vertical_legend_width(Colormap::Diverging, range, "tap value");
  const ImVec2 region = ImGui::GetContentRegionAvail();
  const int per_row = std::max(1, std::min(g_count, 6));
  const int rows = (g_count + per_row - 1) / per_row;
  const auto cell_for = [&](bool beside) {
    const float avail = region.x * (beside ? 0.55f : 1.0f) - legend_w - spacing;
    const float height = beside ? region.y - 2 * ImGui::GetTextLineHeight() : region.y * 0.4f;
    return std::clamp(std::min((avail - 10 * per_row) / (per_row * k), height / (rows * k)), 3.0f,
                      std::max(30.0f, ImGui::GetFontSize() * 3.2f));
  };
  // Beside the sum map in a wide, short panel, unless that shrinks the kernels (large UI
  // scales widen the legends): then the sum map goes below.
  const bool side_by_side =
      region.x > region.y * 2.2f && cell_for(true) >= std::min(cell_for(false), 12.0f);
  const float cell = cell_for(side_by_side);
  ImDrawList* draw = ImGui::GetWindowDrawList();
  const ImVec2 p = ImGui::GetCursorScreenPos();
  for (int g = 0; g < g_count; ++g) {
    for (int t = 0; t < taps; ++t)
      kernel[static_cast<size_t>(t)] = at[static_cast<size_t>(g * taps + t)];
    const ImVec2 at(p.x + (g % per_row) * (cell * k + 10), p.y + (g / per_row) * (cell * k + 10));
    const int hovered = draw_kernel_heatmap(draw, at, cell, k, kernel.data(), m, cell >= 26);
    if (hovered >= 0)
      ImGui::SetTooltip("group %d, tap row %d, col %d: %g", g, hovered / k, hovered % k,
                        static_cast<double>(kernel[static_cast<size_t>(hovered)]));
  }
  ImGui::BeginGroup();
  ImGui::Dummy(ImVec2(std::min(g_count, per_row) * (cell * k + 10), rows * (cell * k + 10)));
  ImGui::SameLine();
  vertical_legend(Colormap::Diverging, range,
                  rows * (cell * k + 10) - 10 - 2.2f * ImGui::GetTextLineHeight(), "tap value");
  ImGui::EndGroup();
  const float kernels_w = ImGui::GetItemRectSize().x;

  // A wide, short panel (the presentation view) puts the sum map beside the kernels.
  if (side_by_side) {
    ImGui::SameLine(0, spacing * 4);
    ImGui::BeginGroup();
    kernel_sum_map(app, r, g_count, region.x - kernels_w - spacing * 4,
                   region.y - ImGui::GetStyle().WindowPadding.y);
    ImGui::EndGroup();
  } else {
    kernel_sum_map(app, r, g_count, region.x,
                   ImGui::GetContentRegionAvail().y - ImGui::GetStyle().WindowPadding.y);
  }
}

}  // namespace

void draw_kernels_panel(AppState& app) {
  if (!app.doc.have_result) {
    ImGui::TextDisabled("waiting for the first result...");
    return;
  }
  if (ImGui::SmallButton("Save PNG+npy")) app.commands.post(cmd::Export{ExportPanel::Kernels});
  tooltip("Save the kernels as a PNG figure and as a .npy array in the export folder.");
  const bool conv = app.doc.result.conv.ran, inv = app.doc.result.involution.ran;
  if (!conv && !inv) {
    ImGui::TextDisabled("nothing computed: see the parameters panel");
    return;
  }
  if (inv && app.view.focus.pinned && app.view.focus.pinned_b) {
    ImGui::BeginChild("pin comparison", ImVec2(0, 0), false);
    const bool shown = draw_pin_comparison(app);
    ImGui::EndChild();
    if (shown) return;
  }
  if (conv && inv) {
    const float w = ImGui::GetContentRegionAvail().x;
    ImGui::BeginChild("conv kernels", ImVec2(w * 0.42f, 0), false);
    filter_bank(app.doc.result.conv);
    ImGui::EndChild();
    ImGui::SameLine();
    ImGui::BeginChild("involution kernels", ImVec2(0, 0), false);
    generated_kernels(app);
    ImGui::EndChild();
  } else if (conv) {
    filter_bank(app.doc.result.conv);
  } else {
    generated_kernels(app);
  }
}

}  // namespace ks::app
