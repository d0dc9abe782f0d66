// kernelscope: subcommands run headless (run, bench, selftest, ...); anything else opens the
// desktop app. Errors surface here as one line and a nonzero exit.
#include <cstdio>
#include <cstring>
#include <exception>
#include <new>
#include <stdexcept>

#include "cli/commands.h"
#include "gui/run_app.h"
#include "kernelscope/benchmark.h"

int main(int argc, char** argv) {
  try {
    if (argc >= 2 && argv[1][0] != '-') return ks::cli::run_subcommand(argc, argv);
    // The app recomputes on every parameter change: reusing freed blocks instead of getting
    // fresh pages from the OS each time keeps large jobs (1080p involution) from paying the
    // page-zeroing cost again and again.
    ks::keep_freed_memory_for_reuse();
    return ks::app::run_app(argc, argv);
  } catch (const std::bad_alloc& e) {
    // Whatever --max-memory-mb lets through can still exceed what the machine has.
    std::fprintf(stderr,
                 "kernelscope: error: out of memory (%s); lower --max-memory-mb to "
                 "refuse such problems up front\n",
                 e.what());
    return 1;
  } catch (const std::length_error& e) {
    // A container asked for more elements than it can index: a size no memory could hold.
    std::fprintf(stderr, "kernelscope: error: out of memory (%s: a buffer larger than memory)\n",
                 e.what());
    return 1;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "kernelscope: error: %s\n", e.what());
    return 1;
  }
}
