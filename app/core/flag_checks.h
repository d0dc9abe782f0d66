// Checks for numeric flags, shared by every subcommand and the app.
//
// CLI11 2.1 converts an integer that does not fit (--seed 99999999999999999999) to the
// type's limit without a word, accepts "nan" for floating-point ranges, and prints ranges
// with 300 digits. These validators read the flag's text themselves, before CLI11 converts
// it, and say the range in words.
#pragma once

#include <CLI/CLI.hpp>
#include <cstdint>
#include <limits>

namespace ks::core {

// A whole number in [min, max], written in decimal.
CLI::Validator integer_in(int64_t min, int64_t max = std::numeric_limits<int64_t>::max());
// Any unsigned 64-bit number: seeds.
CLI::Validator any_seed();
// A finite number in [min, max] (no nan, no inf).
CLI::Validator number_in(double min, double max = std::numeric_limits<double>::max());

// Prints a parse error as one line ("kernelscope run: error: ... (see --help)") and returns
// 2; --help goes through CLI11's own printing and returns 0.
// --device N: which GPU the CUDA backends use (ks::set_gpu_device), for machines with several.
// Applied while parsing, before any backend is asked whether it is available.
void add_device_option(CLI::App& app);

int exit_on_parse_error(const CLI::App& app, const CLI::ParseError& e);

}  // namespace ks::core
