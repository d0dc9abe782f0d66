// Fast backward of involution: the derivation in involution_backward_ref.cpp, fused per
// output pixel in float. Each pixel regenerates its kernels (pool, reduce, BN, ReLU, span)
// and goes back through them at once, so no [B, G, K*K, H_out, W_out] tensor is made.
// At stride 1 (the learning loop's case) eight neighbouring pixels go through each tap
// together (cpu/involution_backward_impl.h) on zero-padded copies of the input and its
// gradient, so that every window is inside; other strides take one pixel at a time here.
//
// Tasks are (image, band of output rows) with a fixed band height, so the split does not
// depend on the thread count. Weight gradients: each task sums its pixels into its own
// double accumulators and the tasks are added in task order afterwards (deterministic).
// Input gradient: a band scatters into the input rows its windows cover; bands are tall
// enough that band j and band j + 2 never touch the same row, so the even bands run
// together first, then the odd ones.
#include <algorithm>
#include <cmath>
#include <vector>

#include "cpu/kernels.h"
#include "cpu/parallel.h"
#include "grad/grad_checks.h"
#include "kernelscope/gradients.h"

namespace ks::grad {
namespace {

// Offsets of the weight gradients in one accumulator block.
struct AccumulatorLayout {
  size_t reduce = 0, gamma = 0, beta = 0, span = 0, span_bias = 0, size = 0;
  AccumulatorLayout(int64_t C, int64_t CR, int64_t rows) {
    gamma = reduce + static_cast<size_t>(CR * C);
    beta = gamma + static_cast<size_t>(CR);
    span = beta + static_cast<size_t>(CR);
    span_bias = span + static_cast<size_t>(rows * CR);
    size = span_bias + static_cast<size_t>(rows);
  }
};

}  // namespace

InvolutionGradients involution2d_backward(const Tensor& x, const InvolutionParams& p,
                                          const InvolutionWeights& w, const Tensor& gy,
                                          const BackwardOptions& options) {
  check_involution_backward(x, p, w, gy);
  const int64_t B = x.dim(0), C = x.dim(1), H = x.dim(2), W = x.dim(3);
  const int64_t H_out = gy.dim(2), W_out = gy.dim(3), plane = H * W, plane_out = H_out * W_out;
  const int64_t K = p.kernel_size, KK = p.taps(), CR = p.reduced_channels();
  const int64_t rows = p.groups() * KK, gc = p.group_channels;
  const int64_t s = p.stride, d = p.dilation, pad = p.padding();
  const auto at = [](int64_t i) { return static_cast<size_t>(i); };

  // Band j writes input rows from j*band*s - pad up to the last window's reach,
  // (j+1)*band*s - s - pad + (K-1)*d, and its pooling rows up to (j+1)*band*s - 1; band j + 2
  // starts at (j+2)*band*s - pad. They stay apart when band*s >= max((K-1)*d - s + 1, pad).
  const int64_t reach = std::max<int64_t>((K - 1) * d - s + 1, pad);
  const int64_t band = std::max<int64_t>(4, (reach + s - 1) / s);
  const int64_t bands = (H_out + band - 1) / band;
  const AccumulatorLayout layout(C, CR, rows);
  std::vector<double> accumulators(at(B * bands) * layout.size, 0.0);

  std::vector<float> inv_std(at(CR)), scale(at(CR));
  for (int64_t m = 0; m < CR; ++m) {
    inv_std[at(m)] = static_cast<float>(1.0 / std::sqrt(double{w.bn_var.data[at(m)]} + w.bn_eps));
    scale[at(m)] = w.bn_gamma.data[at(m)] * inv_std[at(m)];
  }
  std::vector<int64_t> tap_offsets(at(KK));  // from the window's top-left, inside the image
  for (int64_t t = 0; t < KK; ++t) tap_offsets[at(t)] = (t / K) * d * W + (t % K) * d;

  InvolutionGradients grads;
  if (options.input) grads.input = Tensor(x.shape);
  const float* W0 = w.reduce_weight.ptr();
  // The span weights transposed, [C/r][G*K*K]: every per-pixel loop over the G*K*K rows
  // (making the kernels, their weight gradient, the hidden units' gradient) then runs over
  // contiguous floats and vectorises.
  std::vector<float> W1T(at(CR * rows));
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t m = 0; m < CR; ++m) W1T[at(m * rows + r)] = w.span_weight.data[at(r * CR + m)];

