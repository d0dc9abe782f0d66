// .npy arrays: float32/float64 in either byte order in, little-endian float32 out.
#include <limits>

#include "io/io_detail.h"
#include "io/npy_header.h"
#include "kernelscope/error.h"
#include "kernelscope/io.h"

namespace ks {

using namespace io_detail;

Tensor parse_npy(const uint8_t* data, size_t size, int64_t max_bytes) {
  const NpyHeader header = parse_npy_header(data, size);
  const int64_t numel = shape_numel(header.shape);
  // Everything below is sized from the header, so check it against the cap and the actual
  // payload before allocating anything.
  if (numel > std::numeric_limits<int64_t>::max() / 8)
    throw Error("npy shape " + shape_to_string(header.shape) + " has too many elements");
  check_memory_cap(numel * 4, max_bytes, "npy array " + shape_to_string(header.shape));
  const uint64_t expected = static_cast<uint64_t>(numel) * header.element_size;
  const uint64_t actual = size - header.data_offset;
  if (actual < expected)
    throw Error("truncated npy data: header says " + std::to_string(expected) +
                " bytes, file has " + std::to_string(actual));
  if (actual > expected)
    throw Error("npy file has " + std::to_string(actual - expected) +
                " trailing bytes after the data (header says " + std::to_string(expected) +
                " bytes, file has " + std::to_string(actual) + ")");

  Tensor tensor;
  tensor.shape = header.shape;
  tensor.data.resize(static_cast<size_t>(numel), 0.0f);
  const uint8_t* p = data + header.data_offset;
  float* out = tensor.data.data();
  const size_t n = static_cast<size_t>(numel);
  if (header.element_size == 4) {
    for (size_t i = 0; i < n; ++i, p += 4)
      out[i] = float_from_bits(header.big_endian ? load_be32(p) : load_le32(p));
  } else {
    for (size_t i = 0; i < n; ++i, p += 8)
      out[i] = double_from_bits_to_float(header.big_endian ? load_be64(p) : load_le64(p));
  }
  return tensor;
}

Tensor load_npy(const std::string& path, int64_t max_bytes) {
  const std::vector<uint8_t> bytes = read_file_bytes(path, source_file_cap(max_bytes));
  try {
    return parse_npy(bytes.data(), bytes.size(), max_bytes);
  } catch (...) {
    rethrow_with_path(path);
  }
}

void save_npy(const std::string& path, const Tensor& tensor) {
  if (shape_numel(tensor.shape) != tensor.numel())
    throw Error(path + ": cannot save a tensor of shape " + shape_to_string(tensor.shape) +
                " holding " + std::to_string(tensor.numel()) + " values");
  const std::string header = make_npy_header(tensor.shape);
  std::vector<uint8_t> bytes(header.begin(), header.end());
  append_floats_le(bytes, tensor.ptr(), tensor.data.size());
  write_file_atomically(path, bytes.data(), bytes.size());
}

}  // namespace ks
