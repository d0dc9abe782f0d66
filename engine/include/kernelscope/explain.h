// The arithmetic behind one output pixel, laid out for teaching: which input cells the
// window covers (and which of them are zero padding), the values, the kernel, the products,
// the partial sums and the total, plus for involution the chain that generated the kernel.
// The totals are accumulated in the same order as the reference loops (ks::ref), so the
// number a view prints is the number the engine computed.
#pragma once

#include <cstdint>
#include <vector>

#include "kernelscope/ops.h"

namespace ks {

// One kernel position (ky, kx) and the input cell it reads.
struct ExplainTap {
  int64_t ky = 0;
  int64_t kx = 0;
  int64_t y = 0;  // input row = i * stride - padding + ky * dilation (may be outside)
  int64_t x = 0;
  bool in_bounds = false;  // false: the cell is zero padding and contributes 0
};

// The rectangle of input cells a window covers, padded cells included ([y0, y1) x [x0, x1)).
struct InputRect {
  int64_t y0 = 0, x0 = 0, y1 = 0, x1 = 0;
};

struct ConvPixelExplanation {
  int64_t batch = 0, out_channel = 0, i = 0, j = 0;
  int64_t kernel_size = 0;
  int64_t group = 0;                 // convolution group of out_channel
  InputRect receptive_field;         // on the input, padding included
  std::vector<ExplainTap> taps;      // K*K, row-major (ky, kx)
  std::vector<int64_t> in_channels;  // the C_in/groups input channels this output reads
  // Per input channel c (index into in_channels) and tap t, at [c * K*K + t]. Padded taps
  // hold input 0 and product 0; the weight is shown all the same.
  std::vector<float> inputs;
  std::vector<float> weights;
  std::vector<double> products;
  std::vector<double> channel_sums;  // sum of one channel's products
  bool has_bias = false;
  double bias = 0;
  double total = 0;  // bias + all products, accumulated in the reference's order
  float output = 0;  // total as float: equals ks::ref::conv2d at (batch, out_channel, i, j)
};

// How the kernel at one output pixel was generated (reduce 1x1 -> BN -> ReLU -> span 1x1).
struct InvolutionGeneration {
  // The pixel's channel vector X'[:, i, j]: the mean of the in-bounds part of the s x s
  // window when stride s > 1 (AvgPool, ceil mode), else the input pixel itself.
  std::vector<double> pooled;          // [C]
  InputRect pooled_window;             // the cells averaged
  std::vector<double> reduced;         // [C/r]  W0 . pooled (before BN)
  std::vector<double> normalised;      // [C/r]  BN(eval) of reduced
  std::vector<double> activated;       // [C/r]  ReLU(normalised)
  std::vector<float> kernels;          // [G * K*K] span output W1 . activated + b1, row g*K*K + t
  std::vector<int64_t> channel_group;  // [C] the group (kernel) each channel uses: c / gc
};

struct InvolutionPixelExplanation {
  int64_t batch = 0, channel = 0, i = 0, j = 0;
  int64_t kernel_size = 0;
  int64_t group = 0;                             // the kernel this channel uses
  std::vector<int64_t> channels_sharing_kernel;  // every channel of that group
  InputRect receptive_field;
  std::vector<ExplainTap> taps;  // K*K
  std::vector<float> inputs;     // [K*K], 0 where padded
  std::vector<float> weights;    // [K*K] the generated kernel of `group` at (i, j)
  std::vector<double> products;  // [K*K]
  double total = 0;
  float output = 0;  // equals ks::ref involution output at (batch, channel, i, j)
  InvolutionGeneration generation;
};

// Validate the parameters, weights and indices (throwing ks::Error with a one-line message)
// and explain output pixel (i, j) of one output channel of batch item b.
ConvPixelExplanation explain_conv_pixel(const Tensor& input, const ConvParams& params,
                                        const ConvWeights& weights, int64_t b, int64_t out_channel,
                                        int64_t i, int64_t j);
InvolutionPixelExplanation explain_involution_pixel(const Tensor& input,
                                                    const InvolutionParams& params,
                                                    const InvolutionWeights& weights, int64_t b,
                                                    int64_t channel, int64_t i, int64_t j);

// Learnable parameters, as PyTorch's sum(p.numel() for p in layer.parameters()) counts them.
// Conv: C_out * C_in/groups * K*K (+ C_out bias). Involution: reduce C/r * C (no bias),
// BN gamma and beta 2 * C/r (running statistics are buffers, not parameters), span
// K*K*G * C/r + K*K*G bias.
int64_t parameter_count(const ConvParams& params);
int64_t parameter_count(const InvolutionParams& params);

}  // namespace ks