  // Stride 1: padded copies, [B][C][Hp][Wp]; pixel (i, j)'s window starts at padded (i, j).
  // Wp leaves room for the last vector step's spare lanes; Hp, for even K's longer reach.
  // Band j then writes padded rows j*band to (j+1)*band - 1 + (K-1)*d, short of band j + 2.
  const bool vector_rows = s == 1 && CR <= cpu::kBackwardMaxReduced;
  const int64_t L = cpu::kBackwardLanes;
  const int64_t Wp = vector_rows ? (W_out + L - 1) / L * L + (K - 1) * d : 0;
  const int64_t Hp = vector_rows ? std::max(H + 2 * pad, H_out + (K - 1) * d) : 0;
  const int64_t padded_plane = Hp * Wp;
  std::vector<float> x_padded, dx_padded;
  std::vector<int64_t> padded_taps(at(KK));
  if (vector_rows) {
    x_padded.assign(at(B * C * padded_plane), 0.0f);
    for (int64_t bc = 0; bc < B * C; ++bc)
      for (int64_t y = 0; y < H; ++y)
        std::copy_n(x.ptr() + bc * plane + y * W, W,
                    x_padded.begin() + bc * padded_plane + (y + pad) * Wp + pad);
    if (options.input) dx_padded.assign(x_padded.size(), 0.0f);
    for (int64_t t = 0; t < KK; ++t) padded_taps[at(t)] = (t / K) * d * Wp + (t % K) * d;
  }
  const cpu::KernelTable& kernels = cpu::kernels_for_this_cpu();
  const auto run_vector_band = [&](int64_t b, int64_t band_index) {
    double* acc = accumulators.data() + at(b * bands + band_index) * layout.size;
    cpu::InvolutionBackwardRows a;
    a.in = x_padded.data() + b * C * padded_plane;
    a.in_channel_stride = padded_plane;
    a.in_row_stride = Wp;
    a.center = pad * Wp + pad;
    a.taps = padded_taps.data();
    a.tap_count = KK;
    a.grad_out = gy.ptr() + b * C * plane_out;
    a.grad_out_channel_stride = plane_out;
    a.width = W_out;
    a.row_begin = band_index * band;
    a.row_end = std::min(H_out, a.row_begin + band);
    a.channels = C;
    a.group_channels = gc;
    a.reduced_channels = CR;
    a.reduce_weight = W0;
    a.bn_mean = w.bn_mean.ptr();
    a.bn_inv_std = inv_std.data();
    a.bn_gamma = w.bn_gamma.ptr();
    a.bn_beta = w.bn_beta.ptr();
    a.span_weight = w.span_weight.ptr();
    a.span_bias = w.span_bias.ptr();
    a.grad_in = options.input ? dx_padded.data() + b * C * padded_plane : nullptr;
    a.grad_reduce = acc + layout.reduce;
    a.grad_gamma = acc + layout.gamma;
    a.grad_beta = acc + layout.beta;
    a.grad_span = acc + layout.span;
    a.grad_span_bias = acc + layout.span_bias;
    kernels.involution_backward_rows(a);
  };

