// Turns the result on screen into textures: the input as RGB, every output channel and the
// involution kernel-sum heatmap as float values (coloured as they are drawn), the RGB
// composite.
#include <algorithm>
#include <chrono>
#include <cmath>

#include "gui/app_state.h"
#include "gui/display.h"

namespace ks::app {

std::vector<ValueRange> map_ranges(const std::vector<ValueRange>& channel_ranges, ScaleMode mode,
                                   ValueRange* layer) {
  std::vector<ValueRange> ranges = channel_ranges;
  ValueRange all{0, 0};
  bool first = true;
  for (const ValueRange& r : ranges) {
    all.lo = first ? r.lo : std::min(all.lo, r.lo);
    all.hi = first ? r.hi : std::max(all.hi, r.hi);
    first = false;
  }
  // Symmetric about 0, unless nothing is negative (after ReLU): -m..m would leave half the
  // colours unused and wash the maps out, so 0..m is shown (and the legend says so).
  if (mode == ScaleMode::Symmetric && all.lo < 0) {
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

std::vector<ValueRange> map_ranges(const Tensor& output, ScaleMode mode, ValueRange* layer) {
  const int64_t c = output.dim(1), plane = output.dim(2) * output.dim(3);
  std::vector<ValueRange> channel_ranges;
  for (int64_t ch = 0; ch < c; ++ch)
    channel_ranges.push_back(plane_range(output.ptr() + ch * plane, plane, false));
  return map_ranges(channel_ranges, mode, layer);
}

KernelSumScale kernel_sum_scale(ValueRange raw) {
  KernelSumScale scale;
  if (raw.lo < 0 && raw.hi > 0) {
    // Sums of both signs: diverging and symmetric about 0, so the sign reads at a glance.
    const float m = std::max(std::fabs(raw.lo), std::fabs(raw.hi));
    scale.range = {-m, m};
    scale.map = Colormap::Diverging;
    scale.label = "kernel sum (symmetric about 0)";
  } else {
    // One sign only (a landscape of blurs, say): a symmetric scale would look flat, so a
    // sequential map over the sums' own min..max shows their actual variation.
    scale.range = raw;
    scale.map = Colormap::Viridis;
    scale.label = "kernel sum (its own min..max)";
  }
  if (!(scale.range.hi > scale.range.lo)) scale.range = {scale.range.lo - 1, scale.range.hi + 1};
  return scale;
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

// A 3840 x 2160 plane is 33 MB of floats: uploading every map of a result in one frame would
// freeze the UI for hundreds of milliseconds. The uploads are queued instead, and each frame
// takes queued steps until its budget (upload_budget_ms) is spent.
// Rows per upload step: about 1 MB of floats, a few milliseconds even for software OpenGL.
int strip_rows(int width) { return std::max(1, (1 << 18) / std::max(1, width)); }

// Queues fn(row0, row1) over the rows of a height-row image, a strip per step.
template <class Fn>
void queue_strips(AppState& app, int width, int height, Fn fn) {
  const int rows = strip_rows(width);
  for (int r0 = 0; r0 < height; r0 += rows) {
    const int r1 = std::min(height, r0 + rows);
    app.view.upload_queue.push_back([fn, r0, r1] { fn(r0, r1); });
  }
}

void queue_layer(AppState& app, const OpResult& r, LayerView* view) {
  if (!r.ran || r.output.rank() != 4 || r.channel_ranges.empty()) {
    view->release();
    return;
  }
  // The textures are made from the display-sized copies when the worker made them.
  const bool sized = r.display_factor > 1;
  const Tensor& maps = sized ? r.display_output : r.output;
  const int c = static_cast<int>(r.output.dim(1));
  const int h = static_cast<int>(maps.dim(maps.rank() - 2)),
            w = static_cast<int>(maps.dim(maps.rank() - 1));
  view->ranges = map_ranges(r.channel_ranges, app.view.settings.scale, &view->layer_range);
  for (size_t i = static_cast<size_t>(c); i < view->maps.size(); ++i) view->maps[i].release();
  view->maps.resize(static_cast<size_t>(c));
  for (int ch = 0; ch < c; ++ch)
    queue_strips(app, w, h, [&maps, view, ch, h, w](int r0, int r1) {
      ColormapPass::upload(maps.ptr() + static_cast<int64_t>(ch) * h * w, w, h,
                           &view->maps[static_cast<size_t>(ch)], r0, r1);
    });
  if (!r.composite.empty())
    queue_strips(app, w, h, [&r, view, h, w](int r0, int r1) {
      upload_rgb_texture(&view->composite, &view->composite_w, &view->composite_h, w, h,
                         r.composite, r0, r1);
      set_magnification(view->composite, true);  // enlarged, pixels stay pixels like the maps
    });
  if (!r.kernel_sum.empty() && !r.kernel_sum_ranges.empty()) {
    const int g = std::clamp(app.view.kernel_group, 0, static_cast<int>(r.kernel_sum.dim(1)) - 1);
    const KernelSumScale scale = kernel_sum_scale(r.kernel_sum_ranges[static_cast<size_t>(g)]);
    view->kernel_sum_range = scale.range;
    view->kernel_sum_map = scale.map;
    view->kernel_sum_label = scale.label;
    const Tensor& sums = sized ? r.display_kernel_sum : r.kernel_sum;
    queue_strips(app, w, h, [&sums, view, g, h, w](int r0, int r1) {
      ColormapPass::upload(sums.ptr() + static_cast<int64_t>(g) * h * w, w, h, &view->kernel_sum,
                           r0, r1);
    });
  } else {
    view->kernel_sum.release();
  }
}

}  // namespace

void upload_result_textures(AppState& app) {
  app.view.upload_queue.clear();
  app.view.upload_ms = 0;
  const ImageSlot& image = app.doc.image;
  // The input texture only when the image changed: a recompute of the same image does not
  // re-upload it.
  if (image.compute && image.rgb && app.view.input_rgb_uploaded != image.rgb.get()) {
    const int w = static_cast<int>(image.compute->dim(3)),
              h = static_cast<int>(image.compute->dim(2));
    queue_strips(app, w, h, [&app, w, h](int r0, int r1) {
      // Shown shrunk (a photo fitted into the panel), the image samples its mipmaps: no
      // aliasing, and far fewer cache misses for a software OpenGL. They are made once the
      // whole image is in; until then only level 0 is sampled.
      if (r0 == 0) set_mipmapped(app.view.input_texture, false);
      upload_rgb_texture(&app.view.input_texture, &app.view.input_tex_w, &app.view.input_tex_h, w,
                         h, *app.doc.image.rgb, r0, r1);
      if (r1 == h) {
        set_mipmapped(app.view.input_texture, true);
        app.view.input_rgb_uploaded = app.doc.image.rgb.get();  // complete
      }
    });
  }
  queue_layer(app, app.doc.result.conv, &app.view.conv_view);
  queue_layer(app, app.doc.result.involution, &app.view.involution_view);
  pump_texture_uploads(app);
}

double upload_budget_ms(double render_ms) {
  if (render_ms > kFrameTargetMs - kUploadBudgetMs) return render_ms;
  return std::max(kUploadBudgetMs, kFrameTargetMs - render_ms);
}

bool pump_texture_uploads(AppState& app) {
  app.view.frame_upload_ms = 0;
  if (app.view.upload_queue.empty()) return false;
  const double budget = upload_budget_ms(app.view.render_ms);
  const auto start = std::chrono::steady_clock::now();
  auto spent = [&] {
    return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start)
        .count();
  };
  size_t done = 0;
  while (done < app.view.upload_queue.size() && (done == 0 || spent() < budget)) {
    app.view.upload_queue[done]();
    ++done;
    glFinish();  // the budget counts the GL work, not just queuing it
  }
  app.view.upload_queue.erase(app.view.upload_queue.begin(), app.view.upload_queue.begin() + done);
  app.view.frame_upload_ms = spent();
  app.view.upload_ms += app.view.frame_upload_ms;
  if (app.view.upload_queue.empty())
    app.view.draw_ms = app.view.upload_ms;  // the whole result's uploads
  return !app.view.upload_queue.empty();
}

}  // namespace ks::app
