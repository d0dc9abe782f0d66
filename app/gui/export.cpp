// Panel exports (see export.h). Figures are drawn on the CPU with the same colour maps and
// ranges as the screen.
#include "gui/export.h"

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <ctime>
#include <filesystem>

#include "core/weights.h"
#include "gui/display.h"
#include "gui/figure.h"
#include "kernelscope/error.h"
#include "kernelscope/io.h"

namespace ks::app {

namespace {

namespace fs = std::filesystem;

constexpr int kMargin = 12;
constexpr float kCaptionSize = 16;

std::string image_name(const AppState& app) {
  return app.doc.image_path.empty() ? "test pattern"
                                    : fs::path(app.doc.image_path).filename().string();
}

// Caption block: title line, parameter line, image line. Returns its height.
int caption_height() { return kMargin + 3 * 22; }

// A canvas at least as wide as its caption lines.
int fit_width(int width, const std::vector<std::string>& lines) {
  for (const auto& line : lines)
    width = std::max(width, text_width(line, kCaptionSize + 2) + 2 * kMargin);
  return width;
}

void draw_caption(Canvas& c, const std::string& title, const std::string& params,
                  const std::string& image) {
  draw_text(c, title, kMargin, kMargin, kCaptionSize + 2, 250);
  draw_text(c, params, kMargin, kMargin + 22, kCaptionSize, 210);
  draw_text(c, image, kMargin, kMargin + 44, kCaptionSize, 170);
}

// Copies RGB rows (w x h) with the top-left at (x, y), each pixel a scale x scale block.
void blit(Canvas& c, const std::vector<uint8_t>& rgb, int w, int h, int x, int y, int scale = 1) {
  c.blit_rgb(rgb.data(), w, h, x, y, w * scale, h * scale);
}

std::string image_line(const AppState& app) {
  const Tensor& t = *app.doc.image.compute;
  std::string s = "input " + image_name(app) + " " + shape_to_string(t.shape);
  if (app.doc.image.downscale > 1)
    s += " (preview 1/" + std::to_string(app.doc.image.downscale) + ")";
  return s;
}

void save_png(const std::string& path, const Canvas& c, std::vector<std::string>* written) {
  save_png_rgb(path, c.width(), c.height(), c.rgb());
  written->push_back(path);
}

void save_array(const std::string& path, const Tensor& t, std::vector<std::string>* written) {
  save_npy(path, t);
  written->push_back(path);
}

void export_input(const AppState& app, const std::string& dir, std::vector<std::string>* out) {
  const Tensor& image = *app.doc.image.compute;
  const int w = static_cast<int>(image.dim(3)), h = static_cast<int>(image.dim(2));
  const int width = fit_width(std::max(w + 2 * kMargin, 520), {image_line(app)});
  Canvas c = figure_canvas(width, caption_height() + h + kMargin);
  draw_caption(c, "KernelScope input", image_line(app),
               "values in [0, 1]; channels 0-2 shown as RGB");
  blit(c, core::image_rgb(image), w, h, kMargin, caption_height());
  const std::string stem = export_stem(dir, "input");
  save_png(stem + ".png", c, out);
  save_array(stem + ".npy", image, out);
}

void export_maps(const AppState& app, bool involution, const std::string& dir,
                 std::vector<std::string>* out) {
  const OpResult& r = involution ? app.doc.result.involution : app.doc.result.conv;
  if (!r.ran) return;
  const Tensor& o = r.output;
  const int n = static_cast<int>(o.dim(1)), h = static_cast<int>(o.dim(2)),
            w = static_cast<int>(o.dim(3));
  ValueRange layer;
  const std::vector<ValueRange> ranges = map_ranges(o, app.view.settings.scale, &layer);
  const bool composite = n == 3 && app.view.settings.rgb_composite;
  const int tiles = n + (composite ? 1 : 0);
  const int cols = static_cast<int>(std::ceil(std::sqrt(static_cast<double>(tiles))));
  const int rows = (tiles + cols - 1) / cols;
  const int label = 20, gap = 8;
  const int grid_w = cols * (w + gap) - gap, grid_h = rows * (h + label + gap);
  const int width =
      fit_width(std::max(grid_w + 2 * kMargin, 640), {parameters_caption(app, involution)});
  Canvas c = figure_canvas(width, caption_height() + grid_h + 50 + kMargin);
  draw_caption(
      c, std::string("KernelScope feature maps: ") + (involution ? "involution" : "convolution"),
      parameters_caption(app, involution),
      image_line(app) + " -> output " + shape_to_string(o.shape));
  const int plane = h * w;
  for (int i = 0; i < tiles; ++i) {
    const int x = kMargin + (i % cols) * (w + gap);
    const int y = caption_height() + (i / cols) * (h + label + gap);
    if (i < n) {
      draw_text(c, "channel " + std::to_string(i), x, y, 14, 200);
      blit(c,
           colorize_plane(o.ptr() + static_cast<int64_t>(i) * plane, w, h,
                          app.view.settings.colormap, ranges[static_cast<size_t>(i)]),
           w, h, x, y + label);
    } else {
      draw_text(c, "RGB of channels 0-2", x, y, 14, 200);
      ValueRange l;
      map_ranges(o, ScaleMode::PerLayer, &l);
      blit(c, composite_rgb(o, l), w, h, x, y + label);
    }
  }
  const char* scale = app.view.settings.scale == ScaleMode::PerMap
                          ? "per-map scale (range of the layer shown)"
                      : app.view.settings.scale == ScaleMode::PerLayer ? "per-layer scale"
                                                                       : "symmetric about 0";
  draw_legend(c, app.view.settings.colormap, layer, kMargin, caption_height() + grid_h + 6,
              std::min(360, width - 2 * kMargin), scale);
  const std::string stem = export_stem(dir, involution ? "involution-maps" : "conv-maps");
  save_png(stem + ".png", c, out);
  save_array(stem + ".npy", o, out);
}

std::vector<uint8_t> kernel_rgb(const float* taps, int k, float abs_max) {
  std::vector<uint8_t> rgb(static_cast<size_t>(k * k * 3));
  const float m = abs_max > 0 ? abs_max : 1.0f;
  for (int i = 0; i < k * k; ++i) {
    const auto col = colormap_rgb(Colormap::Diverging, 0.5f + 0.5f * taps[i] / m);
    std::copy(col.begin(), col.end(), rgb.begin() + i * 3);
  }
  return rgb;
}

void export_conv_kernels(const AppState& app, const std::string& dir,
                         std::vector<std::string>* out) {
  const OpResult& r = app.doc.result.conv;
  if (!r.ran) return;
  const Tensor& wt = r.conv_weights.weight;
  const int o = static_cast<int>(wt.dim(0)), in = static_cast<int>(wt.dim(1)),
            k = static_cast<int>(wt.dim(2));
  const int scale = std::max(4, 72 / k), tile = k * scale, gap = 6, label = 44;
  float m = 0;
  for (float v : wt.data)
    if (std::isfinite(v)) m = std::max(m, std::fabs(v));
  // The legend stands beside the first rows of the bank, where the eye starts.
  const ValueRange range{-m, m};
  const int grid_w = label + in * (tile + gap);
  const int legend_w = figure_legend_width(Colormap::Diverging, range, "weight");
  const int bar_h = std::min(o * (tile + gap) - gap, 240) - vertical_legend_height(0) + 3 * 18;
  const int width = fit_width(std::max(grid_w + 2 * gap + legend_w + kMargin * 2, 640),
                              {parameters_caption(app, false)});
  const int grid_h = std::max(o * (tile + gap), vertical_legend_height(bar_h));
  Canvas c = figure_canvas(width, caption_height() + 20 + grid_h + kMargin);
  draw_caption(
      c, "KernelScope convolution filter bank (rows: output channel, columns: input of its group)",
      parameters_caption(app, false), "weight " + shape_to_string(wt.shape));
  for (int i = 0; i < o; ++i) {
    const int y = caption_height() + 20 + i * (tile + gap);
    draw_text(c, std::to_string(i), kMargin, y + tile / 2 - 8, 14, 200);
    for (int j = 0; j < in; ++j)
      blit(c, kernel_rgb(wt.ptr() + (static_cast<int64_t>(i) * in + j) * k * k, k, m), k, k,
           kMargin + label + j * (tile + gap), y, scale);
  }
  draw_vertical_legend(c, Colormap::Diverging, range, kMargin + grid_w + 2 * gap,
                       caption_height() + 20, bar_h, "weight");
  const std::string stem = export_stem(dir, "conv-kernels");
  save_png(stem + ".png", c, out);
  save_array(stem + ".npy", wt, out);
}

void export_involution_kernels(const AppState& app, const std::string& dir,
                               std::vector<std::string>* out) {
  const OpResult& r = app.doc.result.involution;
  if (!r.ran || r.output.rank() != 4) return;
  // The screen never holds the full tensor; an export asks the engine for it now.
  const Tensor kt = full_kernels(r);
  const int g_count = static_cast<int>(kt.dim(1)), k = static_cast<int>(r.involution.kernel_size);
  const int ho = static_cast<int>(kt.dim(3)), wo = static_cast<int>(kt.dim(4)), taps = k * k;
  int fx = 0, fy = 0, ox = wo / 2, oy = ho / 2;
  if (app.view.focus.current(&fx, &fy)) output_pixel_for(app, true, fx, fy, &ox, &oy);
  const int group = std::clamp(app.view.kernel_group, 0, g_count - 1);
  const Tensor sum = kernel_sum_plane(kt, group);
  // Coloured as on screen (display.h): the figure shows what the panel shows.
  const KernelSumScale sum_scale = kernel_sum_scale(plane_range(sum.ptr(), sum.numel(), false));
  const ValueRange sum_range = sum_scale.range;
  const int scale = std::max(6, 96 / k), tile = k * scale, gap = 10;
  std::vector<float> kernel(static_cast<size_t>(taps));
  float m = 0;
  for (int g = 0; g < g_count; ++g)
    for (int t = 0; t < taps; ++t)
      m = std::max(m,
                   std::fabs(kt.ptr()[((static_cast<int64_t>(g) * taps + t) * ho + oy) * wo + ox]));
  // Each heatmap has its legend on its right: the kernels' (symmetric about 0) and the sum
  // map's, which names the scale display.h chose (symmetric, or sequential over min..max).
  const ValueRange tap_range{-m, m};
  const int kernels_w = g_count * (tile + gap);
  const int tap_bar = std::max(tile - vertical_legend_height(0) + 3 * 18, 0);
  const int tap_legend_w = figure_legend_width(Colormap::Diverging, tap_range, "tap value");
  const int sum_bar = std::clamp(ho - vertical_legend_height(0) + 3 * 18, 0, 300);
  const int sum_legend_w = figure_legend_width(sum_scale.map, sum_range, sum_scale.label);
  const int width = fit_width(std::max({kernels_w + gap + tap_legend_w + 2 * kMargin,
                                        wo + 2 * gap + sum_legend_w + 2 * kMargin, 640}),
                              {parameters_caption(app, true)});
  const int top = caption_height();
  const int sum_top = top + 20 + std::max(tile, vertical_legend_height(tap_bar)) + 24;
  Canvas c =
      figure_canvas(width, sum_top + 20 + std::max(ho, vertical_legend_height(sum_bar)) + kMargin);
  draw_caption(c, "KernelScope involution: generated kernels", parameters_caption(app, true),
               "kernels " + shape_to_string(kt.shape));
  draw_text(
      c, "kernels of each group at output (" + std::to_string(ox) + ", " + std::to_string(oy) + ")",
      kMargin, top, 14, 200);
  for (int g = 0; g < g_count; ++g) {
    for (int t = 0; t < taps; ++t)
      kernel[static_cast<size_t>(t)] =
          kt.ptr()[((static_cast<int64_t>(g) * taps + t) * ho + oy) * wo + ox];
    blit(c, kernel_rgb(kernel.data(), k, m), k, k, kMargin + g * (tile + gap), top + 20, scale);
  }
  draw_vertical_legend(c, Colormap::Diverging, tap_range, kMargin + kernels_w + gap, top + 20,
                       tap_bar, "tap value");
  draw_text(c, "sum of the taps per output pixel, group " + std::to_string(group), kMargin, sum_top,
            14, 200);
  blit(c, colorize_plane(sum.ptr(), wo, ho, sum_scale.map, sum_range), wo, ho, kMargin,
       sum_top + 20);
  draw_vertical_legend(c, sum_scale.map, sum_range, kMargin + wo + 2 * gap, sum_top + 20, sum_bar,
                       sum_scale.label);
  const std::string stem = export_stem(dir, "involution-kernels");
  save_png(stem + ".png", c, out);
  save_array(stem + ".npy", kt, out);
}

}  // namespace

std::string export_folder(const AppState& app) {
  if (!app.view.settings.export_dir.empty()) return app.view.settings.export_dir;
  const char* home = std::getenv("HOME");
  return home && *home ? (fs::path(home) / "kernelscope-exports").string() : std::string(".");
}

std::string export_stem(const std::string& dir, const std::string& suffix) {
  const std::time_t now = std::time(nullptr);
  std::tm tm{};
  localtime_r(&now, &tm);
  char stamp[32];
  std::strftime(stamp, sizeof stamp, "%Y%m%d-%H%M%S", &tm);
  const std::string base =
      (fs::path(dir) / (std::string("kernelscope-") + stamp + "-" + suffix)).string();
  std::string stem = base;
  std::error_code ec;
  for (int i = 2; fs::exists(stem + ".png", ec) || fs::exists(stem + ".npy", ec); ++i)
    stem = base + "-" + std::to_string(i);
  return stem;
}

std::string parameters_caption(const AppState& app, bool involution) {
  const OpSettings& s = app.doc.settings;
  const OpResult& r = involution ? app.doc.result.involution : app.doc.result.conv;
  std::string text;
  if (involution) {
    const InvolutionParams& p = r.involution;
    text = "involution K=" + std::to_string(p.kernel_size) + " stride " + std::to_string(p.stride) +
           " dilation " + std::to_string(p.dilation) + " (padding " + std::to_string(p.padding()) +
           ") group channels " + std::to_string(p.group_channels) +
           " (G=" + std::to_string(p.groups()) + ") reduction " + std::to_string(p.reduction);
  } else {
    const ConvParams& p = r.conv;
    text = "convolution K=" + std::to_string(p.kernel_size) + " stride " +
           std::to_string(p.stride) + " padding " + std::to_string(p.padding) + " dilation " +
           std::to_string(p.dilation) + " groups " + std::to_string(p.groups) + " out channels " +
           std::to_string(p.out_channels);
  }
  text += std::string(", weights ") + weight_source_name(s.weights);
  if (s.weights == WeightSource::Random) text += " (seed " + std::to_string(s.seed) + ")";
  if (involution && s.weights != WeightSource::Random && s.weights != WeightSource::File &&
      !is_designed_source(s.weights))
    text += " (variation " + std::to_string(s.variation).substr(0, 4) + ")";
  text += s.relu ? ", ReLU" : ", no activation";
  text += ", backend " + r.backend;
  return text;
}

std::vector<std::string> export_panel(const AppState& app, ExportPanel panel,
                                      const std::string& dir) {
  if (!app.doc.have_result || !app.doc.image.compute) throw Error("nothing to export yet");
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (!fs::is_directory(dir)) throw Error("cannot create the export folder " + dir);
  std::vector<std::string> written;
  switch (panel) {
    case ExportPanel::Input:
      export_input(app, dir, &written);
      break;
    case ExportPanel::Kernels:
      export_conv_kernels(app, dir, &written);
      export_involution_kernels(app, dir, &written);
      break;
    case ExportPanel::FeatureMaps:
      export_maps(app, false, dir, &written);
      export_maps(app, true, dir, &written);
      break;
  }
  if (written.empty()) throw Error("nothing to export: the operation did not run");
  return written;
}

}  // namespace ks::app
