// kernelscope with no subcommand: the desktop app. Parses the app's flags (the operator flags
// of `kernelscope run` plus screenshot/session/window options) and runs the app
// (frame_loop.h). In scripted mode (--screenshot) it renders until the result is on screen,
// saves the window (and panel exports) and exits (scripted.h).
#include "core/flag_checks.h"
#include "core/operator_options.h"
#include "gui/app_options.h"
#include "gui/frame_loop.h"
#include "gui/run_app.h"

namespace ks::app {

int run_app(int argc, char** argv) {
  CLI::App cli{"KernelScope desktop app: convolution and involution, live."};
  cli::AppOptions o;
  add_operator_options(cli, o.op, /*input_required=*/false);
  cli.add_option("--screenshot", o.screenshot,
                 "scripted mode: render until the result is shown, save the window as PNG, exit");
  cli.add_option("--frames", o.frames, "frames to render after the result arrives (scripted)")
      ->check(integer_in(1));
  cli.add_option("--session", o.session, "session JSON to load");
  cli.add_option("--ui-scale", o.ui_scale, "UI scale (HiDPI, projectors)")
      ->check(number_in(0.5, 3.0));
  cli.add_option("--width", o.width, "window width")->check(integer_in(320, 8192));
  cli.add_option("--height", o.height, "window height")->check(integer_in(240, 8192));
  cli.add_option("--export-dir", o.export_dir,
                 "export folder; in scripted mode every panel is exported there");
  cli.add_flag("--compare", o.compare, "convolution and involution side by side");
  cli.add_flag("--relu", o.relu, "apply ReLU after the operation (as --activation relu)");
  cli.add_option("--colormap", o.colormap, "diverging, viridis or grey")
      ->check(CLI::IsMember({"diverging", "viridis", "grey"}));
  cli.add_option("--scale", o.scale, "feature map scaling: map, layer or symmetric")
      ->check(CLI::IsMember({"map", "layer", "symmetric"}));
  cli.add_option("--timeout", o.timeout_s, "scripted mode: give up after this many seconds")
      ->check(number_in(0.1, 86400));
  cli.add_option("--zoom", o.zoom, "scripted mode: input zoom, centred on --pin")
      ->check(number_in(0.05, 256.0));
  cli.add_option("--pin", o.pin,
                 "pin the input pixel at column X, row Y (x first; the app labels it "
                 "\"row Y, col X\")")
      ->expected(2)
      ->check(integer_in(0, 1 << 30));
  cli.add_option("--pin-b", o.pin_b,
                 "a second pin at column X, row Y (with --pin): the Kernels panel compares the two")
      ->expected(2)
      ->check(integer_in(0, 1 << 30));
  cli.add_flag("--race", o.race, "scripted mode: race every backend before the screenshot");
  cli.add_flag("--kernel-field", o.kernel_field, "show the involution kernel field on the input");
  cli.add_option("--variant", o.variant,
                 "involution variant: paper, or notebook (K x K span, no padding)")
      ->check(CLI::IsMember({"paper", "notebook"}));
  cli.add_flag("--step-through", o.step_through, "open the step-through panel (F2)");
  cli.add_flag("--step-compare", o.step_compare,
               "open the step-through on its Compare tab (convolution vs involution)");
  cli.add_flag("--step-export", o.step_export,
               "scripted mode: write the step-through's slides (PNG frames, GIF) to the export "
               "folder");
  cli.add_option("--demo", o.demo,
                 "scripted mode: demo mode over assets/presets, showing N scenes in turn")
      ->check(integer_in(1, 100));
  cli.add_flag("--demo-leave", o.demo_leave,
               "scripted mode: leave demo mode after the --demo scenes (restores the setup)");
  cli.add_option("--scene-order", o.scene_order,
                 "scripted mode: open the scenes of assets/presets in this order (numbers from "
                 "1, comma-separated), logging where each one pins")
      ->delimiter(',')
      ->check(integer_in(1, 1000));
  cli.add_flag("--help-window", o.help_window, "open Help > Guide (F1)");
  cli.add_flag("--present", o.present,
               "start in the presentation view (F11): large text and pictures for a projector");
  cli.add_option("--profile", o.profile,
                 "measure the app: run N recomputes of the given setup (a new seed each), then "
                 "2 s idle; print the job times, the longest frame and the idle CPU use, exit")
      ->check(integer_in(1, 100000));
  cli.add_flag("--json", o.json, "with --profile: print one JSON object");
  cli.add_option("--learn-steps", o.learn_steps,
                 "scripted mode: learn N steps in the Learn panel (a learn scene's target, else "
                 "designed:edge_aware) before the screenshot")
      ->check(integer_in(1, 1000000));
  try {
    cli.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return exit_on_parse_error(cli, e);
  }
  return app::run_desktop_app(o);
}

}  // namespace ks::app
