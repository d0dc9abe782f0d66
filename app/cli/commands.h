// Entry points of the command-line front end, one per subcommand.
#pragma once

namespace ks::cli {

// Dispatches "kernelscope <subcommand> ...": run, bench, selftest.
int run_subcommand(int argc, char** argv);
// "kernelscope [app options]": the desktop app, or a clear message where it cannot start.
int run_app(int argc, char** argv);

}  // namespace ks::cli
