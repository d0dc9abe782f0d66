// The display's scans of a result, done on the worker (result_scan.h).
#include "core/result_scan.h"

#include <algorithm>
#include <cmath>

#include "kernelscope/colormap.h"

namespace ks::core {

namespace {

// Whole F x F blocks [0, w / F) of rows y0 .. y0 + F, with the block loops unrolled and the
// division a multiplication (a 4K map shown at 1280 wide has F = 3).
template <int F>
int64_t box_filter_whole_blocks(const float* plane, int64_t w, int64_t y0, float* dst) {
  const int64_t blocks = w / F;
  constexpr float kScale = 1.0f / (F * F);
  for (int64_t x = 0; x < blocks; ++x) {
    float sum = 0;
    for (int r = 0; r < F; ++r)
      for (int c = 0; c < F; ++c) sum += plane[(y0 + r) * w + x * F + c];
    dst[x] = sum * kScale;
  }
  return blocks;
}

// One output row of a factor x factor box filter (ceil mode at the edges).
void box_filter_row(const float* plane, int64_t h, int64_t w, int factor, int64_t y, int64_t wo,
                    float* dst) {
  const int64_t y0 = y * factor, y1 = std::min(h, y0 + factor);
  int64_t done = 0;  // output columns already made by a fixed-factor loop
  if ((factor == 3 || factor == 4) && y1 - y0 == factor)
    done = factor == 3 ? box_filter_whole_blocks<3>(plane, w, y0, dst)
                       : box_filter_whole_blocks<4>(plane, w, y0, dst);
  if (factor == 2 && y1 - y0 == 2) {
    // The common case (a 1080p or 4K map shown at 960 or 1280 wide): two rows, pairs of
    // columns, without the general loop's bounds and division per pixel.
    const float* a = plane + y0 * w;
    const float* b = a + w;
    const int64_t pairs = w / 2;
    for (int64_t x = 0; x < pairs; ++x)
      dst[x] = 0.25f * ((a[2 * x] + a[2 * x + 1]) + (b[2 * x] + b[2 * x + 1]));
    if (pairs < wo) dst[pairs] = 0.5f * (a[w - 1] + b[w - 1]);  // an odd width's last column
    return;
  }
  for (int64_t x = done; x < wo; ++x) {
    const int64_t x0 = x * factor, x1 = std::min(w, x0 + factor);
    float sum = 0;
    for (int64_t yy = y0; yy < y1; ++yy)
      for (int64_t xx = x0; xx < x1; ++xx) sum += plane[yy * w + xx];
    dst[x] = sum / static_cast<float>((y1 - y0) * (x1 - x0));
  }
}

// planes [count, h, w] averaged over factor x factor blocks (ceil mode) into *out
// [count, ceil(h/f), ceil(w/f)], reusing its storage, and each plane's display range
// (finite min/max) into *ranges. Rows in parallel: at 1080p this was the largest part of
// the worker's scans. The range comes from the rows just filtered, still in cache, so the
// full-size maps are read from memory once, not twice.
void box_filter_planes(const float* planes, int64_t count, int64_t h, int64_t w, int factor,
                       Tensor* out, std::vector<ValueRange>* ranges) {
  const int64_t ho = (h + factor - 1) / factor, wo = (w + factor - 1) / factor;
  out->reshape_uninitialized({count, ho, wo});
  float* dst = out->ptr();
  std::vector<float> lo(static_cast<size_t>(count * ho), INFINITY), hi(lo.size(), -INFINITY);
#pragma omp parallel for schedule(static)
  for (int64_t row = 0; row < count * ho; ++row) {
    const int64_t p = row / ho, y = row % ho;
    const float* plane = planes + p * h * w;
    box_filter_row(plane, h, w, factor, y, wo, dst + row * wo);
    const int64_t y0 = y * factor, y1 = std::min(h, y0 + factor);
    widen_to_finite(plane + y0 * w, (y1 - y0) * w, &lo[static_cast<size_t>(row)],
                    &hi[static_cast<size_t>(row)]);
  }
  ranges->clear();
  for (int64_t p = 0; p < count; ++p) {
    const auto first = static_cast<size_t>(p * ho), last = static_cast<size_t>((p + 1) * ho);
    ranges->push_back(display_range(*std::min_element(lo.begin() + first, lo.begin() + last),
                                    *std::max_element(hi.begin() + first, hi.begin() + last)));
  }
}

}  // namespace

void scan_result(OpResult* r, OpResult* recycled) {
  if (!r->ran) return;
  const Tensor& out = r->output;
  const int64_t h = out.dim(2), w = out.dim(3);
  r->display_factor = static_cast<int>((std::max(h, w) + kMapTextureSide - 1) / kMapTextureSide);
  if (r->display_factor > 1) {
    if (recycled) {
      r->display_output = std::move(recycled->display_output);
      r->display_kernel_sum = std::move(recycled->display_kernel_sum);
    }
    box_filter_planes(out.ptr(), out.dim(0) * out.dim(1), h, w, r->display_factor,
                      &r->display_output, &r->channel_ranges);
    r->kernel_sum_ranges.clear();
    if (!r->kernel_sum.empty())
      box_filter_planes(r->kernel_sum.ptr(), r->kernel_sum.dim(1), h, w, r->display_factor,
                        &r->display_kernel_sum, &r->kernel_sum_ranges);
  } else {
    r->channel_ranges = plane_ranges(out.ptr(), out.dim(0) * out.dim(1), out.dim(2) * out.dim(3));
    r->kernel_sum_ranges.clear();
    if (!r->kernel_sum.empty())
      r->kernel_sum_ranges =
          plane_ranges(r->kernel_sum.ptr(), r->kernel_sum.dim(1), out.dim(2) * out.dim(3));
  }
  // The composite is drawn from what the textures show.
  const Tensor& shown = r->display_factor > 1 ? r->display_output : out;
  const int64_t c = out.dim(1);
  const int64_t shown_plane = shown.dim(shown.rank() - 2) * shown.dim(shown.rank() - 1);
  r->composite.clear();
  if (c != 3) return;
  ValueRange layer = r->channel_ranges[0];
  for (const ValueRange& v : r->channel_ranges) {
    layer.lo = std::min(layer.lo, v.lo);
    layer.hi = std::max(layer.hi, v.hi);
  }
  const float scale = 255.0f / (layer.hi > layer.lo ? layer.hi - layer.lo : 1.0f);
  if (recycled) r->composite = std::move(recycled->composite);  // its pages are already ours
  r->composite.resize(static_cast<size_t>(shown_plane * 3));
  uint8_t* rgb = r->composite.data();
  const float* src[3] = {shown.ptr(), shown.ptr() + shown_plane, shown.ptr() + 2 * shown_plane};
#pragma omp parallel for schedule(static)
  for (int64_t i = 0; i < shown_plane; ++i)
    for (int k = 0; k < 3; ++k) {
      float v = (src[k][i] - layer.lo) * scale;
      v = v >= 0.0f ? (v <= 255.0f ? v : 255.0f) : 0.0f;  // NaN, -inf -> 0; +inf -> 255
      rgb[i * 3 + k] = static_cast<uint8_t>(v + 0.5f);
    }
}

}  // namespace ks::core
