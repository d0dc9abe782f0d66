// Step-through panel: one output pixel of one channel taken apart with the engine's own
// explanation (explain.h): the K x K patch per input channel, the kernel, the products and
// their sums, for involution the kernel-generation chain, and a "Compare" tab on what
// separates the two operators. Play/step/scrub move the pixel row by row; the export writes
// the same step-through as slides (render/).
#include <imgui.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <functional>
#include <stdexcept>
#include <string>

#include "gui/export.h"
#include "gui/widgets.h"
#include "kernelscope/explain.h"
#include "panels/panels.h"
#include "panels/step_compare_view.h"
#include "render/slides.h"
#include "render/step_view.h"

namespace ks::app {

namespace {

namespace fs = std::filesystem;

const ImVec4 kDim(0.62f, 0.65f, 0.70f, 1.0f);
const ImVec4 kGood(0.55f, 0.9f, 0.55f, 1.0f);
const ImVec4 kBad(1.0f, 0.45f, 0.4f, 1.0f);
const ImU32 kPadBg = IM_COL32(70, 40, 46, 255);
const ImU32 kOwnBg = IM_COL32(40, 60, 90, 255);

const OpResult& step_result(const AppState& app) {
  return app.step.involution ? app.result.involution : app.result.conv;
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
  app.drawn_items.push_back({name, a.x, a.y, b.x - a.x, b.y - a.y});
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
  const StepThrough& st = app.step;
  const float shown = r.output.at(0, st.channel, st.i, st.j);
  const double after = r.relu ? std::max(explained, 0.0) : explained;
  const bool same = std::fabs(after - shown) <= 1e-5 * (1 + std::fabs(shown));
  if (r.relu) ImGui::Text("ReLU -> %s", num(after, 4).c_str());
  ImGui::TextColored(same ? kGood : kBad, "feature map (%s) at (%d, %d): %s  %s", r.backend.c_str(),
                     st.i, st.j, num(shown, 4).c_str(),
                     same ? "= the sum above" : "differs from the sum above");
  tip("The value the worker computed and the Feature maps panel shows at this pixel; the\n"
      "step-through recomputes it from the same input and weights, term by term.");
}

void conv_view(AppState& app, const Tensor& input) {
  const OpResult& r = app.result.conv;
  const StepThrough& st = app.step;
  const ConvPixelExplanation e =
      explain_conv_pixel(input, r.conv, r.conv_weights, 0, st.channel, st.i, st.j);
  const int64_t KK = e.kernel_size * e.kernel_size;
  g_decimals = decimals_for(e.kernel_size);
  ImGui::TextWrapped(
      "out[%d](%d, %d) = bias + sum over the %zu input channel%s of group %lld of "
      "(K x K patch x weight). Window: rows %lld..%lld, cols %lld..%lld (red cells are zero "
      "padding).",
      st.channel, st.i, st.j, e.in_channels.size(), e.in_channels.size() == 1 ? "" : "s",
      static_cast<long long>(e.group), static_cast<long long>(e.receptive_field.y0),
      static_cast<long long>(e.receptive_field.y1 - 1),
      static_cast<long long>(e.receptive_field.x0),
      static_cast<long long>(e.receptive_field.x1 - 1));
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
  ImGui::Separator();
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
}

void involution_view(AppState& app, const Tensor& input) {
  const OpResult& r = app.result.involution;
  const StepThrough& st = app.step;
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
      "out[%d](%d, %d) = sum over the K x K window of channel %d x the kernel generated at this "
      "pixel for group %lld. No bias term: the span's bias is inside the kernel.",
      st.channel, st.i, st.j, st.channel, static_cast<long long>(e.group));
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
  ImGui::BeginGroup();
  ImGui::Text("sum of products = %s", num(e.output, 4).c_str());
  verdict(app, e.output);
  ImGui::EndGroup();
  mark_drawn(app, "step result");

