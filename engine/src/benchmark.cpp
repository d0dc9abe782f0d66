// Standard benchmark problems and the timing loop (kernelscope/benchmark.h).
#include "kernelscope/benchmark.h"

#include <algorithm>
#include <chrono>

#include "kernelscope/error.h"
#include "stopwatch.h"

#if defined(__GLIBC__)
#include <malloc.h>
#endif

namespace ks {
namespace {

BenchProblem conv_problem(std::string name, Shape input, int64_t out_channels, int64_t kernel,
                          int64_t padding, int64_t groups, bool small) {
  BenchProblem p;
  p.name = std::move(name);
  p.op = OpKind::Conv;
  p.conv.in_channels = input[1];
  p.input = std::move(input);
  p.conv.out_channels = out_channels;
  p.conv.kernel_size = kernel;
  p.conv.padding = padding;
  p.conv.groups = groups;
  p.kernels = KernelsMode::None;
  p.small = small;
  return p;
}

BenchProblem involution_problem(std::string name, Shape input, int64_t kernel,
                                int64_t group_channels, int64_t reduction, bool small,
                                KernelsMode kernels = KernelsMode::Full) {
  BenchProblem p;
  p.name = std::move(name);
  p.op = OpKind::Involution;
  p.involution.channels = input[1];
  p.input = std::move(input);
  p.involution.kernel_size = kernel;
  p.involution.group_channels = group_channels;
  p.involution.reduction = reduction;
  p.kernels = kernels;
  p.small = small;
  return p;
}

}  // namespace

const std::vector<BenchProblem>& standard_problems() {
  static const std::vector<BenchProblem> problems = {
      conv_problem("conv small", {1, 3, 222, 222}, 5, 3, 0, 1, true),
      conv_problem("conv 1080p K3", {1, 3, 1080, 1920}, 8, 3, 1, 1, false),
      conv_problem("conv 1024 K7", {1, 3, 1024, 1024}, 16, 7, 3, 1, false),
      conv_problem("depthwise 1080p K7", {1, 3, 1080, 1920}, 3, 7, 3, 3, false),
      conv_problem("conv 64ch", {1, 64, 56, 56}, 64, 3, 1, 1, true),
      involution_problem("inv small", {1, 3, 220, 220}, 3, 1, 1, true),
      involution_problem("inv 1080p K7", {1, 3, 1080, 1920}, 7, 3, 1, false),
      involution_problem("inv 64ch", {1, 64, 56, 56}, 7, 16, 4, true),
      involution_problem("inv 64ch b8", {8, 64, 56, 56}, 7, 16, 4, false),
      involution_problem("inv 256ch", {1, 256, 14, 14}, 7, 16, 4, true),
      // What the app computes for a screen: an RGB image with one kernel per channel (gc1, the
      // default for 3 channels) keeping only the kernel-sum map, at 1080p and 4K; conv at 4K
      // beside them.
      involution_problem("inv 1080p K7 gc1 screen", {1, 3, 1080, 1920}, 7, 1, 1, false,
                         KernelsMode::Sum),
      involution_problem("inv 4K K7 screen", {1, 3, 2160, 3840}, 7, 1, 1, false, KernelsMode::Sum),
      conv_problem("conv 4K K7", {1, 3, 2160, 3840}, 16, 7, 3, 1, false),
  };
  return problems;
}

std::string describe_problem(const BenchProblem& p) {
  std::string s = shape_to_string(p.input);
  if (p.op == OpKind::Conv) {
    s += " -> " + std::to_string(p.conv.out_channels) + " K" + std::to_string(p.conv.kernel_size);
    if (p.conv.padding) s += " p" + std::to_string(p.conv.padding);
    if (p.conv.groups > 1) s += " g" + std::to_string(p.conv.groups);
  } else {
    s += " K" + std::to_string(p.involution.kernel_size) + " gc" +
         std::to_string(p.involution.group_channels) + " r" +
         std::to_string(p.involution.reduction);
    if (p.kernels != KernelsMode::Full) s += std::string(" ") + kernels_mode_name(p.kernels);
  }
  return s;
}

double problem_flops(const BenchProblem& p) {
  return p.op == OpKind::Conv ? conv_flops(p.input, p.conv)
                              : involution_flops(p.input, p.involution);
}

BenchInputs make_bench_inputs(const BenchProblem& problem) {
  BenchInputs inputs;
  inputs.input = Tensor(problem.input);
  uint64_t state = 0x9E3779B97F4A7C15ull;
  for (float& v : inputs.input.data) {
    state = state * 6364136223846793005ull + 1442695040888963407ull;
    v = static_cast<float>(state >> 40) / static_cast<float>(1 << 24);
  }
  if (problem.op == OpKind::Conv)
    inputs.conv = random_conv_weights(problem.conv, 1);
  else
    inputs.involution = random_involution_weights(problem.involution, 1);
  return inputs;
}

void run_problem(Backend& backend, const BenchProblem& problem, const BenchInputs& inputs,
                 BenchOutputs* outputs, StageTimes* times) {
  RunOptions options;
  options.kernels = problem.kernels;
  if (problem.op == OpKind::Conv)
    backend.conv2d_into(inputs.input, problem.conv, inputs.conv, options, &outputs->conv, times);
  else
    backend.involution2d_into(inputs.input, problem.involution, inputs.involution, options,
                              &outputs->involution, times);
}

void run_problem(Backend& backend, const BenchProblem& problem, const BenchInputs& inputs,
                 StageTimes* times) {
  BenchOutputs fresh;
  run_problem(backend, problem, inputs, &fresh, times);
}

BenchResult time_problem(Backend& backend, const BenchProblem& problem,
                         const BenchOptions& options) {
  const bool conv = problem.op == OpKind::Conv;
  if (conv ? !backend.supports(problem.conv) : !backend.supports(problem.involution))
    throw Error("backend '" + backend.name() + "' does not support " + problem.name);

  const BenchInputs inputs = make_bench_inputs(problem);
  // One set of results for every run, as the app keeps its results between frames: after the
  // first call the timings are of warm, steady-state work, not of allocating and first
  // touching hundreds of MB of results (a kernels tensor) on every call.
  BenchOutputs outputs;
  auto run_once = [&](StageTimes* times) {
    run_problem(backend, problem, inputs, &outputs, times);
  };
  for (int i = 0; i < options.warmup; ++i) run_once(nullptr);

  struct Run {
    double ms;
    StageTimes stages;
  };
  std::vector<Run> runs;
  Stopwatch budget;
  for (int i = 0; i < std::max(1, options.repeats); ++i) {
    Run run{};
    Stopwatch clock;
    run_once(&run.stages);
    run.ms = clock.elapsed_ms();
    runs.push_back(run);
    if (budget.elapsed_ms() > 1000.0 * options.max_seconds) break;
  }
  std::sort(runs.begin(), runs.end(), [](const Run& a, const Run& b) { return a.ms < b.ms; });
  const Run& median = runs[runs.size() / 2];
  BenchResult result;
  result.median_ms = median.ms;
  result.min_ms = runs.front().ms;
  result.stages = median.stages;
  result.runs = static_cast<int>(runs.size());
  result.gflops = median.ms > 0 ? problem_flops(problem) / (median.ms * 1e6) : 0;
  return result;
}

void keep_freed_memory_for_reuse() {
#if defined(__GLIBC__)
  // Large blocks come from the heap, not fresh mmaps (glibc caps M_MMAP_THRESHOLD at 32 MB,
  // so mmap is switched off instead), and the freed heap is kept rather than trimmed.
  mallopt(M_MMAP_MAX, 0);
  mallopt(M_TRIM_THRESHOLD, 1 << 30);
#endif
}

}  // namespace ks
