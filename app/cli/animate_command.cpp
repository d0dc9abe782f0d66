// "kernelscope animate": the step-through as slides. Moves the window along a path of output
// pixels and writes one PNG per position (input with the window, the K x K patch, kernel
// and products with their sum, the output map filling in), optionally an animated GIF.
#include <nlohmann/json.hpp>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <memory>

#include "cli/commands.h"
#include "core/flag_checks.h"
#include "core/operator_options.h"
#include "core/preset.h"
#include "kernelscope/backend.h"
#include "kernelscope/dispatch.h"
#include "kernelscope/error.h"
#include "kernelscope/explain.h"
#include "kernelscope/io.h"
#include "kernelscope/notebook_variant.h"
#include "render/font.h"
#include "render/gif.h"
#include "render/slides.h"
#include "render/step_view.h"

namespace ks::cli {
namespace {

namespace fs = std::filesystem;

struct AnimateOptions {
  std::string out_dir;
  std::string gif;
  std::string path = "row";  // pixel | row | all
  std::string pixel;         // "y,x"
  std::string variant;       // paper | notebook; empty: the preset's, else paper
  std::string caption;
  std::string colormap;
  std::string font = render::Font::default_font_path();
  std::string demo;         // directory of presets to step through
  std::string save_preset;  // write the scene as a preset here
  int frames = 12;
  int64_t channel = -1;
  float scale = 1.0f;
  int delay_ms = 600;
  bool json = false;
};

struct Pixel {
  int64_t i = 0, j = 0;
};

Pixel parse_pixel(const std::string& text) {
  Pixel p;
  char extra = 0;
  long long y = -1, x = -1;
  if (std::sscanf(text.c_str(), "%lld,%lld%c", &y, &x, &extra) != 2 || y < 0 || x < 0)
    throw Error("--pixel must be ROW,COLUMN with integers >= 0, got '" + text + "'");
  p.i = y;
  p.j = x;
  return p;
}

// The output pixels the window visits, evenly spaced along the chosen path.
std::vector<Pixel> window_path(const std::string& path, int frames, Pixel start, int64_t H,
                               int64_t W) {
  std::vector<Pixel> out;
  if (path == "pixel") return {start};
  const int64_t count = path == "row" ? W : H * W;
  for (const int64_t step : render::even_positions(count, frames))
    out.push_back(path == "row" ? Pixel{start.i, step} : Pixel{step / W, step % W});
  return out;
}

void apply_relu(Tensor& t) {
  for (float& v : t.data) v = std::max(v, 0.0f);
}

// Everything a frame needs, computed once: the paper's operators or the notebook variant.
struct Scene {
  OpKind op = OpKind::Conv;
  bool is_notebook = false;  // the seed notebook's involution variant (op is Involution)
  Tensor input;
  Tensor output;  // as displayed (after the activation)
  Tensor raw;     // the operator's output (before it), what the sums must equal
  ConvParams conv;
  ConvWeights conv_weights;
  InvolutionParams inv;
  InvolutionWeights inv_weights;
  NotebookVariantParams notebook;
  NotebookVariantResult notebook_result;
};

Scene paper_scene(const OperatorOptions& options) {
  const PreparedOperation op = prepare_operation(options);
  for (const auto& w : op.warnings) std::fprintf(stderr, "kernelscope: warning: %s\n", w.c_str());
  // The reference backend: the step-through's sums are accumulated exactly like it, so the
  // numbers on the slide and the map agree to the last bit.
  Backend* backend = find_backend("cpu-ref");
  if (!backend) throw Error("the cpu-ref backend is missing from this build");
  Scene s;
  s.input = op.input;
  if (op.op == OpKind::Conv) {
    s.conv = op.conv;
    s.conv_weights = op.conv_weights;
    s.raw = backend->conv2d(s.input, s.conv, s.conv_weights, nullptr);
  } else {
    s.op = OpKind::Involution;
    s.inv = op.involution;
    s.inv_weights = op.involution_weights;
    s.raw = backend->involution2d(s.input, s.inv, s.inv_weights, nullptr).output;
  }
  return s;
}

Scene notebook_scene(const OperatorOptions& o, int64_t preset_padding) {
  if (o.op == "conv") throw Error("--variant notebook is an involution variant; drop --op conv");
  check_spec(o, Naming::Flags);  // e.g. a variation, which the notebook's weights do not have
  if (o.weights.source != "random")
    throw Error(
        "the notebook variant uses seeded random weights (--seed); --weights and "
        "--kernel apply to the paper's operators");
  if (o.groups >= 0 || o.dilation >= 0)
    throw Error("the notebook variant has no --groups or --dilation (use --group-channels)");
  Scene s;
  s.op = OpKind::Involution;
  s.is_notebook = true;
  s.input = load_input(o.input, memory_cap_bytes(o.max_memory_mb));
  NotebookVariantParams& p = s.notebook;
  p.channels = s.input.dim(1);
  p.kernel_size = o.kernel_size > 0 ? o.kernel_size : 3;
  p.group_channels = o.group_channels > 0 ? o.group_channels : 1;
  p.reduction = o.reduction > 0 ? o.reduction : 1;
  p.stride = o.stride > 0 ? o.stride : 1;
  p.padding = o.padding >= 0 ? o.padding : std::max<int64_t>(preset_padding, 0);
  notebook_variant_output_shape(s.input.shape, p);  // explains stride > 1 before any work
  check_memory_cap(notebook_variant_memory_bytes(s.input.shape, p),
                   memory_cap_bytes(o.max_memory_mb), "the notebook variant");
  // On cpu-ref, as the paper's scenes: dispatch() names it if it cannot.
  const NotebookVariantWeights weights = random_notebook_variant_weights(p, o.weights.seed);
  dispatch("cpu-ref", p, [&](Backend& b) {
    b.notebook_variant_into(s.input, p, weights, RunOptions{}, &s.notebook_result, nullptr);
  });
  s.raw = s.notebook_result.output;
  return s;
}

render::StepView view_at(const Scene& s, int64_t channel, Pixel px, float* explained) {
  if (s.op == OpKind::Conv) {
    const ConvPixelExplanation e =
        explain_conv_pixel(s.input, s.conv, s.conv_weights, 0, channel, px.i, px.j);
    *explained = e.output;
    return render::conv_step_view(s.input, s.conv, s.conv_weights, s.output, e);
  }
  if (!s.is_notebook) {
    const InvolutionPixelExplanation e =
        explain_involution_pixel(s.input, s.inv, s.inv_weights, 0, channel, px.i, px.j);
    *explained = e.output;
    return render::involution_step_view(s.input, s.inv, s.output, e);
  }
  render::StepView v =
      render::notebook_step_view(s.input, s.notebook, s.notebook_result, 0, channel, px.i, px.j);
  v.output = &s.output;
  *explained = s.notebook_result.output.at(0, channel, px.i, px.j);
  return v;
}

// Renders one scene (the flags, or a preset with the flags on top) into dir. Returns the
// JSON summary. save_preset (may be empty) receives the scene as a preset.
nlohmann::json animate_scene(OperatorOptions options, bool op_given, const AnimateOptions& a,
                             const render::Font& font, const fs::path& dir, render::SlideSink* out,
                             const std::string& save_preset) {
  // --op defaults to conv; a preset or the notebook variant decide it unless it was given.
  if (!op_given && (a.variant == "notebook" || !options.preset.empty())) options.op.clear();
  Preset preset;
  const bool have_preset = !options.preset.empty();
  if (have_preset) preset = load_preset(options.preset);
  const std::string variant = !a.variant.empty() ? a.variant
                              : have_preset      ? preset.variant
                                                 : "paper";
  OperatorOptions resolved = options;
  if (have_preset) {
    resolved = options_from_preset(preset, options.preset, options);
    // Applied here, so the variant can override the preset's; no longer "given" either,
    // or prepare_operation would take the cleared flag for an empty --preset.
    resolved.preset.clear();
    resolved.given.erase("--preset");
  }
  if (resolved.op.empty()) resolved.op = variant == "notebook" ? "involution" : "conv";
  resolved.variant = variant;

  // Everything that can fail on bad input fails before the first file is written.
  Scene scene = variant == "notebook" ? notebook_scene(resolved, have_preset ? preset.padding : -1)
                                      : paper_scene(resolved);
  const std::string activation = resolved.activation;
  scene.output = scene.raw;
  if (activation == "relu") apply_relu(scene.output);
  const int64_t C_out = scene.raw.dim(1), H_out = scene.raw.dim(2), W_out = scene.raw.dim(3);
  const int64_t channel = a.channel >= 0                       ? a.channel
                          : have_preset && preset.channel >= 0 ? preset.channel
                                                               : 0;
  if (channel >= C_out)
    throw Error("--channel " + std::to_string(channel) + " is outside the output's " +
                std::to_string(C_out) + " channels");
  Pixel start{H_out / 2, W_out / 2};
  if (!a.pixel.empty())
    start = parse_pixel(a.pixel);
  else if (have_preset && preset.pixel_y >= 0)
    start = {preset.pixel_y, preset.pixel_x};
  if (start.i >= H_out || start.j >= W_out)
    throw Error("--pixel " + std::to_string(start.i) + "," + std::to_string(start.j) +
                " is outside the " + std::to_string(H_out) + "x" + std::to_string(W_out) +
                " output");
  const std::vector<Pixel> path = window_path(a.path, a.frames, start, H_out, W_out);
  const std::string caption = !a.caption.empty() ? a.caption : have_preset ? preset.caption : "";
  const std::string colormap_name = !a.colormap.empty() ? a.colormap
                                    : have_preset       ? preset.colormap
                                                        : "diverging";

  if (!save_preset.empty()) {
    Preset saved = preset_from_options(resolved, save_preset);
    saved.name = have_preset ? preset.name : fs::path(save_preset).stem().string();
    saved.caption = caption;
    saved.variant = variant;
    if (variant == "notebook") saved.padding = scene.notebook.padding;
    saved.activation = activation;
    saved.colormap = colormap_name;
    saved.pixel_y = start.i;
    saved.pixel_x = start.j;
    saved.channel = channel;
    cli::save_preset(save_preset, saved);
  }

  render::prepare_slide_dir(dir.string());
  out->dir = dir.string();
  nlohmann::json frames = nlohmann::json::array();
  for (size_t f = 0; f < path.size(); ++f) {
    const Pixel px = path[f];
    float explained = 0;
    render::StepView view = view_at(scene, channel, px, &explained);
    const float engine = scene.raw.at(0, channel, px.i, px.j);
    if (std::fabs(explained - engine) > 1e-5f * (1 + std::fabs(engine)))
      std::fprintf(stderr, "kernelscope: warning: explained sum %g differs from the output %g\n",
                   explained, engine);
    if (activation == "relu")
      view.sum_lines.push_back("ReLU → " + render::format_number(std::max(explained, 0.0f), 4));
    view.caption = caption;
    view.colormap = colormap_from_name(colormap_name);
    view.filled = a.path == "pixel" ? -1 : px.i * W_out + px.j + 1;
    const std::string name = render::write_step_slide(view, font, static_cast<int>(f), out);
    // "row"/"col" say which is which; "i"/"j" are the same numbers for existing scripts.
    frames.push_back({{"file", name},
                      {"row", px.i},
                      {"col", px.j},
                      {"i", px.i},
                      {"j", px.j},
                      {"value", explained}});
  }
  nlohmann::json j = {{"op", scene.is_notebook ? "notebook" : op_kind_name(scene.op)},
                      {"variant", variant},
                      {"channel", channel},
                      {"input_shape", scene.input.shape},
                      {"output_shape", scene.raw.shape},
                      {"out_dir", dir.string()},
                      {"frames", frames}};
  if (have_preset) j["preset"] = options.preset;
  if (!caption.empty()) j["caption"] = caption;
  return j;
}

}  // namespace

int animate_command(int argc, char** argv) {
  CLI::App app{"Step the window across the image: PNG frames (and a GIF) for slides",
               "kernelscope animate"};
  OperatorOptions options;
  AnimateOptions a;
  add_operator_options(app, options, /*input_required=*/true);
  app.add_option("--out", a.out_dir, "directory for frame_0000.png ... (created)")->required();
  app.add_option("--gif", a.gif, "also write an animated GIF here");
  app.add_option("--frames", a.frames, "number of window positions along the path")
      ->check(integer_in(1, 1000));
  app.add_option("--path", a.path, "pixel: only --pixel; row: along its row; all: the whole map")
      ->check(CLI::IsMember({"pixel", "row", "all"}));
  app.add_option("--pixel", a.pixel,
                 "output pixel ROW,COLUMN (default: the preset's or the centre)");
  app.add_option("--channel", a.channel, "output channel to explain (default 0)")
      ->check(integer_in(0));
  app.add_option("--variant", a.variant, "involution variant: paper, or notebook (KxK span)")
      ->check(CLI::IsMember({"paper", "notebook"}));
  app.add_option("--caption", a.caption, "caption under the title (default: the preset's)");
  app.add_option("--colormap", a.colormap, "output colormap: diverging, viridis, grey")
      ->check(CLI::IsMember({"diverging", "viridis", "grey"}));
  app.add_option("--scale", a.scale, "frame size: 1 = 1280x720, 1.5 = 1920x1080")
      ->check(number_in(0.5, 4.0));
  app.add_option("--delay-ms", a.delay_ms, "GIF time per frame")->check(integer_in(20, 60000));
  app.add_option("--font", a.font, "TrueType font for the text");
  app.add_option("--demo", a.demo, "demo mode: every preset in this directory, one folder each")
      ->each([&app](const std::string&) { app.get_option("--input")->required(false); });
  app.add_option("--save-preset", a.save_preset, "save this scene as a preset (.json)");
  app.add_flag("--json", a.json,
               "print a JSON summary with each frame's pixel (row, col) and value");
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return exit_on_parse_error(app, e);
  }

