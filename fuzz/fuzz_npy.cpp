// libFuzzer target: parse_npy must either return a consistent tensor or throw ks::Error.
// Anything else (a crash, a sanitizer report, another exception type, an allocation above
// libFuzzer's -malloc_limit_mb) is a bug.
#include <cstdlib>

#include "kernelscope/error.h"
#include "kernelscope/io.h"

// Small enough that an ignored cap shows up as an oversized allocation.
constexpr int64_t kFuzzMaxBytes = int64_t{64} << 20;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  try {
    const ks::Tensor tensor = ks::parse_npy(data, size, kFuzzMaxBytes);
    if (ks::shape_numel(tensor.shape) != tensor.numel()) std::abort();
    if (tensor.numel() * 4 > kFuzzMaxBytes) std::abort();
  } catch (const ks::Error&) {
  }
  return 0;
}
