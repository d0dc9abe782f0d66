// "kernelscope run": one operator on one input, headless. Writes output.npy (and kernels.npy
// for involution) plus one colour-mapped PNG per feature map, and prints a one-line summary.
#include <nlohmann/json.hpp>

#include <cstdio>
#include <filesystem>
#include <sstream>

#include "cli/commands.h"
#include "cli/operator_options.h"
#include "kernelscope/backend.h"
#include "kernelscope/colormap.h"
#include "kernelscope/error.h"
#include "kernelscope/io.h"

namespace ks::cli {
namespace {

struct RunResult {
  Tensor output;
  Tensor kernels;  // involution only
  StageTimes times;
  double flops = 0;
};

RunResult compute(const PreparedOperation& op, Backend& backend) {
  RunResult r;
  if (op.op == OpKind::Conv) {
    if (!backend.supports(op.conv))
      throw Error("backend '" + backend.name() + "' does not support these conv parameters");
    r.output = backend.conv2d(op.input, op.conv, op.conv_weights, &r.times);
    r.flops = conv_flops(op.input.shape, op.conv);
  } else {
    if (!backend.supports(op.involution))
      throw Error("backend '" + backend.name() + "' does not support these involution parameters");
    InvolutionResult inv =
        backend.involution2d(op.input, op.involution, op.involution_weights, &r.times);
    r.output = std::move(inv.output);
    r.kernels = std::move(inv.kernels);
    r.flops = involution_flops(op.input.shape, op.involution);
  }
  return r;
}

// One PNG per (batch, channel) plane, diverging colormap symmetric about 0 so the sign of
// each value is visible.
int write_feature_pngs(const Tensor& output, const std::filesystem::path& dir) {
  const int64_t B = output.dim(0), C = output.dim(1), H = output.dim(2), W = output.dim(3);
  int written = 0;
  for (int64_t b = 0; b < B; ++b)
    for (int64_t c = 0; c < C; ++c) {
      const float* plane = output.ptr() + (b * C + c) * H * W;
      const ValueRange range = plane_range(plane, H * W, /*symmetric=*/true);
      const auto rgb = colorize_plane(plane, W, H, Colormap::Diverging, range);
      const std::string name = "feature_b" + std::to_string(b) + "_c" + std::to_string(c) + ".png";
      save_png_rgb((dir / name).string(), static_cast<int>(W), static_cast<int>(H), rgb);
      ++written;
    }
  return written;
}

std::string op_name(const PreparedOperation& op) {
  return op.op == OpKind::Conv ? "conv" : "involution";
}

}  // namespace

int run_command(int argc, char** argv) {
  CLI::App app{"Run convolution or involution on an image or .npy array", "kernelscope run"};
  OperatorOptions options;
  std::string out_dir;
  bool json = false;
  bool no_png = false;
  add_operator_options(app, options, /*input_required=*/true);
  app.add_option("--out", out_dir, "output directory (created if missing)")->required();
  app.add_flag("--json", json, "print the summary as JSON");
  app.add_flag("--no-png", no_png, "skip the colour-mapped PNG of every feature map");
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  }

  const PreparedOperation op = prepare_operation(options);
  for (const auto& w : op.warnings) std::fprintf(stderr, "kernelscope: warning: %s\n", w.c_str());
  std::string notice;
  Backend* picked = &select_backend(options.backend, &notice);
  // "auto" hands parameters its pick cannot take (cpu: huge dilations) to cpu-ref, as the
  // app does; a backend named on the command line is refused in compute instead.
  if (options.backend == "auto" &&
      !(op.op == OpKind::Conv ? picked->supports(op.conv) : picked->supports(op.involution))) {
    notice += (notice.empty() ? "" : "; ") + picked->name() +
              " does not support these parameters; using cpu-ref";
    picked = find_backend("cpu-ref");
  }
  // A GPU picked by "auto" that fails at run time (out of GPU memory, say) hands the work
  // to the CPU with a notice; a backend named on the command line reports the error.
  Backend* used = picked;
  const RunResult result =
      run_with_cpu_fallback(*picked, options.backend == "auto", &notice, [&](Backend& b) {
        used = &b;
        return compute(op, b);
      });
  if (!notice.empty()) std::fprintf(stderr, "kernelscope: %s\n", notice.c_str());
  Backend& backend = *used;

  const std::filesystem::path dir(out_dir);
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) throw Error("cannot create output directory " + out_dir + ": " + ec.message());
  save_npy((dir / "output.npy").string(), result.output);
  if (!result.kernels.empty()) save_npy((dir / "kernels.npy").string(), result.kernels);
  const int pngs = no_png ? 0 : write_feature_pngs(result.output, dir);

  const StageTimes& t = result.times;
  const double gflops = t.total_ms > 0 ? result.flops / (t.total_ms * 1e6) : 0.0;
  if (json) {
    nlohmann::json j = {
        {"op", op_name(op)},
        {"backend", backend.name()},
        {"input_shape", op.input.shape},
        {"output_shape", result.output.shape},
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
    if (!notice.empty()) j["notice"] = notice;
    if (!op.warnings.empty()) j["warnings"] = op.warnings;
    std::printf("%s\n", j.dump().c_str());
  } else {
    std::printf(
        "%s %s -> %s on %s: kernel generation %.3f ms, aggregation %.3f ms, total %.3f ms "
        "(%.2f GFLOP/s); wrote %s/output.npy%s and %d PNGs\n",
        op_name(op).c_str(), shape_to_string(op.input.shape).c_str(),
        shape_to_string(result.output.shape).c_str(), backend.name().c_str(),
        t.kernel_generation_ms, t.aggregation_ms, t.total_ms, gflops, out_dir.c_str(),
        result.kernels.empty() ? "" : ", kernels.npy", pngs);
  }
  return 0;
}

}  // namespace ks::cli
