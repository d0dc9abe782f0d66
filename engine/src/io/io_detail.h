// Helpers shared by the file-format readers and writers: byte-order-independent loads and
// stores, 16-bit float decoding and error-message plumbing. Internal to engine/src/io.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "kernelscope/tensor.h"

namespace ks::io_detail {

// Loads assemble values from bytes, so they are correct whatever the host byte order.
inline uint16_t load_le16(const uint8_t* p) { return static_cast<uint16_t>(p[0] | (p[1] << 8)); }
inline uint32_t load_le32(const uint8_t* p) {
  return uint32_t{p[0]} | uint32_t{p[1]} << 8 | uint32_t{p[2]} << 16 | uint32_t{p[3]} << 24;
}
inline uint64_t load_le64(const uint8_t* p) {
  return uint64_t{load_le32(p)} | uint64_t{load_le32(p + 4)} << 32;
}
inline uint32_t load_be32(const uint8_t* p) {
  return uint32_t{p[3]} | uint32_t{p[2]} << 8 | uint32_t{p[1]} << 16 | uint32_t{p[0]} << 24;
}
inline uint64_t load_be64(const uint8_t* p) {
  return uint64_t{load_be32(p)} << 32 | uint64_t{load_be32(p + 4)};
}

void append_le32(std::vector<uint8_t>& out, uint32_t v);
void append_le64(std::vector<uint8_t>& out, uint64_t v);
// Appends the float32 values little-endian (the byte order both .npy and safetensors use).
void append_floats_le(std::vector<uint8_t>& out, const float* values, size_t count);

float float_from_bits(uint32_t bits);
uint32_t float_bits(float value);
// double -> float with out-of-range values becoming +-inf explicitly (a plain cast of an
// out-of-range double is undefined behaviour in C++).
float narrow_to_float(double value);
float double_from_bits_to_float(uint64_t bits);
// IEEE half precision, including subnormals, infinities and NaN.
float half_to_float(uint16_t bits);
// bfloat16 is the top half of a float32.
float bfloat16_to_float(uint16_t bits);

// Replaces line breaks and other control characters, so messages quoting file contents or a
// third-party parser stay on one line.
std::string one_line(std::string text);

// How large a file may be when the float32 tensors read from it must fit in max_bytes: float64
// sources are twice the size of their float32 result, plus room for headers. The readers
// check the exact tensor size against max_bytes after parsing the header.
int64_t source_file_cap(int64_t max_bytes);

// load_image without the file: what the image fuzzer and load_image share.
Tensor decode_image(const uint8_t* data, size_t size, int64_t max_bytes);

// "path: message" for an error raised while reading `path`.
[[noreturn]] void rethrow_with_path(const std::string& path);

}  // namespace ks::io_detail
