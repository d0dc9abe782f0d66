// A fake of the part of the CUDA runtime API that engine/src/cuda/cuda_backend.cpp uses,
// for tests/engine_cuda_fake_runtime_test.cpp: device memory is host memory (filled with
// NaN, as a GPU's is with garbage), copies are memcpy, events read a host clock, and the
// tests choose what the "driver" answers (no device, an old driver, an old GPU, allocations
// that fail). With cuda_emu's kernels behind cuda_ops.h, the real CudaBackend class runs
// end to end on the CPU.
//
// The functions are C++ (not extern "C") on purpose: their mangled names cannot clash with
// the real cudart in a build that also links it.
#pragma once

#include <cstddef>

#define CUDART_VERSION 13000

enum cudaError_t {
  cudaSuccess = 0,
  cudaErrorMemoryAllocation = 2,
  cudaErrorInitializationError = 3,
  cudaErrorInsufficientDriver = 35,
  cudaErrorNoDevice = 100,
  cudaErrorDevicesUnavailable = 46,
  cudaErrorSystemDriverMismatch = 803,
  cudaErrorInvalidDeviceFunction = 98,
  cudaErrorInvalidDevice = 101,
  cudaErrorECCUncorrectable = 214,
  cudaErrorNoKernelImageForDevice = 209,
  cudaErrorUnsupportedPtxVersion = 222,
  cudaErrorNotReady = 600,
  cudaErrorIllegalAddress = 700,
  cudaErrorLaunchTimeout = 702,
  cudaErrorAssert = 710,
  cudaErrorHardwareStackError = 714,
  cudaErrorIllegalInstruction = 715,
  cudaErrorMisalignedAddress = 716,
  cudaErrorInvalidAddressSpace = 717,
  cudaErrorInvalidPc = 718,
  cudaErrorLaunchFailure = 719,
};

enum cudaMemcpyKind { cudaMemcpyHostToDevice = 1, cudaMemcpyDeviceToHost = 2 };
enum cudaDeviceAttr {
  cudaDevAttrComputeCapabilityMajor = 75,
  cudaDevAttrComputeCapabilityMinor = 76
};
constexpr unsigned cudaStreamNonBlocking = 1;
constexpr unsigned cudaHostAllocDefault = 0;

struct FakeStream;
struct FakeEvent;
using cudaStream_t = FakeStream*;
using cudaEvent_t = FakeEvent*;

cudaError_t cudaGetDeviceCount(int* count);
cudaError_t cudaGetDevice(int* device);
cudaError_t cudaSetDevice(int device);
cudaError_t cudaStreamQuery(cudaStream_t stream);
cudaError_t cudaDeviceGetAttribute(int* value, cudaDeviceAttr attr, int device);
cudaError_t cudaDriverGetVersion(int* version);
cudaError_t cudaGetLastError();
const char* cudaGetErrorName(cudaError_t error);
const char* cudaGetErrorString(cudaError_t error);
cudaError_t cudaMalloc(void** ptr, size_t bytes);
cudaError_t cudaFree(void* ptr);
cudaError_t cudaHostAlloc(void** ptr, size_t bytes, unsigned flags);
cudaError_t cudaFreeHost(void* ptr);
cudaError_t cudaMemGetInfo(size_t* free_bytes, size_t* total_bytes);
cudaError_t cudaMemcpyAsync(void* dst, const void* src, size_t bytes, cudaMemcpyKind kind,
                            cudaStream_t stream);
cudaError_t cudaStreamCreateWithFlags(cudaStream_t* stream, unsigned flags);
cudaError_t cudaStreamDestroy(cudaStream_t stream);
cudaError_t cudaEventCreate(cudaEvent_t* event);
cudaError_t cudaEventDestroy(cudaEvent_t event);
cudaError_t cudaEventRecord(cudaEvent_t event, cudaStream_t stream);
cudaError_t cudaEventSynchronize(cudaEvent_t event);
cudaError_t cudaEventElapsedTime(float* ms, cudaEvent_t start, cudaEvent_t end);

// What the fake driver answers; reset() restores a healthy sm_90 GPU with 1 GiB.
namespace fake_cuda {
struct Driver {
  cudaError_t device_count_error = cudaSuccess;
  int device_count = 1;
  int driver_version = 13000;
  int major = 9, minor = 0;
  cudaError_t kernel_image_status = cudaSuccess;  // what loading a kernel reports
  size_t memory_bytes = size_t{1} << 30;
  cudaError_t fail_kernels = cudaSuccess;  // reported by the next launch through cuda_ops.h
  // With fail_kernels: the failure kills the context, as an illegal address does on a GPU.
  // Every later call that touches the device then returns it (the "sticky" error).
  bool failure_kills_context = false;
  bool refuse_pinned_memory = false;       // cudaHostAlloc fails, as under a low ulimit -l
  cudaError_t dead_context = cudaSuccess;  // set by such a failure
};
Driver& driver();
void reset();
// Live device allocations and the number of cudaMalloc calls that succeeded.
size_t allocated_bytes();
int malloc_calls();
// Bytes copied device to host since reset(): what the backend downloaded.
size_t downloaded_bytes();
// cudaHostAlloc calls that succeeded, live pinned bytes, and the bytes downloaded into
// pinned memory (the rest of downloaded_bytes went straight into pageable memory).
int host_alloc_calls();
size_t pinned_bytes();
size_t pinned_downloaded_bytes();
// The calling thread's current device (cudaSetDevice), -1 before any.
int current_device();
}  // namespace fake_cuda
