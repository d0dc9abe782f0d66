// Convolution through cuDNN for the "cudnn" backend. cuDNN is opened with dlopen on first
// use, so a binary built with it still starts, and runs every other backend, on a machine
// where libcudnn is missing.
#pragma once

#include <cuda_runtime_api.h>

#include <memory>
#include <string>

#include "cuda/cuda_ops.h"

namespace ks::cuda {

// True when a cuDNN library of the major version this build was compiled against loads and
// has every function we call; otherwise why_not says what is missing.
bool cudnn_loadable(std::string* why_not);

class CudnnConvolution {
 public:
  CudnnConvolution();
  ~CudnnConvolution();
  CudnnConvolution(const CudnnConvolution&) = delete;
  CudnnConvolution& operator=(const CudnnConvolution&) = delete;

  // y = conv(x, weight) + bias on `stream`. The first call for a shape runs cuDNN's
  // algorithm search (which synchronises); later calls with that shape reuse its choice.
  void forward(const ConvDims& d, const float* x, const float* weight, const float* bias, float* y,
               cudaStream_t stream);

 private:
  struct State;
  std::unique_ptr<State> state_;
};

}  // namespace ks::cuda
