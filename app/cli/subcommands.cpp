// Dispatch of "kernelscope <subcommand>".
#include <cstdio>
#include <cstring>

#include "cli/commands.h"

namespace ks::cli {

int run_subcommand(int argc, char** argv) {
  const char* name = argv[1];
  // Each subcommand parses its own flags; argv[0] becomes the subcommand's name.
  if (std::strcmp(name, "run") == 0) return run_command(argc - 1, argv + 1);
  if (std::strcmp(name, "bench") == 0) return bench_command(argc - 1, argv + 1);
  if (std::strcmp(name, "selftest") == 0) return selftest_command(argc - 1, argv + 1);
  if (std::strcmp(name, "animate") == 0) return animate_command(argc - 1, argv + 1);
  if (std::strcmp(name, "learn") == 0) return learn_command(argc - 1, argv + 1);
  if (std::strcmp(name, "help") == 0) {
    std::printf(
        "usage: kernelscope [app options]          open the desktop app\n"
        "       kernelscope run --op conv|involution --input FILE --out DIR [...]\n"
        "       kernelscope bench [--backend NAME] [--json]\n"
        "       kernelscope selftest                 every backend against the reference\n"
        "       kernelscope animate --op ... --out DIR [--gif FILE]   step-through frames\n"
        "       kernelscope learn --op conv|involution --input FILE --target NAME|FILE --steps N\n"
        "                         --out DIR [--lr X] [--optimizer adam|sgd]   fit weights\n"
        "Run any of them with --help for their options.\n");
    return 0;
  }
  std::fprintf(stderr,
               "kernelscope: error: unknown command '%s' (use run, bench, selftest, animate, learn "
               "or help)\n",
               name);
  return 2;
}

}  // namespace ks::cli