  const auto run_band = [&](int64_t b, int64_t band_index) {
    if (vector_rows) return run_vector_band(b, band_index);
    double* acc = accumulators.data() + at(b * bands + band_index) * layout.size;
    std::vector<float> v(at(C)), zhat(at(CR)), h(at(CR)), k(at(rows)), dk(at(rows));
    std::vector<float> dz(at(CR)), dy(at(C));
    std::vector<uint8_t> active(at(CR));
    // One output row's span gradients in float ([C/r][rows] and [rows]), added into the
    // task's double accumulators at the row's end: a row is at most a few hundred pixels.
    std::vector<float> row_dW1T(at(CR * rows)), row_dbias(at(rows));
    const float* xb = x.ptr() + b * C * plane;
    float* dxb = options.input ? grads.input.ptr() + b * C * plane : nullptr;
    const int64_t i0 = band_index * band, i1 = std::min(H_out, i0 + band);
    for (int64_t i = i0; i < i1; ++i) {
      std::fill(row_dW1T.begin(), row_dW1T.end(), 0.0f);
      std::fill(row_dbias.begin(), row_dbias.end(), 0.0f);
      for (int64_t j = 0; j < W_out; ++j) {
        // Forward: pooled vector, hidden units, kernels.
        const int64_t y0 = i * s, y1 = std::min(y0 + s, H), x0 = j * s, x1 = std::min(x0 + s, W);
        const float inv_count = 1.0f / static_cast<float>((y1 - y0) * (x1 - x0));
        for (int64_t c = 0; c < C; ++c) {
          const float* xc = xb + c * plane;
          float sum = 0;
          for (int64_t yy = y0; yy < y1; ++yy)
            for (int64_t xx = x0; xx < x1; ++xx) sum += xc[yy * W + xx];
          v[at(c)] = sum * inv_count;
          dy[at(c)] = gy.ptr()[(b * C + c) * plane_out + i * W_out + j];
        }
        for (int64_t m = 0; m < CR; ++m) {
          float z = 0;
          for (int64_t c = 0; c < C; ++c) z += W0[m * C + c] * v[at(c)];
          zhat[at(m)] = (z - w.bn_mean.data[at(m)]) * inv_std[at(m)];
          const float u = w.bn_gamma.data[at(m)] * zhat[at(m)] + w.bn_beta.data[at(m)];
          active[at(m)] = u > 0;
          h[at(m)] = u > 0 ? u : 0.0f;
        }
        float* kp = k.data();
        std::copy(w.span_bias.data.begin(), w.span_bias.data.begin() + rows, kp);
        for (int64_t m = 0; m < CR; ++m) {
          const float hm = h[at(m)];
          const float* w1 = W1T.data() + m * rows;
          for (int64_t r = 0; r < rows; ++r) kp[r] += w1[r] * hm;
        }
        std::fill(dk.begin(), dk.end(), 0.0f);
        // Aggregation adjoints: dk, and the input's direct part.
        const int64_t top = i * s - pad, left = j * s - pad;
        const bool inside =
            top >= 0 && left >= 0 && top + (K - 1) * d < H && left + (K - 1) * d < W;
        for (int64_t c = 0; c < C; ++c) {
          const float g_c = dy[at(c)];
          float* dk_g = dk.data() + (c / gc) * KK;
          const float* k_g = k.data() + (c / gc) * KK;
          const float* xc = xb + c * plane;
          float* dxc = dxb ? dxb + c * plane : nullptr;
          if (inside) {
            const int64_t origin = top * W + left;
            for (int64_t t = 0; t < KK; ++t) {
              const int64_t q = origin + tap_offsets[at(t)];
              dk_g[t] += g_c * xc[q];
              if (dxc) dxc[q] += k_g[t] * g_c;
            }
            continue;
          }
          for (int64_t ky = 0; ky < K; ++ky) {
            const int64_t yy = top + ky * d;
            if (yy < 0 || yy >= H) continue;  // zero padding
            for (int64_t kx = 0; kx < K; ++kx) {
              const int64_t xx = left + kx * d;
              if (xx < 0 || xx >= W) continue;
              dk_g[ky * K + kx] += g_c * xc[yy * W + xx];
              if (dxc) dxc[yy * W + xx] += k_g[ky * K + kx] * g_c;
            }
          }
        }
        // Span, ReLU, BN, reduce.
        const float* dkp = dk.data();
        for (int64_t r = 0; r < rows; ++r) row_dbias[at(r)] += dkp[r];
        for (int64_t m = 0; m < CR; ++m) {
          const float hm = h[at(m)];
          if (hm == 0.0f) continue;  // adds nothing
          float* g = row_dW1T.data() + m * rows;
          for (int64_t r = 0; r < rows; ++r) g[r] += dkp[r] * hm;
        }
        for (int64_t m = 0; m < CR; ++m) {
          dz[at(m)] = 0;
          if (!active[at(m)]) continue;  // ReLU passes no gradient
          float dh = 0;
          const float* w1 = W1T.data() + m * rows;
          for (int64_t r = 0; r < rows; ++r) dh += w1[r] * dkp[r];
          acc[layout.gamma + at(m)] += dh * zhat[at(m)];
          acc[layout.beta + at(m)] += dh;
          dz[at(m)] = dh * scale[at(m)];
          double* dW0 = acc + layout.reduce + at(m * C);
          for (int64_t c = 0; c < C; ++c) dW0[c] += dz[at(m)] * v[at(c)];
        }
        if (!dxb) continue;
        for (int64_t c = 0; c < C; ++c) {
          float dv = 0;
          for (int64_t m = 0; m < CR; ++m) dv += W0[m * C + c] * dz[at(m)];
          dv *= inv_count;
          float* dxc = dxb + c * plane;
          for (int64_t yy = y0; yy < y1; ++yy)
            for (int64_t xx = x0; xx < x1; ++xx) dxc[yy * W + xx] += dv;
        }
      }
      for (int64_t r = 0; r < rows; ++r) {
        acc[layout.span_bias + at(r)] += row_dbias[at(r)];
        for (int64_t m = 0; m < CR; ++m)
          acc[layout.span + at(r * CR + m)] += row_dW1T[at(m * rows + r)];
      }
    }
  };

