// Involution on the "cpu" backend, fused per tile of output pixels:
//   1. X' = the input pixels (stride 1) or their ceil-mode s x s means (stride > 1),
//   2. t = ReLU(scale * (W0 X') + shift), BN folded into a per-channel scale and shift,
//   3. the tile's kernels = W1 t + b1, into a cache-resident tile buffer (or, when the
//      caller wants the full tensor and it fits the caches, straight into it),
//   4. their per-group tap sums into the sum map, when asked for,
//   5. aggregation from those kernels and the padded input band (no unfolded image),
//   6. for a full tensor larger than the caches, the tile streamed into it.
// With KernelsMode::Sum or None no full kernels tensor is ever allocated.
// Steps 2-3 are 1x1 GEMMs over pixels, done by the same row_product as convolution.
#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstdint>
#include <cstring>

#include "cpu/band.h"
#include "cpu/cpu_features.h"
#include "cpu/cpu_ops.h"
#include "cpu/kernels.h"
#include "cpu/parallel.h"
#include "stopwatch.h"

namespace ks::cpu {
namespace {

// A row-major [rows x cols] weight matrix with its per-row bias and optional per-row scale
// (the folded BN), run as 1x1 row products straight from the weight tensors: packing them
// (a transpose of every weight on every call, before the threads start) cost inv 256ch a
// tenth of its time.
struct Gemm {
  const float* weights;
  const float* scale;  // nullptr: none
  const float* bias;
  int64_t rows, cols;
};

// out[row][j] = act(scale[row] * sum_col W[row][col] in[col * in_stride + j] + bias[row]),
// j < width.
void run_gemm(const KernelTable& kt, const Gemm& g, const float* in, int64_t in_stride, float* out,
              int64_t out_stride, int64_t width, bool relu) {
  static const int64_t zero_tap = 0;
  RowProduct r;
  r.in = in;
  r.in_channel_stride = in_stride;
  r.in_channels = g.cols;
  r.taps = &zero_tap;
  r.tap_count = 1;
  r.weight_row_stride = g.cols;
  r.out_channel_stride = out_stride;
  r.width = width;
  r.relu = relu;
  for (int64_t first = 0; first < g.rows;) {
    const int count = even_row_block(first, g.rows);
    r.weights = g.weights + first * g.cols;
    r.scale = g.scale ? g.scale + first : nullptr;
    r.bias = g.bias + first;
    r.out = out + first * out_stride;
    r.co_count = count;
    kt.row_product(r);
    first += count;
  }
}

// X' for the flat output pixels [p0, p0 + n) (p = i * W_out + j): the mean of the in-bounds
// part of each s x s window (ceil mode; a plain copy when s = 1), into out[c * out_stride + q].
void pool_pixels(const float* image, int64_t C, int64_t H, int64_t W, int64_t s, int64_t W_out,
                 int64_t p0, int64_t n, float* out, int64_t out_stride) {
  for (int64_t q = 0; q < n; ++q) {
    const int64_t i = (p0 + q) / W_out, j = (p0 + q) % W_out;
    const int64_t y0 = i * s, y1 = std::min(y0 + s, H);
    const int64_t x0 = j * s, x1 = std::min(x0 + s, W);
    const float inverse_count = 1.0f / static_cast<float>((y1 - y0) * (x1 - x0));
    for (int64_t c = 0; c < C; ++c) {
      float sum = 0;
      for (int64_t yy = y0; yy < y1; ++yy)
        for (int64_t xx = x0; xx < x1; ++xx) sum += image[(c * H + yy) * W + xx];
      out[c * out_stride + q] = sum * inverse_count;
    }
  }
}

struct ThreadScratch {
  std::vector<float> band, pooled, reduced, kernels;
};

// Each thread's buffers outlive the call, so a stream of calls (the app's recomputes, a
// benchmark) neither zero-fills them again nor touches fresh pages: on the small problems
// that was a tenth of the time. Buffers past kKeptScratchBytes (only for very wide inputs,
// whose tasks are long anyway) are freed after each task.
ThreadScratch& thread_scratch() {
  static thread_local ThreadScratch scratch;
  return scratch;
}
constexpr size_t kKeptScratchBytes = size_t{8} << 20;

void release_if_large(std::vector<float>* v) {
  if (v->capacity() * sizeof(float) > kKeptScratchBytes) std::vector<float>().swap(*v);
}

struct StageClock {
  double generation_ms = 0, aggregation_ms = 0;
};

// Sum of the K*K kernel rows of each group of one tile, into the sum map. Tap order, in
// float, like summing the full tensor's taps one by one.
void sum_taps(const float* kern, int64_t kern_stride, int64_t G, int64_t KK, int64_t n, float* sum,
              int64_t sum_stride) {
  for (int64_t g = 0; g < G; ++g) {
    float* dst = sum + g * sum_stride;
    const float* rows = kern + g * KK * kern_stride;
    for (int64_t q = 0; q < n; ++q) dst[q] = rows[q];
    for (int64_t k = 1; k < KK; ++k)
      for (int64_t q = 0; q < n; ++q) dst[q] += rows[k * kern_stride + q];
  }
}

// Tile width: the tile's G*K*K kernel rows (~256 KB) stay in L2 between steps 3 and 5. A
// multiple of 16, so that tiles starting at multiples of it within a row start aligned.
int64_t tile_width(int64_t G, int64_t KK) {
  return std::clamp<int64_t>((64 * 1024 / std::max<int64_t>(1, sat_mul(G, KK))) / 16 * 16, 16, 512);
}
int64_t tile_stride(int64_t tile, int64_t HW_out) {  // row stride of the tile buffers
  return (std::min(tile, HW_out) + 7) / 8 * 8;
}

int64_t involution_band_rows(const Window& win, int64_t B, int64_t C, int64_t H_out,
                             int64_t W_out) {
  const BandLayout one_row = band_layout(win, 1, W_out);
  const int64_t per_row = C * win.stride * one_row.row_stride(),
                halo = C * one_row.channel_stride();
  const int64_t rows = band_rows(H_out, B, per_row, halo);
  // With fewer images than threads, one band per thread where that band stays within a few
  // L2 caches: a tile reads only its own window rows, so the band need not stay cached as a
  // whole, while more, thinner bands copied their halo rows again and split the rows
  // unevenly between the threads (inv 256ch: 4 bands of 4, 4, 4 and 2 rows; 2 bands of 7
  // took 6 % less time, and inv 64ch's 2 bands of 28 rows 8 % less than 4 of 14).
  const int64_t threads = thread_count();
  if (B < threads) {
    const int64_t per_image = (threads + B - 1) / B;
    const int64_t even = (H_out + per_image - 1) / per_image;
    constexpr int64_t kWideBandFloats = 384 * 1024;  // 1.5 MB
    if (even > rows && sat_add(halo, sat_mul(even, per_row)) <= kWideBandFloats) return even;
  }
  return rows;
}

// The band's floats past its planes: up to 15 to align its start to 64 bytes, and the 31 that
// the aggregation's dense path may read past the last window row (kernels.h).
constexpr int64_t kBandExtra = 48;
float* aligned_band(std::vector<float>& band) {
  const auto address = reinterpret_cast<uintptr_t>(band.data());
  return band.data() + ((64 - address % 64) % 64) / sizeof(float);
}

// Tile buffers are read up to 7 floats past a row's width (a row segment may start
// mid-vector, so up to 8 past the last row's end): the last row gets that slack.
constexpr int64_t kSlack = 8;

}  // namespace

BufferBytes involution2d_buffer_bytes(const Shape& input, const InvolutionParams& p) {
  const Shape out = involution_output_shape(input, p);
  const int64_t C = p.channels, CR = p.reduced_channels(), GKK = sat_mul(p.taps(), p.groups());
  const Window win{p.kernel_size, p.stride, p.padding(), p.dilation};
  int64_t band = band_floats(win, C, 1, out[3]);
  // Past the budget the exact band does not matter, and band_rows' products could overflow.
  if (band <= kMaxThreadBufferBytes / 4)
    band = band_floats(win, C, involution_band_rows(win, out[0], C, out[2], out[3]), out[3]);
  const int64_t ld = tile_stride(tile_width(p.groups(), p.taps()), sat_mul(out[2], out[3]));
  // Per thread (ThreadScratch): the band, the pooled, reduced and kernel tiles, the taps.
  int64_t per_thread = sat_add(band, kBandExtra);
  for (int64_t rows_of_tile : {C, CR, GKK})
    per_thread = sat_add(per_thread, sat_add(sat_mul(rows_of_tile, ld), kSlack));
  per_thread = sat_add(per_thread, sat_mul(p.taps(), 2));
  // Shared: the folded BN and the fused sum map's summed span weights and biases.
  const int64_t shared = sat_add(sat_mul(CR, 2), sat_mul(p.groups(), CR + 1));
  return {sat_mul(per_thread, 4), sat_mul(shared, 4)};
}

void involution2d(const Tensor& x, const InvolutionParams& p, const InvolutionWeights& w,
                  const RunOptions& options, InvolutionResult* result, StageTimes* times) {
  Stopwatch wall;
  const KernelsMode mode = options.kernels;
  const Shape kernels_shape = involution_kernels_shape(x.shape, p);
  result->output.reshape_uninitialized(involution_output_shape(x.shape, p));
  const int64_t B = x.dim(0), C = x.dim(1), H = x.dim(2), W = x.dim(3);
  const int64_t H_out = result->output.dim(2), W_out = result->output.dim(3);
  const int64_t KK = p.taps(), G = p.groups(), gc = p.group_channels, CR = p.reduced_channels();
  const int64_t s = p.stride, HW_out = H_out * W_out;
  const Window win{p.kernel_size, s, p.padding(), p.dilation};
  // Only what was asked for is allocated: with Sum or None the kernels live in per-thread
  // tiles and never reach memory as a whole.
  if (mode == KernelsMode::Full)
    result->kernels.reshape_uninitialized(kernels_shape);
  else
    result->kernels = Tensor();
  if (mode == KernelsMode::Sum)
    result->kernel_sum.reshape_uninitialized(involution_kernel_sum_shape(x.shape, p));
  else
    result->kernel_sum = Tensor();

  // BN(eval) is affine per reduced channel: a scale and a shift (the bias) of W0's sums.
  std::vector<float> scale(static_cast<size_t>(CR)), shift(static_cast<size_t>(CR));
  for (size_t m = 0; m < scale.size(); ++m) {
    scale[m] = w.bn_gamma.data[m] / std::sqrt(w.bn_var.data[m] + w.bn_eps);
    shift[m] = w.bn_beta.data[m] - w.bn_mean.data[m] * scale[m];
  }
  const Gemm reduce{w.reduce_weight.ptr(), scale.data(), shift.data(), CR, C};
  const Gemm span{w.span_weight.ptr(), nullptr, w.span_bias.ptr(), G * KK, CR};
  const KernelTable& kt = kernels_for_this_cpu();

  const int64_t tile = tile_width(G, KK);
  const int64_t ld = tile_stride(tile, HW_out);
  const int64_t rows = involution_band_rows(win, B, C, H_out, W_out);
  const int64_t bands = (H_out + rows - 1) / rows;
  // Streaming stores skip the read-for-ownership of a tensor far larger than the caches, but
  // are slower than plain stores while the tensor is still cached.
  const bool stream_kernels =
      mode == KernelsMode::Full && shape_numel(kernels_shape) * sizeof(float) > (size_t{32} << 20);
  std::vector<StageClock> clocks(static_cast<size_t>(thread_count()));
  std::atomic<bool> stopped{false};
  auto cancelled = [&] {
    if (!options.cancel || !options.cancel->load(std::memory_order_relaxed)) return false;
    stopped.store(true, std::memory_order_relaxed);
    return true;
  };

  // X' and the reduce GEMM for flat output pixels [p0, p0 + n) of one image, into
  // ts.reduced ([C/r][ld]).
  auto reduce_tile = [&](ThreadScratch& ts, const float* image, int64_t p0, int64_t n) {
    const float* pooled = image + p0;  // stride 1: X' is the input itself
    int64_t pooled_stride = H * W;
    // Loads may run 7 floats past the tile: copy the input's last pixels instead.
    if (s > 1 || p0 + (n + 7) / 8 * 8 > H * W) {
      pool_pixels(image, C, H, W, s, W_out, p0, n, ts.pooled.data(), ld);
      pooled = ts.pooled.data();
      pooled_stride = ld;
    }
    run_gemm(kt, reduce, pooled, pooled_stride, ts.reduced.data(), ld, n, true);
  };
  // ... then the span GEMM into kern.
  auto generate = [&](ThreadScratch& ts, const float* image, int64_t p0, int64_t n, float* kern,
                      int64_t kern_stride) {
    reduce_tile(ts, image, p0, n);
    run_gemm(kt, span, ts.reduced.data(), ld, kern, kern_stride, n, false);
  };
  // With a narrow reduced vector (C/r <= 8: every RGB image) the span and the aggregation
  // fuse: each tap's kernel value is made in registers and used at once (kernels.h,
  // FusedInvolution), instead of writing G*K*K rows per pixel to a tile and reading them
  // back. The full tensor, when asked for, is stored from those registers too, unless it is
  // large enough to be streamed past the caches from a tile.
  const bool fused = !stream_kernels && CR <= kFusedMaxReduced;
  // Per group: the span weights and biases summed over the taps, for the fused sum map.
  std::vector<float> weight_sums, bias_sums;
  if (fused && mode == KernelsMode::Sum) {
    weight_sums.assign(static_cast<size_t>(G * CR), 0.0f);
    bias_sums.assign(static_cast<size_t>(G), 0.0f);
    for (int64_t g = 0; g < G; ++g) {
      double bias_total = 0;
      for (int64_t k = 0; k < KK; ++k)
        bias_total += w.span_bias.data[static_cast<size_t>(g * KK + k)];
      bias_sums[static_cast<size_t>(g)] = static_cast<float>(bias_total);
      for (int64_t m = 0; m < CR; ++m) {
        double total = 0;
        for (int64_t k = 0; k < KK; ++k)
          total += w.span_weight.data[static_cast<size_t>((g * KK + k) * CR + m)];
        weight_sums[static_cast<size_t>(g * CR + m)] = static_cast<float>(total);
      }
    }
  }
  // Where the fused loop reads the input of a band: its padded copy, or (an interior band,
  // below) the image itself for the columns whose window lies inside it.
  struct FusedInput {
    const BandLayout* layout = nullptr;
    const float* band = nullptr;
    const std::vector<int64_t>* band_taps = nullptr;
    const float* image = nullptr;  // null: the band everywhere
    const std::vector<int64_t>* image_taps = nullptr;
    int64_t edge = 0;  // image columns [edge, W_out - edge) are read from the image
  };
  auto fused_tile = [&](ThreadScratch& ts, int64_t b, int64_t i0, int64_t p0, int64_t n,
                        const FusedInput& input) {
    FusedInvolution f;
    f.reduced_stride = ld;
    f.reduced_channels = CR;
    f.tap_count = KK;
    f.out_channel_stride = HW_out;
    // Output pixels [j, j + width) of row i, all from one source.
    auto run_part = [&](int64_t i, int64_t j, int64_t width, int64_t q, bool from_image) {
      f.width = width;
      f.reduced = ts.reduced.data() + (q - p0);
      f.in_channel_stride = from_image ? H * W : input.layout->channel_stride();
      f.taps = from_image ? input.image_taps->data() : input.band_taps->data();
      for (int64_t c0 = 0; c0 < C; c0 += f.channels) {
        const int64_t g = c0 / gc;  // blocks stop at group ends: they share one kernel
        f.channels = std::min<int64_t>(kAggregateBlock, (g + 1) * gc - c0);
        f.span_weight = w.span_weight.ptr() + g * KK * CR;
        f.span_bias = w.span_bias.ptr() + g * KK;
        f.in = from_image ? input.image + c0 * H * W + (i - win.padding) * W + (j - win.padding)
                          : input.band + c0 * input.layout->channel_stride() +
                                input.layout->output_row_offset(i - i0) + j;
        f.out = result->output.ptr() + ((b * C + c0) * H_out + i) * W_out + j;
        // The group's first block also writes the sum map.
        f.sum = mode == KernelsMode::Sum && c0 == g * gc
                    ? result->kernel_sum.ptr() + (b * G + g) * HW_out + q
                    : nullptr;
        if (f.sum) {
          f.span_weight_sum = weight_sums.data() + g * CR;
          f.span_bias_sum = bias_sums[static_cast<size_t>(g)];
        }
        // ... and stores the full tensor's kernels.
        f.kernels = mode == KernelsMode::Full && c0 == g * gc
                        ? result->kernels.ptr() + (b * G + g) * KK * HW_out + q
                        : nullptr;
        f.kernels_stride = HW_out;
        kt.fused_involution(f);
      }
    };
    for (int64_t q = p0, width = 0; q < p0 + n; q += width) {  // one row segment at a time
      const int64_t i = q / W_out, j = q % W_out;
      width = std::min(W_out - j, p0 + n - q);
      if (!input.image) {
        run_part(i, j, width, q, false);
        continue;
      }
      // Left edge, interior, right edge: the edges from the band.
      const int64_t a = std::clamp(input.edge, j, j + width),
                    z = std::clamp(W_out - input.edge, a, j + width);
      if (a > j) run_part(i, j, a - j, q, false);
      if (z > a) run_part(i, a, z - a, q + (a - j), true);
      if (j + width > z) run_part(i, z, j + width - z, q + (z - j), false);
    }
  };
  // Grown tile buffers are zeroed, so the lanes read past a row's width (kSlack) hold numbers
  // (zeros, or an earlier tile's values; those lanes are never stored), never uninitialised
  // memory.
  auto prepare = [&](ThreadScratch& ts) {
    ts.pooled.resize(static_cast<size_t>(C * ld + kSlack), 0.0f);
    ts.reduced.resize(static_cast<size_t>(CR * ld + kSlack), 0.0f);
    ts.kernels.resize(static_cast<size_t>(G * KK * ld + kSlack), 0.0f);
  };

  parallel_tasks(B * bands, [&](int64_t task, int thread) {
    if (cancelled()) return;
    ThreadScratch& ts = thread_scratch();
    Stopwatch clock;
    const int64_t b = task / bands, i0 = (task % bands) * rows, i1 = std::min(H_out, i0 + rows);
    const BandLayout layout = band_layout(win, i1 - i0, W_out);
    ts.band.resize(static_cast<size_t>(C * layout.channel_stride() + kBandExtra));
    float* band = aligned_band(ts.band);
    prepare(ts);
    const float* image = x.ptr() + b * C * H * W;
    const std::vector<int64_t> taps = tap_offsets(win, layout);
    // An interior band at stride 1 (every window row inside the image; the last row is kept
    // out as a margin) reads its input from the image itself for output columns
    // [edge, W_out - edge), where every window and the loads up to 7 floats past a segment
    // stay inside their row; only the edge columns, where windows hang over the left and
    // right borders, are copied with their zero padding. Copying the whole band cost the
    // 1080p involution 13 % of its time.
    FusedInput input;
    input.layout = &layout;
    input.band = band;
    input.band_taps = &taps;
    const int64_t reach = (win.kernel - 1) * win.dilation;
    const int64_t edge = win.padding + 8;  // 8: the interior's loads reach 7 floats past it
    std::vector<int64_t> image_taps;
    if (fused && s == 1 && W_out == W && i0 - win.padding >= 0 &&
        i1 - 1 - win.padding + reach <= H - 2 && W_out >= 4 * edge) {
      input.image = image;
      input.edge = edge;
      for (int64_t ky = 0; ky < win.kernel; ++ky)
        for (int64_t kx = 0; kx < win.kernel; ++kx)
          image_taps.push_back(ky * win.dilation * W + kx * win.dilation);
      input.image_taps = &image_taps;
      // Band columns the edge segments read: output columns [0, edge) reach band column
      // edge + reach + 7; [W_out - edge, W_out) start at band column W_out - edge.
      fill_band_columns(image, C, H, W, win, i0, layout, band, 0, edge + reach + 8);
      fill_band_columns(image, C, H, W, win, i0, layout, band, W_out - edge, layout.row_stride());
    } else {
      fill_band(image, C, H, W, win, i0, layout, band);
    }
    double aggregation_ms = 0;

    // Tiles run over flat output pixels, so small images still fill whole tiles; a
    // tile's pixels are contiguous in the kernels tensor and, at stride 1, in the input.
    //
    // Unfused, a tile holds whole rows (or, for rows wider than a tile, a tile-wide piece
    // from a multiple of the tile width): every row segment the aggregation gets then starts
    // at a 64-byte boundary of the band, which its dense path needs.
    auto tile_pixels = [&](int64_t p0) {
      if (fused) return std::min(tile, i1 * W_out - p0);
      if (W_out <= tile) return std::min(tile / W_out, i1 - p0 / W_out) * W_out;
      return std::min(tile, W_out - p0 % W_out);
    };
    for (int64_t p0 = i0 * W_out, n = 0; p0 < i1 * W_out && !cancelled(); p0 += n) {
      n = tile_pixels(p0);
      if (fused) {
        reduce_tile(ts, image, p0, n);
        Stopwatch stage;
        fused_tile(ts, b, i0, p0, n, input);
        aggregation_ms += stage.elapsed_ms();
        continue;
      }
      // Full kernels that stay cached go straight into the result tensor (no copy); those
      // that are streamed, the tensor's last pixels (read 7 floats past the end) and kernels
      // nobody keeps use the tile. A segment starting mid-vector reads up to n + 7 floats.
      const bool direct = mode == KernelsMode::Full && !stream_kernels && p0 + n + kSlack <= HW_out;
      float* kern = direct ? result->kernels.ptr() + b * G * KK * HW_out + p0 : ts.kernels.data();
      const int64_t kern_stride = direct ? HW_out : ld;
      generate(ts, image, p0, n, kern, kern_stride);
      if (mode == KernelsMode::Sum)
        sum_taps(kern, kern_stride, G, KK, n, result->kernel_sum.ptr() + b * G * HW_out + p0,
                 HW_out);

      Stopwatch stage;
      Aggregation a;
      a.channels = gc;  // a group's channels share its kernel
      if (s == 1 && win.dilation == 1) {
        a.dense_kernel = win.kernel;
        a.row_stride = layout.row_stride();
      }
      a.kern_stride = kern_stride;
      a.in_channel_stride = layout.channel_stride();
      a.taps = taps.data();
      a.tap_count = KK;
      a.out_channel_stride = HW_out;
      for (int64_t q = p0; q < p0 + n; q += a.width) {  // one output row segment at a time
        const int64_t i = q / W_out, j = q % W_out;
        a.width = std::min(W_out - j, p0 + n - q);
        for (int64_t c0 = 0; c0 < C; c0 += gc) {
          a.kern = kern + (c0 / gc) * KK * kern_stride + (q - p0);
          a.in = band + c0 * layout.channel_stride() + layout.output_row_offset(i - i0) + j;
          a.out = result->output.ptr() + ((b * C + c0) * H_out + i) * W_out + j;
          kt.aggregate(a);
        }
      }
      aggregation_ms += stage.elapsed_ms();

      for (int64_t row = 0; mode == KernelsMode::Full && !direct && row < G * KK; ++row) {
        float* dst = result->kernels.ptr() + (b * G * KK + row) * HW_out + p0;
        if (stream_kernels)
          kt.copy_out(dst, ts.kernels.data() + row * ld, n);
        else
          std::memcpy(dst, ts.kernels.data() + row * ld, sizeof(float) * static_cast<size_t>(n));
      }
    }
    StageClock& stages = clocks[static_cast<size_t>(thread)];
    stages.aggregation_ms += aggregation_ms;
    stages.generation_ms += clock.elapsed_ms() - aggregation_ms;
    for (std::vector<float>* v : {&ts.band, &ts.pooled, &ts.reduced, &ts.kernels})
      release_if_large(v);
  });
  if (stopped.load()) throw Cancelled();

  if (times) {
    // The stages interleave per tile, so only the threads' busy time can be split; the wall
    // time of the call is reported in the same proportion.
    double generation = 0, aggregation = 0;
    for (const StageClock& stages : clocks) {
      generation += stages.generation_ms;
      aggregation += stages.aggregation_ms;
    }
    const double elapsed = wall.elapsed_ms(), busy = generation + aggregation;
    times->kernel_generation_ms = busy > 0 ? elapsed * generation / busy : elapsed;
    times->aggregation_ms = busy > 0 ? elapsed * aggregation / busy : 0;
  }
}

}  // namespace ks::cpu
