// Tensor helpers: overflow-checked sizes and printable shapes.
#include "kernelscope/tensor.h"

#include <limits>
#include <sstream>

#include "kernelscope/error.h"

namespace ks {

int64_t shape_numel(const Shape& shape) {
  int64_t n = 1;
  for (int64_t d : shape) {
    if (d < 0) throw Error("negative dimension in shape " + shape_to_string(shape));
    if (d != 0 && n > std::numeric_limits<int64_t>::max() / d)
      throw Error("shape " + shape_to_string(shape) + " has too many elements");
    n *= d;
  }
  return n;
}

std::string shape_to_string(const Shape& shape) {
  std::ostringstream out;
  out << '[';
  for (size_t i = 0; i < shape.size(); ++i) out << (i ? ", " : "") << shape[i];
  out << ']';
  return out.str();
}

Tensor::Tensor(Shape s, float fill)
    : shape(std::move(s)), data(static_cast<size_t>(shape_numel(shape)), fill) {}

Tensor Tensor::uninitialized(Shape s) {
  Tensor t;
  t.reshape_uninitialized(std::move(s));
  return t;
}

void Tensor::reshape_uninitialized(Shape s) {
  const auto n = static_cast<size_t>(shape_numel(s));
  shape = std::move(s);
#ifdef NDEBUG
  data.resize(n);  // keeps the capacity when shrinking; default-initialises when growing
#else
  // Debug builds (the sanitizer run) poison new elements, so a backend that leaves one
  // unwritten fails its comparison with the reference instead of reading a lucky zero.
  const size_t old = data.size();
  data.resize(n);
  for (size_t i = old; i < n; ++i) data[i] = std::numeric_limits<float>::quiet_NaN();
#endif
}

}  // namespace ks
