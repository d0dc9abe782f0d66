// Temporary weak definitions so the binary links while the bench, selftest and app
// commands are being written; the real definitions replace them. Removed before release.
#include <cstdio>

#include "cli/commands.h"
namespace ks::cli {
__attribute__((weak)) int bench_command(int, char**) {
  std::fprintf(stderr, "bench: not built yet\n");
  return 2;
}
__attribute__((weak)) int selftest_command(int, char**) {
  std::fprintf(stderr, "selftest: not built yet\n");
  return 2;
}
__attribute__((weak)) int run_app(int, char**) {
  std::fprintf(stderr, "app: not built yet\n");
  return 2;
}
}  // namespace ks::cli
