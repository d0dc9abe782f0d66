// "kernelscope learn": fit a convolution or an involution to a target output (engine:
// kernelscope/learn.h, targets.h). Writes weights.safetensors (PyTorch state_dict names),
// loss.csv, output.npy and the output's PNGs into --out, with learn.json listing them under
// the same lock and manifest rules as "kernelscope run".
#include <unistd.h>
#include <nlohmann/json.hpp>

#include <cmath>
#include <cstdio>
#include <filesystem>
#include <string>

#include "cli/commands.h"
#include "cli/out_dir.h"
#include "cli/plane_pngs.h"
#include "core/flag_checks.h"
#include "core/learn_target.h"
#include "core/operator_options.h"
#include "core/preset.h"
#include "kernelscope/designed_involution.h"
#include "kernelscope/error.h"
#include "kernelscope/io.h"
#include "kernelscope/kernel_presets.h"
#include "kernelscope/learn.h"
#include "kernelscope/targets.h"

namespace ks::cli {
namespace {

constexpr const char* kLearnManifest = "learn.json";

// The grid a computed target lives on: the layer's K, stride and dilation (targets.h).
targets::TargetGrid learn_grid(const PreparedOperation& op) {
  targets::TargetGrid grid;
  if (op.op == OpKind::Conv) {
    grid.kernel_size = op.conv.kernel_size;
    grid.stride = op.conv.stride;
    grid.dilation = op.conv.dilation;
  } else {
    grid.kernel_size = op.involution.kernel_size;
    grid.stride = op.involution.stride;
    grid.dilation = op.involution.dilation;
  }
  return grid;
}

Shape output_shape(const PreparedOperation& op) {
  return op.op == OpKind::Conv ? conv_output_shape(op.input.shape, op.conv)
                               : involution_output_shape(op.input.shape, op.involution);
}

// --target NAME or FILE, checked against the output's shape.
Tensor make_target(const std::string& name, const std::string& mask_path,
                   const PreparedOperation& op) {
  return make_learn_target(name, mask_path, op.input, learn_grid(op), output_shape(op));
}

// A bar on stderr, redrawn in place, only when stderr is a terminal.
class ProgressBar {
 public:
  explicit ProgressBar(int64_t steps) : steps_(steps), shown_(::isatty(2) == 1) {}
  void update(int64_t step, double loss) {
    if (!shown_ || (step % 10 != 0 && step != steps_)) return;
    constexpr int kWidth = 30;
    const int filled = steps_ > 0 ? static_cast<int>(kWidth * step / steps_) : kWidth;
    std::fprintf(stderr, "\r[%s%s] %lld/%lld loss %.6g", std::string(filled, '#').c_str(),
                 std::string(kWidth - filled, '.').c_str(), static_cast<long long>(step),
                 static_cast<long long>(steps_), loss);
    if (step == steps_) std::fprintf(stderr, "\n");
  }
  void finish() {
    if (shown_) std::fprintf(stderr, "\n");
  }

