// run_app for builds without GLFW / Dear ImGui: the CLI still works, the app explains itself.
#include <cstdio>

#include "gui/run_app.h"

namespace ks::app {

int run_app(int, char**) {
  std::fprintf(stderr,
               "kernelscope: this build has no desktop app (GLFW/ImGui not found); use "
               "`kernelscope run`\n");
  return 1;
}

}  // namespace ks::app
