// `kernelscope bench`: every available backend on the standard problems, as a table or as
// JSON (read by bench/compare_pytorch.py).
#include <CLI/CLI.hpp>

#include <cstdio>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include <unistd.h>

#include "cli/commands.h"
#include "core/flag_checks.h"
#include "kernelscope/benchmark.h"
#include "kernelscope/error.h"

namespace ks::cli {
namespace {

struct Row {
  const BenchProblem* problem;
  std::string backend;
  BenchResult result;
  double speedup = 0;  // over cpu-ref; 0 when cpu-ref did not run this problem
};

std::vector<std::string> split_commas(const std::string& text) {
  std::vector<std::string> parts;
  std::stringstream stream(text);
  for (std::string part; std::getline(stream, part, ',');)
    if (!part.empty()) parts.push_back(part);
  return parts;
}

std::string json_escape(const std::string& s) {
  std::string out;
  for (char c : s) {
    if (c == '"' || c == '\\') out += '\\';
    out += c;
  }
  return out;
}

std::string json_shape(const Shape& shape) {
  std::string s = "[";
  for (size_t i = 0; i < shape.size(); ++i) s += (i ? ", " : "") + std::to_string(shape[i]);
  return s + "]";
}

std::string json_params(const BenchProblem& p) {
  char buf[256];
  if (p.op == OpKind::Conv)
    std::snprintf(
        buf, sizeof buf,
        "\"conv\": {\"in_channels\": %lld, \"out_channels\": %lld, \"kernel_size\": %lld, "
        "\"stride\": %lld, \"padding\": %lld, \"dilation\": %lld, \"groups\": %lld, "
        "\"bias\": %s}",
        (long long)p.conv.in_channels, (long long)p.conv.out_channels,
        (long long)p.conv.kernel_size, (long long)p.conv.stride, (long long)p.conv.padding,
        (long long)p.conv.dilation, (long long)p.conv.groups, p.conv.has_bias ? "true" : "false");
  else
    std::snprintf(buf, sizeof buf,
                  "\"involution\": {\"channels\": %lld, \"kernel_size\": %lld, \"stride\": %lld, "
                  "\"dilation\": %lld, \"group_channels\": %lld, \"reduction\": %lld}",
                  (long long)p.involution.channels, (long long)p.involution.kernel_size,
                  (long long)p.involution.stride, (long long)p.involution.dilation,
                  (long long)p.involution.group_channels, (long long)p.involution.reduction);
  return buf;
}

// The generated kernels a problem asks for; conv generates none.
const char* problem_kernels(const BenchProblem& p) {
  return p.op == OpKind::Conv ? "none" : kernels_mode_name(p.kernels);
}

// "problem", "op", "input", the operator's parameters and "kernels": what identifies a problem
// in both the results and --list.
std::string json_problem(const BenchProblem& p) {
  return "\"problem\": \"" + json_escape(p.name) + "\", \"op\": \"" +
         (p.op == OpKind::Conv ? "conv2d" : "involution2d") +
         "\", \"input\": " + json_shape(p.input) + ", " + json_params(p) + ", \"kernels\": \"" +
         problem_kernels(p) + "\"";
}

void print_json(const std::vector<Row>& rows, const std::vector<Backend*>& backends) {
  std::printf("{\n  \"backends\": [");
  for (size_t i = 0; i < backends.size(); ++i)
    std::printf("%s{\"name\": \"%s\", \"description\": \"%s\"}", i ? ", " : "",
                json_escape(backends[i]->name()).c_str(),
                json_escape(backends[i]->description()).c_str());
  std::printf("],\n  \"results\": [\n");
  for (size_t i = 0; i < rows.size(); ++i) {
    const Row& r = rows[i];
    const BenchProblem& p = *r.problem;
    std::printf(
        "    {%s, \"backend\": \"%s\", "
        "\"median_ms\": %.4f, \"min_ms\": %.4f, \"runs\": %d, \"flops\": %.0f, \"gflops\": %.3f, "
        "\"kernel_generation_ms\": %.4f, \"aggregation_ms\": %.4f, \"speedup_vs_cpu_ref\": %s}%s\n",
        json_problem(p).c_str(), json_escape(r.backend).c_str(), r.result.median_ms,
        r.result.min_ms, r.result.runs, problem_flops(p), r.result.gflops,
        r.result.stages.kernel_generation_ms, r.result.stages.aggregation_ms,
        r.speedup > 0 ? std::to_string(r.speedup).c_str() : "null", i + 1 < rows.size() ? "," : "");
  }
  std::printf("  ]\n}\n");
}

void print_table(const std::vector<Row>& rows, const std::vector<Backend*>& backends) {
  for (Backend* b : backends)
    std::printf("%-10s %s\n", b->name().c_str(), b->description().c_str());
  std::printf("\n%-24s %-36s %-9s %10s %9s %9s %9s %9s\n", "problem", "shape", "backend", "ms",
              "GFLOP/s", "gen ms", "agg ms", "vs ref");
  for (const Row& r : rows) {
    const bool inv = r.problem->op == OpKind::Involution;
    char gen[16] = "", agg[16] = "", speedup[16] = "-";
    if (inv) {
      std::snprintf(gen, sizeof gen, "%.2f", r.result.stages.kernel_generation_ms);
      std::snprintf(agg, sizeof agg, "%.2f", r.result.stages.aggregation_ms);
    }
    if (r.speedup > 0) std::snprintf(speedup, sizeof speedup, "%.1fx", r.speedup);
    std::printf("%-24s %-36s %-9s %10.3f %9.1f %9s %9s %9s\n", r.problem->name.c_str(),
                describe_problem(*r.problem).c_str(), r.backend.c_str(), r.result.median_ms,
                r.result.gflops, gen, agg, speedup);
  }
}

// --list: the problems a run would time, untimed.
void print_problems(const std::vector<const BenchProblem*>& problems, bool json) {
  if (json) {
    std::printf("{\n  \"problems\": [\n");
    for (size_t i = 0; i < problems.size(); ++i)
      std::printf("    {%s, \"flops\": %.0f, \"small\": %s}%s\n",
                  json_problem(*problems[i]).c_str(), problem_flops(*problems[i]),
                  problems[i]->small ? "true" : "false", i + 1 < problems.size() ? "," : "");
    std::printf("  ]\n}\n");
    return;
  }
  std::printf("%-24s %-36s %-7s %s\n", "problem", "shape", "kernels", "GFLOP");
  for (const BenchProblem* p : problems)
    std::printf("%-24s %-36s %-7s %.2f\n", p->name.c_str(), describe_problem(*p).c_str(),
                problem_kernels(*p), problem_flops(*p) * 1e-9);
}

// --problem TEXT picks every problem whose name contains TEXT, or only the problem named TEXT
// exactly: "inv 1080p K7" is part of "inv 1080p K7 gc1 screen" too.
std::vector<const BenchProblem*> select_problems(const std::string& filter, bool quick) {
  bool exact = false;
  for (const BenchProblem& p : standard_problems()) exact = exact || p.name == filter;
  std::vector<const BenchProblem*> picked;
  for (const BenchProblem& p : standard_problems())
    if ((exact ? p.name == filter : p.name.find(filter) != std::string::npos) &&
        (!quick || p.small))
      picked.push_back(&p);
  return picked;
}

}  // namespace

int bench_command(int argc, char** argv) {
  CLI::App app{"Time every available backend on the standard problems (median of repeats)."};
  app.name("kernelscope bench");
  std::string backend_list = "all";
  std::string problem_filter;
  int repeats = 5;
  bool json = false, quick = false, all = false, list = false;
  app.add_option("--backend", backend_list,
                 "Backends to time, comma-separated (default: all available)");
  add_device_option(app);
  app.add_option("--repeats", repeats, "Timed runs per problem, after one warm-up")
      ->check(integer_in(1, 1000));
  app.add_option("--problem", problem_filter,
                 "Only problems whose name contains this text (or the one named exactly so)");
  app.add_flag("--list", list, "List the selected problems and their parameters; time nothing");
  app.add_flag("--json", json, "Print JSON instead of a table");
  app.add_flag("--quick", quick, "Small problems only, at most 3 repeats");
  app.add_flag("--all", all, "Run cpu-ref on the large problems too (minutes)");
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return exit_on_parse_error(app, e);
  }

