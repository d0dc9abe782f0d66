// One frame of the step-through, as numbers and words: the window on the input, the K x K
// patch, kernel and products, the sums, the output map filling in, and notes (counts,
// FLOPs, the involution's kernel-generation chain). Builders fill it from the engine's
// explanations; render_step_frame() draws it. The app can draw the same StepView with
// ImGui, or call render_step_frame() for a PNG/GIF export.
#pragma once

#include <string>
#include <vector>

#include "kernelscope/colormap.h"
#include "kernelscope/explain.h"
#include "kernelscope/notebook_variant.h"
#include "render/canvas.h"
#include "render/font.h"

namespace ks::render {

struct StepView {
  std::string title;    // operator and parameters, one line
  std::string caption;  // a preset's caption, wrapped under the title (may be empty)

  // Input panel: the image, the window (padded cells hatched) and a magnified neighbourhood.
  const Tensor* input = nullptr;  // [B, C, H, W]; must outlive the view
  int64_t batch = 0;
  int64_t shown_channel = 0;  // the input channel whose values fill the patch grid
  int64_t kernel_size = 1;
  InputRect window;
  std::vector<ExplainTap> taps;
  bool has_pool_window = false;  // involution with stride > 1: the averaged s x s cells
  InputRect pool_window;

  // The three K x K grids (row-major) and their titles.
  std::string patch_label, kernel_label, products_label;
  std::vector<float> patch;
  std::vector<float> kernel;
  std::vector<double> products;
  std::vector<std::string> sum_lines;  // the sum as an equation, one term per line

  // Output panel: pixels before (i, j) in raster order are shown, the rest is blank.
  const Tensor* output = nullptr;  // [B, C_out, H_out, W_out]; must outlive the view
  int64_t output_channel = 0;
  int64_t i = 0, j = 0;
  int64_t filled = -1;  // raster count of output pixels shown; -1: all
  Colormap colormap = Colormap::Diverging;
  std::string output_label;
  std::vector<std::string> notes;  // right column under the map
};

// The builders also set title, labels, sums and notes (parameter counts and FLOPs for both
// operators side by side; the generation chain for involution).
StepView conv_step_view(const Tensor& input, const ConvParams& params, const ConvWeights& weights,
                        const Tensor& output, const ConvPixelExplanation& e);
// The convolution an involution is fairly compared with: the same K, stride, dilation and
// padding, C_out = C_in = C, one group. The step-through's Compare tab and the slides both
// use it.
ConvParams conv_baseline(const InvolutionParams& params);

StepView involution_step_view(const Tensor& input, const InvolutionParams& params,
                              const Tensor& output, const InvolutionPixelExplanation& e);
// The notebook variant at (b, channel, i, j), read from its computed kernels; the view's
// total equals result.output there.
StepView notebook_step_view(const Tensor& input, const NotebookVariantParams& params,
                            const NotebookVariantResult& result, int64_t b, int64_t channel,
                            int64_t i, int64_t j);

// 1280 x 720 times scale (16:9, readable on a projector at scale 1).
Canvas render_step_frame(const StepView& view, const Font& font, float scale = 1.0f);

// "0.123", "-12.3", "1.2e+03": at most `digits` significant decimals, as short as the
// value allows.
std::string format_number(double value, int decimals);

}  // namespace ks::render
