// Helpers shared by the step-through explanations: index checks and the tap layout.
#pragma once

#include <string>
#include <vector>

#include "kernelscope/error.h"
#include "kernelscope/explain.h"

namespace ks::explain_detail {

// Throws "<what> <value> is outside [0, <limit>)" so a view can show the message as is.
inline void check_index(const char* what, int64_t value, int64_t limit) {
  if (value < 0 || value >= limit)
    throw Error(std::string(what) + " " + std::to_string(value) + " is outside [0, " +
                std::to_string(limit) + ")");
}

// The K*K taps of the window at output (i, j), row-major, and the rectangle they span.
inline std::vector<ExplainTap> window_taps(int64_t i, int64_t j, int64_t kernel_size,
                                           int64_t stride, int64_t padding, int64_t dilation,
                                           int64_t height, int64_t width, InputRect* rect) {
  std::vector<ExplainTap> taps;
  taps.reserve(static_cast<size_t>(kernel_size * kernel_size));
  for (int64_t ky = 0; ky < kernel_size; ++ky)
    for (int64_t kx = 0; kx < kernel_size; ++kx) {
      ExplainTap t;
      t.ky = ky;
      t.kx = kx;
      t.y = i * stride - padding + ky * dilation;
      t.x = j * stride - padding + kx * dilation;
      t.in_bounds = t.y >= 0 && t.y < height && t.x >= 0 && t.x < width;
      taps.push_back(t);
    }
  rect->y0 = i * stride - padding;
  rect->x0 = j * stride - padding;
  rect->y1 = rect->y0 + (kernel_size - 1) * dilation + 1;
  rect->x1 = rect->x0 + (kernel_size - 1) * dilation + 1;
  return taps;
}

}  // namespace ks::explain_detail
