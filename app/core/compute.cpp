// The worker's jobs: image loading with the preview downscale, single runs and the race.
#include "core/compute.h"

#include <algorithm>
#include <chrono>
#include <cmath>

#include "core/prepare.h"
#include "core/result_scan.h"
#include "core/weights.h"
#include "kernelscope/colormap.h"
#include "kernelscope/dispatch.h"
#include "kernelscope/error.h"
#include "kernelscope/io.h"

namespace ks::core {

namespace {

using Clock = std::chrono::steady_clock;

double ms_since(Clock::time_point start) {
  return std::chrono::duration<double, std::milli>(Clock::now() - start).count();
}

// Textures larger than this are not guaranteed by OpenGL drivers, so only images beyond it
// are computed on a downscaled copy; everything else runs at full resolution.
constexpr int64_t kMaxDisplaySide = 8192;

int display_factor(const Tensor& image) {
  const int64_t h = image.dim(2), w = image.dim(3);
  int factor = 1;
  while ((h + factor - 1) / factor > kMaxDisplaySide || (w + factor - 1) / factor > kMaxDisplaySide)
    ++factor;
  return factor;
}

void update_compute_copy(ImageSlot* slot) {
  const int factor = display_factor(*slot->full);
  if (slot->compute && factor == slot->downscale) return;
  slot->downscale = factor;
  slot->compute =
      factor == 1 ? slot->full : std::make_shared<Tensor>(downscale(*slot->full, factor));
  slot->rgb = std::make_shared<std::vector<uint8_t>>(image_rgb(*slot->compute));
}

// The kernel-sum map of a full kernels tensor (the notebook variant makes only that).
Tensor sum_of_taps(const Tensor& kernels) {
  const int64_t G = kernels.dim(1), KK = kernels.dim(2), plane = kernels.dim(3) * kernels.dim(4);
  Tensor sum({1, G, kernels.dim(3), kernels.dim(4)});
  for (int64_t g = 0; g < G; ++g)
    for (int64_t t = 0; t < KK; ++t) {
      const float* src = kernels.ptr() + (g * KK + t) * plane;
      float* dst = sum.ptr() + g * plane;
      for (int64_t i = 0; i < plane; ++i) dst[i] += src[i];
    }
  return sum;
}

void apply_relu(Tensor* t) {
  for (auto& v : t->data) v = v > 0 ? v : 0.0f;
}

int64_t cap_bytes(const OpSettings& s) { return memory_cap_bytes(s.max_memory_mb); }

// The layer for one operator: the spec the settings describe, prepared as `kernelscope run`
// prepares its flags (core/prepare.h). The memory cap refuses the problem before any weights
// are made; the app asks for the kernel-sum map, never the full tensor, and the cap counts
// that. Warnings (non-finite weights) join the notice.
PreparedOperation prepared_layer(const Tensor& input, const OpSettings& s, OpKind op,
                                 std::string* notice) {
  PreparedOperation prepared = prepare(spec_from_settings(s, op), input, s.learned.get());
  for (const std::string& w : prepared.warnings) append_notice(notice, w);
  return prepared;
}

// A single run: the input it reads, the recycled result whose storage it reuses, the cancel.
struct RunContext {
  std::shared_ptr<const Tensor> input;
  OpResult* recycled = nullptr;
  const std::atomic<bool>* cancel = nullptr;
};

// The backend is dispatch()'s choice (kernelscope/dispatch.h), the rule the CLI follows too:
// a named backend that cannot run these parameters is an error shown in place of the
// result; what auto skipped or fell back from goes to *notice.
OpResult run_conv(const RunContext& ctx, const OpSettings& s, std::string* notice) {
  const Tensor& input = *ctx.input;
  OpResult r;
  r.input = ctx.input;
  r.memory_cap = cap_bytes(s);
  PreparedOperation layer = prepared_layer(input, s, OpKind::Conv, notice);
  r.conv = layer.conv;
  r.conv_weights = std::move(layer.conv_weights);
  if (ctx.recycled) r.output = std::move(ctx.recycled->output);
  RunOptions options;
  options.cancel = ctx.cancel;
  const Dispatched ran = dispatch(s.backend, r.conv, [&](Backend& b) {
    b.conv2d_into(input, r.conv, r.conv_weights, options, &r.output, &r.times);
  });
  r.backend = ran.backend->name();
  append_notice(notice, ran.notice);
  r.relu = s.relu;
  if (s.relu) apply_relu(&r.output);
  r.flops = conv_flops(input.shape, r.conv);
  r.ran = true;
  return r;
}

// The seed notebook's inv() (notebook_variant.h), with seeded random weights, on the backend
// dispatch() picks for it (only cpu-ref has it).
OpResult run_notebook_variant(const RunContext& ctx, const OpSettings& s, std::string* notice) {
  const Tensor& input = *ctx.input;
  OpResult r;
  r.input = ctx.input;
  r.memory_cap = cap_bytes(s);
  r.notebook = true;
  check_involution_groups(s, input.dim(1));
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
  const NotebookVariantWeights weights = random_notebook_variant_weights(p, s.seed);
  RunOptions options;
  options.cancel = ctx.cancel;
  const Dispatched ran = dispatch(s.backend, p, [&](Backend& b) {
    b.notebook_variant_into(input, p, weights, options, &r.notebook_result, &r.times);
  });
  r.backend = ran.backend->name();
  append_notice(notice, ran.notice);
  r.output = r.notebook_result.output;
  r.kernels = r.notebook_result.kernels;
  r.kernel_sum = sum_of_taps(r.kernels);
  r.relu = s.relu;
  if (s.relu) apply_relu(&r.output);
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

OpResult run_involution(const RunContext& ctx, const OpSettings& s, std::string* notice) {
  if (s.notebook_variant) return run_notebook_variant(ctx, s, notice);
  const Tensor& input = *ctx.input;
  OpResult r;
  r.input = ctx.input;
  r.memory_cap = cap_bytes(s);
  PreparedOperation layer = prepared_layer(input, s, OpKind::Involution, notice);
  r.involution = layer.involution;
  r.involution_weights = std::move(layer.involution_weights);
  InvolutionResult out;
  if (ctx.recycled) {
    out.output = std::move(ctx.recycled->output);
    out.kernel_sum = std::move(ctx.recycled->kernel_sum);
  }
  RunOptions options;
  options.kernels = KernelsMode::Sum;  // the screen shows the sum map; pixels come from kernels_at
  options.cancel = ctx.cancel;
  const Dispatched ran = dispatch(s.backend, r.involution, [&](Backend& b) {
    b.involution2d_into(input, r.involution, r.involution_weights, options, &out, &r.times);
  });
  r.backend = ran.backend->name();
  append_notice(notice, ran.notice);
  r.output = std::move(out.output);
  r.kernel_sum = std::move(out.kernel_sum);
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
  } catch (const Cancelled&) {
    throw;  // the whole job stops
  } catch (const std::exception& e) {
    OpResult r;
    r.error = e.what();
    return r;
  }
}

// Best of a few runs within a time budget, so a slow reference backend does not stall the race.
template <typename Fn>
double best_ms(Fn&& run, const std::atomic<bool>& cancel) {
  auto cancelled = [&] { return cancel.load(); };
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
              const std::atomic<bool>& cancel) {
  auto cancelled = [&] { return cancel.load(); };
  const bool want_conv = s.operation != Operation::Involution;
  const bool want_inv = s.operation != Operation::Convolution;
  ConvParams cp;
  InvolutionParams ip;
  ConvWeights cw;
  InvolutionWeights iw;
  std::string warnings;  // the race's table has no place for them; the single runs show them
  if (want_conv) {
    PreparedOperation layer = prepared_layer(input, s, OpKind::Conv, &warnings);
    cp = layer.conv;
    cw = std::move(layer.conv_weights);
  }
  if (want_inv) {
    PreparedOperation layer = prepared_layer(input, s, OpKind::Involution, &warnings);
    ip = layer.involution;
    iw = std::move(layer.involution_weights);
  }
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
            cancel);
        row.conv_gflops = conv_flops(input.shape, cp) / (row.conv_ms * 1e6);
      }
      if (want_inv && b->supports(ip)) {
        row.involution_ms = best_ms(
            [&] {
              StageTimes t;
              b->involution2d(input, ip, iw, &t, KernelsMode::Sum);  // what the screen asks
            },
            cancel);
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

std::vector<uint8_t> image_rgb(const Tensor& image) {
  const int64_t c = image.dim(1), plane = image.dim(2) * image.dim(3);
  // Images load into [0, 1]; arrays may hold anything, so map their range instead: the
  // finite range (with one infinity in it, every other pixel was (v - lo) / inf = 0: black).
  float lo = 0, hi = 1;
  float mn = INFINITY, mx = -INFINITY;
  widen_to_finite(image.ptr(), static_cast<int64_t>(image.data.size()), &mn, &mx);
  if (mn <= mx && (mn < 0 || mx > 1)) {
    lo = mn;
    hi = mx > mn ? mx : mn + 1;
  }
  std::vector<uint8_t> rgb(static_cast<size_t>(plane * 3));
  for (int64_t k = 0; k < 3; ++k) {
    const float* src = image.ptr() + (c >= 3 ? k : 0) * plane;
    for (int64_t i = 0; i < plane; ++i) {
      float v = (src[i] - lo) / (hi - lo);
      v = std::isnan(v) ? 0.0f : std::clamp(v, 0.0f, 1.0f);  // +inf white, -inf black
      rgb[static_cast<size_t>(i * 3 + k)] = static_cast<uint8_t>(v * 255.0f + 0.5f);
    }
  }
  return rgb;
}

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

void check_involution_groups(const OpSettings& s, int64_t channels) {
  if (s.involution_groups > 0 && channels % s.involution_groups != 0)
    throw Error("--groups " + std::to_string(s.involution_groups) + " must divide the input's " +
                std::to_string(channels) + " channels");
}

InvolutionParams involution_params(const OpSettings& s, int64_t channels) {
  InvolutionParams p;
  p.channels = channels;
  p.kernel_size = s.kernel_size;
  p.stride = s.stride;
  p.dilation = s.dilation;
  p.group_channels = s.group_channels;
  // A pending --groups G that does not divide C leaves 0, which every check refuses;
  // check_involution_groups gives the message.
  if (s.involution_groups > 0)
    p.group_channels = channels % s.involution_groups == 0 ? channels / s.involution_groups : 0;
  p.reduction = s.reduction;
  // A designed generator decides its own shape (the notebook variant ignores the weights).
  if (is_designed_source(s.weights) && !s.notebook_variant) {
    try {
      const InvolutionParams d = designed_involution_params(designed_of(s.weights), channels);
      p.kernel_size = d.kernel_size;
      p.group_channels = d.group_channels;
      p.reduction = d.reduction;
    } catch (const Error&) {
      // An unsupported channel count: make_involution_weights reports it with the result.
    }
  }
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

ComputeResult compute(const ComputeRequest& req, ImageSlot* cache, const std::atomic<bool>& cancel,
                      ComputeResult* recycled) {
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
      if (cache->full) {
        // The old image and its result stay on screen untouched: nothing to recompute.
        result.image = *cache;
        result.job_ms = ms_since(start);
        return result;
      }
      // Nothing to keep: the bundled sample, else the test pattern.
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
  update_compute_copy(cache);
  result.image = *cache;
  const OpSettings& s = req.settings;

  try {
    if (req.race) {
      try {
        run_race(*cache->compute, s, &result, cancel);
      } catch (const Cancelled&) {
        throw;
      } catch (const std::exception& e) {
        result.notice = e.what();
      }
    } else {
      RunContext conv_ctx{cache->compute, recycled ? &recycled->conv : nullptr, &cancel};
      RunContext inv_ctx{cache->compute, recycled ? &recycled->involution : nullptr, &cancel};
      if (s.operation != Operation::Involution)
        result.conv = guarded([&] { return run_conv(conv_ctx, s, &result.notice); });
      if (s.operation != Operation::Convolution)
        result.involution = guarded([&] { return run_involution(inv_ctx, s, &result.notice); });
      scan_result(&result.conv, recycled ? &recycled->conv : nullptr);
      scan_result(&result.involution, recycled ? &recycled->involution : nullptr);
    }
  } catch (const Cancelled&) {
    result.cancelled = true;
    // What ran is dropped, but its storage goes back to the next job.
    if (recycled) {
      if (!result.conv.output.empty()) recycled->conv.output = std::move(result.conv.output);
      if (!result.involution.output.empty())
        recycled->involution.output = std::move(result.involution.output);
    }
    result.conv = OpResult();
    result.involution = OpResult();
  }
  result.job_ms = ms_since(start);
  return result;
}

const std::vector<float>& kernels_at(const OpResult& r, int oy, int ox) {
  static const std::vector<float> none;
  if (!r.ran || r.output.rank() != 4) return none;
  const int64_t ho = r.output.dim(2), wo = r.output.dim(3);
  if (oy < 0 || ox < 0 || oy >= ho || ox >= wo) return none;
  const int64_t key = oy * wo + ox;
  if (auto it = r.kernel_cache.find(key); it != r.kernel_cache.end()) return it->second;
  if (r.kernel_cache.size() > 20000) r.kernel_cache.clear();  // a long session of hovering
  std::vector<float> values;
  if (r.kernels.rank() == 5) {  // the notebook variant's own tensor
    const int64_t rows = r.kernels.dim(1) * r.kernels.dim(2);
    for (int64_t row = 0; row < rows; ++row)
      values.push_back(r.kernels.ptr()[(row * ho + oy) * wo + ox]);
  } else if (r.input && !r.involution_weights.span_weight.empty()) {
    try {
      Backend* b = find_backend(r.backend);
      if (!b) b = &cpu_backend_for(r.involution);
      const Tensor at = b->involution_kernels_at(*r.input, r.involution, r.involution_weights,
                                                 {OutputPixel{oy, ox}});
      values.assign(at.data.begin(), at.data.end());
    } catch (const std::exception&) {
      return none;
    }
  } else {
    return none;
  }
  return r.kernel_cache.emplace(key, std::move(values)).first->second;
}

Tensor full_kernels(const OpResult& r) {
  if (r.kernels.rank() == 5) return r.kernels;
  if (!r.ran || !r.input || r.involution_weights.span_weight.empty())
    throw Error("no involution result to export");
  check_memory_cap(involution_memory_bytes(r.input->shape, r.involution, KernelsMode::Full),
                   r.memory_cap, "exporting the full kernels tensor");
  Backend* b = &cpu_backend_for(r.involution);
  return b->involution2d(*r.input, r.involution, r.involution_weights, nullptr, KernelsMode::Full)
      .kernels;
}

}  // namespace ks::core