 private:
  int64_t steps_;
  bool shown_;
};

std::string loss_csv(const std::vector<double>& losses) {
  std::string text = "step,loss\n";
  char line[64];
  for (size_t i = 0; i < losses.size(); ++i) {
    std::snprintf(line, sizeof line, "%zu,%.9g\n", i, losses[i]);
    text += line;
  }
  return text;
}

// The "kernelscope run" line that gives the learned output again: the weights file fixes
// the channels and K, the geometry must be repeated.
std::string reproduce_command(const PreparedOperation& op, const OperatorOptions& o,
                              const std::string& out_dir) {
  std::string line = "kernelscope run --op " + std::string(op_kind_name(op.op)) + " --input " +
                     o.input + " --weights " + out_dir + "/weights.safetensors";
  if (op.op == OpKind::Conv)
    line += " --stride " + std::to_string(op.conv.stride) + " --padding " +
            std::to_string(op.conv.padding) + " --dilation " + std::to_string(op.conv.dilation) +
            " --groups " + std::to_string(op.conv.groups);
  else
    line += " --kernel-size " + std::to_string(op.involution.kernel_size) + " --stride " +
            std::to_string(op.involution.stride) + " --dilation " +
            std::to_string(op.involution.dilation);
  return line;
}

}  // namespace

int learn_command(int argc, char** argv) {
  CLI::App app{"Fit a convolution or involution to a target output", "kernelscope learn"};
  OperatorOptions options;
  std::string out_dir, target_name, mask_path, optimizer_text = "adam", start_text;
  int64_t steps = 0;
  double lr = 0.01;
  bool json = false, no_png = false;
  add_operator_options(app, options, /*input_required=*/true);
  app.add_option(
      "--target", target_name,
      "gaussian, box, sobel_x, sobel_y, sharpen, laplacian, emboss, identity, "
      "bilateral, masked_blur, designed:NAME, or a target file (.npy of the "
      "output's shape, or an image); a --preset scene's \"learn\" field gives a default");
  app.add_option("--mask", mask_path, "masked_blur: mask image (default: the input's brightness)");
  app.add_option("--steps", steps, "optimiser steps (default: the --preset scene's)")
      ->check(integer_in(0, 1000000));
  app.add_option("--lr", lr, "learning rate (default 0.01)")->check(number_in(-1e300, 1e300));
  app.add_option("--optimizer", optimizer_text, "adam (default) or sgd");
  app.add_option("--start", start_text,
                 "involution: identity (every kernel starts as the identity, BN calibrated on "
                 "the input; docs/learn.md) or given (the weights as they are); default: the "
                 "--preset scene's, else given with --weights, identity otherwise");
  app.add_option("--out", out_dir, "output directory (created if missing)")->required();
  app.add_flag("--json", json, "print the losses and speed as JSON");
  app.add_flag("--no-png", no_png, "skip the colour-mapped PNGs");
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return exit_on_parse_error(app, e);
  }
  // A learn scene (preset.h) fills the target, steps and rate the flags leave open.
  if (!options.preset.empty()) {
    const Preset scene = load_preset(options.preset);
    if (scene.learn.present) {
      if (target_name.empty()) target_name = scene.learn.target;
      if (app.count("--steps") == 0) steps = scene.learn.steps;
      if (app.count("--lr") == 0) lr = scene.learn.lr;
      if (start_text.empty()) start_text = scene.learn.start;
    }
  }
  if (target_name.empty())
    throw Error("--target is required (or a --preset scene with a \"learn\" field)");
  if (app.count("--steps") == 0 && steps == 0)
    throw Error("--steps is required (or a --preset scene with a \"learn\" field)");
  learn::FitSettings settings;
  settings.steps = steps;
  settings.optimizer.lr = lr;
  settings.optimizer.kind = learn::parse_optimizer(optimizer_text);
  if (!(lr > 0)) {
    char shown[32];
    std::snprintf(shown, sizeof shown, "%g", lr);
    throw Error(std::string("--lr must be a positive number, got ") + shown);
  }
  // Weights from a file are a place to go on from; seeded random ones are only a start, and
  // from PyTorch's default initialisation the generator's units tend to die (learn.h).
  if (start_text.empty()) start_text = options.weights.source == "file" ? "given" : "identity";
  const learn::InvolutionStart start = learn::parse_involution_start(start_text);
  if (!mask_path.empty() && target_name != "masked_blur")
    throw Error("--mask applies to --target masked_blur only");

  // Learning defaults where no flag or weights file decides: a convolution keeps the channel
  // count and "same" padding, so the computed targets and the output line up.
  if (options.weights.source != "file" && options.preset.empty()) {
    if (options.op == "conv" && options.out_channels < 0 && !options.input.empty())
      options.out_channels = load_input(options.input).dim(1);
    if (options.op == "conv" && options.padding < 0) {
      const int64_t k = options.kernel_size > 0 ? options.kernel_size : kDefaultKernelSize;
      options.padding = (options.dilation > 0 ? options.dilation : 1) * (k - 1) / 2;
    }
  }
  PreparedOperation op = prepare_operation(options);
  if (op.relu && options.was_given("--activation"))
    throw Error("--activation applies to run, animate and the app; learn fits the layer itself");
  for (const auto& w : op.warnings) std::fprintf(stderr, "kernelscope: warning: %s\n", w.c_str());
  const Tensor target = make_target(target_name, mask_path, op);
  if (app.count("--start") > 0 && op.op == OpKind::Conv)
    throw Error("--start applies to --op involution only");
  if (start == learn::InvolutionStart::Identity && op.op == OpKind::Involution)
    learn::apply_identity_start(op.input, op.involution, &op.involution_weights);

