// Entry points of the command-line front end, one per subcommand.
#pragma once

namespace ks::core {}

namespace ks::cli {

// The subcommands are front ends over app/core (operator options, presets, prepare): they
// name its types as their own.
using namespace ks::core;

// Dispatches "kernelscope <subcommand> ...": run, bench, selftest.
int run_subcommand(int argc, char** argv);

// Each gets the arguments after the subcommand name (argv[0] is the subcommand).
int run_command(int argc, char** argv);       // app/cli/run_command.cpp
int bench_command(int argc, char** argv);     // app/cli/bench_command.cpp
int selftest_command(int argc, char** argv);  // app/cli/selftest_command.cpp
int learn_command(int argc, char** argv);     // app/cli/learn_command.cpp
int animate_command(int argc, char** argv);   // app/cli/animate_command.cpp

}  // namespace ks::cli
