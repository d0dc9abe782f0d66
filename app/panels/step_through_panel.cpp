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
#include "panels/step_explain_views.h"
#include "render/slides.h"
#include "render/step_view.h"

namespace ks::app {

namespace {

namespace fs = std::filesystem;

const ImVec4 kBad(1.0f, 0.45f, 0.4f, 1.0f);

const OpResult& step_result(const AppState& app) {
  return app.view.step.involution ? app.doc.result.involution : app.doc.result.conv;
}

void tip(const char* text) {
  if (ImGui::IsItemHovered()) ImGui::SetTooltip("%s", text);
}

void advance(StepThrough& st, int h, int w, int by) {
  int64_t k = static_cast<int64_t>(st.i) * w + st.j + by;
  const int64_t n = static_cast<int64_t>(h) * w;
  k = ((k % n) + n) % n;
  st.i = static_cast<int>(k / w);
  st.j = static_cast<int>(k % w);
}

void controls(AppState& app, int h, int w, int channels) {
  StepThrough& st = app.view.step;
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
  if (ImGui::Button("Export slides")) app.commands.post(cmd::ExportSlides{});
  tip("Write the step-through along the current row as PNG frames (1280x720) and an animated\n"
      "GIF into the export folder.");
}

}  // namespace

void update_step_through(AppState& app) {
  StepThrough& st = app.view.step;
  if (!st.active || !app.doc.have_result) return;
  const bool conv_ok = app.doc.result.conv.ran, inv_ok = app.doc.result.involution.ran;
  if (!conv_ok && !inv_ok) return;
  // The result on screen decides what can be explained, also while a scene loads.
  if (st.involution && !inv_ok) st.involution = false;
  if (!st.involution && !conv_ok) st.involution = true;
  const OpResult& r = step_result(app);
  const int channels = static_cast<int>(r.output.dim(1));
  const int h = static_cast<int>(r.output.dim(2)), w = static_cast<int>(r.output.dim(3));
  st.channel = std::clamp(st.channel, 0, channels - 1);
  // Pins waiting for a scene's image would be clamped to the old image from here on.
  if (app.view.pending_pins.active) {
    st.i = std::clamp(st.i, 0, h - 1);
    st.j = std::clamp(st.j, 0, w - 1);
    return;
  }
  // A pin placed by the user (a click on the input) picks the output pixel.
  if (app.view.focus.pinned &&
      (app.view.focus.pin_x != st.pin_x || app.view.focus.pin_y != st.pin_y)) {
    int ox = 0, oy = 0;
    if (output_pixel_for(app, st.involution, app.view.focus.pin_x, app.view.focus.pin_y, &ox,
                         &oy)) {
      st.i = oy;
      st.j = ox;
      st.playing = false;
    }
  } else if (!st.synced && !app.view.focus.pinned) {
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
  const int iw = static_cast<int>(app.doc.image.compute->dim(3));
  const int ih = static_cast<int>(app.doc.image.compute->dim(2));
  app.view.focus.pinned = true;
  app.view.focus.pin_x = st.pin_x = std::clamp(x0 + extent / 2, 0, iw - 1);
  app.view.focus.pin_y = st.pin_y = std::clamp(y0 + extent / 2, 0, ih - 1);
}

bool step_through_total(const AppState& app, double* explained, float* shown) {
  const StepThrough& st = app.view.step;
  if (!st.active || !app.doc.have_result || !app.doc.image.compute) return false;
  const OpResult& r = step_result(app);
  if (!r.ran) return false;
  const Tensor& input = *app.doc.result.image.compute;
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
  const StepThrough& st = app.view.step;
  if (!st.active || !app.doc.have_result)
    throw std::runtime_error("the step-through has no result");
  const OpResult& r = step_result(app);
  if (!r.ran) throw std::runtime_error("the step-through's operation did not run");
  const Tensor& input = *app.doc.result.image.compute;
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
    v.caption = app.doc.scene_caption;
    v.colormap = app.view.settings.colormap;
    v.filled = st.i * w + j + 1;
    render::write_step_slide(v, font, index++, &sink);
  }
  if (sink.gif) sink.gif->finish();
  std::vector<std::string> files = sink.written;
  files.push_back(sink.gif_path);
  return files;
}

void draw_step_through_panel(AppState& app) {
  StepThrough& st = app.view.step;
  if (!app.doc.have_result || !app.doc.image.compute) {
    ImGui::TextDisabled("waiting for the first result...");
    return;
  }
  const bool conv_ok = app.doc.result.conv.ran, inv_ok = app.doc.result.involution.ran;
  if (!conv_ok && !inv_ok) {
    ImGui::TextColored(kBad, "nothing was computed; see the Parameters panel");
    return;
  }
  const OpResult& r = step_result(app);
  const int h = static_cast<int>(r.output.dim(2)), w = static_cast<int>(r.output.dim(3));
  controls(app, h, w, static_cast<int>(r.output.dim(1)));

  bool compare = false;
  // A scene (or --step-compare) brings its tab to the front once; after that the user's
  // clicks decide.
  const auto selected = [&st](StepTab tab) {
    return st.select_tab == tab ? ImGuiTabItemFlags_SetSelected : 0;
  };
  if (ImGui::BeginTabBar("step tabs")) {
    if (conv_ok) {
      const bool open = ImGui::BeginTabItem("Convolution", nullptr, selected(StepTab::Convolution));
      tip("Take the convolution's output pixel apart.");
      if (open) {
        st.involution = false;
        ImGui::EndTabItem();
      }
    }
    if (inv_ok) {
      const bool open = ImGui::BeginTabItem(
          app.doc.result.involution.notebook ? "Involution (notebook)" : "Involution", nullptr,
          selected(StepTab::Involution));
      tip("Take the involution's output pixel apart, with the chain that generated its kernel.");
      if (open) {
        st.involution = true;
        ImGui::EndTabItem();
      }
    }
    const bool open = ImGui::BeginTabItem("Compare", nullptr, selected(StepTab::Compare));
    tip("What separates convolution from involution, with their parameters and FLOPs.");
    if (open) {
      compare = true;
      ImGui::EndTabItem();
    }
    ImGui::EndTabBar();
  }
  // ImGui switches to a selected tab on the next frame; this frame already shows it.
  if (st.select_tab == StepTab::Convolution && conv_ok) st.involution = compare = false;
  if (st.select_tab == StepTab::Involution && inv_ok) {
    st.involution = true;
    compare = false;
  }
  if (st.select_tab == StepTab::Compare) compare = true;
  // A scene's tab waits for the scene's result (its tabs may not exist before).
  if (!app.view.pending_pins.active) st.select_tab = StepTab::Keep;
  st.compare = compare;
  ImGui::BeginChild("step body", ImVec2(0, 0), false, ImGuiWindowFlags_HorizontalScrollbar);
  // What shows of the body without scrolling: the result line and the chain must be inside.
  const ImVec2 body = ImGui::GetWindowPos(), body_size = ImGui::GetWindowSize();
  app.view.drawn_items.push_back({"step body", body.x, body.y, body_size.x, body_size.y});
  const Tensor& input = *app.doc.result.image.compute;
  try {
    if (compare)
      draw_step_compare_view(app, input);
    else if (st.involution)
      draw_step_involution_view(app, input);
    else
      draw_step_conv_view(app, input);
  } catch (const std::exception& e) {
    ImGui::TextColored(kBad, "%s", e.what());
  }
  ImGui::EndChild();
}

}  // namespace ks::app
