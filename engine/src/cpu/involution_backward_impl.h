#pragma once
// The involution backward's row loop at stride 1 (kernels.h, InvolutionBackwardRows), included
// by involution_backward_rows.cpp (portable) and involution_backward_rows_avx2.cpp (AVX2/FMA).
// L neighbouring output pixels go through each tap together, as plain loops over lanes that
// the compiler turns into vector registers; the anonymous namespace keeps the two builds apart.
#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <new>
#include <vector>

#include "cpu/kernels.h"

namespace ks::cpu {
namespace {

// L lanes as one GCC/Clang vector (one ymm in the AVX2 build, two xmm in the portable one):
// plain loops over lanes left some of this loop's read-modify-writes scalar. The helpers are
// internal and inlined, so the portable build's note on passing 32-byte vectors is moot.
#pragma GCC diagnostic ignored "-Wpsabi"
constexpr int L = kBackwardLanes;
using Lanes = float __attribute__((vector_size(sizeof(float) * L)));
inline Lanes load(const float* p) {
  Lanes v;
  std::memcpy(&v, p, sizeof v);
  return v;
}
inline void store(float* p, Lanes v) { std::memcpy(p, &v, sizeof v); }
// An array of Lanes on memory aligned for them. std::vector<Lanes> is not: GCC drops the
// vector type's alignment when it is a template argument, so its allocator returned 16-byte
// aligned memory for 32-byte loads (UBSan: misaligned load; a crash where the compiler uses
// aligned moves).
class LanesArray {
 public:
  explicit LanesArray(size_t n)
      : n_(n),
        p_(static_cast<Lanes*>(
            std::aligned_alloc(alignof(Lanes), std::max<size_t>(n, 1) * sizeof(Lanes)))) {
    if (!p_) throw std::bad_alloc();
  }
  ~LanesArray() { std::free(p_); }
  LanesArray(const LanesArray&) = delete;
  LanesArray& operator=(const LanesArray&) = delete;
  Lanes* data() { return p_; }
  Lanes* begin() { return p_; }
  Lanes* end() { return p_ + n_; }
  Lanes& operator[](size_t i) { return p_[i]; }

