#include <cstdio>
#include "cli/commands.h"
namespace ks::cli {
int run_subcommand(int, char**) {
  std::fprintf(stderr, "not yet\n");
  return 2;
}
int run_app(int, char**) {
  std::fprintf(stderr, "not yet\n");
  return 2;
}
}  // namespace ks::cli