  ImGui::Separator();
  ImGui::BeginGroup();
  ImGui::Text("How the kernel was generated at (%d, %d)", st.i, st.j);
  const InvolutionParams& p = r.involution;
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
                                   (p.groups() > 1 ? "s" : "") + " of " + std::to_string(K) + "x" +
                                   std::to_string(K) + " (below)");
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

void advance(StepThrough& st, int h, int w, int by) {
  int64_t k = static_cast<int64_t>(st.i) * w + st.j + by;
  const int64_t n = static_cast<int64_t>(h) * w;
  k = ((k % n) + n) % n;
  st.i = static_cast<int>(k / w);
  st.j = static_cast<int>(k % w);
}

void controls(AppState& app, int h, int w, int channels) {
  StepThrough& st = app.step;
  const float font = ImGui::GetFontSize();
  if (ImGui::Button(st.playing ? "Pause" : "Play", ImVec2(font * 3.6f, 0)))
    st.playing = !st.playing;
  tip("Move the output pixel across the image, row by row, at the speed on the right.");
  ImGui::SameLine();
  if (ImGui::Button("|<")) st.i = st.j = 0;
  tip("Back to the first output pixel (top-left).");
  ImGui::SameLine();
  if (ImGui::ArrowButton("##prev", ImGuiDir_Left)) advance(st, h, w, -1);
  tip("Step one output pixel back.");
  ImGui::SameLine();
  if (ImGui::ArrowButton("##next", ImGuiDir_Right)) advance(st, h, w, 1);
  tip("Step one output pixel forward (the next column, then the next row).");
  ImGui::SameLine();
  ImGui::SetNextItemWidth(font * 7);
  ImGui::SliderFloat("px/s", &st.speed, 0.5f, 60.0f, "%.1f", ImGuiSliderFlags_Logarithmic);
  tip("Playing speed: output pixels per second.");
  same_line_if_fits("channel 000000000");
  ImGui::SetNextItemWidth(font * 6);
  ImGui::SliderInt("channel", &st.channel, 0, std::max(channels - 1, 0));
  tip("The output channel whose value is taken apart.");
  int raster = st.i * w + st.j;
  ImGui::SetNextItemWidth(std::max(ImGui::GetContentRegionAvail().x - font * 15, font * 8));
  char label[64];
  std::snprintf(label, sizeof label, "row %d, col %d", st.i, st.j);
  if (ImGui::SliderInt("##scrub", &raster, 0, h * w - 1, label)) {
    st.i = raster / w;
    st.j = raster % w;
  }
  tip("Scrub: drag to move the output pixel anywhere (raster order). Clicking the Input panel\n"
      "also picks the pixel.");
  ImGui::SameLine();
  ImGui::SetNextItemWidth(font * 3.5f);
  ImGui::InputInt("##frames", &st.export_frames, 0);
  st.export_frames = std::clamp(st.export_frames, 1, 200);
  tip("Number of frames the slide export writes (positions along the current row).");
  ImGui::SameLine();
  if (ImGui::Button("Export slides")) app.export_slides = true;
  tip("Write the step-through along the current row as PNG frames (1280x720) and an animated\n"
      "GIF into the export folder.");
}

}  // namespace

void update_step_through(AppState& app) {
  StepThrough& st = app.step;
  if (!st.active || !app.have_result) return;
  const bool conv_ok = app.result.conv.ran, inv_ok = app.result.involution.ran;
  if (!conv_ok && !inv_ok) return;
  if (st.involution && !inv_ok) st.involution = false;
  if (!st.involution && !conv_ok) st.involution = true;
  const OpResult& r = step_result(app);
  const int channels = static_cast<int>(r.output.dim(1));
  const int h = static_cast<int>(r.output.dim(2)), w = static_cast<int>(r.output.dim(3));
  st.channel = std::clamp(st.channel, 0, channels - 1);
  // A pin placed by the user (a click on the input) picks the output pixel.
  if (app.focus.pinned && (app.focus.pin_x != st.pin_x || app.focus.pin_y != st.pin_y)) {
    int ox = 0, oy = 0;
    if (output_pixel_for(app, st.involution, app.focus.pin_x, app.focus.pin_y, &ox, &oy)) {
      st.i = oy;
      st.j = ox;
      st.playing = false;
    }
  } else if (!st.synced && !app.focus.pinned) {
    st.i = h / 2;
    st.j = w / 2;
  }
  st.synced = true;
  if (st.playing) {
    st.carry += static_cast<double>(ImGui::GetIO().DeltaTime) * st.speed;
    const int steps = static_cast<int>(st.carry);
    st.carry -= steps;
    if (steps > 0) advance(st, h, w, steps);
  }
  st.i = std::clamp(st.i, 0, h - 1);
  st.j = std::clamp(st.j, 0, w - 1);
  // Mirror the pixel into the pin: the Input panel outlines its receptive field.
  int x0 = 0, y0 = 0, extent = 1, step = 1;
  receptive_field(app, st.involution, st.j, st.i, &x0, &y0, &extent, &step);
  const int iw = static_cast<int>(app.image.compute->dim(3));
  const int ih = static_cast<int>(app.image.compute->dim(2));
  app.focus.pinned = true;
  app.focus.pin_x = st.pin_x = std::clamp(x0 + extent / 2, 0, iw - 1);
  app.focus.pin_y = st.pin_y = std::clamp(y0 + extent / 2, 0, ih - 1);
}

bool step_through_total(const AppState& app, double* explained, float* shown) {
  const StepThrough& st = app.step;
  if (!st.active || !app.have_result || !app.image.compute) return false;
  const OpResult& r = step_result(app);
  if (!r.ran) return false;
  const Tensor& input = *app.result.image.compute;
  try {
    if (!st.involution) {
      *explained =
          explain_conv_pixel(input, r.conv, r.conv_weights, 0, st.channel, st.i, st.j).output;
    } else if (r.notebook) {
      const render::StepView v = render::notebook_step_view(
          input, r.notebook_params, r.notebook_result, 0, st.channel, st.i, st.j);
      double sum = 0;
      for (double p : v.products) sum += p;
      *explained = static_cast<float>(sum);
    } else {
      *explained = explain_involution_pixel(input, r.involution, r.involution_weights, 0,
                                            st.channel, st.i, st.j)
                       .output;
    }
  } catch (const std::exception&) {
    return false;
  }
  if (r.relu) *explained = std::max(*explained, 0.0);
  *shown = r.output.at(0, st.channel, st.i, st.j);
  return true;
}

