// Operator inputs: .npy arrays (recognised by their magic bytes, not the file name) or images,
// always returned as [B, C, H, W].
#include <cstdio>
#include <cstring>

#include "kernelscope/error.h"
#include "kernelscope/io.h"

namespace ks {
namespace {

bool starts_with_npy_magic(const std::string& path) {
  std::FILE* file = std::fopen(path.c_str(), "rb");
  if (!file) return false;  // load_image reports why it cannot be opened
  char magic[6] = {};
  const size_t got = std::fread(magic, 1, sizeof magic, file);
  std::fclose(file);
  return got == sizeof magic && std::memcmp(magic, "\x93NUMPY", sizeof magic) == 0;
}

}  // namespace

Tensor load_input(const std::string& path, int64_t max_bytes) {
  Tensor tensor =
      starts_with_npy_magic(path) ? load_npy(path, max_bytes) : load_image(path, max_bytes);
  if (tensor.rank() == 3) tensor.shape.insert(tensor.shape.begin(), 1);
  if (tensor.rank() != 4)
    throw Error(path + ": expected [B,C,H,W] or [C,H,W], got " + shape_to_string(tensor.shape));
  return tensor;
}

}  // namespace ks
