// The step-through's Convolution and Involution tabs (see step_explain_views.h): the K x K
// tables of patch, kernel and products, the sums checked against the feature map, and for
// involution the chain that generated the kernel.
#include "panels/step_explain_views.h"

#include <imgui.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <functional>
#include <string>

#include "kernelscope/explain.h"
#include "render/step_view.h"

namespace ks::app {

namespace {

const ImVec4 kDim(0.62f, 0.65f, 0.70f, 1.0f);
const ImVec4 kGood(0.55f, 0.9f, 0.55f, 1.0f);
const ImVec4 kBad(1.0f, 0.45f, 0.4f, 1.0f);
const ImU32 kPadBg = IM_COL32(70, 40, 46, 255);
const ImU32 kOwnBg = IM_COL32(40, 60, 90, 255);

const OpResult& step_result(const AppState& app) {
  return app.view.step.involution ? app.doc.result.involution : app.doc.result.conv;
}

// Decimals of the grids: 4 for small kernels, fewer for large ones so three K x K tables
// still fit side by side. Set per frame from K.
int g_decimals = 4;

std::string num(double v, int decimals = -1) {
  if (decimals < 0) decimals = g_decimals;
  char buf[32];
  if (std::fabs(v) >= 1e4)
    std::snprintf(buf, sizeof buf, "%.3e", v);
  else
    std::snprintf(buf, sizeof buf, "%.*f", decimals, v);
  std::string s = buf;
  if (s[0] == '-' && s.find_first_not_of("-0.") == std::string::npos) s.erase(0, 1);
  return s;
}

int decimals_for(int64_t k) { return k <= 3 ? 4 : k <= 5 ? 3 : 2; }

// SameLine when an item `width` wide still fits, else the next line.
void same_line_if_room(float width) {
  ImGui::SameLine();
  if (ImGui::GetContentRegionAvail().x < width) ImGui::NewLine();
}

// Width of a K x K grid table drawn by grid_table.
float grid_width(int64_t k) {
  const ImGuiStyle& style = ImGui::GetStyle();
  const float cell = ImGui::CalcTextSize(num(-0.5).c_str()).x + 2 * style.CellPadding.x + 1;
  return static_cast<float>(k) * cell + 2;
}

void tip(const char* text) {
  if (ImGui::IsItemHovered()) ImGui::SetTooltip("%s", text);
}

// Records where the last item (a group) went, for scripted runs (AppState::drawn_items).
void mark_drawn(AppState& app, const char* name) {
  const ImVec2 a = ImGui::GetItemRectMin(), b = ImGui::GetItemRectMax();
  app.view.drawn_items.push_back({name, a.x, a.y, b.x - a.x, b.y - a.y});
}

// A K x K grid of numbers as a table; padded taps get a dark red cell and "pad".
void grid_table(const char* id, const char* title, int64_t k, const std::vector<ExplainTap>& taps,
                const std::function<double(int64_t)>& value, bool show_pad_text) {
  ImGui::BeginGroup();
  ImGui::TextColored(kDim, "%s", title);
  const int cols = static_cast<int>(k);
  if (ImGui::BeginTable(id, cols,
                        ImGuiTableFlags_Borders | ImGuiTableFlags_SizingFixedFit |
                            ImGuiTableFlags_NoHostExtendX)) {
    for (int64_t t = 0; t < k * k; ++t) {
      if (t % k == 0) ImGui::TableNextRow();
      ImGui::TableNextColumn();
      const bool pad = t < static_cast<int64_t>(taps.size()) && !taps[t].in_bounds;
      if (pad) ImGui::TableSetBgColor(ImGuiTableBgTarget_CellBg, kPadBg);
      if (pad && show_pad_text)
        ImGui::TextColored(kDim, "pad 0");
      else
        ImGui::TextUnformatted(num(value(t)).c_str());
    }
    ImGui::EndTable();
  }
  ImGui::EndGroup();
}

// Values of a vector in one wrapped line, the first `limit` of them.
template <typename T>
std::string vector_line(const std::vector<T>& v, size_t limit = 12) {
  std::string s;
  for (size_t k = 0; k < v.size() && k < limit; ++k)
    s += (k ? "  " : "") + num(static_cast<double>(v[k]), 4);
  if (v.size() > limit) s += "  ... (" + std::to_string(v.size()) + " values)";
  return s;
}

// The explained total against the feature map's value at the pixel (after the activation).
void verdict(AppState& app, double explained) {
  const OpResult& r = step_result(app);
  const StepThrough& st = app.view.step;
  const float shown = r.output.at(0, st.channel, st.i, st.j);
  const double after = r.relu ? std::max(explained, 0.0) : explained;
  const bool same = std::fabs(after - shown) <= 1e-5 * (1 + std::fabs(shown));
  if (r.relu) ImGui::Text("ReLU -> %s", num(after, 4).c_str());
  ImGui::TextColored(same ? kGood : kBad, "feature map (%s) at row %d, col %d: %s  %s",
                     r.backend.c_str(), st.i, st.j, num(shown, 4).c_str(),
                     same ? "= the sum above" : "differs from the sum above");
  tip("The value the worker computed and the Feature maps panel shows at this pixel; the\n"
      "step-through recomputes it from the same input and weights, term by term.");
}

}  // namespace

void draw_step_conv_view(AppState& app, const Tensor& input) {
  const OpResult& r = app.doc.result.conv;
  const StepThrough& st = app.view.step;
  const ConvPixelExplanation e =
      explain_conv_pixel(input, r.conv, r.conv_weights, 0, st.channel, st.i, st.j);
  const int64_t KK = e.kernel_size * e.kernel_size;
  g_decimals = decimals_for(e.kernel_size);
  ImGui::TextWrapped(
      "out[%d](row %d, col %d) = bias + sum over the %zu input channel%s of group %lld of "
      "(K x K patch x weight). Window: rows %lld..%lld, cols %lld..%lld (red cells are zero "
      "padding).",
      st.channel, st.i, st.j, e.in_channels.size(), e.in_channels.size() == 1 ? "" : "s",
      static_cast<long long>(e.group), static_cast<long long>(e.receptive_field.y0),
      static_cast<long long>(e.receptive_field.y1 - 1),
      static_cast<long long>(e.receptive_field.x0),
      static_cast<long long>(e.receptive_field.x1 - 1));
  const auto result = [&] {
    ImGui::BeginGroup();
    std::string line;
    for (size_t c = 0; c < e.channel_sums.size() && c < 8; ++c)
      line += (c ? " + " : "") + num(e.channel_sums[c], 4);
    if (e.channel_sums.size() > 8) line += " + ...";
    if (e.has_bias) line += "  + bias " + num(e.bias, 4);
    ImGui::TextWrapped("sum over input channels: %s", line.c_str());
    ImGui::Text("= %s", num(e.output, 4).c_str());
    verdict(app, e.output);
    ImGui::EndGroup();
    mark_drawn(app, "step result");
  };
  // The presentation view puts the result first, so it shows however many channel rows
  // follow (presentation_layout.h); otherwise it closes the derivation.
  if (app.view.presentation) {
    result();
    ImGui::Separator();
  }
  const size_t shown = std::min<size_t>(e.in_channels.size(), 8);
  for (size_t c = 0; c < shown; ++c) {
    const std::string ch = std::to_string(e.in_channels[c]);
    ImGui::PushID(static_cast<int>(c));
    ImGui::AlignTextToFramePadding();
    ImGui::Text("in %s", ch.c_str());
    ImGui::SameLine();
    grid_table(
        "patch", ("patch, channel " + ch).c_str(), e.kernel_size, e.taps,
        [&](int64_t t) { return e.inputs[c * KK + t]; }, true);
    same_line_if_room(grid_width(e.kernel_size));
    grid_table(
        "kernel", ("weight[" + std::to_string(st.channel) + ", " + std::to_string(c) + "]").c_str(),
        e.kernel_size, {}, [&](int64_t t) { return e.weights[c * KK + t]; }, false);
    same_line_if_room(grid_width(e.kernel_size));
    grid_table(
        "products", "patch x weight", e.kernel_size, e.taps,
        [&](int64_t t) { return e.products[c * KK + t]; }, false);
    ImGui::SameLine();
    ImGui::Text("sum = %s", num(e.channel_sums[c], 4).c_str());
    ImGui::PopID();
  }
  if (e.in_channels.size() > shown)
    ImGui::TextColored(kDim, "... and %zu more input channels (their sums are in the total)",
                       e.in_channels.size() - shown);
  if (!app.view.presentation) {
    ImGui::Separator();
    result();
  }
}

void draw_step_involution_view(AppState& app, const Tensor& input) {
  const OpResult& r = app.doc.result.involution;
  const StepThrough& st = app.view.step;
  if (r.notebook) {
    // The notebook variant has no engine explanation of its chain; its step view reads the
    // computed span kernels, and its sum equals the output there.
    const render::StepView v = render::notebook_step_view(
        input, r.notebook_params, r.notebook_result, 0, st.channel, st.i, st.j);
    ImGui::TextWrapped("Notebook variant: %s", v.title.c_str());
    grid_table(
        "patch", v.patch_label.c_str(), v.kernel_size, v.taps,
        [&](int64_t t) { return v.patch[t]; }, true);
    same_line_if_room(grid_width(v.kernel_size));
    grid_table(
        "kernel", v.kernel_label.c_str(), v.kernel_size, {}, [&](int64_t t) { return v.kernel[t]; },
        false);
    same_line_if_room(grid_width(v.kernel_size));
    grid_table(
        "products", v.products_label.c_str(), v.kernel_size, v.taps,
        [&](int64_t t) { return v.products[t]; }, false);
    double sum = 0;
    for (double p : v.products) sum += p;
    ImGui::BeginGroup();
    ImGui::Text("sum of products = %s", num(static_cast<float>(sum), 4).c_str());
    verdict(app, static_cast<float>(sum));
    ImGui::EndGroup();
    mark_drawn(app, "step result");
    for (const std::string& n : v.notes) ImGui::TextWrapped("%s", n.c_str());
    return;
  }
  const InvolutionPixelExplanation e = explain_involution_pixel(
      input, r.involution, r.involution_weights, 0, st.channel, st.i, st.j);
  const InvolutionGeneration& g = e.generation;
  const int64_t K = e.kernel_size, KK = K * K;
  g_decimals = decimals_for(K);
  ImGui::TextWrapped(
      "out[%d](row %d, col %d) = sum over the K x K window of channel %d x the kernel generated at "
      "this "
      "pixel for group %lld. No bias term: the span's bias is inside the kernel.",
      st.channel, st.i, st.j, st.channel, static_cast<long long>(e.group));
  const InvolutionParams& p = r.involution;
  const auto tables = [&] {
    grid_table(
        "patch", ("patch, channel " + std::to_string(st.channel)).c_str(), K, e.taps,
        [&](int64_t t) { return e.inputs[t]; }, true);
    same_line_if_room(grid_width(K));
    grid_table(
        "kernel", ("kernel " + std::to_string(e.group) + " at this pixel").c_str(), K, {},
        [&](int64_t t) { return e.weights[t]; }, false);
    same_line_if_room(grid_width(K));
    grid_table(
        "products", "patch x kernel", K, e.taps, [&](int64_t t) { return e.products[t]; }, false);
  };
  const auto result = [&] {
    ImGui::BeginGroup();
    ImGui::Text("sum of products = %s", num(e.output, 4).c_str());
    verdict(app, e.output);
    ImGui::EndGroup();
    mark_drawn(app, "step result");
  };
  const auto chain = [&] {
    ImGui::BeginGroup();
    ImGui::Text("How the kernel was generated at row %d, col %d", st.i, st.j);
    if (ImGui::BeginTable(
            "chain", 2,
            ImGuiTableFlags_Borders | ImGuiTableFlags_RowBg | ImGuiTableFlags_SizingStretchProp)) {
      ImGui::TableSetupColumn("step", ImGuiTableColumnFlags_WidthFixed);
      ImGui::TableSetupColumn("values");
      ImGui::TableHeadersRow();
      auto row = [](const std::string& step, const std::string& values) {
        ImGui::TableNextRow();
        ImGui::TableNextColumn();
        ImGui::TextUnformatted(step.c_str());
        ImGui::TableNextColumn();
        ImGui::TextWrapped("%s", values.c_str());
      };
      row(p.stride > 1
              ? "1. x' = mean of the " + std::to_string(p.stride) + "x" + std::to_string(p.stride) +
                    " window (" + std::to_string(g.pooled.size()) + " ch)"
              : "1. x' = the pixel's " + std::to_string(g.pooled.size()) + " channels",
          vector_line(g.pooled));
      row("2. reduce W0 . x' (C/r = " + std::to_string(g.reduced.size()) + ")",
          vector_line(g.reduced));
      row("3. BN (running mean/var)", vector_line(g.normalised));
      row("4. ReLU", vector_line(g.activated));
      row("5. span W1 . t + b1", std::to_string(p.groups()) + " kernel" +
                                     (p.groups() > 1 ? "s" : "") + " of " + std::to_string(K) +
                                     "x" + std::to_string(K) + " (below)");
      std::string map;
      for (int64_t gg = 0; gg < p.groups() && gg < 8; ++gg)
        map += (gg ? ";  " : "") + std::string("kernel ") + std::to_string(gg) + ": ch " +
               std::to_string(gg * p.group_channels) +
               (p.group_channels > 1 ? "-" + std::to_string((gg + 1) * p.group_channels - 1) : "");
      if (p.groups() > 8) map += ";  ...";
      row("6. channels -> kernel", map);
      ImGui::EndTable();
    }
    ImGui::EndGroup();
    mark_drawn(app, "generation chain");
  };
  // The presentation view shows the result and the chain first: they stay in view however
  // large K makes the tables (presentation_layout.h). Otherwise the tables lead to them.
  if (app.view.presentation) {
    result();
    ImGui::Separator();
    chain();
    ImGui::Separator();
    tables();
  } else {
    tables();
    result();
    ImGui::Separator();
    chain();
  }
  const int64_t G = p.groups();
  for (int64_t gg = 0; gg < G && gg < 8; ++gg) {
    if (gg) same_line_if_room(grid_width(K));
    ImGui::PushID(static_cast<int>(gg));
    std::string title = "kernel " + std::to_string(gg);
    if (gg == e.group) title += " (used)";
    grid_table(
        "gen", title.c_str(), K, {}, [&](int64_t t) { return g.kernels[gg * KK + t]; }, false);
    ImGui::PopID();
  }
  if (G > 8) ImGui::TextColored(kDim, "... %lld kernels in all", static_cast<long long>(G));
  std::string shared;
  for (size_t k = 0; k < e.channels_sharing_kernel.size() && k < 16; ++k)
    shared += (k ? ", " : "") + std::to_string(e.channels_sharing_kernel[k]);
  if (e.channels_sharing_kernel.size() > 16) shared += ", ...";
  ImGui::TextWrapped("Kernel %lld is shared by channel%s %s.", static_cast<long long>(e.group),
                     e.channels_sharing_kernel.size() > 1 ? "s" : "", shared.c_str());
}

}  // namespace ks::app
