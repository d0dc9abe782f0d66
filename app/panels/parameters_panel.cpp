// Parameters panel: operation, shape parameters, weights, activation and backend. Every
// change posts a Recompute command (the frame loop then submits a compute request); impossible
// combinations are explained inline with the output-size formula.
#include <imgui.h>

#include <algorithm>
#include <climits>
#include <cstdio>
#include <random>
#include <string>
#include <vector>

#include "core/parameter_limits.h"
#include "core/weights.h"
#include "gui/widgets.h"
#include "kernelscope/backend.h"
#include "kernelscope/error.h"
#include "kernelscope/notebook_variant.h"
#include "panels/panels.h"

namespace ks::app {

namespace {

const ImVec4 kRed(1.0f, 0.45f, 0.4f, 1.0f);

// A note under the control a typed value was corrected for (out of range, or an even K for
// involution): the value is changed, and the user told so, not silently.
struct ControlNote {
  std::string control, text;
};
ControlNote g_note;

void show_note_for(const char* control) {
  if (g_note.control != control) return;
  ImGui::PushStyleColor(ImGuiCol_Text, ImVec4(0.95f, 0.8f, 0.45f, 1.0f));
  ImGui::TextWrapped("%s", g_note.text.c_str());
  ImGui::PopStyleColor();
}

// A slider; a value typed outside lo..hi (Ctrl+click) is set to the nearest end and the
// slider says so.
bool slider(const char* label, int* value, int lo, int hi, const char* help = nullptr) {
  ImGui::SetNextItemWidth(-ImGui::GetFontSize() * 8.5f);
  const bool changed = ImGui::SliderInt(label, value, lo, hi, "%d");
  if (help) help_marker(help);
  if (changed) {
    g_note = {};
    if (*value < lo || *value > hi) {
      g_note = {label, std::to_string(*value) + " is outside " + std::to_string(lo) + ".." +
                           std::to_string(hi) + ": set to " +
                           std::to_string(std::clamp(*value, lo, hi))};
      *value = std::clamp(*value, lo, hi);
    }
  }
  show_note_for(label);
  return changed;
}

// A slider over one parameter of the table (core/parameter_limits.h): its label and range.
bool param_slider(Param p, int* value, int64_t channels, const char* help) {
  return slider(limits(p).label, value, static_cast<int>(limits(p).min),
                static_cast<int>(std::min<int64_t>(app_max(p, channels), INT_MAX)), help);
}

// The kernel size. Involution needs an odd K, so with involution on screen the slider only
// stops at odd values: dragging moves 3 -> 5 -> 7, never through an even K's error.
bool kernel_size_slider(int* k, bool odd_only) {
  const int before = *k;
  const bool changed =
      param_slider(Param::KernelSize, k, 0,
                   odd_only ? "K x K taps. Involution needs an odd K: the slider stops "
                              "at odd values only."
                            : "K x K taps.");
  if (odd_only && *k % 2 == 0) {
    // Dragged: continue in the direction of the drag; typed: the next odd value up.
    const int odd = *k < before && ImGui::IsItemActive() ? *k - 1 : *k + 1;
    if (!changed || !ImGui::IsItemActive())
      g_note = {limits(Param::KernelSize).label,
                "involution needs an odd K: " + std::to_string(*k) + " -> " + std::to_string(odd)};
    *k = std::clamp(odd, static_cast<int>(limits(Param::KernelSize).min),
                    static_cast<int>(app_max(Param::KernelSize, 0)));
    return true;
  }
  return changed;
}

// Output size for the current parameters, or the engine's explanation of why not.
// Returns false when the parameters are impossible (the reason is shown in red).
bool shape_line(const char* title, bool involution, const AppState& app, int64_t channels,
                int64_t h, int64_t w) {
  const OpSettings& s = app.doc.settings;
  const Shape in = {1, channels, h, w};
  try {
    Shape out;
    int64_t pad = 0;
    if (involution && s.notebook_variant) {
      NotebookVariantParams p;
      p.channels = channels;
      p.kernel_size = s.kernel_size;
      p.group_channels = s.group_channels;
      p.reduction = s.reduction;
      p.stride = s.stride;
      p.padding = s.notebook_padding;
      out = notebook_variant_output_shape(in, p);
      ImGui::TextWrapped("%s (notebook): %s -> %s", title, shape_to_string(in).c_str(),
                         shape_to_string(out).c_str());
      ImGui::TextDisabled("  H_out = H + 2p - K + 1 = %lld + %lld - %d + 1 = %lld",
                          static_cast<long long>(h), 2LL * s.notebook_padding, s.kernel_size,
                          static_cast<long long>(out[2]));
      return true;
    } else if (involution) {
      InvolutionParams p = involution_params(s, channels);
      out = involution_output_shape(in, p);
      pad = p.padding();
    } else {
      out = conv_output_shape(in, conv_params(s, channels));
      pad = s.padding;
    }
    ImGui::TextWrapped("%s: %s -> %s", title, shape_to_string(in).c_str(),
                       shape_to_string(out).c_str());
    // Wrapped: the presentation view's parameter column is narrow.
    ImGui::PushStyleColor(ImGuiCol_Text, ImGui::GetStyleColorVec4(ImGuiCol_TextDisabled));
    ImGui::TextWrapped(
        "H_out = floor((H + 2p - d(K-1) - 1)/s) + 1 = floor((%lld + %lld - %lld - "
        "1)/%d) + 1 = %lld",
        static_cast<long long>(h), static_cast<long long>(2 * pad),
        1LL * s.dilation * (s.kernel_size - 1), s.stride, static_cast<long long>(out[2]));
    ImGui::PopStyleColor();
    return true;
  } catch (const std::exception& e) {
    ImGui::PushStyleColor(ImGuiCol_Text, kRed);
    ImGui::TextWrapped("%s: %s", title, in_app_terms(e.what()).c_str());
    ImGui::PopStyleColor();
    return false;
  }
}

// The kernel on screen as a K x K grid, where the editable grid starts: the preset's, else
// the convolution's first filter (random or file weights), else the identity.
std::vector<float> current_kernel(const AppState& app) {
  const OpSettings& s = app.doc.settings;
  const int k = s.kernel_size;
  try {
    return preset_kernel(s.weights, k);
  } catch (const std::exception&) {  // random, file or designed weights: no preset grid
  }
  const Tensor& w = app.doc.result.conv.conv_weights.weight;
  if (app.doc.have_result && app.doc.result.conv.ran && w.dim(2) == k && w.dim(3) == k)
    return std::vector<float>(w.data.begin(), w.data.begin() + k * k);
  std::vector<float> identity(static_cast<size_t>(k * k), 0.0f);
  identity[static_cast<size_t>(k * k / 2)] = 1.0f;
  return identity;
}

bool weights_section(AppState& app, int64_t channels) {
  OpSettings& s = app.doc.settings;
  bool changed = false;
  ImGui::SetNextItemWidth(-ImGui::GetFontSize() * 8.5f);
  if (ImGui::BeginCombo("weights", weight_source_name(s.weights))) {
    for (int i = 0; i < kWeightSourceCount; ++i) {
      const auto source = static_cast<WeightSource>(i);
      if (source == WeightSource::Learned && !s.learned) continue;  // nothing learned yet
      if (ImGui::Selectable(weight_source_name(source), s.weights == source)) {
        // Starting the editable grid from the preset on screen is what one usually wants.
        if (source == WeightSource::Custom && s.weights != WeightSource::Custom)
          s.custom_kernel = current_kernel(app);
        s.weights = source;
        // A generator drives involution only.
        if (is_designed_source(source)) s.operation = Operation::Involution;
        changed = true;
      }
      if (is_designed_source(source) && ImGui::IsItemHovered())
        ImGui::SetTooltip("%s\n(input channels: %s)",
                          designed_involution_summary(designed_of(source)),
                          designed_involution_channels(designed_of(source)));
    }
    ImGui::EndCombo();
  }
  help_marker(kPresetMappingHelp);
  if (is_designed_source(s.weights)) {
    const DesignedInvolution design = designed_of(s.weights);
    ImGui::TextWrapped("%s.", designed_involution_summary(design));
    // The sliders may have been moved since: say what actually runs.
    try {
      const InvolutionParams d = designed_involution_params(design, channels);
      ImGui::PushStyleColor(ImGuiCol_Text, ImGui::GetStyleColorVec4(ImGuiCol_TextDisabled));
      ImGui::TextWrapped("sets K=%lld, group channels %lld, reduction 1",
                         static_cast<long long>(d.kernel_size),
                         static_cast<long long>(d.group_channels));
      ImGui::PopStyleColor();
    } catch (const std::exception& e) {
      ImGui::PushStyleColor(ImGuiCol_Text, kRed);
      ImGui::TextWrapped("%s", e.what());
      ImGui::PopStyleColor();
    }
  }
  if (s.weights == WeightSource::Random) {
    int seed = static_cast<int>(s.seed);
    ImGui::SetNextItemWidth(ImGui::GetFontSize() * 7);
    if (ImGui::InputInt("seed", &seed)) {
      s.seed = static_cast<uint64_t>(std::max(0, seed));
      changed = true;
    }
    tooltip("The random weights come from this number: the same seed gives the same weights.");
    ImGui::SameLine();
    if (ImGui::SmallButton("new")) {
      s.seed = std::random_device{}() % 100000;
      changed = true;
    }
    tooltip("Draw a new seed: different random weights.");
  }
  if (s.weights == WeightSource::File) {
    ImGui::TextWrapped("%s", s.weights_file.empty() ? "(no file)" : s.weights_file.c_str());
    ImGui::TextDisabled("the file decides the locked sliders");
    if (ImGui::SmallButton("Choose .safetensors..."))
      app.commands.post(cmd::Browse{BrowsePurpose::OpenWeights,
                                    s.weights_file.empty() ? app.doc.image_path : s.weights_file});
    tooltip("Pick a .safetensors file with PyTorch key names; it decides K, channels and groups.");
  }
  if (s.weights == WeightSource::Custom) {
    const int k = s.kernel_size;
    s.custom_kernel.resize(static_cast<size_t>(k * k), 0.0f);
    const float cell =
        std::min(ImGui::GetFontSize() * 3.2f, (ImGui::GetContentRegionAvail().x - 4) / k - 4);
    ImGui::PushStyleVar(ImGuiStyleVar_ItemSpacing, ImVec2(3, 3));
    for (int y = 0; y < k; ++y)
      for (int x = 0; x < k; ++x) {
        ImGui::PushID(y * k + x);
        if (x) ImGui::SameLine();
        ImGui::SetNextItemWidth(cell);
        changed |= ImGui::DragFloat("##w", &s.custom_kernel[static_cast<size_t>(y * k + x)], 0.01f,
                                    -100, 100, "%.2f");
        tooltip("One kernel weight: drag left/right to change it, double-click to type.");
        ImGui::PopID();
      }
    ImGui::PopStyleVar();
    if (ImGui::SmallButton("zero")) {
      std::fill(s.custom_kernel.begin(), s.custom_kernel.end(), 0.0f);
      changed = true;
    }
    tooltip("Set every weight of the grid to 0.");
  }
  if (s.operation != Operation::Convolution && s.weights != WeightSource::Random &&
      s.weights != WeightSource::File && s.weights != WeightSource::Learned &&
      !is_designed_source(s.weights)) {
    ImGui::SetNextItemWidth(-ImGui::GetFontSize() * 8.5f);
    changed |= ImGui::SliderFloat("variation", &s.variation, 0.0f, 2.0f, "%.2f");
    help_marker(
        "Involution only: scale of the random span weight added to the preset.\n"
        "0 = the same kernel at every pixel.");
  }
  return changed;
}

bool backend_section(AppState& app) {
  bool changed = false;
  ImGui::SetNextItemWidth(-ImGui::GetFontSize() * 8.5f);
  if (ImGui::BeginCombo("backend", app.doc.settings.backend.c_str())) {
    if (ImGui::Selectable("auto", app.doc.settings.backend == "auto")) {
      app.doc.settings.backend = "auto";
      changed = true;
    }
    for (const std::string& name : backend_names()) {
      Backend* b = find_backend(name);
      std::string why;
      const bool ok = b && b->available(&why);
      const std::string label = ok ? name : name + "  (" + why + ")";
      if (ImGui::Selectable(label.c_str(), app.doc.settings.backend == name,
                            ok ? 0 : ImGuiSelectableFlags_Disabled)) {
        app.doc.settings.backend = name;
        changed = true;
      }
      if (b && ImGui::IsItemHovered()) ImGui::SetTooltip("%s", b->description().c_str());
    }
    ImGui::EndCombo();
  }
  tooltip(
      "Where the computation runs: auto picks the fastest available; greyed entries\n"
      "cannot run here (hover them for the reason).");
  return changed;
}

}  // namespace

std::string parameters_note() {
  return g_note.control.empty() ? "" : g_note.control + ": " + g_note.text;
}

void draw_parameters_panel(AppState& app) {
  OpSettings& s = app.doc.settings;
  const Tensor* image = app.doc.image.compute.get();
  const int64_t channels = image ? image->dim(1) : 3;
  const int64_t h = image ? image->dim(2) : 240, w = image ? image->dim(3) : 320;
  bool changed = false;

  // In demo mode the caption band at the bottom shows it, large; not twice.
  if (!app.doc.scene_caption.empty() && !app.demo.active) {
    ImGui::PushStyleColor(ImGuiCol_Text, ImVec4(0.75f, 0.85f, 0.95f, 1.0f));
    ImGui::TextWrapped("%s", app.doc.scene_caption.c_str());
    ImGui::PopStyleColor();
    if (ImGui::SmallButton("hide scene note")) app.doc.scene_caption.clear();
    tooltip("Hide the scene's caption (the scene's settings stay).");
  }
  int op = static_cast<int>(s.operation);
  changed |= ImGui::RadioButton("conv", &op, 0);
  tooltip("Convolution: the same kernels at every pixel, different for every channel.");
  ImGui::SameLine();
  changed |= ImGui::RadioButton("involution", &op, 1);
  tooltip("Involution: a kernel generated at every pixel, shared by groups of channels.");
  ImGui::SameLine();
  changed |= ImGui::RadioButton("both", &op, 2);
  tooltip("Both operations on the same input, side by side.");
  s.operation = static_cast<Operation>(op);
  const bool conv = s.operation != Operation::Involution;
  const bool inv = s.operation != Operation::Convolution;

  // A designed generator fixes K, group channels and reduction, and so do weights from a file
  // or the Learn panel (and output channels for a convolution): show them, locked.
  const bool weights_decide =
      is_designed_source(s.weights) ||
      ((s.weights == WeightSource::File || s.weights == WeightSource::Learned) &&
       !s.notebook_variant);
  apply_designed_shape(s.weights, channels, &s);
  section("shape");
  ImGui::BeginDisabled(weights_decide);
  // The notebook variant runs any K; the paper's involution needs an odd one.
  changed |= kernel_size_slider(&s.kernel_size, inv && !s.notebook_variant);
  ImGui::EndDisabled();
  changed |= param_slider(Param::Stride, &s.stride, channels,
                          "Step between output pixels: stride s keeps every s-th position, so the\n"
                          "output is about s times smaller in each direction.");
  changed |= param_slider(Param::Dilation, &s.dilation, channels,
                          "Spacing between taps: d(K-1)+1 pixels wide.");
  if (conv) {
    ImGui::BeginDisabled(s.padding_same);
    changed |= param_slider(Param::Padding, &s.padding, channels,
                            "Zero padding of the convolution. Involution always pads d(K-1)/2.");
    ImGui::EndDisabled();
    changed |= ImGui::Checkbox("same (follows K and dilation)", &s.padding_same);
    tooltip(
        "Padding d(K-1)/2, kept in step as K and dilation change: with stride 1 the output\n"
        "keeps the input's size, so in \"both\" mode conv and involution outputs match.");
    if (s.padding_same && s.padding != s.dilation * (s.kernel_size - 1) / 2) {
      s.padding = s.dilation * (s.kernel_size - 1) / 2;
      changed = true;
    }
  }
  if (conv) {
    section("convolution");
    ImGui::BeginDisabled(weights_decide);
    changed |= param_slider(Param::OutChannels, &s.out_channels, channels,
                            "Number of output feature maps, each with its own set of kernels.");
    ImGui::EndDisabled();
    changed |= param_slider(Param::Groups, &s.groups, channels,
                            "Input and output channels split into this many groups;\n"
                            "both counts must be divisible by it.");
    if (ImGui::SmallButton("standard")) {
      s.groups = 1;
      changed = true;
    }
    tooltip("1 group: every output channel reads every input channel.");
    ImGui::SameLine();
    if (ImGui::SmallButton("depthwise")) {
      s.groups = static_cast<int>(channels);
      s.out_channels = static_cast<int>(channels);
      changed = true;
    }
    tooltip("One group per input channel: each output channel filters one input channel.");
    ImGui::SameLine();
    ImGui::TextDisabled("%s", s.groups == 1          ? "standard"
                              : s.groups == channels ? "depthwise"
                                                     : "grouped");
  }
  if (inv) {
    section("involution");
    ImGui::BeginDisabled(weights_decide);
    changed |= param_slider(Param::GroupChannels, &s.group_channels, channels,
                            "Channels sharing one generated kernel; must divide C.\nG = C / group "
                            "channels kernels per pixel.");
    changed |= param_slider(Param::Reduction, &s.reduction, channels,
                            "Kernel generation squeezes C to C/r channels; r must divide C.");
    ImGui::EndDisabled();
    if (channels % s.group_channels == 0)
      ImGui::TextDisabled("G = %lld kernel%s per pixel",
                          static_cast<long long>(channels / s.group_channels),
                          channels / s.group_channels == 1 ? "" : "s");
    changed |= ImGui::Checkbox("Notebook variant", &s.notebook_variant);
    const bool hovered = ImGui::IsItemHovered();
    same_line_if_fits("(KxK span, no padding)");
    ImGui::TextDisabled("(KxK span, no padding)");
    if (hovered || ImGui::IsItemHovered())
      ImGui::SetTooltip(
          "Compute involution the way the seed notebook's inv() does: reduce with a bias and\n"
          "no BN/ReLU, a K x K span convolution, and no padding, so the output shrinks by K-1.\n"
          "Uses seeded random weights (the seed below).");
    if (s.notebook_variant) {
      changed |= param_slider(Param::NotebookPadding, &s.notebook_padding, channels,
                              "Padding of the notebook's span conv and unfold (its default is 0).");
      ImGui::PushStyleColor(ImGuiCol_Text, ImVec4(0.95f, 0.8f, 0.5f, 1.0f));
      ImGui::TextWrapped("%s", kNotebookVariantNote);
      ImGui::PopStyleColor();
    }
  }

  section("weights & activation");
  changed |= weights_section(app, channels);
  int act = s.relu ? 1 : 0;
  ImGui::SetNextItemWidth(-ImGui::GetFontSize() * 8.5f);
  if (ImGui::Combo("activation", &act, "none\0ReLU\0")) {
    s.relu = act == 1;
    changed = true;
  }
  tooltip("Applied to the output after the operation: ReLU sets negative values to 0.");

  section("compute");
  changed |= backend_section(app);
  if (app.doc.image.full && app.doc.image.downscale > 1)
    ImGui::TextDisabled("image is beyond %d px a side; computing at 1/%d", 8192,
                        app.doc.image.downscale);
  int cap = static_cast<int>(std::clamp<int64_t>(s.max_memory_mb, 0, INT_MAX));
  ImGui::SetNextItemWidth(ImGui::GetFontSize() * 7);
  if (ImGui::InputInt("memory cap MiB", &cap, 256, 1024, ImGuiInputTextFlags_EnterReturnsTrue)) {
    s.max_memory_mb = std::max(16, cap);
    changed = true;
  }
  tooltip("Refuse computations that would need more memory than this (press Enter to apply).");

  section("output size");
  // Errors from the computation itself (weights file, memory cap...), unless the shape
  // check above already explained them.
  const bool conv_ok = !conv || shape_line("conv", false, app, channels, h, w);
  const bool inv_ok = !inv || shape_line("involution", true, app, channels, h, w);
  const std::pair<const OpResult*, bool> results[] = {{&app.doc.result.conv, conv_ok},
                                                      {&app.doc.result.involution, inv_ok}};
  for (const auto& [r, shape_ok] : results)
    if (app.doc.have_result && shape_ok && !r->error.empty()) {
      ImGui::PushStyleColor(ImGuiCol_Text, kRed);
      ImGui::TextWrapped("%s", in_app_terms(r->error).c_str());
      ImGui::PopStyleColor();
    }
  if (app.doc.have_result && !app.doc.result.notice.empty())
    ImGui::TextWrapped("note: %s", app.doc.result.notice.c_str());
  if (changed) app.commands.post(cmd::Recompute{});
}

}  // namespace ks::app
