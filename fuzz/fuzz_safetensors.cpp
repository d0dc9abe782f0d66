// libFuzzer target: parse_safetensors must either return consistent tensors within the cap
// or throw ks::Error. Anything else is a bug.
#include <cstdlib>

#include "kernelscope/error.h"
#include "kernelscope/io.h"

constexpr int64_t kFuzzMaxBytes = int64_t{64} << 20;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  try {
    int64_t total = 0;
    for (const auto& [name, tensor] : ks::parse_safetensors(data, size, kFuzzMaxBytes)) {
      if (name == "__metadata__") std::abort();
      if (ks::shape_numel(tensor.shape) != tensor.numel()) std::abort();
      total += tensor.numel() * 4;
    }
    if (total > kFuzzMaxBytes) std::abort();
  } catch (const ks::Error&) {
  }
  return 0;
}
