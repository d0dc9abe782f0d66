// The two-pin comparison (Kernels panel, when pins A and B are both set): the picture of the
// lesson "convolution uses the same kernel at A and at B; involution generates a different
// one at each". For both pixels: the input patch, the convolution kernel (identical, and the
// panel says so), the involution kernel generated there, their difference, and the outputs.
#include <imgui.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <string>
#include <vector>

#include "gui/legend.h"
#include "gui/widgets.h"
#include "panels/panels.h"

namespace ks::app {
namespace {

struct PinView {
  const char* name;
  int x, y;    // input pixel
  int ox, oy;  // involution output pixel
};

// The K x K input patch output pixel (ox, oy) of the involution reads, for one channel
// (zero outside the image: the padding).
std::vector<float> involution_patch(const AppState& app, int channel, int ox, int oy) {
  const Tensor& in = *app.doc.image.compute;
  const InvolutionParams& p = app.doc.result.involution.involution;
  const int64_t k = p.kernel_size, h = in.dim(2), w = in.dim(3);
  std::vector<float> patch(static_cast<size_t>(k * k), 0.0f);
  for (int64_t ky = 0; ky < k; ++ky)
    for (int64_t kx = 0; kx < k; ++kx) {
      const int64_t y = oy * p.stride - p.padding() + ky * p.dilation;
      const int64_t x = ox * p.stride - p.padding() + kx * p.dilation;
      if (y >= 0 && y < h && x >= 0 && x < w)
        patch[static_cast<size_t>(ky * k + kx)] = in.at(0, channel, y, x);
    }
  return patch;
}

float abs_max(const std::vector<float>& v) {
  float m = 0;
  for (float x : v)
    if (std::isfinite(x)) m = std::max(m, std::fabs(x));
  return m;
}

// One K x K heatmap with the hovered tap's value in a tooltip.
void heatmap_cell(const std::vector<float>& values, int k, float scale, float cell) {
  ImGui::BeginGroup();
  ImDrawList* draw = ImGui::GetWindowDrawList();
  const ImVec2 at = ImGui::GetCursorScreenPos();
  const int tap = draw_kernel_heatmap(draw, at, cell, k, values.data(), scale, cell >= 26);
  ImGui::Dummy(ImVec2(cell * k, cell * k));
  if (tap >= 0)
    ImGui::SetTooltip("tap (row %d, col %d): %g", tap / k, tap % k,
                      static_cast<double>(values[static_cast<size_t>(tap)]));
  ImGui::EndGroup();
}

}  // namespace

bool draw_pin_comparison(AppState& app) {
  const Focus& f = app.view.focus;
  const OpResult& inv = app.doc.result.involution;
  if (!f.pinned || !f.pinned_b || !inv.ran || inv.notebook || !app.doc.image.compute) return false;
  PinView pins[2] = {{"A", f.pin_x, f.pin_y, 0, 0}, {"B", f.pin_b_x, f.pin_b_y, 0, 0}};
  for (PinView& p : pins)
    if (!output_pixel_for(app, true, p.x, p.y, &p.ox, &p.oy)) return false;
  const int k = static_cast<int>(inv.involution.kernel_size), taps = k * k;
  const int groups = static_cast<int>(inv.involution.groups());
  const int g = std::clamp(app.view.kernel_group, 0, groups - 1);
  const int channel = g * static_cast<int>(inv.involution.group_channels);

  ImGui::Text("pins A row %d, col %d and B row %d, col %d   group %d, channel %d", pins[0].y,
              pins[0].x, pins[1].y, pins[1].x, g, channel);
  ImGui::SameLine();
  if (ImGui::SmallButton("Unpin B")) app.view.focus.pinned_b = false;
  tooltip("Shift-click the input to move pin B; right-click releases both pins.");

  std::vector<float> patch[2], generated[2];
  for (int i = 0; i < 2; ++i) {
    patch[i] = involution_patch(app, channel, pins[i].ox, pins[i].oy);
    const std::vector<float>& at = kernels_at(inv, pins[i].oy, pins[i].ox);
    if (at.size() < static_cast<size_t>((g + 1) * taps)) return false;
    generated[i].assign(at.begin() + g * taps, at.begin() + (g + 1) * taps);
  }
  std::vector<float> difference(static_cast<size_t>(taps));
  for (int t = 0; t < taps; ++t)
    difference[static_cast<size_t>(t)] =
        generated[0][static_cast<size_t>(t)] - generated[1][static_cast<size_t>(t)];

  // A table: one row per quantity (patch, convolution kernel, involution kernel), columns
  // A, B and A - B, with K x K heatmaps sized so the whole table fits without scrolling.
  const ImVec2 region = ImGui::GetContentRegionAvail();
  const float line = ImGui::GetTextLineHeightWithSpacing();
  const float label_w = ImGui::CalcTextSize("involution kernel ").x;
  const OpResult& conv = app.doc.result.conv;
  const bool show_conv = conv.ran && !conv.conv_weights.weight.empty();
  const int rows = show_conv ? 3 : 2;
  const float gap = 10.0f;
  const float patch_scale = std::max(abs_max(patch[0]), abs_max(patch[1]));
  const float kernel_scale = std::max(abs_max(generated[0]), abs_max(generated[1]));
  // Each row ends in its legend; the widest one decides how much room the heatmaps get.
  const float legend_w =
      std::max(vertical_legend_width(Colormap::Diverging, {-patch_scale, patch_scale}, nullptr),
               vertical_legend_width(Colormap::Diverging, {-kernel_scale, kernel_scale}, nullptr));
  // In a narrow panel (large UI scale) the legend goes under its row, not beside it.
  const bool legend_beside = (region.x - label_w - 4 * gap - legend_w) / (3.0f * k) >= 8.0f;
  const float cell =
      std::clamp(std::min((region.x - label_w - 3 * gap - (legend_beside ? gap + legend_w : 0.0f)) /
                              (3.0f * k),
                          (region.y - 5.5f * line - rows * gap) / (static_cast<float>(rows) * k)),
                 3.0f, std::max(26.0f, ImGui::GetFontSize() * 3.0f));

  // Column headers over the heatmaps (rows start at label_w past the window padding).
  const float first_x = label_w + ImGui::GetStyle().WindowPadding.x;
  const char* columns[3] = {"at A", "at B", "A - B"};
  for (int i = 0; i < 3; ++i) {
    if (i) ImGui::SameLine();
    ImGui::SetCursorPosX(first_x + i * (cell * k + gap));
    ImGui::TextUnformatted(columns[i]);
  }
  auto row = [&](const char* label, const char* tip, const std::vector<float>* values, int n,
                 int size, float scale) {
    ImGui::AlignTextToFramePadding();
    ImGui::TextUnformatted(label);
    if (ImGui::IsItemHovered()) ImGui::SetTooltip("%s", tip);
    ImGui::SameLine(label_w + ImGui::GetStyle().WindowPadding.x);
    // One scale per row, A - B included, so one legend reads the whole row and a small
    // difference looks small.
    for (int i = 0; i < n; ++i) {
      if (i) ImGui::SameLine(0, gap);
      heatmap_cell(values[i], size, scale, cell);
    }
    if (legend_beside)
      ImGui::SameLine(label_w + ImGui::GetStyle().WindowPadding.x + 3 * (cell * k + gap));
    vertical_legend(Colormap::Diverging, {-scale, scale}, cell * size - line, nullptr);
    ImGui::Dummy(ImVec2(0, gap * 0.5f));
  };
  const std::vector<float> patches[2] = {patch[0], patch[1]};
  row("input patch", "the K x K input values the output pixel reads (channel shown above)", patches,
      2, k, patch_scale);
  if (show_conv) {
    const Tensor& w = conv.conv_weights.weight;  // [C_out, C_in/groups, K, K]
    const int ck = static_cast<int>(w.dim(2));
    const int in_ch = std::min(channel, static_cast<int>(w.dim(1)) - 1);
    const std::vector<float> kernel(w.ptr() + static_cast<int64_t>(in_ch) * ck * ck,
                                    w.ptr() + static_cast<int64_t>(in_ch + 1) * ck * ck);
    const std::vector<float> same[3] = {kernel, kernel, std::vector<float>(kernel.size(), 0.0f)};
    row("conv kernel",
        "convolution output 0: one kernel slides over every pixel, so A and B "
        "get the same one (difference 0)",
        same, 3, ck, abs_max(kernel));
  }
  const std::vector<float> inv_rows[3] = {generated[0], generated[1], difference};
  row("involution kernel",
      "generated at each pixel from its own channel vector: different "
      "kernels where the content differs",
      inv_rows, 3, k, kernel_scale);

  ImGui::TextDisabled("output");
  for (const PinView& p : pins) {
    const Tensor& out = inv.output;
    const float v = out.at(0, channel, p.oy, p.ox);
    ImGui::Text("%s: involution %.5g", p.name, static_cast<double>(v));
    int cx = 0, cy = 0;
    if (conv.ran && output_pixel_for(app, false, p.x, p.y, &cx, &cy)) {
      ImGui::SameLine();
      ImGui::Text("  convolution (output 0) %.5g",
                  static_cast<double>(conv.output.at(0, 0, cy, cx)));
    }
  }
  return true;
}

std::vector<std::string> pin_comparison_report(const AppState& app) {
  std::vector<std::string> lines;
  const Focus& f = app.view.focus;
  const OpResult& inv = app.doc.result.involution;
  if (!f.pinned || !f.pinned_b || !inv.ran || inv.notebook) return lines;
  const std::pair<const char*, std::pair<int, int>> pins[2] = {{"A", {f.pin_x, f.pin_y}},
                                                               {"B", {f.pin_b_x, f.pin_b_y}}};
  for (const auto& [name, xy] : pins) {
    int ox = 0, oy = 0;
    if (!output_pixel_for(app, true, xy.first, xy.second, &ox, &oy)) continue;
    std::string line = std::string("kernelscope: pin ") + name + " output " + std::to_string(oy) +
                       " " + std::to_string(ox) + " kernels";
    char number[32];
    for (float v : kernels_at(inv, oy, ox)) {
      std::snprintf(number, sizeof number, " %.9g", static_cast<double>(v));
      line += number;
    }
    lines.push_back(line);
  }
  return lines;
}

}  // namespace ks::app
