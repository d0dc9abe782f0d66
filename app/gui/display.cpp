// Turns the result on screen into textures: the input as RGB, every output channel through
// the colour-map shader, the RGB composite and the involution kernel-sum heatmap.
#include <algorithm>
#include <chrono>
#include <cmath>

#include "gui/app_state.h"
#include "gui/display.h"

namespace ks::app {

std::vector<uint8_t> image_to_rgb(const Tensor& image) {
  const int64_t c = image.dim(1), h = image.dim(2), w = image.dim(3);
  const int64_t plane = h * w;
  // Images load into [0, 1]; arrays may hold anything, so map their range instead.
  float lo = 0, hi = 1;
  const auto [mn, mx] = std::minmax_element(image.data.begin(), image.data.end());
  if (mn != image.data.end() && (*mn < 0 || *mx > 1)) {
    lo = *mn;
    hi = *mx > *mn ? *mx : *mn + 1;
  }
  std::vector<uint8_t> rgb(static_cast<size_t>(plane * 3));
  for (int64_t i = 0; i < plane; ++i)
    for (int64_t k = 0; k < 3; ++k) {
      const int64_t ch = c >= 3 ? k : 0;
      float v = (image.data[static_cast<size_t>(ch * plane + i)] - lo) / (hi - lo);
      v = std::isfinite(v) ? std::clamp(v, 0.0f, 1.0f) : 0.0f;
      rgb[static_cast<size_t>(i * 3 + k)] = static_cast<uint8_t>(std::lround(v * 255.0f));
    }
  return rgb;
}

std::vector<ValueRange> map_ranges(const Tensor& output, ScaleMode mode, ValueRange* layer) {
  const int64_t c = output.dim(1), plane = output.dim(2) * output.dim(3);
  std::vector<ValueRange> ranges;
  ValueRange all{0, 0};
  bool first = true;
  for (int64_t ch = 0; ch < c; ++ch) {
    ValueRange r = plane_range(output.ptr() + ch * plane, plane, false);
    ranges.push_back(r);
    all.lo = first ? r.lo : std::min(all.lo, r.lo);
    all.hi = first ? r.hi : std::max(all.hi, r.hi);
    first = false;
  }
  if (mode == ScaleMode::Symmetric) {
    const float m = std::max(std::fabs(all.lo), std::fabs(all.hi));
    all = {-m, m};
  }
  if (all.hi <= all.lo) all.hi = all.lo + 1e-6f;  // a constant layer still gets a colour
  if (mode != ScaleMode::PerMap)
    for (auto& r : ranges) r = all;
  for (auto& r : ranges)
    if (r.hi <= r.lo) r.hi = r.lo + 1e-6f;
  *layer = all;
  return ranges;
}

Tensor kernel_sum_plane(const Tensor& kernels, int group) {
  const int64_t taps = kernels.dim(2), h = kernels.dim(3), w = kernels.dim(4);
  const int64_t g = std::clamp<int64_t>(group, 0, kernels.dim(1) - 1);
  Tensor sum({h, w});
  for (int64_t t = 0; t < taps; ++t) {
    const float* src = kernels.ptr() + (g * taps + t) * h * w;
    for (int64_t i = 0; i < h * w; ++i) sum.data[static_cast<size_t>(i)] += src[i];
  }
  return sum;
}

std::vector<uint8_t> composite_rgb(const Tensor& output, ValueRange range) {
  const int64_t plane = output.dim(2) * output.dim(3);
  std::vector<uint8_t> rgb(static_cast<size_t>(plane * 3));
  const float span = range.hi > range.lo ? range.hi - range.lo : 1.0f;
  for (int64_t i = 0; i < plane; ++i)
    for (int64_t k = 0; k < 3; ++k) {
      float v = (output.data[static_cast<size_t>(k * plane + i)] - range.lo) / span;
      v = std::isfinite(v) ? std::clamp(v, 0.0f, 1.0f) : 0.0f;
      rgb[static_cast<size_t>(i * 3 + k)] = static_cast<uint8_t>(std::lround(v * 255.0f));
    }
  return rgb;
}

namespace {

void upload_layer(AppState& app, const OpResult& r, LayerView* view) {
  if (!r.ran) {
    view->release();
    return;
  }
  const Tensor& out = r.output;
  const int c = static_cast<int>(out.dim(1)), h = static_cast<int>(out.dim(2)),
            w = static_cast<int>(out.dim(3));
  view->ranges = map_ranges(out, app.view.scale, &view->layer_range);
  for (size_t i = static_cast<size_t>(c); i < view->maps.size(); ++i) view->maps[i].release();
  view->maps.resize(static_cast<size_t>(c));
  for (int ch = 0; ch < c; ++ch)
    app.colormap->draw(out.ptr() + static_cast<int64_t>(ch) * h * w, w, h, app.view.colormap,
                       view->ranges[static_cast<size_t>(ch)], &view->maps[static_cast<size_t>(ch)]);
  if (c == 3) {
    ValueRange layer;
    map_ranges(out, ScaleMode::PerLayer, &layer);
    upload_rgb_texture(&view->composite, &view->composite_w, &view->composite_h, w, h,
                       composite_rgb(out, layer));
  }
  if (r.kernels.rank() == 5 && !r.kernels.empty()) {
    const Tensor sum = kernel_sum_plane(r.kernels, app.kernel_group);
    ValueRange range = plane_range(sum.ptr(), sum.numel(), true);
    if (range.hi <= range.lo) range = {range.lo - 1, range.hi + 1};
    view->kernel_sum_range = range;
    view->kernel_abs_max = 0;
    for (float v : r.kernels.data)
      if (std::isfinite(v)) view->kernel_abs_max = std::max(view->kernel_abs_max, std::fabs(v));
    app.colormap->draw(sum.ptr(), w, h, Colormap::Diverging, range, &view->kernel_sum);
  } else {
    view->kernel_sum.release();
  }
}

}  // namespace

void upload_result_textures(AppState& app) {
  const auto start = std::chrono::steady_clock::now();
  const Tensor& image = *app.image.compute;
  upload_rgb_texture(&app.input_texture, &app.input_tex_w, &app.input_tex_h,
                     static_cast<int>(image.dim(3)), static_cast<int>(image.dim(2)),
                     image_to_rgb(image));
  upload_layer(app, app.result.conv, &app.conv_view);
  upload_layer(app, app.result.involution, &app.involution_view);
  glFinish();  // so draw_ms measures the GPU work, not just queuing it
  app.draw_ms =
      std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
}

}  // namespace ks::app
