// The "cudnn" backend's convolution: cudnnConvolutionForward with the algorithm found by
// cudnnFindConvolutionForwardAlgorithm, cached per shape. The library is resolved with
// dlopen/dlsym rather than linked, so its absence costs only this backend.
#include "cuda/cudnn_conv.h"

#include <cudnn.h>
#include <dlfcn.h>

#include <array>
#include <map>
#include <vector>

#include "cuda/cudnn_compat.h"
#include "cuda/device_buffer.h"
#include "kernelscope/error.h"

namespace ks::cuda {
namespace {

#define KS_CUDNN_FUNCTIONS(X)                \
  X(cudnnGetVersion)                         \
  X(cudnnGetCudartVersion)                   \
  X(cudnnGetErrorString)                     \
  X(cudnnCreate)                             \
  X(cudnnDestroy)                            \
  X(cudnnSetStream)                          \
  X(cudnnCreateTensorDescriptor)             \
  X(cudnnDestroyTensorDescriptor)            \
  X(cudnnSetTensor4dDescriptor)              \
  X(cudnnCreateFilterDescriptor)             \
  X(cudnnDestroyFilterDescriptor)            \
  X(cudnnSetFilter4dDescriptor)              \
  X(cudnnCreateConvolutionDescriptor)        \
  X(cudnnDestroyConvolutionDescriptor)       \
  X(cudnnSetConvolution2dDescriptor)         \
  X(cudnnSetConvolutionGroupCount)           \
  X(cudnnSetConvolutionMathType)             \
  X(cudnnFindConvolutionForwardAlgorithm)    \
  X(cudnnGetConvolutionForwardWorkspaceSize) \
  X(cudnnConvolutionForward)                 \
  X(cudnnAddTensor)

// Function pointers typed from cudnn.h's own declarations, so a signature mismatch is a
// compile error. decltype does not odr-use the functions: nothing links against libcudnn.
struct CudnnApi {
#define KS_CUDNN_DECLARE(name) decltype(&::name) name = nullptr;
  KS_CUDNN_FUNCTIONS(KS_CUDNN_DECLARE)
#undef KS_CUDNN_DECLARE
  std::string error;  // empty when loaded
};

CudnnApi load_cudnn() {
  CudnnApi api;
  const std::string soname = "libcudnn.so." + std::to_string(CUDNN_MAJOR);
  // The plain soname honours LD_LIBRARY_PATH and ldconfig; the fixed paths cover the toolkit
  // this build was configured with when neither knows about it.
  std::vector<std::string> candidates = {soname};
#ifdef KS_CUDNN_LIBRARY_DIR
  candidates.push_back(std::string(KS_CUDNN_LIBRARY_DIR) + "/" + soname);
#endif
  candidates.push_back("/usr/local/cuda/lib64/" + soname);
  void* library = nullptr;
  std::string first_error;
  for (const std::string& path : candidates) {
    library = dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
    if (library) break;
    const char* message = dlerror();
    if (first_error.empty() && message) first_error = message;
  }
  if (!library) {
    api.error = "cuDNN " + std::to_string(CUDNN_MAJOR) + " not found (" + first_error + ")";
    return api;
  }
  // Never dlclose: cuDNN keeps threads and device state alive until process exit.
#define KS_CUDNN_RESOLVE(name)                                            \
  api.name = reinterpret_cast<decltype(api.name)>(dlsym(library, #name)); \
  if (!api.name) {                                                        \
    api.error = "the cuDNN library found lacks " #name;                   \
    return api;                                                           \
  }
  KS_CUDNN_FUNCTIONS(KS_CUDNN_RESOLVE)
#undef KS_CUDNN_RESOLVE
  api.error = cudnn_mismatch(api.cudnnGetVersion(), api.cudnnGetCudartVersion(), CUDNN_MAJOR,
                             CUDART_VERSION);
  return api;
}

const CudnnApi& cudnn() {
  static const CudnnApi api = load_cudnn();
  return api;
}

void check_cudnn(cudnnStatus_t status, const char* call, const char* file, int line) {
  if (status == CUDNN_STATUS_SUCCESS) return;
  cudaGetLastError();
  const std::string where = std::string(call) + " at " + file + ":" + std::to_string(line);
  if (status == CUDNN_STATUS_ALLOC_FAILED) throw Error("out of GPU memory in " + where);
  throw Error(std::string("cuDNN error ") + cudnn().cudnnGetErrorString(status) + " in " + where);
}

#define KS_CUDNN_CHECK(call) check_cudnn((call), #call, __FILE__, __LINE__)

// Everything that selects an algorithm: the shapes and the convolution's geometry.
using ShapeKey = std::array<int, 12>;

struct AlgorithmChoice {
  cudnnConvolutionFwdAlgo_t algo;
  cudnnMathType_t math;
};

}  // namespace

bool cudnn_loadable(std::string* why_not) {
  const CudnnApi& api = cudnn();
  if (!api.error.empty() && why_not) *why_not = api.error;
  return api.error.empty();
}

struct CudnnConvolution::State {
  cudnnHandle_t handle = nullptr;
  cudnnTensorDescriptor_t x_desc = nullptr, y_desc = nullptr, bias_desc = nullptr;
  cudnnFilterDescriptor_t w_desc = nullptr;
  cudnnConvolutionDescriptor_t conv_desc = nullptr;
  std::map<ShapeKey, AlgorithmChoice> algorithms;
  DeviceBuffer<unsigned char> workspace;

  State() {
    const CudnnApi& api = cudnn();
    if (!api.error.empty()) throw Error("cuDNN is not available: " + api.error);
    KS_CUDNN_CHECK(api.cudnnCreate(&handle));
    KS_CUDNN_CHECK(api.cudnnCreateTensorDescriptor(&x_desc));
    KS_CUDNN_CHECK(api.cudnnCreateTensorDescriptor(&y_desc));
    KS_CUDNN_CHECK(api.cudnnCreateTensorDescriptor(&bias_desc));
    KS_CUDNN_CHECK(api.cudnnCreateFilterDescriptor(&w_desc));
    KS_CUDNN_CHECK(api.cudnnCreateConvolutionDescriptor(&conv_desc));
  }
  // Statuses ignored: destruction must not throw, and at exit the runtime may be gone.
  ~State() {
    const CudnnApi& api = cudnn();
    if (conv_desc) api.cudnnDestroyConvolutionDescriptor(conv_desc);
    if (w_desc) api.cudnnDestroyFilterDescriptor(w_desc);
    if (bias_desc) api.cudnnDestroyTensorDescriptor(bias_desc);
    if (y_desc) api.cudnnDestroyTensorDescriptor(y_desc);
    if (x_desc) api.cudnnDestroyTensorDescriptor(x_desc);
    if (handle) api.cudnnDestroy(handle);
  }
};

CudnnConvolution::CudnnConvolution() = default;
// The backends live in the registry until process exit, when the CUDA runtime may already
// have torn its context down; cuDNN's own teardown is not safe then, so the handle is left
// for the OS to reclaim rather than destroyed.
CudnnConvolution::~CudnnConvolution() { (void)state_.release(); }

void CudnnConvolution::forward(const ConvDims& d, const float* x, const float* weight,
                               const float* bias, float* y, cudaStream_t stream) {
  if (!state_) state_ = std::make_unique<State>();
  State& s = *state_;
  const CudnnApi& api = cudnn();
  KS_CUDNN_CHECK(api.cudnnSetStream(s.handle, stream));
  KS_CUDNN_CHECK(api.cudnnSetTensor4dDescriptor(s.x_desc, CUDNN_TENSOR_NCHW, CUDNN_DATA_FLOAT,
                                                d.batch, d.in_channels, d.height, d.width));
  KS_CUDNN_CHECK(api.cudnnSetTensor4dDescriptor(s.y_desc, CUDNN_TENSOR_NCHW, CUDNN_DATA_FLOAT,
                                                d.batch, d.out_channels, d.out_height,
                                                d.out_width));
  KS_CUDNN_CHECK(api.cudnnSetFilter4dDescriptor(s.w_desc, CUDNN_DATA_FLOAT, CUDNN_TENSOR_NCHW,
                                                d.out_channels, d.in_channels / d.groups, d.kernel,
                                                d.kernel));
  // Cross-correlation is what deep-learning frameworks (and our reference) call convolution.
  KS_CUDNN_CHECK(api.cudnnSetConvolution2dDescriptor(s.conv_desc, d.padding, d.padding, d.stride,
                                                     d.stride, d.dilation, d.dilation,
                                                     CUDNN_CROSS_CORRELATION, CUDNN_DATA_FLOAT));
  KS_CUDNN_CHECK(api.cudnnSetConvolutionGroupCount(s.conv_desc, d.groups));

  const ShapeKey key = {d.batch,  d.in_channels, d.height,   d.width,  d.out_channels, d.kernel,
                        d.stride, d.padding,     d.dilation, d.groups, d.out_height,   d.out_width};
  auto found = s.algorithms.find(key);
  if (found == s.algorithms.end()) {
    // FMA math only: TF32 tensor cores (cuDNN's default on Ampere and later) keep 10
    // mantissa bits and would fail the comparison with the float reference.
    KS_CUDNN_CHECK(api.cudnnSetConvolutionMathType(s.conv_desc, CUDNN_FMA_MATH));
    cudnnConvolutionFwdAlgoPerf_t results[CUDNN_CONVOLUTION_FWD_ALGO_COUNT];
    int returned = 0;
    KS_CUDNN_CHECK(api.cudnnFindConvolutionForwardAlgorithm(
        s.handle, s.x_desc, s.w_desc, s.conv_desc, s.y_desc, CUDNN_CONVOLUTION_FWD_ALGO_COUNT,
        &returned, results));
    const cudnnConvolutionFwdAlgoPerf_t* best =
        pick_fma_algorithm(results, returned, CUDNN_STATUS_SUCCESS, CUDNN_FMA_MATH);
    if (!best) throw Error("cuDNN has no float32 algorithm for this convolution");
    found = s.algorithms.emplace(key, AlgorithmChoice{best->algo, best->mathType}).first;
  }
  const AlgorithmChoice& choice = found->second;
  KS_CUDNN_CHECK(api.cudnnSetConvolutionMathType(s.conv_desc, choice.math));
  size_t workspace_bytes = 0;
  KS_CUDNN_CHECK(api.cudnnGetConvolutionForwardWorkspaceSize(
      s.handle, s.x_desc, s.w_desc, s.conv_desc, s.y_desc, choice.algo, &workspace_bytes));
  void* workspace = s.workspace.reserve(workspace_bytes);
  const float one = 1.0f, zero = 0.0f;
  KS_CUDNN_CHECK(api.cudnnConvolutionForward(s.handle, &one, s.x_desc, x, s.w_desc, weight,
                                             s.conv_desc, choice.algo, workspace, workspace_bytes,
                                             &zero, s.y_desc, y));
  if (d.has_bias) {
    KS_CUDNN_CHECK(api.cudnnSetTensor4dDescriptor(s.bias_desc, CUDNN_TENSOR_NCHW, CUDNN_DATA_FLOAT,
                                                  1, d.out_channels, 1, 1));
    KS_CUDNN_CHECK(api.cudnnAddTensor(s.handle, &one, s.bias_desc, bias, &one, s.y_desc, y));
  }
}

}  // namespace ks::cuda
