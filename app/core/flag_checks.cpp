#include "core/flag_checks.h"

#include <cerrno>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <sstream>
#include <string>

#include "kernelscope/backend.h"

namespace ks::core {
namespace {

// "1.5", "0.05" and "1e+308" rather than "1.500000" or 300 digits.
std::string short_number(double v) {
  if (v == std::numeric_limits<double>::max()) return "any size";
  std::ostringstream s;
  s.precision(6);
  s << v;
  return s.str();
}

std::string integer_range(int64_t min, int64_t max) {
  if (max == std::numeric_limits<int64_t>::max()) return "a whole number >= " + std::to_string(min);
  return "a whole number from " + std::to_string(min) + " to " + std::to_string(max);
}

}  // namespace

CLI::Validator integer_in(int64_t min, int64_t max) {
  const std::string range = integer_range(min, max);
  return CLI::Validator(
      [min, max, range](std::string& text) -> std::string {
        int64_t value = 0;
        const char* end = text.data() + text.size();
        const auto [ptr, ec] = std::from_chars(text.data(), end, value);
        if (ec == std::errc::result_out_of_range)
          return "must be " + range + ", got " + text + " (too large)";
        if (ec != std::errc() || ptr != end) return "must be " + range + ", got '" + text + "'";
        if (value < min || value > max) return "must be " + range + ", got " + text;
        return {};
      },
      range);
}

CLI::Validator any_seed() {
  return CLI::Validator(
      [](std::string& text) -> std::string {
        uint64_t value = 0;
        const char* end = text.data() + text.size();
        const auto [ptr, ec] = std::from_chars(text.data(), end, value);
        const std::string range = "a whole number from 0 to 18446744073709551615";
        if (ec == std::errc::result_out_of_range)
          return "must be " + range + ", got " + text + " (too large)";
        if (ec != std::errc() || ptr != end) return "must be " + range + ", got '" + text + "'";
        return {};
      },
      "0 to 2^64-1");
}

CLI::Validator number_in(double min, double max) {
  const std::string range = max == std::numeric_limits<double>::max()
                                ? "a finite number >= " + short_number(min)
                                : "a number from " + short_number(min) + " to " + short_number(max);
  return CLI::Validator(
      [min, max, range](std::string& text) -> std::string {
        errno = 0;
        char* end = nullptr;
        const double value = std::strtod(text.c_str(), &end);
        if (text.empty() || end != text.c_str() + text.size())
          return "must be " + range + ", got '" + text + "'";
        if (!std::isfinite(value) || errno == ERANGE || value < min || value > max)
          return "must be " + range + ", got " + text;
        return {};
      },
      range);
}

int exit_on_parse_error(const CLI::App& app, const CLI::ParseError& e) {
  if (e.get_exit_code() == 0) return app.exit(e);  // --help
  std::string what = e.what();
  while (!what.empty() && (what.back() == '\n' || what.back() == ' ')) what.pop_back();
  for (char& c : what)
    if (c == '\n') c = ' ';
  // The app's parser is named after argv[0]; subcommands carry "kernelscope NAME".
  const std::string& name = app.get_name();
  const bool named = name.rfind("kernelscope ", 0) == 0;
  std::fprintf(stderr, "%s: error: %s (see --help)\n", named ? name.c_str() : "kernelscope",
               what.c_str());
  return 2;  // a usage error, as for most Unix tools (CLI11's own codes are 100+)
}

void add_device_option(CLI::App& app) {
  app.add_option_function<int>(
         "--device", [](const int& index) { set_gpu_device(index); },
         "GPU to use, numbered from 0 as nvidia-smi does (default 0)")
      ->check(integer_in(0, 1023));
}

}  // namespace ks::core
