// A move-only owner of device memory. Backends keep one per tensor and reuse it between
// calls: it only grows, so repeating an operation on the same shape allocates nothing.
#pragma once

#include <cuda_runtime_api.h>

#include <cstddef>
#include <cstdint>
#include <string>

#include "cuda/cuda_check.h"

namespace ks::cuda {

template <typename T>
class DeviceBuffer {
 public:
  DeviceBuffer() = default;
  ~DeviceBuffer() { release(); }
  DeviceBuffer(const DeviceBuffer&) = delete;
  DeviceBuffer& operator=(const DeviceBuffer&) = delete;
  DeviceBuffer(DeviceBuffer&& other) noexcept : ptr_(other.ptr_), capacity_(other.capacity_) {
    other.ptr_ = nullptr;
    other.capacity_ = 0;
  }
  DeviceBuffer& operator=(DeviceBuffer&& other) noexcept {
    if (this != &other) {
      release();
      ptr_ = other.ptr_;
      capacity_ = other.capacity_;
      other.ptr_ = nullptr;
      other.capacity_ = 0;
    }
    return *this;
  }

  // Room for at least `count` elements; contents are not preserved when it grows. Throws
  // ks::Error("out of GPU memory ...") so the caller can fall back to the CPU.
  T* reserve(size_t count) {
    if (count <= capacity_) return ptr_;
    // Free first: the old block may be what stands between us and a successful allocation.
    release();
    // Sizes come from validated shapes, but the kernels tensor a sum-mode call keeps on the
    // device is outside the host's memory cap: never let its byte count wrap round.
    if (count > SIZE_MAX / sizeof(T))
      throw Error("out of GPU memory: " + std::to_string(count) + " elements do not fit in memory");
    void* p = nullptr;
    const size_t bytes = count * sizeof(T);
    const cudaError_t status = cudaMalloc(&p, bytes);
    if (status == cudaErrorMemoryAllocation) {
      cudaGetLastError();
      size_t free_bytes = 0, total_bytes = 0;
      cudaMemGetInfo(&free_bytes, &total_bytes);
      throw Error("out of GPU memory: needed " + std::to_string((bytes + (1 << 20) - 1) >> 20) +
                  " MiB, " + std::to_string(free_bytes >> 20) + " MiB free of " +
                  std::to_string(total_bytes >> 20) + " MiB");
    }
    KS_CUDA_CHECK(status);
    ptr_ = static_cast<T*>(p);
    capacity_ = count;
    return ptr_;
  }

  T* get() const { return ptr_; }
  size_t capacity() const { return capacity_; }

  // Never throws: it runs in destructors, possibly after the runtime has shut down at exit,
  // when cudaFree reports an error that nobody can act on.
  void release() noexcept {
    if (ptr_) {
      cudaFree(ptr_);
      cudaGetLastError();
    }
    ptr_ = nullptr;
    capacity_ = 0;
  }

 private:
  T* ptr_ = nullptr;
  size_t capacity_ = 0;
};

// Page-locked host memory for downloads, grow-only like DeviceBuffer. A copy into pageable
// memory goes through the driver's own small pinned bounce buffer in pieces; into pinned
// memory it is one DMA at full PCIe speed. Allocating pinned memory is slow (it maps pages
// for the device), hence one buffer kept and reused for the life of the backend.
class PinnedHostBuffer {
 public:
  PinnedHostBuffer() = default;
  ~PinnedHostBuffer() { release(); }
  PinnedHostBuffer(const PinnedHostBuffer&) = delete;
  PinnedHostBuffer& operator=(const PinnedHostBuffer&) = delete;

  // Room for `count` floats, or nullptr when the system will not pin that much (pinned
  // memory is limited, e.g. by ulimit -l in containers): the caller then copies straight
  // into pageable memory, slower but correct.
  float* reserve(size_t count) {
    if (count <= capacity_) return ptr_;
    release();
    void* p = nullptr;
    if (cudaHostAlloc(&p, count * sizeof(float), cudaHostAllocDefault) != cudaSuccess) {
      cudaGetLastError();
      return nullptr;
    }
    ptr_ = static_cast<float*>(p);
    capacity_ = count;
    return ptr_;
  }

  // Never throws, as DeviceBuffer::release.
  void release() noexcept {
    if (ptr_) {
      cudaFreeHost(ptr_);
      cudaGetLastError();
    }
    ptr_ = nullptr;
    capacity_ = 0;
  }

 private:
  float* ptr_ = nullptr;
  size_t capacity_ = 0;
};

}  // namespace ks::cuda
