// A dense float32 tensor in row-major order (NCHW for images), the one data type
// that crosses the engine's public boundary.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace ks {

using Shape = std::vector<int64_t>;

// Product of the dimensions; throws ks::Error if it overflows int64 or a dimension is negative.
int64_t shape_numel(const Shape& shape);
// "[1, 3, 220, 220]"
std::string shape_to_string(const Shape& shape);

struct Tensor {
  Shape shape;
  std::vector<float> data;

  Tensor() = default;
  explicit Tensor(Shape s, float fill = 0.0f);

  int64_t numel() const { return static_cast<int64_t>(data.size()); }
  int rank() const { return static_cast<int>(shape.size()); }
  int64_t dim(int i) const { return shape.at(static_cast<size_t>(i)); }
  bool empty() const { return data.empty(); }
  float* ptr() { return data.data(); }
  const float* ptr() const { return data.data(); }

  // Element of a rank-4 NCHW tensor. No bounds checks: used in the reference loops.
  float& at(int64_t n, int64_t c, int64_t y, int64_t x) {
    return data[static_cast<size_t>(((n * shape[1] + c) * shape[2] + y) * shape[3] + x)];
  }
  float at(int64_t n, int64_t c, int64_t y, int64_t x) const {
    return data[static_cast<size_t>(((n * shape[1] + c) * shape[2] + y) * shape[3] + x)];
  }
};

}  // namespace ks
