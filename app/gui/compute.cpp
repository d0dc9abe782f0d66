// The worker's jobs: image loading with the preview downscale, single runs and the race.
#include "gui/compute.h"

#include <algorithm>
#include <chrono>
#include <cmath>

#include "gui/weights.h"
#include "kernelscope/error.h"
#include "kernelscope/io.h"

namespace ks::app {

namespace {

using Clock = std::chrono::steady_clock;

double ms_since(Clock::time_point start) {
  return std::chrono::duration<double, std::milli>(Clock::now() - start).count();
}

// Textures larger than this are not guaranteed by OpenGL drivers, so images beyond it are
// always previewed downscaled.
constexpr int64_t kMaxDisplaySide = 8192;

int preview_factor(const Tensor& image, bool preview) {
  const int64_t h = image.dim(2), w = image.dim(3);
  int factor = 1;
  if (preview && h * w > kPreviewPixels)
    factor = static_cast<int>(std::ceil(std::sqrt(static_cast<double>(h * w) / 1.0e6)));
  while ((h + factor - 1) / factor > kMaxDisplaySide || (w + factor - 1) / factor > kMaxDisplaySide)
    ++factor;
  return factor;
}

void update_compute_copy(ImageSlot* slot, bool preview) {
  const int factor = preview_factor(*slot->full, preview);
  if (slot->compute && factor == slot->downscale) return;
  slot->downscale = factor;
  slot->compute =
      factor == 1 ? slot->full : std::make_shared<Tensor>(downscale(*slot->full, factor));
}

void apply_relu(Tensor* t) {
  for (auto& v : t->data) v = v > 0 ? v : 0.0f;
}

Backend& pick_backend(const std::string& name, std::string* notice) {
  std::string why;
  return select_backend(name, notice ? notice : &why);
}

int64_t cap_bytes(const OpSettings& s) { return memory_cap_bytes(s.max_memory_mb); }

// The layer's parameters and weights. The memory cap (the estimate `kernelscope run` checks)
// refuses the problem before any weights are made: only a weights file, which decides the
// shapes, is read first.
ConvWeights conv_layer(const Tensor& input, const OpSettings& s, ConvParams* p) {
  *p = conv_params(s, input.dim(1));
  const bool from_file = s.weights == WeightSource::File;
  ConvWeights w;
  if (from_file) w = make_conv_weights(s, p);
  check_memory_cap(conv_memory_bytes(input.shape, *p), cap_bytes(s), "this convolution");
  if (!from_file) w = make_conv_weights(s, p);
  return w;
}

InvolutionWeights involution_layer(const Tensor& input, const OpSettings& s, InvolutionParams* p) {
  *p = involution_params(s, input.dim(1));
  const bool from_file = s.weights == WeightSource::File;
  InvolutionWeights w;
  if (from_file) w = make_involution_weights(s, p);
  check_memory_cap(involution_memory_bytes(input.shape, *p), cap_bytes(s), "this involution");
  if (!from_file) w = make_involution_weights(s, p);
  return w;
}

OpResult run_conv(const Tensor& input, const OpSettings& s, Backend& backend) {
  OpResult r;
  r.conv_weights = conv_layer(input, s, &r.conv);
  Backend* b = &backend;
  if (!b->supports(r.conv)) b = find_backend("cpu-ref");
  r.backend = b->name();
  r.output = b->conv2d(input, r.conv, r.conv_weights, &r.times);
  r.relu = s.relu;
  if (s.relu) apply_relu(&r.output);
  r.flops = conv_flops(input.shape, r.conv);
  r.ran = true;
  return r;
}

// The seed notebook's inv() (notebook_variant.h), with seeded random weights: plain loops on
// the CPU whatever backend is chosen.
OpResult run_notebook_variant(const Tensor& input, const OpSettings& s) {
  OpResult r;
  r.notebook = true;
  r.involution = involution_params(s, input.dim(1));
  r.involution.stride = 1;
  r.involution.dilation = 1;
  NotebookVariantParams& p = r.notebook_params;
  p.channels = input.dim(1);
  p.kernel_size = s.kernel_size;
  p.group_channels = s.group_channels;
  p.reduction = s.reduction;
  p.stride = s.stride;
  p.padding = s.notebook_padding;
  const Shape out = notebook_variant_output_shape(input.shape, p);
  check_memory_cap(notebook_variant_memory_bytes(input.shape, p), cap_bytes(s),
                   "the notebook variant");
  const auto start = Clock::now();
  r.notebook_result =
      notebook_variant_involution(input, p, random_notebook_variant_weights(p, s.seed));
  r.times.total_ms = r.times.aggregation_ms = ms_since(start);
  r.output = r.notebook_result.output;
  r.kernels = r.notebook_result.kernels;
  r.relu = s.relu;
  if (s.relu) apply_relu(&r.output);
  r.backend = "notebook loops";
  // reduce (1x1) + span (K x K conv) + multiply-add over the K x K window, 2 FLOPs per MAC.
  const double hw = static_cast<double>(input.dim(2) * input.dim(3));
  const double ohw = static_cast<double>(out[2] * out[3]);
  r.flops =
      2.0 * (static_cast<double>(p.reduced_channels() * p.channels) * hw +
             static_cast<double>(p.groups() * p.taps() * p.reduced_channels() * p.taps()) * ohw +
             static_cast<double>(p.channels * p.taps()) * ohw);
  r.ran = true;
  return r;
}

OpResult run_involution(const Tensor& input, const OpSettings& s, Backend& backend) {
  if (s.notebook_variant) return run_notebook_variant(input, s);
  OpResult r;
  r.involution_weights = involution_layer(input, s, &r.involution);
  Backend* b = &backend;
  if (!b->supports(r.involution)) b = find_backend("cpu-ref");
  r.backend = b->name();
  InvolutionResult out = b->involution2d(input, r.involution, r.involution_weights, &r.times);
  r.output = std::move(out.output);
  r.kernels = std::move(out.kernels);
  r.relu = s.relu;
  if (s.relu) apply_relu(&r.output);
  r.flops = involution_flops(input.shape, r.involution);
  r.ran = true;
  return r;
}

template <typename Fn>
OpResult guarded(Fn&& fn) {
  try {
    return fn();
  } catch (const std::exception& e) {
    OpResult r;
    r.error = e.what();
    return r;
  }
}

// Best of a few runs within a time budget, so a slow reference backend does not stall the race.
template <typename Fn>
double best_ms(Fn&& run, const std::function<bool()>& cancelled) {
  double best = -1;
  const auto start = Clock::now();
  for (int i = 0; i < 4; ++i) {
    const auto t0 = Clock::now();
    run();
    const double ms = ms_since(t0);
    if (i > 0 || ms > 250) best = best < 0 ? ms : std::min(best, ms);  // run 0 warms up
    if (ms_since(start) > 1500 || cancelled()) break;
  }
  return best;
}

void run_race(const Tensor& input, const OpSettings& s, ComputeResult* result,
              const std::function<bool()>& cancelled) {
  const bool want_conv = s.operation != Operation::Involution;
  const bool want_inv = s.operation != Operation::Convolution;
  ConvParams cp;
  InvolutionParams ip;
  ConvWeights cw;
  InvolutionWeights iw;
  if (want_conv) cw = conv_layer(input, s, &cp);
  if (want_inv) iw = involution_layer(input, s, &ip);
  for (const std::string& name : backend_names()) {
    if (cancelled()) return;
    RaceRow row;
    row.backend = name;
    Backend* b = find_backend(name);
    std::string why;
    if (!b->available(&why)) {
      row.note = why;
      result->race_rows.push_back(row);
      continue;
    }
    try {
      if (want_conv && b->supports(cp)) {
        row.conv_ms = best_ms(
            [&] {
              StageTimes t;
              b->conv2d(input, cp, cw, &t);
            },
            cancelled);
        row.conv_gflops = conv_flops(input.shape, cp) / (row.conv_ms * 1e6);
      }
      if (want_inv && b->supports(ip)) {
        row.involution_ms = best_ms(
            [&] {
              StageTimes t;
              b->involution2d(input, ip, iw, &t);
            },
            cancelled);
        row.involution_gflops = involution_flops(input.shape, ip) / (row.involution_ms * 1e6);
      }
      if (row.conv_ms < 0 && row.involution_ms < 0) row.note = "does not support these parameters";
    } catch (const std::exception& e) {
      row.note = e.what();
    }
    result->race_rows.push_back(row);
  }
}

}  // namespace

ConvParams conv_params(const OpSettings& s, int64_t channels) {
  ConvParams p;
  p.in_channels = channels;
  p.out_channels = s.out_channels;
  p.kernel_size = s.kernel_size;
  p.stride = s.stride;
  p.padding = s.padding;
  p.dilation = s.dilation;
  p.groups = s.groups;
  p.has_bias = true;
  return p;
}

InvolutionParams involution_params(const OpSettings& s, int64_t channels) {
  InvolutionParams p;
  p.channels = channels;
  p.kernel_size = s.kernel_size;
  p.stride = s.stride;
  p.dilation = s.dilation;
  p.group_channels = s.group_channels;
  p.reduction = s.reduction;
  return p;
}

Tensor test_pattern() {
  const int64_t h = 240, w = 320;
  Tensor t({1, 3, h, w});
  for (int64_t y = 0; y < h; ++y)
    for (int64_t x = 0; x < w; ++x) {
      const float fx = static_cast<float>(x) / w, fy = static_cast<float>(y) / h;
      const float dx = fx - 0.5f, dy = fy - 0.5f;
      const bool disc = dx * dx * 1.8f + dy * dy < 0.06f;
      const bool bar = (x / 20) % 2 == 0 && y > 190;
      t.at(0, 0, y, x) = disc ? 0.9f : fx;
      t.at(0, 1, y, x) = disc ? 0.3f : fy;
      t.at(0, 2, y, x) = bar ? 1.0f : 0.4f;
    }
  return t;
}

Tensor downscale(const Tensor& image, int f) {
  const int64_t c = image.dim(1), h = image.dim(2), w = image.dim(3);
  const int64_t ho = (h + f - 1) / f, wo = (w + f - 1) / f;
  Tensor out({1, c, ho, wo});
  for (int64_t ch = 0; ch < c; ++ch)
    for (int64_t y = 0; y < ho; ++y)
      for (int64_t x = 0; x < wo; ++x) {
        double sum = 0;
        int count = 0;
        for (int64_t yy = y * f; yy < std::min(h, (y + 1) * f); ++yy)
          for (int64_t xx = x * f; xx < std::min(w, (x + 1) * f); ++xx, ++count)
            sum += image.at(0, ch, yy, xx);
        out.at(0, ch, y, x) = static_cast<float>(sum / count);
      }
  return out;
}

ComputeResult compute(const ComputeRequest& req, ImageSlot* cache,
                      const std::function<bool()>& cancelled) {
  const auto start = Clock::now();
  ComputeResult result;
  result.id = req.id;
  result.race = req.race;
  if (!cache->full || req.image_path != cache->path) {
    try {
      auto image = std::make_shared<Tensor>(
          req.image_path.empty() ? test_pattern()
                                 : load_input(req.image_path, cap_bytes(req.settings)));
      if (image->dim(0) != 1) {  // the app shows one image; keep the first of a batch
        Tensor first({1, image->dim(1), image->dim(2), image->dim(3)});
        std::copy(image->data.begin(), image->data.begin() + first.numel(), first.data.begin());
        *image = std::move(first);
      }
      cache->path = req.image_path;
      cache->full = std::move(image);
      cache->compute.reset();
    } catch (const std::exception& e) {
      result.load_error = e.what();
      if (!cache->full) {  // nothing to keep: the bundled sample, else the test pattern
        cache->path.clear();
        cache->compute.reset();
        try {
          if (!req.fallback_path.empty()) {
            cache->full = std::make_shared<Tensor>(load_input(req.fallback_path));
            cache->path = req.fallback_path;
          }
        } catch (const std::exception&) {
        }
        if (!cache->full) cache->full = std::make_shared<Tensor>(test_pattern());
      }
    }
  }
  update_compute_copy(cache, req.settings.preview);
  result.image = *cache;
  const Tensor& input = *cache->compute;
  const OpSettings& s = req.settings;

  if (req.race) {
    try {
      run_race(input, s, &result, cancelled);
    } catch (const std::exception& e) {
      result.notice = e.what();
    }
  } else {
    Backend* backend = nullptr;
    try {
      backend = &pick_backend(s.backend, &result.notice);
    } catch (const std::exception& e) {
      result.notice = std::string(e.what()) + "; using cpu-ref";
      backend = find_backend("cpu-ref");
    }
    // With "auto", a GPU that fails at run time (out of GPU memory, say) hands the work to
    // the CPU and says so in the notice; a backend the user chose reports the error.
    const bool fallback = s.backend == "auto";
    if (s.operation != Operation::Involution)
      result.conv = guarded([&] {
        return run_with_cpu_fallback(*backend, fallback, &result.notice,
                                     [&](Backend& b) { return run_conv(input, s, b); });
      });
    if (s.operation != Operation::Convolution)
      result.involution = guarded([&] {
        return run_with_cpu_fallback(*backend, fallback, &result.notice,
                                     [&](Backend& b) { return run_involution(input, s, b); });
      });
  }
  result.job_ms = ms_since(start);
  return result;
}

}  // namespace ks::app
