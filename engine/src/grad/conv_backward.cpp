// Fast backward of convolution: float arithmetic, threads from cpu/parallel.h. Each weight
// gradient belongs to one task (an output channel) and each input gradient plane to one task
// (an image and input channel), so no two threads write the same value and the result does
// not depend on scheduling. Inner loops run along an output row over the columns whose
// taps are inside the image (no branch per pixel), which the compiler vectorises.
#include <algorithm>
#include <vector>

#include "cpu/parallel.h"
#include "grad/grad_checks.h"
#include "kernelscope/gradients.h"

namespace ks::grad {
namespace {

// Output positions n in [0, count) whose tap n*stride + offset lies in [0, size).
struct ValidRange {
  int64_t first = 0, last = 0;  // [first, last)
};
ValidRange valid_range(int64_t count, int64_t stride, int64_t offset, int64_t size) {
  // n*stride + offset >= 0  <=>  n >= ceil(-offset / stride)
  const int64_t first = offset >= 0 ? 0 : (-offset + stride - 1) / stride;
  // n*stride + offset <= size - 1  <=>  n <= floor((size - 1 - offset) / stride)
  const int64_t top = size - 1 - offset;
  const int64_t last = top < 0 ? 0 : top / stride + 1;
  return {std::min(first, count), std::clamp<int64_t>(last, 0, count)};
}

}  // namespace

ConvGradients conv2d_backward(const Tensor& x, const ConvParams& p, const ConvWeights& w,
                              const Tensor& gy, const BackwardOptions& options) {
  check_conv_backward(x, p, w, gy);
  const int64_t B = x.dim(0), C = x.dim(1), H = x.dim(2), W = x.dim(3);
  const int64_t C_out = gy.dim(1), H_out = gy.dim(2), W_out = gy.dim(3);
  const int64_t K = p.kernel_size, KK = K * K, s = p.stride;
  const int64_t cin_g = C / p.groups, cout_g = C_out / p.groups;
  const int64_t plane = H * W, plane_out = H_out * W_out;

  ConvGradients grads;
  grads.weight = Tensor(w.weight.shape);
  if (p.has_bias) grads.bias = Tensor({C_out});
  // Weights and bias: one task per output channel; a row's sum in float, rows in double.
  cpu::parallel_tasks(C_out, [&](int64_t co, int) {
    const int64_t g = co / cout_g;
    std::vector<double> dw(static_cast<size_t>(cin_g * KK), 0.0);
    double db = 0;
    for (int64_t b = 0; b < B; ++b) {
      const float* dy = gy.ptr() + (b * C_out + co) * plane_out;
      for (int64_t q = 0; q < plane_out; ++q) db += dy[q];
      for (int64_t ci = 0; ci < cin_g; ++ci) {
        const float* in = x.ptr() + (b * C + g * cin_g + ci) * plane;
        for (int64_t ky = 0; ky < K; ++ky) {
          const ValidRange rows = valid_range(H_out, s, ky * p.dilation - p.padding, H);
          for (int64_t kx = 0; kx < K; ++kx) {
            const int64_t x_offset = kx * p.dilation - p.padding;
            const ValidRange cols = valid_range(W_out, s, x_offset, W);
            double sum = 0;
            for (int64_t i = rows.first; i < rows.last; ++i) {
              const float* dy_row = dy + i * W_out;
              const float* in_row = in + (i * s + ky * p.dilation - p.padding) * W;
              float row_sum = 0;
              for (int64_t j = cols.first; j < cols.last; ++j)
                row_sum += dy_row[j] * in_row[j * s + x_offset];
              sum += row_sum;
            }
            dw[static_cast<size_t>((ci * K + ky) * K + kx)] += sum;
          }
        }
      }
    }
    for (int64_t t = 0; t < cin_g * KK; ++t)
      grads.weight.data[static_cast<size_t>(co * cin_g * KK + t)] =
          static_cast<float>(dw[static_cast<size_t>(t)]);
    if (p.has_bias) grads.bias.data[static_cast<size_t>(co)] = static_cast<float>(db);
  });
  if (!options.input) return grads;

  // Input: one task per (image, input channel) plane, scattering every output channel of
  // its group through every tap.
  grads.input = Tensor(x.shape);
  cpu::parallel_tasks(B * C, [&](int64_t task, int) {
    const int64_t b = task / C, c = task % C, g = c / cin_g, ci = c % cin_g;
    float* dx = grads.input.ptr() + task * plane;
    for (int64_t co = g * cout_g; co < (g + 1) * cout_g; ++co) {
      const float* dy = gy.ptr() + (b * C_out + co) * plane_out;
      for (int64_t ky = 0; ky < K; ++ky) {
        const ValidRange rows = valid_range(H_out, s, ky * p.dilation - p.padding, H);
        for (int64_t kx = 0; kx < K; ++kx) {
          const float weight = w.weight.at(co, ci, ky, kx);
          const int64_t x_offset = kx * p.dilation - p.padding;
          const ValidRange cols = valid_range(W_out, s, x_offset, W);
          for (int64_t i = rows.first; i < rows.last; ++i) {
            const float* dy_row = dy + i * W_out;
            float* dx_row = dx + (i * s + ky * p.dilation - p.padding) * W;
            for (int64_t j = cols.first; j < cols.last; ++j)
              dx_row[j * s + x_offset] += weight * dy_row[j];
          }
        }
      }
    }
  });
  return grads;
}

}  // namespace ks::grad