  ProgressBar bar(steps);
  settings.on_step = [&bar](int64_t step, double loss) { bar.update(step, loss); };
  const learn::FitResult result =
      op.op == OpKind::Conv ? learn::fit_conv(op.input, op.conv, &op.conv_weights, target, settings)
                            : learn::fit_involution(op.input, op.involution, &op.involution_weights,
                                                    target, settings);
  if (result.diverged()) bar.finish();

  const std::filesystem::path dir(out_dir);
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) throw Error("cannot create output directory " + out_dir + ": " + ec.message());
  const OutputLock lock(dir, out_dir);
  const auto previous = previous_run_files(dir, out_dir, kLearnManifest);
  nlohmann::json command = nlohmann::json::array();
  for (int i = 0; i < argc; ++i) command.push_back(argv[i]);
  nlohmann::json manifest = {
      {"tool", "kernelscope learn"},
      {"command", command},
      {"op", op_kind_name(op.op)},
      {"target", target_name},
      {"start", op.op == OpKind::Involution ? learn::involution_start_name(start) : "given"},
      {"steps", steps},
      {"reproduce", reproduce_command(op, options, out_dir)}};
  WriteJournal journal;
  try {
    const TensorMap weights =
        op.op == OpKind::Conv ? conv_weights_to_tensors(op.conv_weights)
                              : involution_weights_to_tensors(op.involution, op.involution_weights);
    save_safetensors((dir / "weights.safetensors").string(), weights);
    const std::string csv = loss_csv(result.losses);
    write_file_atomically((dir / "loss.csv").string(), csv.data(), csv.size());
    if (!result.output.empty()) {
      save_npy((dir / "output.npy").string(), result.output);
      if (!no_png) write_feature_pngs(result.output, dir);
    }
  } catch (...) {
    std::vector<std::string> files = previous.value_or(std::vector<std::string>{});
    for (const auto& name : names_in(dir, journal.paths()))
      if (!std::count(files.begin(), files.end(), name)) files.push_back(name);
    write_manifest(dir, manifest, files, false, true, kLearnManifest);
    throw;
  }
  const std::vector<std::string> written = names_in(dir, journal.paths());
  if (previous) remove_previous_run_files(dir, *previous, written);
  write_manifest(dir, manifest, written, true, false, kLearnManifest);

  // A run that diverged still wrote the last finite weights; it says where it stopped.
  if (result.diverged() && result.losses.empty()) {
    std::fprintf(stderr,
                 "kernelscope learn: error: the starting weights already give a NaN or Inf "
                 "loss; nothing was learned\n");
    return 1;
  }
  if (result.diverged()) {
    std::fprintf(stderr,
                 "kernelscope learn: error: the loss became NaN or Inf at step %lld; kept the "
                 "weights of step %lld (loss %.6g) in %s/weights.safetensors\n",
                 static_cast<long long>(result.diverged_at_step),
                 static_cast<long long>(result.diverged_at_step - 1), result.final_loss(),
                 out_dir.c_str());
    return 1;
  }
  const int64_t done = static_cast<int64_t>(result.losses.size()) - 1;
  const double steps_per_s = result.seconds > 0 ? static_cast<double>(done) / result.seconds : 0;
  if (json) {
    const nlohmann::json j = {{"initial_loss", result.initial_loss()},
                              {"final_loss", result.final_loss()},
                              {"steps", done},
                              {"steps_per_s", steps_per_s}};
    // A path that is not UTF-8 (--out) prints as U+FFFD rather than failing after the work.
    std::printf("%s\n", j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace).c_str());
  } else {
    std::printf(
        "%s on %s: loss %.6g -> %.6g in %lld steps (%.1f steps/s); wrote %s/weights.safetensors\n",
        op_kind_name(op.op), target_name.c_str(), result.initial_loss(), result.final_loss(),
        static_cast<long long>(done), steps_per_s, out_dir.c_str());
  }
  return 0;
}

}  // namespace ks::cli
