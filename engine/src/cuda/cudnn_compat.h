// The decisions of the "cudnn" backend that need no cuDNN to make: decoding its version
// numbers and picking an algorithm from cuDNN's list. Pure functions, so the tests check them
// on any machine.
#pragma once

#include <cstddef>
#include <string>

namespace ks::cuda {

struct CudnnVersion {
  int major = 0, minor = 0, patch = 0;
};

// cudnnGetVersion()'s number. cuDNN 9 packs major * 10000 + minor * 100 + patch (9.1.0 is
// 90100); cuDNN 8 and older packed major * 1000 + minor * 100 + patch (8.9.2 is 8902). The
// two ranges do not overlap, so the number alone says which scheme it uses.
inline CudnnVersion decode_cudnn_version(size_t version) {
  CudnnVersion v;
  const bool cudnn9_scheme = version >= 90000;
  const size_t major_unit = cudnn9_scheme ? 10000 : 1000;
  v.major = static_cast<int>(version / major_unit);
  v.minor = static_cast<int>(version % major_unit / 100);
  v.patch = static_cast<int>(version % 100);
  return v;
}

inline std::string cudnn_version_string(const CudnnVersion& v) {
  return std::to_string(v.major) + "." + std::to_string(v.minor) + "." + std::to_string(v.patch);
}

// Empty when the cuDNN found can serve this build; otherwise why not, in words. `found` is
// cudnnGetVersion(), `found_cudart` cudnnGetCudartVersion() (the CUDA runtime cuDNN was built
// for, 13000 = 13.0), `built_major` CUDNN_MAJOR and `our_cudart` CUDART_VERSION. A cuDNN built
// for another CUDA major loads its own libcudart of that major next to ours: two runtimes in
// one process that do not share contexts or streams, which fails at the first call.
inline std::string cudnn_mismatch(size_t found, size_t found_cudart, int built_major,
                                  int our_cudart) {
  const CudnnVersion v = decode_cudnn_version(found);
  if (v.major != built_major)
    return "found cuDNN " + cudnn_version_string(v) + ", this build needs cuDNN " +
           std::to_string(built_major);
  const int cudnn_cuda_major = static_cast<int>(found_cudart / 1000);
  const int our_cuda_major = our_cudart / 1000;
  if (cudnn_cuda_major != our_cuda_major)
    return "found cuDNN " + cudnn_version_string(v) + " built for CUDA " +
           std::to_string(cudnn_cuda_major) + "." + std::to_string(found_cudart % 1000 / 10) +
           ", this build uses CUDA " + std::to_string(our_cuda_major) +
           " (install the cuDNN for CUDA " + std::to_string(our_cuda_major) + ")";
  return "";
}

// The fastest usable algorithm that computes in plain float32 (FMA math), or nullptr. Perf is
// cudnnConvolutionFwdAlgoPerf_t (a template so tests can pass their own list); `results` is
// sorted fastest first, as cudnnFindConvolutionForwardAlgorithm returns it. Anything but
// CUDNN_FMA_MATH is refused, CUDNN_DEFAULT_MATH included: on sm_80 and later that lets cuDNN
// use TF32 tensor cores, whose 10 mantissa bits fail the comparison with the reference.
template <class Perf, class Status, class Math>
const Perf* pick_fma_algorithm(const Perf* results, int count, Status success, Math fma_math) {
  for (int i = 0; i < count; ++i)
    if (results[i].status == success && results[i].mathType == fma_math) return &results[i];
  return nullptr;
}

}  // namespace ks::cuda
