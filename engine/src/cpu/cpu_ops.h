// The operators of the "cpu" backend (multithreaded, cache-blocked, AVX2/FMA or portable).
#pragma once

#include "kernelscope/backend.h"

namespace ks::cpu {

// Both write into caller-owned results (their storage reused) and honour options.cancel.
void conv2d(const Tensor& input, const ConvParams& params, const ConvWeights& weights,
            const RunOptions& options, Tensor* output);
// Fills kernel_generation_ms and aggregation_ms of *times (when given) but not total_ms.
void involution2d(const Tensor& input, const InvolutionParams& params,
                  const InvolutionWeights& weights, const RunOptions& options,
                  InvolutionResult* result, StageTimes* times);

// The most one thread's buffers (its band, tiles and tap table) may take. They are sized
// for the L2 cache, at least one output row's band: a real layer needs a few MB even at 4K
// with hundreds of channels. A stride or dilation of millions or a padding of thousands
// needs gigabytes there for an output of a few pixels: those problems run on the reference
// loops instead, which read the input directly.
constexpr int64_t kMaxThreadBufferBytes = int64_t{64} << 20;

// The cpu backend's own buffers for one call, in bytes, saturated at INT64_MAX.
struct BufferBytes {
  int64_t per_thread = 0;  // each thread's band, tiles and tap table
  int64_t shared = 0;      // the packed weights
  bool fits() const { return per_thread <= kMaxThreadBufferBytes; }
  int64_t total() const;  // shared + per_thread x thread_count()
};
// The parameters must be valid for the input (the shape functions throw otherwise). Part of
// ks::*_memory_bytes when they fit.
BufferBytes conv2d_buffer_bytes(const Shape& input, const ConvParams& params);
BufferBytes involution2d_buffer_bytes(const Shape& input, const InvolutionParams& params);

// Bytes of the band of one output row for the narrowest output these parameters allow: a
// lower bound of BufferBytes::per_thread for any input, so supports() can decline without
// seeing one.
int64_t least_band_bytes(int64_t channels, int64_t kernel_size, int64_t stride, int64_t padding,
                         int64_t dilation);

// Rows of output per band: enough tasks to keep every thread busy, few enough that a band's
// input (floats_per_row per output row plus a fixed halo) stays in the L2 cache.
int64_t band_rows(int64_t output_rows, int64_t independent_planes, int64_t floats_per_row,
                  int64_t halo_floats);

// Size of the next block of rows of a row_product when `done` of `total` rows are blocked:
// at most kRowBlock, spread evenly (5 rows run as 3 + 2, not 4 + 1 with a wasteful 1-row block).
int even_row_block(int64_t done, int64_t total);

}  // namespace ks::cpu
