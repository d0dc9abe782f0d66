// `kernelscope bench` as its own program, so benchmarks and bench/compare_pytorch.py run
// without the rest of the front end: ks_bench [bench options].
#include "cli/commands.h"

int main(int argc, char** argv) {
  // bench_command expects argv[0] to be the subcommand name.
  static char name[] = "bench";
  argv[0] = name;
  return ks::cli::bench_command(argc, argv);
}
