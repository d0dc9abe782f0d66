// Byte-level helpers for the file formats: little-endian stores, float16/bfloat16 decoding and
// one-line error messages.
#include <algorithm>
#include <cmath>
#include <cstring>
#include <exception>
#include <limits>

#include "io/io_detail.h"
#include "kernelscope/error.h"

namespace ks::io_detail {

void append_le32(std::vector<uint8_t>& out, uint32_t v) {
  for (int shift = 0; shift < 32; shift += 8) out.push_back(static_cast<uint8_t>(v >> shift));
}

void append_le64(std::vector<uint8_t>& out, uint64_t v) {
  for (int shift = 0; shift < 64; shift += 8) out.push_back(static_cast<uint8_t>(v >> shift));
}

void append_floats_le(std::vector<uint8_t>& out, const float* values, size_t count) {
  out.reserve(out.size() + count * 4);
  for (size_t i = 0; i < count; ++i) append_le32(out, float_bits(values[i]));
}

float float_from_bits(uint32_t bits) {
  float value;
  std::memcpy(&value, &bits, sizeof value);
  return value;
}

uint32_t float_bits(float value) {
  uint32_t bits;
  std::memcpy(&bits, &value, sizeof bits);
  return bits;
}

float narrow_to_float(double value) {
  constexpr double kMax = std::numeric_limits<float>::max();
  if (value > kMax) return std::numeric_limits<float>::infinity();
  if (value < -kMax) return -std::numeric_limits<float>::infinity();
  return static_cast<float>(value);  // NaN passes through unchanged
}

float double_from_bits_to_float(uint64_t bits) {
  double value;
  std::memcpy(&value, &bits, sizeof value);
  return narrow_to_float(value);
}

float half_to_float(uint16_t bits) {
  const uint32_t sign = static_cast<uint32_t>(bits >> 15) << 31;
  const uint32_t exponent = (bits >> 10) & 0x1f;
  const uint32_t mantissa = bits & 0x3ff;
  if (exponent == 0) {
    // Zero or subnormal: mantissa * 2^-24, exact in float32.
    const float magnitude = std::ldexp(static_cast<float>(mantissa), -24);
    return sign ? -magnitude : magnitude;
  }
  if (exponent == 0x1f)  // infinity (mantissa 0) or NaN, payload kept in the top bits
    return float_from_bits(sign | 0x7f800000u | (mantissa << 13));
  return float_from_bits(sign | ((exponent - 15 + 127) << 23) | (mantissa << 13));
}

float bfloat16_to_float(uint16_t bits) { return float_from_bits(uint32_t{bits} << 16); }

std::string one_line(std::string text) {
  for (char& c : text)
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) c = ' ';
  return text;
}

int64_t source_file_cap(int64_t max_bytes) {
  constexpr int64_t kMax = std::numeric_limits<int64_t>::max();
  if (max_bytes > (kMax - (int64_t{1} << 20)) / 2) return kMax;
  return 2 * std::max<int64_t>(max_bytes, 0) + (int64_t{1} << 20);
}

void rethrow_with_path(const std::string& path) {
  try {
    throw;
  } catch (const Error& e) {
    throw Error(path + ": " + e.what());
  } catch (const std::bad_alloc&) {
    throw Error(path + ": out of memory");
  } catch (const std::exception& e) {
    throw Error(path + ": " + one_line(e.what()));
  }
}

}  // namespace ks::io_detail
