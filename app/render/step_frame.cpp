// Draws a StepView as one 16:9 slide: input and magnified window on the left, the K x K
// patch, kernel and products with the sum in the middle, the output map filling in and the
// notes on the right. Sizes are in 1280x720 units times the scale.
#include <algorithm>
#include <array>
#include <cmath>

#include "kernelscope/error.h"
#include "render/step_view.h"

namespace ks::render {
namespace {

const Rgb kBackground{30, 30, 36};
const Rgb kPanel{44, 44, 52};
const Rgb kText{240, 240, 240};
const Rgb kDim{170, 172, 184};
const Rgb kWindow{255, 210, 74};  // the receptive field, everywhere it appears
const Rgb kPadding{255, 107, 107};
const Rgb kPool{90, 200, 250};

struct Layout {
  float s;
  int px(float v) const { return static_cast<int>(std::lround(v * s)); }
};

// The input as RGB bytes: colour images as they are, anything else one channel in grey.
std::vector<uint8_t> input_rgb(const Tensor& x, int64_t b, int64_t channel) {
  const int64_t C = x.dim(1), H = x.dim(2), W = x.dim(3);
  const float* base = x.ptr() + b * C * H * W;
  if (C == 3) {
    ValueRange r{0, 1};
    for (int64_t k = 0; k < 3 * H * W; ++k)
      if (base[k] < 0 || base[k] > 1) {
        r = plane_range(base, 3 * H * W, false);
        break;
      }
    std::vector<uint8_t> rgb(static_cast<size_t>(H * W * 3));
    const float span = r.hi > r.lo ? r.hi - r.lo : 1.0f;
    for (int64_t p = 0; p < H * W; ++p)
      for (int64_t c = 0; c < 3; ++c)
        rgb[static_cast<size_t>(p * 3 + c)] = static_cast<uint8_t>(
            std::lround(std::clamp((base[c * H * W + p] - r.lo) / span, 0.0f, 1.0f) * 255));
    return rgb;
  }
  const float* plane = base + channel * H * W;
  return colorize_plane(plane, W, H, Colormap::Grey, plane_range(plane, H * W, false));
}

Rgb rgb_of(const std::array<uint8_t, 3>& a) { return {a[0], a[1], a[2]}; }

Rgb readable_on(Rgb c) {
  const int luma = (c.r * 299 + c.g * 587 + c.b * 114) / 1000;
  return luma > 140 ? Rgb{15, 15, 20} : Rgb{250, 250, 250};
}

// The widest number formatting that fits the cell: 3 decimals, then 2, 1, 0, then nothing.
std::string fit_number(const Font& font, double v, float px, int width) {
  for (int d = 3; d >= 0; --d) {
    const std::string s = format_number(v, d);
    if (font.text_width(s, px) <= width) return s;
  }
  return "";
}

void text_centered(Canvas& c, const Font& font, const std::string& s, float px, int cx, int cy,
                   Rgb colour) {
  font.draw(c, cx - font.text_width(s, px) / 2, cy - font.line_height(px) / 2, s, px, colour);
}

// A K x K grid of numbers; cell colour from the colormap, padded cells hatched.
void draw_grid(Canvas& c, const Font& font, const Layout& L, int x, int y, int side, int64_t K,
               const std::vector<double>& values, const std::vector<ExplainTap>& taps, Colormap map,
               ValueRange range) {
  const int cell = side / static_cast<int>(K);
  const float number_px = std::min(20.0f * L.s, cell * 0.34f);
  const float span = range.hi > range.lo ? range.hi - range.lo : 1.0f;
  for (int64_t ky = 0; ky < K; ++ky)
    for (int64_t kx = 0; kx < K; ++kx) {
      const size_t t = static_cast<size_t>(ky * K + kx);
      const int cx = x + static_cast<int>(kx) * cell, cy = y + static_cast<int>(ky) * cell;
      const bool padded = !taps[t].in_bounds;
      Rgb fill = padded
                     ? kPanel
                     : rgb_of(colormap_rgb(map, static_cast<float>((values[t] - range.lo) / span)));
      c.fill_rect(cx, cy, cell, cell, fill);
      if (padded) c.hatch_rect(cx, cy, cell, cell, kPadding, std::max(L.px(7), 3));
      const std::string s = fit_number(font, values[t], number_px, cell - L.px(6));
      if (!s.empty()) {
        const Rgb ink = padded ? kText : readable_on(fill);
        if (padded)
          c.fill_rect(cx + cell / 2 - font.text_width(s, number_px) / 2 - 2,
                      cy + cell / 2 - font.line_height(number_px) / 2,
                      font.text_width(s, number_px) + 4, font.line_height(number_px), kPanel);
        text_centered(c, font, s, number_px, cx + cell / 2, cy + cell / 2, ink);
      }
    }
  for (int64_t k = 0; k <= K; ++k) {  // grid lines
    const int o = static_cast<int>(k) * cell;
    c.fill_rect(x + o - 1, y, 2, cell * static_cast<int>(K), kBackground);
    c.fill_rect(x, y + o - 1, cell * static_cast<int>(K), 2, kBackground);
  }
}

ValueRange symmetric_range(const std::vector<double>& v) {
  double m = 0;
  for (double x : v) m = std::max(m, std::fabs(x));
  if (m == 0) m = 1;
  return {static_cast<float>(-m), static_cast<float>(m)};
}

struct Fit {
  int x, y, w, h;
};
// The largest rectangle of the image's aspect ratio inside (x, y, w, h), centred.
Fit fit_into(int64_t img_w, int64_t img_h, int x, int y, int w, int h) {
  const double scale = std::min(static_cast<double>(w) / img_w, static_cast<double>(h) / img_h);
  const int fw = std::max(1, static_cast<int>(img_w * scale));
  const int fh = std::max(1, static_cast<int>(img_h * scale));
  return {x + (w - fw) / 2, y, fw, fh};
}

}  // namespace

Canvas render_step_frame(const StepView& v, const Font& font, float scale) {
  if (!v.input || !v.output) throw Error("step view without input or output");
  if (v.patch.size() != static_cast<size_t>(v.kernel_size * v.kernel_size) ||
      v.kernel.size() != v.patch.size() || v.products.size() != v.patch.size() ||
      v.taps.size() != v.patch.size())
    throw Error("step view grids must have K*K values");
  const Layout L{scale};
  Canvas c(L.px(1280), L.px(720), kBackground);
  const Tensor& x = *v.input;
  const int64_t H = x.dim(2), W = x.dim(3);
  const float title_px = 25 * scale, caption_px = 18 * scale, label_px = 16 * scale,
              note_px = 16 * scale;

  // Header: title and caption.
  int y = L.px(10);
  font.draw(c, L.px(16), y, v.title, title_px, kText);
  y += font.line_height(title_px);
  for (const std::string& line : font.wrap(v.caption, caption_px, L.px(1248))) {
    font.draw(c, L.px(16), y, line, caption_px, kWindow);
    y += font.line_height(caption_px);
  }
  const int top = y + L.px(10);
  const int bottom = L.px(712);

  // Left: the input with the window, then the magnified neighbourhood.
  const int left_x = L.px(16), left_w = L.px(368);
  font.draw(c, left_x, top, "input (" + std::to_string(W) + "×" + std::to_string(H) + ")", label_px,
            kDim);
  const int img_top = top + font.line_height(label_px) + L.px(2);
  const Fit img = fit_into(W, H, left_x, img_top, left_w, (bottom - img_top) * 45 / 100);
  const std::vector<uint8_t> rgb = input_rgb(x, v.batch, v.shown_channel);
  c.blit_rgb(rgb.data(), static_cast<int>(W), static_cast<int>(H), img.x, img.y, img.w, img.h);
  auto img_x = [&](int64_t col) { return img.x + static_cast<int>(col * img.w / W); };
  auto img_y = [&](int64_t row) { return img.y + static_cast<int>(row * img.h / H); };
  const int pad = L.px(3);
  const int box_x0 = img_x(v.window.x0) - pad, box_y0 = img_y(v.window.y0) - pad;
  const int box_x1 = img_x(v.window.x1) + pad, box_y1 = img_y(v.window.y1) + pad;
  if (v.has_pool_window)
    c.outline_rect(img_x(v.pool_window.x0) - 1, img_y(v.pool_window.y0) - 1,
                   img_x(v.pool_window.x1) - img_x(v.pool_window.x0) + 2,
                   img_y(v.pool_window.y1) - img_y(v.pool_window.y0) + 2, kPool, 1);
  c.outline_rect(box_x0, box_y0, box_x1 - box_x0, box_y1 - box_y0, kWindow, std::max(L.px(2), 1));

  // Magnified window: one margin cell around it so padding at a border is visible.
  const int zoom_label_y = img.y + img.h + L.px(12);
  font.draw(c, left_x, zoom_label_y, "window on the input, magnified", label_px, kDim);
  const int zoom_top = zoom_label_y + font.line_height(label_px) + L.px(4);
  const int legend_h = font.line_height(label_px) + L.px(8);
  const int64_t z_rows = v.window.y1 - v.window.y0 + 2, z_cols = v.window.x1 - v.window.x0 + 2;
  const int cell = std::max(
      1, static_cast<int>(std::min((bottom - legend_h - zoom_top) / z_rows, left_w / z_cols)));
  const int zoom_x = left_x + (left_w - cell * static_cast<int>(z_cols)) / 2;
  c.line(box_x0, box_y1, zoom_x, zoom_top, kWindow, 1);
  c.line(box_x1, box_y1, zoom_x + cell * static_cast<int>(z_cols), zoom_top, kWindow, 1);
  for (int64_t r = 0; r < z_rows; ++r)
    for (int64_t q = 0; q < z_cols; ++q) {
      const int64_t yy = v.window.y0 - 1 + r, xx = v.window.x0 - 1 + q;
      const int cx = zoom_x + static_cast<int>(q) * cell,
                cy = zoom_top + static_cast<int>(r) * cell;
      if (yy < 0 || yy >= H || xx < 0 || xx >= W) {
        c.fill_rect(cx, cy, cell, cell, kPanel);
        c.hatch_rect(cx, cy, cell, cell, kPadding, std::max(L.px(7), 3));
      } else {
        const uint8_t* p = &rgb[static_cast<size_t>((yy * W + xx) * 3)];
        c.fill_rect(cx, cy, cell, cell, {p[0], p[1], p[2]});
        const bool inside =
            yy >= v.window.y0 && yy < v.window.y1 && xx >= v.window.x0 && xx < v.window.x1;
        if (!inside) c.blend_rect(cx, cy, cell, cell, kBackground, 0.55f);
      }
    }
  for (const ExplainTap& t : v.taps) {
    const int cx = zoom_x + static_cast<int>(t.x - v.window.x0 + 1) * cell;
    const int cy = zoom_top + static_cast<int>(t.y - v.window.y0 + 1) * cell;
    c.outline_rect(cx, cy, cell, cell, kWindow, std::max(1, std::min(L.px(2), cell / 6)));
  }
  if (v.has_pool_window) {  // the cells averaged into the pixel's channel vector
    const int64_t y0 = std::max(v.pool_window.y0, v.window.y0 - 1);
    const int64_t x0 = std::max(v.pool_window.x0, v.window.x0 - 1);
    const int64_t y1 = std::min(v.pool_window.y1, v.window.y1 + 1);
    const int64_t x1 = std::min(v.pool_window.x1, v.window.x1 + 1);
    if (y1 > y0 && x1 > x0)
      c.outline_rect(zoom_x + static_cast<int>(x0 - v.window.x0 + 1) * cell + 2,
                     zoom_top + static_cast<int>(y0 - v.window.y0 + 1) * cell + 2,
                     static_cast<int>(x1 - x0) * cell - 4, static_cast<int>(y1 - y0) * cell - 4,
                     kPool, std::max(1, std::min(L.px(3), cell / 5)));
  }
  const int legend_y = zoom_top + cell * static_cast<int>(z_rows) + L.px(6);
  c.fill_rect(left_x, legend_y, L.px(18), L.px(16), kPanel);
  c.hatch_rect(left_x, legend_y, L.px(18), L.px(16), kPadding, std::max(L.px(5), 3));
  font.draw(c, left_x + L.px(24), legend_y - L.px(1), "pad 0", label_px, kDim);
  c.outline_rect(left_x + L.px(150), legend_y, L.px(18), L.px(16), kWindow, 2);
  font.draw(c, left_x + L.px(174), legend_y - L.px(1), "taps read", label_px, kDim);
  if (v.has_pool_window) {
    c.outline_rect(left_x + L.px(262), legend_y, L.px(18), L.px(16), kPool, 2);
    font.draw(c, left_x + L.px(286), legend_y - L.px(1), "averaged", label_px, kDim);
  }

  // Middle: patch x kernel on the first row, products and the sum on the second.
  const int mid_x = L.px(400);
  const int label_h = font.line_height(label_px) + L.px(4);
  const int side_limit = std::min(L.px(220), (bottom - top - 2 * label_h - L.px(24)) / 2);
  const int K = static_cast<int>(v.kernel_size);
  const int side = std::max(side_limit / K, 1) * K;
  const std::vector<double> patch(v.patch.begin(), v.patch.end());
  const std::vector<double> kernel(v.kernel.begin(), v.kernel.end());
  const float* in_plane = x.ptr() + (v.batch * x.dim(1) + v.shown_channel) * H * W;
  const ValueRange in_range = plane_range(in_plane, H * W, false);
  const int row1 = top + label_h, gap = L.px(40);
  font.draw(c, mid_x, top, v.patch_label, label_px, kDim);
  draw_grid(c, font, L, mid_x, row1, side, K, patch, v.taps, Colormap::Grey, in_range);
  text_centered(c, font, "×", 32 * scale, mid_x + side + gap / 2, row1 + side / 2, kText);
  font.draw(c, mid_x + side + gap, row1 + side + L.px(4), v.kernel_label, label_px, kDim);
  std::vector<ExplainTap> all_in(v.taps);
  for (ExplainTap& t : all_in) t.in_bounds = true;  // the kernel has no padding
  draw_grid(c, font, L, mid_x + side + gap, row1, side, K, kernel, all_in, Colormap::Diverging,
            symmetric_range(kernel));
  const int row2_label = row1 + side + L.px(12) + label_h;
  const int row2 = row2_label + label_h;
  font.draw(c, mid_x, row2_label, v.products_label, label_px, kDim);
  draw_grid(c, font, L, mid_x, row2, side, K, v.products, v.taps, Colormap::Diverging,
            symmetric_range(v.products));
  const float sum_px = 19 * scale;
  int sy = row2;
  for (size_t k = 0; k < v.sum_lines.size(); ++k) {
    const bool last = k + 1 == v.sum_lines.size();
    font.draw(c, mid_x + side + L.px(14), sy, v.sum_lines[k], last ? 24 * scale : sum_px,
              last ? kWindow : kText);
    sy += font.line_height(sum_px) + L.px(2);
  }

  // Right: the output map filling in, then the notes.
  const int right_x = L.px(896), right_w = L.px(368);
  font.draw(c, right_x, top, v.output_label, label_px, kDim);
  const Tensor& out = *v.output;
  const int64_t Ho = out.dim(2), Wo = out.dim(3);
  const Fit om = fit_into(Wo, Ho, right_x, img_top, right_w, (bottom - img_top) * 45 / 100);
  const float* plane = out.ptr() + (v.batch * out.dim(1) + v.output_channel) * Ho * Wo;
  const bool diverging = v.colormap == Colormap::Diverging;
  c.blit_plane(plane, static_cast<int>(Wo), static_cast<int>(Ho), v.colormap,
               plane_range(plane, Ho * Wo, diverging), om.x, om.y, om.w, om.h);
  auto om_x = [&](int64_t col) { return om.x + static_cast<int>(col * om.w / Wo); };
  auto om_y = [&](int64_t row) { return om.y + static_cast<int>(row * om.h / Ho); };
  if (v.filled >= 0 && v.filled < Ho * Wo) {  // blank what the window has not reached yet
    const int64_t frow = v.filled / Wo, fcol = v.filled % Wo;
    c.fill_rect(om_x(fcol), om_y(frow), om.x + om.w - om_x(fcol), om_y(frow + 1) - om_y(frow),
                kPanel);
    c.fill_rect(om.x, om_y(frow + 1), om.w, om.y + om.h - om_y(frow + 1), kPanel);
  }
  const int mark = std::max(L.px(8), om_x(v.j + 1) - om_x(v.j));
  c.outline_rect(om_x(v.j) + (om_x(v.j + 1) - om_x(v.j)) / 2 - mark / 2 - 1,
                 om_y(v.i) + (om_y(v.i + 1) - om_y(v.i)) / 2 - mark / 2 - 1, mark + 2, mark + 2,
                 kWindow, std::max(L.px(2), 1));
  int ny = om.y + om.h + L.px(12);
  for (const std::string& note : v.notes)
    for (const std::string& line : font.wrap(note, note_px, right_w)) {
      if (ny + font.line_height(note_px) > bottom) break;
      font.draw(c, right_x, ny, line, note_px, kText);
      ny += font.line_height(note_px) + L.px(1);
    }
  return c;
}

}  // namespace ks::render
