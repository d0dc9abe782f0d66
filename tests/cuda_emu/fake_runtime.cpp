// The fake CUDA runtime of fake_runtime/cuda_runtime_api.h.
#include "fake_runtime/cuda_runtime_api.h"

#include <chrono>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <map>
#include <vector>

struct FakeStream {};
struct FakeEvent {
  std::chrono::steady_clock::time_point when;
  bool recorded = false;
};

namespace fake_cuda {
namespace {

struct State {
  Driver driver;
  cudaError_t last_error = cudaSuccess;
  std::map<void*, size_t> allocations;
  int malloc_calls = 0;
  size_t downloaded_bytes = 0;
  std::map<void*, size_t> pinned;
  int host_alloc_calls = 0;
  size_t pinned_downloaded_bytes = 0;
};

thread_local int current_device_of_thread = -1;

State& state() {
  static State s;
  return s;
}

bool in_pinned_memory(const void* p) {
  for (const auto& [base, bytes] : state().pinned)
    if (p >= base && p < static_cast<const char*>(base) + bytes) return true;
  return false;
}

cudaError_t fail(cudaError_t e) {
  state().last_error = e;
  return e;
}

}  // namespace

Driver& driver() { return state().driver; }
void reset() {
  for (auto& [ptr, bytes] : state().allocations) std::free(ptr);
  for (auto& [ptr, bytes] : state().pinned) std::free(ptr);
  state() = State{};
}
size_t allocated_bytes() {
  size_t total = 0;
  for (const auto& [ptr, bytes] : state().allocations) total += bytes;
  return total;
}
int malloc_calls() { return state().malloc_calls; }
size_t downloaded_bytes() { return state().downloaded_bytes; }
int host_alloc_calls() { return state().host_alloc_calls; }
size_t pinned_bytes() {
  size_t total = 0;
  for (const auto& [ptr, bytes] : state().pinned) total += bytes;
  return total;
}
size_t pinned_downloaded_bytes() { return state().pinned_downloaded_bytes; }
int current_device() { return current_device_of_thread; }

}  // namespace fake_cuda

using fake_cuda::driver;

cudaError_t cudaGetDeviceCount(int* count) {
  *count = 0;
  if (driver().device_count_error != cudaSuccess)
    return fake_cuda::fail(driver().device_count_error);
  *count = driver().device_count;
  return cudaSuccess;
}

cudaError_t cudaGetDevice(int* device) {
  *device = fake_cuda::current_device_of_thread < 0 ? 0 : fake_cuda::current_device_of_thread;
  return cudaSuccess;
}

cudaError_t cudaSetDevice(int device) {
  if (driver().dead_context != cudaSuccess) return fake_cuda::fail(driver().dead_context);
  if (device < 0 || device >= driver().device_count) return fake_cuda::fail(cudaErrorInvalidDevice);
  fake_cuda::current_device_of_thread = device;
  return cudaSuccess;
}

cudaError_t cudaStreamQuery(cudaStream_t) {
  return driver().dead_context != cudaSuccess ? fake_cuda::fail(driver().dead_context)
                                              : cudaSuccess;
}

cudaError_t cudaDeviceGetAttribute(int* value, cudaDeviceAttr attr, int) {
  *value = attr == cudaDevAttrComputeCapabilityMajor ? driver().major : driver().minor;
  return cudaSuccess;
}

cudaError_t cudaDriverGetVersion(int* version) {
  *version = driver().driver_version;
  return cudaSuccess;
}

cudaError_t cudaGetLastError() {
  const cudaError_t e = fake_cuda::state().last_error;
  fake_cuda::state().last_error = cudaSuccess;
  return e;
}

const char* cudaGetErrorName(cudaError_t error) {
  switch (error) {
    case cudaSuccess:
      return "cudaSuccess";
    case cudaErrorMemoryAllocation:
      return "cudaErrorMemoryAllocation";
    case cudaErrorLaunchFailure:
      return "cudaErrorLaunchFailure";
    case cudaErrorNoDevice:
      return "cudaErrorNoDevice";
    case cudaErrorIllegalAddress:
      return "cudaErrorIllegalAddress";
    case cudaErrorUnsupportedPtxVersion:
      return "cudaErrorUnsupportedPtxVersion";
    case cudaErrorNoKernelImageForDevice:
      return "cudaErrorNoKernelImageForDevice";
    default:
      return "cudaErrorUnknown";
  }
}

