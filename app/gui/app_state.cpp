// Shared state helpers: messages, focus geometry and turning results into textures.
#include "gui/app_state.h"

#include <algorithm>
#include <cctype>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <utility>

namespace ks::app {

void LayerView::release() {
  for (auto& m : maps) m.release();
  maps.clear();
  ranges.clear();
  if (composite) glDeleteTextures(1, &composite);
  composite = 0;
  composite_w = composite_h = 0;
  kernel_sum.release();
}

bool Focus::current(int* x, int* y) const {
  if (hover) {
    *x = hover_x;
    *y = hover_y;
    return true;
  }
  if (pinned) {
    *x = pin_x;
    *y = pin_y;
    return true;
  }
  return false;
}

void AppState::set_status(const std::string& text) {
  status = text;
  status_time = std::chrono::steady_clock::now();
  std::fprintf(stderr, "kernelscope: %s\n", text.c_str());
}

void AppState::set_error(const std::string& text, const std::string& cause) {
  error = in_app_terms(text);
  error_cause = cause;
  std::fprintf(stderr, "kernelscope: error: %s\n", text.c_str());
}

void AppState::clear_error(const std::string& cause) {
  if (!error.empty() && error_cause == cause) error.clear();
}

std::string in_app_terms(std::string message) {
  static const std::pair<const char*, const char*> controls[] = {
      {"raise it with --max-memory-mb", "raise \"memory cap MiB\" under compute"},
      {"--max-memory-mb", "\"memory cap MiB\""},
      {"--kernel-size", "kernel size"},
      {"--out-channels", "out channels"},
      {"--group-channels", "group channels"},
      {"--groups", "groups"},
      {"--reduction", "reduction"},
      {"--padding", "padding"},
      {"--stride", "stride"},
      {"--dilation", "dilation"},
      {"--weights", "the weights file"},
      {"--kernel", "weights"},
      {"--input", "the image"},
  };
  for (const auto& [flag, control] : controls)
    for (size_t at = message.find(flag); at != std::string::npos;
         at = message.find(flag, at + std::strlen(control))) {
      // Whole flags only: "--kernel" is not the start of "--kernel-size".
      const size_t end = at + std::strlen(flag);
      if (end < message.size() &&
          (std::isalnum(static_cast<unsigned char>(message[end])) || message[end] == '-')) {
        at += 1;
        continue;
      }
      message.replace(at, std::strlen(flag), control);
    }
  return message;
}

std::string operation_label(Operation op) {
  switch (op) {
    case Operation::Convolution:
      return "convolution";
    case Operation::Involution:
      return "involution";
    default:
      return "both";
  }
}

namespace {

struct Geometry {
  int k, s, p, d, out_w, out_h;
};

bool geometry(const AppState& app, bool involution, Geometry* g) {
  const OpResult& r = involution ? app.doc.result.involution : app.doc.result.conv;
  if (!app.doc.have_result || !r.ran) return false;
  g->k = static_cast<int>(involution ? r.involution.kernel_size : r.conv.kernel_size);
  g->s = static_cast<int>(involution ? r.involution.stride : r.conv.stride);
  g->d = static_cast<int>(involution ? r.involution.dilation : r.conv.dilation);
  g->p = static_cast<int>(involution ? r.involution.padding() : r.conv.padding);
  if (involution && r.notebook) g->p = static_cast<int>(r.notebook_params.padding);
  g->out_h = static_cast<int>(r.output.dim(2));
  g->out_w = static_cast<int>(r.output.dim(3));
  return true;
}

}  // namespace

bool output_pixel_for(const AppState& app, bool involution, int x, int y, int* ox, int* oy) {
  Geometry g;
  if (!geometry(app, involution, &g)) return false;
  // The receptive field of output o starts at o*s - p and its centre is d*(K-1)/2 further.
  const float half = 0.5f * static_cast<float>(g.d * (g.k - 1));
  auto nearest = [&](int v, int limit) {
    const float o = (static_cast<float>(v + g.p) - half) / static_cast<float>(g.s);
    return std::clamp(static_cast<int>(std::lround(o)), 0, limit - 1);
  };
  *ox = nearest(x, g.out_w);
  *oy = nearest(y, g.out_h);
  return true;
}

void receptive_field(const AppState& app, bool involution, int ox, int oy, int* x0, int* y0,
                     int* extent, int* step) {
  Geometry g;
  if (!geometry(app, involution, &g)) return;
  *x0 = ox * g.s - g.p;
  *y0 = oy * g.s - g.p;
  *extent = g.d * (g.k - 1) + 1;
  *step = g.d;
}

}  // namespace ks::app