  check_flag_values(options);
  const bool op_given = app.get_option("--op")->count() > 0;
  const render::Font font(a.font);  // a missing font fails before any work
  render::SlideSink out;
  out.gif_path = a.gif;
  out.delay_cs = std::max(a.delay_ms / 10, 2);
  out.scale = a.scale;
  nlohmann::json summary;
  if (!a.demo.empty()) {
    if (!a.save_preset.empty()) throw Error("--save-preset saves one scene; drop --demo");
    // Demo mode: every preset of the directory in file-name order, each into its own
    // folder, all into one GIF; flags given here apply to every scene.
    const std::vector<std::string> presets = list_presets(a.demo);
    if (presets.empty()) throw Error("no presets (*.json) in " + a.demo);
    summary["scenes"] = nlohmann::json::array();
    for (const std::string& file : presets) {
      OperatorOptions scene_options = options;
      scene_options.preset = file;
      const fs::path dir = fs::path(a.out_dir) / fs::path(file).stem();
      summary["scenes"].push_back(
          animate_scene(scene_options, op_given, a, font, dir, &out, /*save_preset=*/""));
    }
  } else {
    summary = animate_scene(options, op_given, a, font, a.out_dir, &out, a.save_preset);
  }
  if (out.gif) out.gif->finish();

  if (!a.gif.empty()) summary["gif"] = a.gif;
  if (!a.save_preset.empty()) summary["saved_preset"] = a.save_preset;
  if (a.json) {
    // A path that is not UTF-8 (--out) prints as U+FFFD rather than failing after the work.
    std::printf("%s\n",
                summary.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace).c_str());
    return 0;
  }
  const nlohmann::json scenes =
      summary.contains("scenes") ? summary["scenes"] : nlohmann::json::array({summary});
  for (const auto& s : scenes)
    std::printf("%s %s -> %s, channel %lld: wrote %zu frames to %s\n",
                s["op"].get<std::string>().c_str(),
                shape_to_string(s["input_shape"].get<Shape>()).c_str(),
                shape_to_string(s["output_shape"].get<Shape>()).c_str(),
                static_cast<long long>(s["channel"].get<int64_t>()), s["frames"].size(),
                s["out_dir"].get<std::string>().c_str());
  if (!a.gif.empty()) std::printf("wrote %s\n", a.gif.c_str());
  if (!a.save_preset.empty()) std::printf("saved the scene as %s\n", a.save_preset.c_str());
  return 0;
}

}  // namespace ks::cli
