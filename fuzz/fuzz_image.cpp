// libFuzzer target: the image path of load_input (header guards, pixel-data walks, stb_image)
// must either return a consistent tensor or throw ks::Error, and must finish: run_fuzzers.sh
// passes -timeout so an input that makes a decoder loop fails the run as a hang.
#include <cstdlib>

#include "io/io_detail.h"
#include "kernelscope/error.h"

// Small enough that an ignored cap shows up as an oversized allocation.
constexpr int64_t kFuzzMaxBytes = int64_t{64} << 20;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  try {
    const ks::Tensor tensor = ks::io_detail::decode_image(data, size, kFuzzMaxBytes);
    if (ks::shape_numel(tensor.shape) != tensor.numel()) std::abort();
    if (tensor.numel() * 4 > kFuzzMaxBytes) std::abort();
  } catch (const ks::Error&) {
  }
  return 0;
}
