// Help > Guide (F1): what each view shows and how to drive it, in plain words. The long
// form is docs/app.md and docs/teaching.md.
#include <imgui.h>

#include <algorithm>

#include "panels/panels.h"

namespace ks::app {

namespace {

void topic(const char* title, const char* text) {
  if (ImGui::CollapsingHeader(title, ImGuiTreeNodeFlags_DefaultOpen)) {
    ImGui::TextWrapped("%s", text);
    ImGui::Spacing();
  }
}

}  // namespace

void draw_help_window(AppState& app) {
  if (!app.view.show_help) return;
  const ImVec2 display = ImGui::GetIO().DisplaySize;
  const float font = ImGui::GetFontSize();
  ImGui::SetNextWindowSize(
      ImVec2(std::min(display.x - 2 * font, font * 44), std::min(display.y - 4 * font, font * 40)),
      ImGuiCond_Appearing);
  ImGui::SetNextWindowPos(ImVec2(display.x * 0.5f, display.y * 0.5f), ImGuiCond_Appearing,
                          ImVec2(0.5f, 0.5f));
  if (!ImGui::Begin("Help - Guide", &app.view.show_help, ImGuiWindowFlags_NoSavedSettings)) {
    ImGui::End();
    return;
  }
  app.view.help_rect[0] = ImGui::GetWindowPos().x;
  app.view.help_rect[1] = ImGui::GetWindowPos().y;
  app.view.help_rect[2] = ImGui::GetWindowSize().x;
  app.view.help_rect[3] = ImGui::GetWindowSize().y;
  ImGui::TextWrapped(
      "KernelScope shows convolution and involution (Li et al., CVPR 2021) on an image, "
      "recomputed whenever a parameter changes. Hover any control for a short explanation. "
      "F1 opens and closes this guide.");
  ImGui::Separator();
  topic("Parameters (left)",
        "The operation (conv, involution or both), kernel size K, stride, dilation, padding, "
        "output channels and groups for convolution, group channels and reduction for "
        "involution, the weights, the activation and the backend. 'output size' shows the "
        "formula for the output's height with the numbers filled in; impossible combinations "
        "are explained there in red. 'Notebook variant' computes involution the way the seed "
        "notebook does (K x K span, no padding): the output shrinks by K-1.");
  topic("Input (middle, top)",
        "The image. Wheel zooms, drag pans, a click pins a pixel, right-click unpins. The "
        "receptive field of the focused output pixel is outlined: yellow for convolution, cyan "
        "for involution. Zoom in far enough and every pixel shows its values.");
  topic("Kernels (middle, bottom)",
        "Convolution: the filter bank, one K x K heatmap per output and input channel; the same "
        "kernels are used at every pixel. Involution: the kernels generated at the focused "
        "pixel, which change from pixel to pixel, and a heatmap of how they vary over the image.");
  topic("Feature maps (right, top)",
        "Every output channel. Click one to enlarge it; hover for its value and to see its "
        "receptive field on the input. Colour maps and scaling are at the top.");
  topic("Timing (right, bottom)",
        "Frames per second, per-stage milliseconds of the backend in use, a history plot, and "
        "'Race all backends' to compare their speed on the current parameters.");
  topic("Step-through (View > Step-through, F2)",
        "One output pixel taken apart: the K x K patch of the input (red cells are zero "
        "padding), the kernel, the products and their sum, for convolution per input channel "
        "plus the bias, for involution the chain that generated the kernel at that pixel. The "
        "sum is checked against the feature map. Play moves the pixel across the image row by "
        "row (the pixel lights up in the feature maps); the arrows step, the slider scrubs. "
        "Compare puts the two operators' parameters and FLOPs side by side. Export slides "
        "writes PNG frames and a GIF into the export folder.");
  topic("Demo mode (View > Demo mode, F5)",
        "Steps through the scenes of assets/presets with their caption in large type. Right "
        "arrow / Page Down: next, Left arrow / Page Up: previous, Esc or F5: leave. "
        "Auto-advance moves on after the chosen number of seconds.");
  topic("Presentation view (View > Presentation, F11)",
        "For a 1920 x 1080 projector: 22 px text, the input and feature maps large, panels in "
        "fixed places that never overlap, the step-through's result and generation chain "
        "without scrolling, and in demo mode the caption in a band of its own. F11 again "
        "returns to the normal layout. Every kernel heatmap has a legend with its numbers.");
  topic("Files and keys",
        "Drop an image, a .safetensors file or a session .json on the window to open it. "
        "F12 saves a screenshot, F fits the image, Ctrl+O opens an image, Ctrl+S saves the "
        "session, Ctrl+Q quits. Exports go to the folder chosen under File. docs/app.md and "
        "docs/teaching.md have the full guide.");
  ImGui::End();
}

}  // namespace ks::app
