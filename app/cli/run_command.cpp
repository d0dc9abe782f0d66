// "kernelscope run": one operator on one input, headless. Writes output.npy (for involution
// also kernels.npy, or kernel_sum.npy with --kernels sum, and kernels_at.npy with
// --kernels-at) plus one colour-mapped PNG per feature map, and prints a one-line summary.
// run.json in --out lists the files written; the next run into the same --out removes those
// of them it does not rewrite, under a lock that keeps two runs from mixing their files.
#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <exception>
#include <filesystem>
#include <mutex>
#include <optional>
#include <sstream>
#include <thread>
#include <vector>

#include "cli/commands.h"
#include "cli/out_dir.h"
#include "cli/plane_pngs.h"
#include "core/flag_checks.h"
#include "core/operator_options.h"
#include "kernelscope/backend.h"
#include "kernelscope/colormap.h"
#include "kernelscope/designed_involution.h"
#include "kernelscope/dispatch.h"
#include "kernelscope/error.h"
#include "kernelscope/io.h"

namespace ks::cli {
namespace {

struct RunResult {
  Tensor output;
  Tensor kernels;     // involution with --kernels full
  Tensor kernel_sum;  // involution with --kernels sum
  StageTimes times;
  double flops = 0;
};

// The operator on the backend dispatch() picks (kernelscope/dispatch.h): a named backend
// that cannot run these parameters is an error, auto picks one that can, and a GPU picked by
// auto that fails at run time hands the work to the CPU.
RunResult compute(const PreparedOperation& op, const std::string& backend_name, KernelsMode mode,
                  Dispatched* dispatched) {
  RunResult r;
  if (op.op == OpKind::Conv) {
    *dispatched = dispatch(backend_name, op.conv, [&](Backend& b) {
      r.output = b.conv2d(op.input, op.conv, op.conv_weights, &r.times);
    });
    r.flops = conv_flops(op.input.shape, op.conv);
  } else {
    *dispatched = dispatch(backend_name, op.involution, [&](Backend& b) {
      InvolutionResult inv =
          b.involution2d(op.input, op.involution, op.involution_weights, &r.times, mode);
      r.output = std::move(inv.output);
      r.kernels = std::move(inv.kernels);
      r.kernel_sum = std::move(inv.kernel_sum);
    });
    r.flops = involution_flops(op.input.shape, op.involution);
  }
  return r;
}

// One PNG per (batch, group) plane of the kernel sum [B, G, H_out, W_out], mapped like the
// feature maps (a sum of taps is signed too).
int write_kernel_sum_pngs(const Tensor& kernel_sum, const std::filesystem::path& dir,
                          std::vector<std::string>* names) {
  const int64_t G = kernel_sum.dim(1);
  const int64_t planes =
      bounded_png_count(kernel_sum.dim(0) * G, "kernel sum maps", "kernel_sum.npy");
  auto name = [G](int64_t i) {
    return "kernel_sum_b" + std::to_string(i / G) + "_g" + std::to_string(i % G) + ".png";
  };
  write_plane_pngs(kernel_sum.ptr(), planes, kernel_sum.dim(2), kernel_sum.dim(3), dir, name);
  for (int64_t i = 0; i < planes; ++i) names->push_back(name(i));
  return static_cast<int>(planes);
}

// The names run gives kernel files: kernels.npy, kernel_sum.npy, kernels_at.npy and the
// kernel_sum_b<b>_g<g>.png planes.
bool is_kernel_file(const std::string& name) {
  const auto ends_with = [&](const std::string& tail) {
    return name.size() >= tail.size() &&
           name.compare(name.size() - tail.size(), tail.size(), tail) == 0;
  };
  return name == "kernels.npy" || name == "kernel_sum.npy" || name == "kernels_at.npy" ||
         (name.rfind("kernel_sum_b", 0) == 0 && ends_with(".png"));
}

// Kernel files an earlier run into the same directory left there and this run did not write:
// a kernels.npy from a full run next to a --kernels none output would read as this run's
// kernels. (Feature PNGs are overwritten plane by plane and left alone.)
void remove_stale_kernel_files(const std::filesystem::path& dir,
                               const std::vector<std::string>& written) {
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator(dir, ec)) {
    const std::string name = entry.path().filename().string();
    if (!is_kernel_file(name) || std::count(written.begin(), written.end(), name)) continue;
    std::filesystem::remove(entry.path(), ec);
    if (ec) throw Error("cannot remove stale " + entry.path().string() + ": " + ec.message());
  }
  if (ec) throw Error("cannot list " + dir.string() + ": " + ec.message());
}

std::string op_name(const PreparedOperation& op) { return op_kind_name(op.op); }

// The command line and the resolved parameters (after presets and weights).
nlohmann::json run_manifest(int argc, char** argv, const PreparedOperation& op,
                            const std::string& backend, KernelsMode mode) {
  nlohmann::json command = nlohmann::json::array();
  for (int i = 0; i < argc; ++i) command.push_back(argv[i]);
  nlohmann::json params;
  if (op.op == OpKind::Conv) {
    const ConvParams& p = op.conv;
    params = {{"in_channels", p.in_channels}, {"out_channels", p.out_channels},
              {"kernel_size", p.kernel_size}, {"stride", p.stride},
              {"padding", p.padding},         {"dilation", p.dilation},
              {"groups", p.groups},           {"bias", p.has_bias}};
  } else {
    const InvolutionParams& p = op.involution;
    params = {{"channels", p.channels},
              {"kernel_size", p.kernel_size},
              {"stride", p.stride},
              {"dilation", p.dilation},
              {"group_channels", p.group_channels},
              {"reduction", p.reduction},
              {"kernels", kernels_mode_name(mode)}};
  }
  params["activation"] = op.relu ? "relu" : "none";
  // Where the weights came from: with the parameters, enough to make the layer again.
  const WeightsSpec& w = op.weights;
  nlohmann::json weights = {{"source", w.source}};
  if (w.source == "file") weights["file"] = w.file;
  if (w.source != "file" && !has_designed_prefix(w.source)) weights["seed"] = w.seed;
  if (w.source == "grid") weights["grid"] = w.grid;
  if (w.variation != 0) weights["variation"] = w.variation;
  params["weights"] = weights;
  return {{"tool", "kernelscope run"},
          {"command", command},
          {"op", op_name(op)},
          {"backend", backend},
          {"input_shape", op.input.shape},
          {"parameters", params}};
}

// The flag's name in front of the engine's one-line message.
template <typename Parse>
auto parse_flag(const char* flag, Parse&& parse) -> decltype(parse()) {
  try {
    return parse();
  } catch (const Error& e) {
    throw Error(std::string(flag) + ": " + e.what());
  }
}

}  // namespace

