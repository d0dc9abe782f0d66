// Google Benchmark of the engine's operators: every available backend on every standard
// problem (kernelscope/benchmark.h). The reference backend only runs the small problems.
// Counters: GFLOP (per second, as Google Benchmark shows rates), gen_ms/agg_ms per stage.
//   engine_bench --benchmark_filter=cpu/ --benchmark_min_time=1
#include <benchmark/benchmark.h>

#include <memory>

#include "kernelscope/benchmark.h"

namespace {

void run(benchmark::State& state, ks::Backend* backend, const ks::BenchProblem* problem,
         std::shared_ptr<const ks::BenchInputs> inputs, ks::BenchOutputs* outputs) {
  double generation_ms = 0, aggregation_ms = 0;
  for (auto _ : state) {
    ks::StageTimes times;
    ks::run_problem(*backend, *problem, *inputs, outputs, &times);
    generation_ms += times.kernel_generation_ms;
    aggregation_ms += times.aggregation_ms;
  }
  const double n = static_cast<double>(state.iterations());
  state.counters["GFLOP"] = benchmark::Counter(ks::problem_flops(*problem) * 1e-9,
                                               benchmark::Counter::kIsIterationInvariantRate);
  if (problem->op == ks::OpKind::Involution) {
    state.counters["gen_ms"] = generation_ms / n;
    state.counters["agg_ms"] = aggregation_ms / n;
  }
}

}  // namespace

int main(int argc, char** argv) {
  benchmark::Initialize(&argc, argv);
  ks::keep_freed_memory_for_reuse();
  for (const std::string& name : ks::backend_names()) {
    ks::Backend* backend = ks::find_backend(name);
    if (!backend->available()) continue;
    for (const ks::BenchProblem& problem : ks::standard_problems()) {
      if (name == "cpu-ref" && !problem.small) continue;
      // Inputs are made on first use, so a filtered run does not build them all. Every
      // iteration writes into the same results, as the app does (kernelscope/benchmark.h).
      auto inputs = std::make_shared<ks::BenchInputs>();
      auto outputs = std::make_shared<ks::BenchOutputs>();
      auto* p = &problem;
      benchmark::RegisterBenchmark(
          (name + "/" + problem.name + " " + ks::describe_problem(problem)).c_str(),
          [backend, p, inputs, outputs](benchmark::State& state) {
            if (inputs->input.empty()) {
              *inputs = ks::make_bench_inputs(*p);
              // One untimed call, so allocating the results is not in the first timing.
              ks::run_problem(*backend, *p, *inputs, outputs.get(), nullptr);
            }
            run(state, backend, p, inputs, outputs.get());
          })
          ->Unit(benchmark::kMillisecond)
          ->UseRealTime();
    }
  }
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
