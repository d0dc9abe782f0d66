// Runs the real `kernelscope` binary for the CLI tests and captures what it printed.
#pragma once

#include <filesystem>
#include <string>

namespace ks::test {

struct CommandResult {
  int exit_code = -1;
  std::string out;  // stdout
  std::string err;  // stderr
};

// `kernelscope ARGS` with no standard input.
CommandResult kernelscope(const std::string& args);

std::string read_text(const std::filesystem::path& path);
int count_lines(const std::string& text);

}  // namespace ks::test