int run_command(int argc, char** argv) {
  CLI::App app{"Run convolution or involution on an image or .npy array", "kernelscope run"};
  OperatorOptions options;
  std::string out_dir;
  std::string kernels_text = "full";
  std::string kernels_at_text;
  bool json = false;
  bool no_png = false;
  add_operator_options(app, options, /*input_required=*/true);
  app.add_option("--out", out_dir, "output directory (created if missing)")->required();
  auto* kernels_flag = app.add_option(
      "--kernels", kernels_text,
      "involution kernels to write: full (kernels.npy), sum (kernel_sum.npy and its PNGs) or "
      "none");
  auto* kernels_at_flag = app.add_option(
      "--kernels-at", kernels_at_text,
      "involution: write the kernels of these output pixels to kernels_at.npy (\"y,x;y,x\")");
  app.add_flag("--json", json, "print the summary as JSON");
  app.add_flag("--no-png", no_png, "skip the colour-mapped PNGs");
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return exit_on_parse_error(app, e);
  }

  // Both are read before anything is loaded, so a typo fails at once; the mode also sets
  // what the memory cap counts.
  options.kernels = parse_flag("--kernels", [&] { return parse_kernels_mode(kernels_text); });
  std::optional<std::vector<OutputPixel>> kernels_at;
  if (kernels_at_flag->count())
    kernels_at = parse_flag("--kernels-at", [&] { return parse_output_pixels(kernels_at_text); });

  const PreparedOperation op = prepare_operation(options);
  // The op may come from a preset, so only now is it known whether the flags apply.
  if (op.op == OpKind::Conv && kernels_at)
    throw Error("--kernels-at applies to involution (--op involution), not conv");
  if (op.op == OpKind::Conv && kernels_flag->count())
    throw Error("--kernels applies to involution (--op involution), not conv");
  const KernelsMode mode = op.op == OpKind::Conv ? KernelsMode::None : options.kernels;
  if (kernels_at)
    parse_flag("--kernels-at",
               [&] { check_output_pixels(op.input.shape, op.involution, *kernels_at); });
  for (const auto& w : op.warnings) std::fprintf(stderr, "kernelscope: warning: %s\n", w.c_str());
  Dispatched dispatched;
  RunResult result = compute(op, options.backend, mode, &dispatched);
  // The activation (--activation or the scene's) on the output; the kernels are the layer's.
  if (op.relu)
    for (float& v : result.output.data) v = v > 0 ? v : 0.0f;
  if (!dispatched.notice.empty())
    std::fprintf(stderr, "kernelscope: %s\n", dispatched.notice.c_str());
  Backend& backend = *dispatched.backend;
  // A few pixels' kernels, generated apart from the run (the backend's own per-pixel path).
  Tensor pixel_kernels;
  if (kernels_at)
    pixel_kernels =
        backend.involution_kernels_at(op.input, op.involution, op.involution_weights, *kernels_at);

  const std::filesystem::path dir(out_dir);
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) throw Error("cannot create output directory " + out_dir + ": " + ec.message());
  // Held until return: a second run into this --out fails instead of mixing its files in.
  const OutputLock lock(dir, out_dir);
  const std::optional<std::vector<std::string>> previous = previous_run_files(dir, out_dir);
  const nlohmann::json manifest_base = run_manifest(argc, argv, op, backend.name(), mode);
  WriteJournal journal;
  std::vector<std::string> npys = {"output.npy"};
  int pngs = 0;
  try {
    save_npy((dir / "output.npy").string(), result.output);
    for (const auto& [name, tensor] : {std::pair{"kernels.npy", &result.kernels},
                                       {"kernel_sum.npy", &result.kernel_sum},
                                       {"kernels_at.npy", &pixel_kernels}})
      if (!tensor->empty()) {
        save_npy((dir / name).string(), *tensor);
        npys.push_back(name);
      }
    std::vector<std::string> kernel_pngs;
    if (!no_png) {
      pngs += write_feature_pngs(result.output, dir);
      if (!result.kernel_sum.empty())
        pngs += write_kernel_sum_pngs(result.kernel_sum, dir, &kernel_pngs);
    }
  } catch (...) {
    // What this run wrote joins the earlier run's list, so the next run removes it too.
    std::vector<std::string> files = previous.value_or(std::vector<std::string>{});
    for (const auto& name : names_in(dir, journal.paths()))
      if (!std::count(files.begin(), files.end(), name)) files.push_back(name);
    write_manifest(dir, manifest_base, files, /*complete=*/false, /*best_effort=*/true);
    throw;
  }
  const std::vector<std::string> written = names_in(dir, journal.paths());
  if (previous)
    remove_previous_run_files(dir, *previous, written);
  else
    remove_stale_kernel_files(dir, written);  // a directory from before manifests
  write_manifest(dir, manifest_base, written, /*complete=*/true, /*best_effort=*/false);

  const StageTimes& t = result.times;
  const double gflops = t.total_ms > 0 ? result.flops / (t.total_ms * 1e6) : 0.0;
  if (json) {
    nlohmann::json j = {
        {"op", op_name(op)},
        {"backend", backend.name()},
        {"input_shape", op.input.shape},
        {"output_shape", result.output.shape},
        {"kernels", kernels_mode_name(mode)},
        {"activation", op.relu ? "relu" : "none"},
        {"times_ms",
         {{"upload", t.upload_ms},
          {"kernel_generation", t.kernel_generation_ms},
          {"aggregation", t.aggregation_ms},
          {"download", t.download_ms},
          {"total", t.total_ms}}},
        {"gflops", gflops},
        {"out_dir", out_dir},
        {"pngs", pngs},
    };
    if (!result.kernels.empty()) j["kernels_shape"] = result.kernels.shape;
    if (!result.kernel_sum.empty()) j["kernel_sum_shape"] = result.kernel_sum.shape;
    if (!pixel_kernels.empty()) j["kernels_at_shape"] = pixel_kernels.shape;
    if (!dispatched.notice.empty()) j["notice"] = dispatched.notice;
    if (!op.warnings.empty()) j["warnings"] = op.warnings;
    // A path that is not UTF-8 (--out) prints as U+FFFD rather than failing after the work.
    std::printf("%s\n", j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace).c_str());
  } else {
    std::string files = out_dir + "/" + npys[0];
    for (size_t i = 1; i < npys.size(); ++i) files += ", " + npys[i];
    std::printf(
        "%s %s -> %s on %s: kernel generation %.3f ms, aggregation %.3f ms, total %.3f ms "
        "(%.2f GFLOP/s); wrote %s and %d PNGs\n",
        op_name(op).c_str(), shape_to_string(op.input.shape).c_str(),
        shape_to_string(result.output.shape).c_str(), backend.name().c_str(),
        t.kernel_generation_ms, t.aggregation_ms, t.total_ms, gflops, files.c_str(), pngs);
  }
  return 0;
}

}  // namespace ks::cli
