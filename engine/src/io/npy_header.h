// The .npy header: magic, version, and the Python-dict literal describing dtype and shape.
// Internal to engine/src/io.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

#include "kernelscope/tensor.h"

namespace ks::io_detail {

struct NpyHeader {
  int major_version = 1;
  bool big_endian = false;
  int element_size = 4;  // 4: float32, 8: float64
  Shape shape;
  size_t data_offset = 0;  // where the array bytes start
};

// Validates magic, version, header length and the dict (exactly the keys descr,
// fortran_order and shape). Throws ks::Error without a file name; callers add it.
NpyHeader parse_npy_header(const uint8_t* data, size_t size);

// The header dict for a little-endian float32 C-order array, padded so that the data starts
// at a multiple of 64 bytes, as numpy writes it; includes magic, version and length.
std::string make_npy_header(const Shape& shape);

}  // namespace ks::io_detail
