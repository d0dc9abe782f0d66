// Operator inputs: .npy arrays (recognised by their magic bytes, not the file name) or images,
// always returned as [B, C, H, W].
#include <cstring>

#include "io/io_detail.h"
#include "kernelscope/error.h"
#include "kernelscope/io.h"

namespace ks {

Tensor load_input(const std::string& path, int64_t max_bytes) {
  // One read serves both the format check and the parse: a pipe (--input /dev/stdin) can be
  // read only once.
  const std::vector<uint8_t> bytes = read_file_bytes(path, io_detail::source_file_cap(max_bytes));
  const bool npy = bytes.size() >= 6 && std::memcmp(bytes.data(), "\x93NUMPY", 6) == 0;
  Tensor tensor;
  try {
    tensor = npy ? parse_npy(bytes.data(), bytes.size(), max_bytes)
                 : io_detail::decode_image(bytes.data(), bytes.size(), max_bytes);
  } catch (...) {
    io_detail::rethrow_with_path(path);
  }
  if (tensor.rank() == 3) tensor.shape.insert(tensor.shape.begin(), 1);
  if (tensor.rank() != 4)
    throw Error(path + ": expected [B,C,H,W] or [C,H,W], got " + shape_to_string(tensor.shape));
  return tensor;
}

}  // namespace ks
