// Convolution on the "cpu" backend: direct, register-blocked over output channels and
// width (row_product in kernels.h), parallel over (batch, group, band of output rows).
// The shapes KernelScope races have few input channels, where a direct loop beats
// im2col + GEMM by skipping the K*K-times larger unfolded copy.
#include <algorithm>
#include <atomic>

#include "cpu/band.h"
#include "cpu/cpu_features.h"
#include "cpu/cpu_ops.h"
#include "cpu/kernels.h"
#include "cpu/parallel.h"

namespace ks::cpu {
namespace {

// Output channels of one group in blocks of up to kRowBlock, each with its weights packed
// [ci][ky*K + kx][co in block] so the kernel broadcasts them in order.
struct ChannelBlock {
  int64_t first = 0;
  int count = 0;
  size_t offset = 0;
};

void pack_conv_weights(const ConvParams& p, const Tensor& weight, std::vector<ChannelBlock>* blocks,
                       std::vector<float>* packed) {
  const int64_t cin_g = p.in_channels / p.groups, KK = p.kernel_size * p.kernel_size;
  packed->resize(weight.data.size());
  size_t offset = 0;
  for (int64_t first = 0; first < p.out_channels;) {
    // Blocks never straddle a group boundary.
    const int64_t cout_g = p.out_channels / p.groups;
    const int count = even_row_block(first % cout_g, cout_g);
    blocks->push_back({first, count, offset});
    for (int64_t ci = 0; ci < cin_g; ++ci)
      for (int64_t k = 0; k < KK; ++k)
        for (int c = 0; c < count; ++c)
          (*packed)[offset++] =
              weight.data[static_cast<size_t>(((first + c) * cin_g + ci) * KK + k)];
    first += count;
  }
}

}  // namespace

int even_row_block(int64_t done, int64_t total) {
  const int64_t remaining = total - done, blocks = (remaining + kRowBlock - 1) / kRowBlock;
  return static_cast<int>((remaining + blocks - 1) / blocks);
}

int64_t band_rows(int64_t output_rows, int64_t planes, int64_t floats_per_row,
                  int64_t halo_floats) {
  constexpr int64_t kBandBudgetFloats = 96 * 1024;  // ~384 KB of a 512 KB-1 MB L2
  const int64_t by_cache = std::max<int64_t>(
      1, (kBandBudgetFloats - halo_floats) / std::max<int64_t>(1, floats_per_row));
  const int64_t threads = thread_count();
  int64_t bands =
      std::max((output_rows + by_cache - 1) / by_cache, (threads + planes - 1) / planes);
  // With few tasks, a whole number of tasks per thread keeps every thread busy to the end;
  // with many, dynamic scheduling evens out the remainder.
  if (bands * planes < 4 * threads)
    bands = ((bands * planes + threads - 1) / threads * threads + planes - 1) / planes;
  bands = std::min(bands, output_rows);
  return (output_rows + bands - 1) / bands;
}

int64_t BufferBytes::total() const { return sat_add(shared, sat_mul(per_thread, thread_count())); }

int64_t least_band_bytes(int64_t channels, int64_t kernel_size, int64_t stride, int64_t padding,
                         int64_t dilation) {
  const Window win{kernel_size, stride, padding, dilation};
  // A one-pixel-wide input padded by p gives floor((2p - d(K-1))/s) + 1 output columns.
  const int64_t reach = sat_mul(kernel_size - 1, dilation), two_p = sat_mul(padding, 2);
  const int64_t width = two_p > reach ? (two_p - reach) / stride + 1 : 1;
  return sat_mul(band_floats(win, channels, 1, width), 4);
}

BufferBytes conv2d_buffer_bytes(const Shape& input, const ConvParams& p) {
  const Shape out = conv_output_shape(input, p);
  const int64_t cin_g = p.in_channels / p.groups, KK = sat_mul(p.kernel_size, p.kernel_size);
  const Window win{p.kernel_size, p.stride, p.padding, p.dilation};
  int64_t band = band_floats(win, cin_g, 1, out[3]);
  // Past the budget the exact band does not matter, and band_rows' products could overflow.
  if (band <= kMaxThreadBufferBytes / 4) {
    const BandLayout one_row = band_layout(win, 1, out[3]);
    const int64_t rows =
        band_rows(out[2], out[0] * p.groups, cin_g * p.stride * one_row.row_stride(),
                  cin_g * one_row.channel_stride());
    band = band_floats(win, cin_g, rows, out[3]);
  }
  // Per thread: the band and the tap offsets (int64: two floats each); shared: the packed
  // weights, as many as the weight tensor.
  BufferBytes bytes;
  bytes.per_thread = sat_mul(sat_add(band, sat_mul(KK, 2)), 4);
  bytes.shared = sat_mul(sat_mul(sat_mul(p.out_channels, cin_g), KK), 4);
  return bytes;
}

void conv2d(const Tensor& x, const ConvParams& p, const ConvWeights& w, const RunOptions& options,
            Tensor* output) {
  const Shape out_shape = conv_output_shape(x.shape, p);
  output->reshape_uninitialized(out_shape);  // every element is written below
  Tensor& y = *output;
  const int64_t B = x.dim(0), C = x.dim(1), H = x.dim(2), W = x.dim(3);
  const int64_t C_out = out_shape[1], H_out = out_shape[2], W_out = out_shape[3];
  const int64_t groups = p.groups, cin_g = C / groups, cout_g = C_out / groups;
  const Window win{p.kernel_size, p.stride, p.padding, p.dilation};

  std::vector<ChannelBlock> blocks;
  std::vector<float> packed;
  pack_conv_weights(p, w.weight, &blocks, &packed);
  const KernelTable& kt = kernels_for_this_cpu();

  const BandLayout one_row = band_layout(win, 1, W_out);
  const int64_t rows = band_rows(H_out, B * groups, cin_g * p.stride * one_row.row_stride(),
                                 cin_g * one_row.channel_stride());
  const int64_t bands = (H_out + rows - 1) / rows;
  // Outputs beyond the last-level cache are only written: stream them (kernels.h).
  const bool stream_output = y.numel() * sizeof(float) > (size_t{16} << 20);
  std::vector<std::vector<float>> scratch(static_cast<size_t>(thread_count()));

  std::atomic<bool> stopped{false};
  parallel_tasks(B * groups * bands, [&](int64_t task, int thread) {
    if (options.cancel && options.cancel->load(std::memory_order_relaxed)) {
      stopped.store(true, std::memory_order_relaxed);
      return;
    }
    const int64_t band = task % bands, g = (task / bands) % groups, b = task / (bands * groups);
    const int64_t i0 = band * rows, i1 = std::min(H_out, i0 + rows);
    const BandLayout layout = band_layout(win, i1 - i0, W_out);
    std::vector<float>& buf = scratch[static_cast<size_t>(thread)];
    buf.resize(static_cast<size_t>(cin_g * layout.channel_stride()));
    fill_band(x.ptr() + (b * C + g * cin_g) * H * W, cin_g, H, W, win, i0, layout, buf.data());
    const std::vector<int64_t> taps = tap_offsets(win, layout);

    RowProduct r;
    r.in_channel_stride = layout.channel_stride();
    r.in_channels = cin_g;
    r.taps = taps.data();
    r.tap_count = static_cast<int64_t>(taps.size());
    r.out_channel_stride = H_out * W_out;
    r.width = W_out;
    r.stream = stream_output;
    // Block-outer: a block's packed weights stay in L1 across the band's rows.
    for (const ChannelBlock& blk : blocks) {
      if (blk.first / cout_g != g) continue;
      r.weights = packed.data() + blk.offset;
      r.bias = p.has_bias ? w.bias.ptr() + blk.first : nullptr;
      r.co_count = blk.count;
      for (int64_t i = i0; i < i1; ++i) {
        r.in = buf.data() + layout.output_row_offset(i - i0);
        r.out = y.ptr() + ((b * C_out + blk.first) * H_out + i) * W_out;
        kt.row_product(r);
      }
    }
  });
  if (stopped.load()) throw Cancelled();
}

}  // namespace ks::cpu
