// A dense float32 tensor in row-major order (NCHW for images), the one data type
// that crosses the engine's public boundary.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace ks {

using Shape = std::vector<int64_t>;

// Product of the dimensions; throws ks::Error if it overflows int64 or a dimension is negative.
int64_t shape_numel(const Shape& shape);
// "[1, 3, 220, 220]"
std::string shape_to_string(const Shape& shape);

// Allocator whose resize() leaves new floats uninitialised (default- instead of
// value-initialised): a result the backend overwrites completely is not zero-filled first,
// which on a large tensor is a full extra pass over fresh memory.
template <class T>
struct DefaultInitAllocator : std::allocator<T> {
  template <class U>
  struct rebind {
    using other = DefaultInitAllocator<U>;
  };
  DefaultInitAllocator() = default;
  template <class U>
  DefaultInitAllocator(const DefaultInitAllocator<U>&) noexcept {}
  template <class U, class... Args>
  void construct(U* p, Args&&... args) {
    if constexpr (sizeof...(Args) == 0)
      ::new (static_cast<void*>(p)) U;
    else
      ::new (static_cast<void*>(p)) U(std::forward<Args>(args)...);
  }
};

using FloatBuffer = std::vector<float, DefaultInitAllocator<float>>;

struct Tensor {
  Shape shape;
  FloatBuffer data;

  Tensor() = default;
  // Every element set to fill.
  explicit Tensor(Shape s, float fill = 0.0f);
  // Elements left uninitialised, for results a backend overwrites completely.
  static Tensor uninitialized(Shape s);
  // Gives this tensor the shape s, reusing its storage when it is large enough (no fresh
  // pages, no fill); new elements are uninitialised. For results reused across calls.
  void reshape_uninitialized(Shape s);

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
