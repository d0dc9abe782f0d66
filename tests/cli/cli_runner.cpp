#include "cli/cli_runner.h"

#include <sys/wait.h>

#include <cstdlib>
#include <fstream>
#include <iterator>

#include "test_util.h"

namespace ks::test {

std::string read_text(const std::filesystem::path& path) {
  std::ifstream in(path);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

int count_lines(const std::string& text) {
  int n = 0;
  for (char c : text) n += c == '\n';
  return n;
}

CommandResult kernelscope(const std::string& args) {
  const TempDir dir("cli_io");
  const std::string cmd = std::string(KS_CLI_PATH) + " " + args + " >" + dir.path + "/out 2>" +
                          dir.path + "/err </dev/null";
  const int status = std::system(cmd.c_str());
  CommandResult r;
  r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  r.out = read_text(dir.path + "/out");
  r.err = read_text(dir.path + "/err");
  return r;
}

}  // namespace ks::test