const char* cudaGetErrorString(cudaError_t error) {
  switch (error) {
    case cudaSuccess:
      return "no error";
    case cudaErrorMemoryAllocation:
      return "out of memory";
    case cudaErrorLaunchFailure:
      return "unspecified launch failure";
    case cudaErrorIllegalAddress:
      return "an illegal memory access was encountered";
    default:
      return "fake error";
  }
}

cudaError_t cudaMalloc(void** ptr, size_t bytes) {
  *ptr = nullptr;
  if (driver().dead_context != cudaSuccess) return fake_cuda::fail(driver().dead_context);
  if (fake_cuda::allocated_bytes() + bytes > driver().memory_bytes)
    return fake_cuda::fail(cudaErrorMemoryAllocation);
  // Device memory holds garbage: NaN, so a kernel that skips an element cannot pass.
  float* p = static_cast<float*>(std::malloc(bytes ? bytes : 1));
  const size_t n = bytes / sizeof(float);
  for (size_t i = 0; i < n; ++i) p[i] = std::numeric_limits<float>::quiet_NaN();
  fake_cuda::state().allocations[p] = bytes;
  ++fake_cuda::state().malloc_calls;
  *ptr = p;
  return cudaSuccess;
}

cudaError_t cudaFree(void* ptr) {
  auto& allocations = fake_cuda::state().allocations;
  const auto it = allocations.find(ptr);
  if (it == allocations.end()) return fake_cuda::fail(cudaErrorInitializationError);
  std::free(ptr);
  allocations.erase(it);
  return cudaSuccess;
}

cudaError_t cudaHostAlloc(void** ptr, size_t bytes, unsigned) {
  *ptr = nullptr;
  if (driver().refuse_pinned_memory) return fake_cuda::fail(cudaErrorMemoryAllocation);
  // Fresh host memory holds garbage too.
  float* p = static_cast<float*>(std::malloc(bytes ? bytes : 1));
  for (size_t i = 0; i < bytes / sizeof(float); ++i) p[i] = std::numeric_limits<float>::quiet_NaN();
  fake_cuda::state().pinned[p] = bytes;
  ++fake_cuda::state().host_alloc_calls;
  *ptr = p;
  return cudaSuccess;
}

cudaError_t cudaFreeHost(void* ptr) {
  auto& pinned = fake_cuda::state().pinned;
  const auto it = pinned.find(ptr);
  if (it == pinned.end()) return fake_cuda::fail(cudaErrorInitializationError);
  std::free(ptr);
  pinned.erase(it);
  return cudaSuccess;
}

cudaError_t cudaMemGetInfo(size_t* free_bytes, size_t* total_bytes) {
  *total_bytes = driver().memory_bytes;
  *free_bytes = driver().memory_bytes - fake_cuda::allocated_bytes();
  return cudaSuccess;
}

cudaError_t cudaMemcpyAsync(void* dst, const void* src, size_t bytes, cudaMemcpyKind kind,
                            cudaStream_t) {
  if (driver().dead_context != cudaSuccess) return fake_cuda::fail(driver().dead_context);
  std::memcpy(dst, src, bytes);
  if (kind == cudaMemcpyDeviceToHost) {
    fake_cuda::state().downloaded_bytes += bytes;
    if (fake_cuda::in_pinned_memory(dst)) fake_cuda::state().pinned_downloaded_bytes += bytes;
  }
  return cudaSuccess;
}

cudaError_t cudaStreamCreateWithFlags(cudaStream_t* stream, unsigned) {
  *stream = new FakeStream;
  return cudaSuccess;
}

cudaError_t cudaStreamDestroy(cudaStream_t stream) {
  delete stream;
  return cudaSuccess;
}

cudaError_t cudaEventCreate(cudaEvent_t* event) {
  *event = new FakeEvent;
  return cudaSuccess;
}

cudaError_t cudaEventDestroy(cudaEvent_t event) {
  delete event;
  return cudaSuccess;
}

cudaError_t cudaEventRecord(cudaEvent_t event, cudaStream_t) {
  if (driver().dead_context != cudaSuccess) return fake_cuda::fail(driver().dead_context);
  event->when = std::chrono::steady_clock::now();
  event->recorded = true;
  return cudaSuccess;
}

cudaError_t cudaEventSynchronize(cudaEvent_t event) {
  return event->recorded ? cudaSuccess : fake_cuda::fail(cudaErrorInitializationError);
}

cudaError_t cudaEventElapsedTime(float* ms, cudaEvent_t start, cudaEvent_t end) {
  if (!start->recorded || !end->recorded) return fake_cuda::fail(cudaErrorInitializationError);
  *ms = std::chrono::duration<float, std::milli>(end->when - start->when).count();
  return cudaSuccess;
}
