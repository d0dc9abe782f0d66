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

// Rows of output per band: enough tasks to keep every thread busy, few enough that a band's
// input (floats_per_row per output row plus a fixed halo) stays in the L2 cache.
int64_t band_rows(int64_t output_rows, int64_t independent_planes, int64_t floats_per_row,
                  int64_t halo_floats);

// Size of the next block of rows of a row_product when `done` of `total` rows are blocked:
// at most kRowBlock, spread evenly (5 rows run as 3 + 2, not 4 + 1 with a wasteful 1-row block).
int even_row_block(int64_t done, int64_t total);

}  // namespace ks::cpu