  if (options.input) {
    for (int64_t parity = 0; parity < 2; ++parity) {
      const int64_t per_image = (bands - parity + 1) / 2;
      cpu::parallel_tasks(B * per_image, [&](int64_t task, int) {
        run_band(task / per_image, 2 * (task % per_image) + parity);
      });
    }
  } else {
    cpu::parallel_tasks(B * bands,
                        [&](int64_t task, int) { run_band(task / bands, task % bands); });
  }

  if (vector_rows && options.input)
    for (int64_t bc = 0; bc < B * C; ++bc)
      for (int64_t y = 0; y < H; ++y)
        std::copy_n(dx_padded.begin() + bc * padded_plane + (y + pad) * Wp + pad, W,
                    grads.input.ptr() + bc * plane + y * W);

  std::vector<double> total(layout.size, 0.0);
  for (int64_t task = 0; task < B * bands; ++task)
    for (size_t n = 0; n < layout.size; ++n) total[n] += accumulators[at(task) * layout.size + n];
  const auto slice = [&](size_t offset, const Shape& shape) {
    Tensor t = Tensor::uninitialized(shape);
    for (size_t n = 0; n < t.data.size(); ++n) t.data[n] = static_cast<float>(total[offset + n]);
    return t;
  };
  grads.reduce_weight = slice(layout.reduce, w.reduce_weight.shape);
  grads.bn_gamma = slice(layout.gamma, w.bn_gamma.shape);
  grads.bn_beta = slice(layout.beta, w.bn_beta.shape);
  grads.span_weight = slice(layout.span, w.span_weight.shape);
  grads.span_bias = slice(layout.span_bias, w.span_bias.shape);
  return grads;
}

}  // namespace ks::grad
