// The standard benchmark problems and a timer for one backend on one problem, shared by
// `kernelscope bench`, the benchmark programs in bench/ and the app's race.
#pragma once

#include <string>
#include <vector>

#include "kernelscope/backend.h"

namespace ks {

struct BenchProblem {
  std::string name;  // short label, e.g. "conv 1080p K3"
  OpKind op = OpKind::Conv;
  Shape input;  // [B, C, H, W]
  ConvParams conv;
  InvolutionParams involution;
  // The generated kernels an involution problem asks for: Full (the whole tensor, as the
  // operator's users in PyTorch get it) or Sum (the per-group sum map a screen shows, the
  // app's usage). Conv problems have none and set None.
  KernelsMode kernels = KernelsMode::Full;
  // Cheap enough that the single-threaded reference finishes in about a second.
  bool small = false;
};

// The shapes KernelScope's performance targets are stated on (docs/performance.md).
const std::vector<BenchProblem>& standard_problems();

// "[1, 3, 1080, 1920] -> 8, K3 p1" style description of the problem's parameters.
std::string describe_problem(const BenchProblem& problem);
double problem_flops(const BenchProblem& problem);

struct BenchOptions {
  int warmup = 1;
  int repeats = 5;
  // Stop repeating once this much time was spent (at least one timed run always happens).
  double max_seconds = 20;
};

struct BenchResult {
  double median_ms = 0;
  double min_ms = 0;
  double gflops = 0;  // at the median time
  StageTimes stages;  // of the run closest to the median
  int runs = 0;
};

// Seeded inputs in [0, 1) (like an image) and PyTorch-default weights for a problem.
struct BenchInputs {
  Tensor input;
  ConvWeights conv;
  InvolutionWeights involution;
};
BenchInputs make_bench_inputs(const BenchProblem& problem);
// Where run_problem writes the problem's results. A caller keeps one across calls, so every
// call after the first reuses its storage (Backend::*_into), as the app does frame after frame.
struct BenchOutputs {
  Tensor conv;
  InvolutionResult involution;
};
// One call of the problem's operator (with the problem's kernels mode) into *outputs.
void run_problem(Backend& backend, const BenchProblem& problem, const BenchInputs& inputs,
                 BenchOutputs* outputs, StageTimes* times);
// The same into fresh results, which are discarded: each call also pays for allocating them.
void run_problem(Backend& backend, const BenchProblem& problem, const BenchInputs& inputs,
                 StageTimes* times);

// Times backend on the problem with seeded random input and PyTorch-default weights, every
// run writing into the same results (so warm-up and timed runs measure the steady-state work
// of a caller that keeps its results, not allocating them). Throws ks::Error when the backend
// does not support it.
BenchResult time_problem(Backend& backend, const BenchProblem& problem,
                         const BenchOptions& options = {});

// Makes the C allocator keep freed blocks for reuse instead of returning them to the OS,
// so repeated runs time the computation rather than the kernel zeroing fresh pages (over a
// second for the 400 MB of kernels of a 1080p involution on some virtual machines).
// Process-wide; `kernelscope bench` and bench/engine_bench call it once at start.
void keep_freed_memory_for_reuse();

}  // namespace ks