std::vector<std::string> export_step_slides(AppState& app) {
  const StepThrough& st = app.step;
  if (!st.active || !app.have_result) throw std::runtime_error("the step-through has no result");
  const OpResult& r = step_result(app);
  if (!r.ran) throw std::runtime_error("the step-through's operation did not run");
  const Tensor& input = *app.result.image.compute;
  const render::Font font;
  const std::string folder = export_folder(app);
  const std::string stem = export_stem(folder, "step-through");
  render::SlideSink sink;
  sink.dir = stem;
  sink.gif_path = stem + ".gif";
  sink.delay_cs = 50;
  render::prepare_slide_dir(sink.dir);
  const int64_t w = r.output.dim(3);
  int index = 0;
  for (const int64_t j : render::even_positions(w, st.export_frames)) {
    render::StepView v;
    double explained = 0;
    if (!st.involution) {
      const ConvPixelExplanation e =
          explain_conv_pixel(input, r.conv, r.conv_weights, 0, st.channel, st.i, j);
      explained = e.output;
      v = render::conv_step_view(input, r.conv, r.conv_weights, r.output, e);
    } else if (r.notebook) {
      v = render::notebook_step_view(input, r.notebook_params, r.notebook_result, 0, st.channel,
                                     st.i, j);
      v.output = &r.output;
      explained = r.notebook_result.output.at(0, st.channel, st.i, j);
    } else {
      const InvolutionPixelExplanation e = explain_involution_pixel(
          input, r.involution, r.involution_weights, 0, st.channel, st.i, j);
      explained = e.output;
      v = render::involution_step_view(input, r.involution, r.output, e);
    }
    if (r.relu)
      v.sum_lines.push_back("ReLU → " + render::format_number(std::max(explained, 0.0), 4));
    v.caption = app.scene_caption;
    v.colormap = app.view.colormap;
    v.filled = st.i * w + j + 1;
    render::write_step_slide(v, font, index++, &sink);
  }
  if (sink.gif) sink.gif->finish();
  std::vector<std::string> files = sink.written;
  files.push_back(sink.gif_path);
  return files;
}

void draw_step_through_panel(AppState& app) {
  StepThrough& st = app.step;
  if (!app.have_result || !app.image.compute) {
    ImGui::TextDisabled("waiting for the first result...");
    return;
  }
  const bool conv_ok = app.result.conv.ran, inv_ok = app.result.involution.ran;
  if (!conv_ok && !inv_ok) {
    ImGui::TextColored(kBad, "nothing was computed; see the Parameters panel");
    return;
  }
  const OpResult& r = step_result(app);
  const int h = static_cast<int>(r.output.dim(2)), w = static_cast<int>(r.output.dim(3));
  controls(app, h, w, static_cast<int>(r.output.dim(1)));

  bool compare = false;
  if (ImGui::BeginTabBar("step tabs")) {
    if (conv_ok) {
      const bool open = ImGui::BeginTabItem("Convolution");
      tip("Take the convolution's output pixel apart.");
      if (open) {
        st.involution = false;
        ImGui::EndTabItem();
      }
    }
    if (inv_ok) {
      const bool open = ImGui::BeginTabItem(app.result.involution.notebook ? "Involution (notebook)"
                                                                           : "Involution");
      tip("Take the involution's output pixel apart, with the chain that generated its kernel.");
      if (open) {
        st.involution = true;
        ImGui::EndTabItem();
      }
    }
    const ImGuiTabItemFlags compare_flags = st.select_compare ? ImGuiTabItemFlags_SetSelected : 0;
    st.select_compare = false;
    const bool open = ImGui::BeginTabItem("Compare", nullptr, compare_flags);
    tip("What separates convolution from involution, with their parameters and FLOPs.");
    if (open) {
      compare = true;
      ImGui::EndTabItem();
    }
    ImGui::EndTabBar();
  }
  st.compare = compare;
  ImGui::BeginChild("step body", ImVec2(0, 0), false, ImGuiWindowFlags_HorizontalScrollbar);
  // What shows of the body without scrolling: the result line and the chain must be inside.
  const ImVec2 body = ImGui::GetWindowPos(), body_size = ImGui::GetWindowSize();
  app.drawn_items.push_back({"step body", body.x, body.y, body_size.x, body_size.y});
  const Tensor& input = *app.result.image.compute;
  try {
    if (compare)
      draw_step_compare_view(app, input);
    else if (st.involution)
      involution_view(app, input);
    else
      conv_view(app, input);
  } catch (const std::exception& e) {
    ImGui::TextColored(kBad, "%s", e.what());
  }
  ImGui::EndChild();
}

}  // namespace ks::app
