// The step-through's Compare tab (see step_compare_view.h).
#include "panels/step_compare_view.h"

#include <imgui.h>

#include <cstdio>
#include <functional>
#include <string>

#include "kernelscope/explain.h"
#include "kernelscope/notebook_variant.h"
#include "kernelscope/ops.h"
#include "render/step_view.h"

namespace ks::app {

namespace {

const ImVec4 kDim(0.62f, 0.65f, 0.70f, 1.0f);
const ImVec4 kBad(1.0f, 0.45f, 0.4f, 1.0f);

std::string count_text(double n) {
  char buf[32];
  if (n >= 1e6)
    std::snprintf(buf, sizeof buf, "%.2f M", n / 1e6);
  else if (n >= 1e4)
    std::snprintf(buf, sizeof buf, "%.1f k", n / 1e3);
  else
    std::snprintf(buf, sizeof buf, "%.0f", n);
  return buf;
}

}  // namespace

void draw_step_compare_view(AppState& app, const Tensor& input) {
  ImGui::TextWrapped(
      "Convolution: the same K x K kernels slide over every pixel (spatial-agnostic) and each "
      "output channel has its own kernel per input channel (channel-specific).");
  ImGui::TextWrapped(
      "Involution: a new kernel is generated at every pixel from that pixel's channels "
      "(spatial-specific), and the C channels share G = C / group-channels kernels "
      "(channel-agnostic). Its weights describe how to make kernels, not the kernels.");
  const int64_t C = input.dim(1);
  ConvParams cp =
      app.doc.result.conv.ran ? app.doc.result.conv.conv : conv_params(app.doc.settings, C);
  InvolutionParams ip = app.doc.result.involution.ran ? app.doc.result.involution.involution
                                                      : involution_params(app.doc.settings, C);
  if (ImGui::BeginTable(
          "counts", 4,
          ImGuiTableFlags_Borders | ImGuiTableFlags_RowBg | ImGuiTableFlags_SizingFixedFit)) {
    ImGui::TableSetupColumn("operator");
    ImGui::TableSetupColumn("parameters");
    ImGui::TableSetupColumn("FLOPs (this image)");
    ImGui::TableSetupColumn("kernels");
    ImGui::TableHeadersRow();
    auto row = [&](const std::string& name, const std::function<double()>& params,
                   const std::function<double()>& flops, const std::string& kernels) {
      ImGui::TableNextRow();
      ImGui::TableNextColumn();
      ImGui::TextUnformatted(name.c_str());
      try {
        const double pc = params(), fl = flops();
        ImGui::TableNextColumn();
        ImGui::TextUnformatted(count_text(pc).c_str());
        ImGui::TableNextColumn();
        ImGui::Text("%s", (count_text(fl) + "FLOP").c_str());
      } catch (const std::exception& ex) {
        ImGui::TableNextColumn();
        ImGui::TextColored(kBad, "n/a");
        if (ImGui::IsItemHovered()) ImGui::SetTooltip("%s", ex.what());
        ImGui::TableNextColumn();
      }
      ImGui::TableNextColumn();
      ImGui::TextUnformatted(kernels.c_str());
    };
    // The fair baseline (C_out = C, as on the slides); the user's own convolution too when
    // it differs from that.
    const ConvParams fair = render::conv_baseline(ip);
    const auto conv_row = [&](const std::string& name, const ConvParams& c) {
      row(
          name, [&] { return static_cast<double>(parameter_count(c)); },
          [&] { return conv_flops(input.shape, c); },
          std::to_string(c.out_channels) + " x " +
              std::to_string(c.groups > 0 ? c.in_channels / c.groups : 0) +
              ", the same at every pixel");
    };
    conv_row("convolution K=" + std::to_string(fair.kernel_size) + ", C_out = C", fair);
    if (app.doc.result.conv.ran && (cp.out_channels != fair.out_channels ||
                                    cp.groups != fair.groups || cp.kernel_size != fair.kernel_size))
      conv_row("your convolution K=" + std::to_string(cp.kernel_size) +
                   ", C_out = " + std::to_string(cp.out_channels) +
                   (cp.groups > 1 ? ", " + std::to_string(cp.groups) + " groups" : ""),
               cp);
    row(
        "involution K=" + std::to_string(ip.kernel_size),
        [&] { return static_cast<double>(parameter_count(ip)); },
        [&] { return involution_flops(input.shape, ip); },
        std::to_string(ip.group_channels > 0 ? ip.groups() : 0) +
            " per pixel, shared by channel groups");
    if (app.doc.result.involution.ran && app.doc.result.involution.notebook) {
      const OpResult& r = app.doc.result.involution;
      row(
          "notebook variant (K x K span)",
          [&] { return static_cast<double>(parameter_count(r.notebook_params)); },
          [&] { return r.flops; }, "per pixel, from a K x K neighbourhood");
    }
    ImGui::EndTable();
  }
  ImGui::TextColored(kDim,
                     "Parameters as PyTorch counts them; FLOPs = 2 per multiply-add on the "
                     "current image (%lld x %lld).",
                     static_cast<long long>(input.dim(3)), static_cast<long long>(input.dim(2)));
}

}  // namespace ks::app