 private:
  size_t n_;
  Lanes* p_;
};

inline float lanes_sum_in_order(Lanes v) {
  float sum = 0;
  for (int l = 0; l < L; ++l) sum += v[l];
  return sum;
}

// CR: reduced channels known at compile time (0: a.reduced_channels at run time, at most
// kBackwardMaxReduced). kInput: also scatter the input gradient.
template <int CR, bool kInput>
void backward_rows(const InvolutionBackwardRows& a) {
  constexpr int kMaxCR = CR > 0 ? CR : kBackwardMaxReduced;
  const int cr = CR > 0 ? CR : static_cast<int>(a.reduced_channels);
  const int64_t C = a.channels, gc = a.group_channels, G = C / gc, KK = a.tap_count;
  const int64_t rows = G * KK, cs = a.in_channel_stride;
  const int64_t steps = (a.width + L - 1) / L, padded_width = steps * L;
  const auto at = [](int64_t i) { return static_cast<size_t>(i); };

  // One output row's weight gradients per lane, in float; added into the double
  // accumulators at the row's end, lanes in order. A row's lane sees width / L pixels.
  LanesArray span_acc(at(rows * cr)), bias_acc(at(rows));
  LanesArray gamma_acc(at(cr)), beta_acc(at(cr)), reduce_acc(at(cr * C));
  // grad_output's row with zeros past the width: the last step's spare lanes get no gradient,
  // so they add exactly zero everywhere (their reads land in the zero padding).
  std::vector<float> gy_row(at(C * padded_width), 0.0f);

  for (int64_t i = a.row_begin; i < a.row_end; ++i) {
    for (auto* v : {&span_acc, &bias_acc, &gamma_acc, &beta_acc, &reduce_acc})
      std::fill(v->begin(), v->end(), Lanes{});
    for (int64_t c = 0; c < C; ++c)
      std::copy_n(a.grad_out + c * a.grad_out_channel_stride + i * a.width, a.width,
                  gy_row.begin() + c * padded_width);

    for (int64_t j0 = 0; j0 < padded_width; j0 += L) {
      const int64_t base = i * a.in_row_stride + j0;  // the windows' top-left corners
      const float* v = a.in + base + a.center;        // the pixels themselves: the pooled values
      // Forward again: hidden units h and what their gradient needs.
      Lanes zhat[kMaxCR], h[kMaxCR], dh[kMaxCR];
      for (int m = 0; m < cr; ++m) {
        Lanes z{};
        const float* w0 = a.reduce_weight + m * C;
        for (int64_t c = 0; c < C; ++c) z += w0[c] * load(v + c * cs);
        zhat[m] = (z - a.bn_mean[m]) * a.bn_inv_std[m];
        const Lanes u = a.bn_gamma[m] * zhat[m] + a.bn_beta[m];
        h[m] = u > 0 ? u : Lanes{};
        dh[m] = Lanes{};
      }
      // Each tap of each group: the kernel value's gradient dk and, through it, the span
      // weights' and the hidden units' gradients.
      for (int64_t g = 0; g < G; ++g) {
        const float* gy = gy_row.data() + g * gc * padded_width + j0;
        const float* x = a.in + g * gc * cs + base;
        float* dx = kInput ? a.grad_in + g * gc * cs + base : nullptr;
        for (int64_t t = 0; t < KK; ++t) {
          const int64_t r = g * KK + t, off = a.taps[t];
          const float* w1 = a.span_weight + r * cr;
          Lanes dk{};
          for (int64_t c = 0; c < gc; ++c)
            dk += load(gy + c * padded_width) * load(x + c * cs + off);
          if (kInput) {
            Lanes k = Lanes{} + a.span_bias[r];
            for (int m = 0; m < cr; ++m) k += w1[m] * h[m];
            for (int64_t c = 0; c < gc; ++c) {
              float* q = dx + c * cs + off;
              store(q, load(q) + k * load(gy + c * padded_width));
            }
          }
          bias_acc[at(r)] += dk;
          Lanes* span = span_acc.data() + r * cr;
          for (int m = 0; m < cr; ++m) {
            span[m] += dk * h[m];
            dh[m] += w1[m] * dk;
          }
        }
      }
      // ReLU, BN, reduce.
      Lanes dz[kMaxCR];
      for (int m = 0; m < cr; ++m) {
        const Lanes d = h[m] > 0 ? dh[m] : Lanes{};  // ReLU passes no gradient
        gamma_acc[at(m)] += d * zhat[m];
        beta_acc[at(m)] += d;
        dz[m] = d * (a.bn_gamma[m] * a.bn_inv_std[m]);
        for (int64_t c = 0; c < C; ++c) reduce_acc[at(m * C + c)] += dz[m] * load(v + c * cs);
      }
      if (kInput) {
        for (int64_t c = 0; c < C; ++c) {
          Lanes dv{};
          for (int m = 0; m < cr; ++m) dv += a.reduce_weight[m * C + c] * dz[m];
          float* q = a.grad_in + c * cs + base + a.center;
          store(q, load(q) + dv);
        }
      }
    }

    for (int64_t r = 0; r < rows; ++r) {
      a.grad_span_bias[r] += lanes_sum_in_order(bias_acc[at(r)]);
      for (int m = 0; m < cr; ++m)
        a.grad_span[r * cr + m] += lanes_sum_in_order(span_acc[at(r * cr + m)]);
    }
    for (int m = 0; m < cr; ++m) {
      a.grad_gamma[m] += lanes_sum_in_order(gamma_acc[at(m)]);
      a.grad_beta[m] += lanes_sum_in_order(beta_acc[at(m)]);
      for (int64_t c = 0; c < C; ++c)
        a.grad_reduce[m * C + c] += lanes_sum_in_order(reduce_acc[at(m * C + c)]);
    }
  }
}

template <int CR>
void backward_rows_for(const InvolutionBackwardRows& a) {
  if (a.grad_in)
    backward_rows<CR, true>(a);
  else
    backward_rows<CR, false>(a);
}

void involution_backward_rows_any(const InvolutionBackwardRows& a) {
  switch (a.reduced_channels) {
    case 1:
      return backward_rows_for<1>(a);
    case 2:
      return backward_rows_for<2>(a);
    case 3:
      return backward_rows_for<3>(a);
    case 4:
      return backward_rows_for<4>(a);
    default:
      return backward_rows_for<0>(a);
  }
}

}  // namespace
}  // namespace ks::cpu