  try {
    const std::vector<const BenchProblem*> problems = select_problems(problem_filter, quick);
    if (list) {
      print_problems(problems, json);
      return 0;
    }
    std::vector<Backend*> backends;
    if (backend_list == "all") {
      for (const std::string& name : backend_names())
        if (find_backend(name)->available()) backends.push_back(find_backend(name));
    } else {
      for (const std::string& name : split_commas(backend_list))
        backends.push_back(&select_backend(name));
    }
    keep_freed_memory_for_reuse();
    const bool progress = !json && isatty(fileno(stderr));

    std::vector<Row> rows;
    for (const BenchProblem* selected : problems) {
      const BenchProblem& problem = *selected;
      double reference_ms = 0;
      std::vector<Row> problem_rows;
      // cpu-ref first, so the faster backends' rows can show their speed-up over it.
      std::vector<Backend*> order;
      for (Backend* b : backends)
        if (b->name() == "cpu-ref")
          order.insert(order.begin(), b);
        else
          order.push_back(b);
      for (Backend* b : order) {
        const bool reference = b->name() == "cpu-ref";
        if (reference && !problem.small && !all) continue;
        const bool supported = problem.op == OpKind::Conv ? b->supports(problem.conv)
                                                          : b->supports(problem.involution);
        if (!supported) continue;
        BenchOptions options;
        options.repeats = quick ? std::min(repeats, 3) : repeats;
        // The reference takes seconds on the large problems: no warm-up, fewer repeats.
        if (reference) {
          options.warmup = 0;
          options.repeats = std::min(options.repeats, 3);
        }
        if (progress)
          std::fprintf(stderr, "  %s on %s...\r", b->name().c_str(), problem.name.c_str());
        Row row{&problem, b->name(), time_problem(*b, problem, options)};
        if (reference) reference_ms = row.result.median_ms;
        problem_rows.push_back(row);
      }
      for (Row& row : problem_rows) {
        if (reference_ms > 0 && row.backend != "cpu-ref")
          row.speedup = reference_ms / row.result.median_ms;
        rows.push_back(row);
      }
    }
    if (progress) std::fprintf(stderr, "%60s\r", "");
    if (json)
      print_json(rows, backends);
    else
      print_table(rows, backends);
    return 0;
  } catch (const Error& e) {
    std::fprintf(stderr, "kernelscope bench: %s\n", e.what());
    return 2;
  }
}

}  // namespace ks::cli
