// The registry: every backend compiled into this build, in preference order.
#include <atomic>
#include <mutex>

#include "backend_factories.h"
#include "cpu_ref/reference.h"
#include "kernelscope/dispatch.h"
#include "kernelscope/error.h"

namespace ks {
namespace {

std::vector<std::unique_ptr<Backend>>& registry() {
  static std::vector<std::unique_ptr<Backend>> backends;
  static std::once_flag once;
  std::call_once(once, [] {
#ifdef KS_HAVE_CUDA
    backends.push_back(make_cuda_backend());
#ifdef KS_HAVE_CUDNN
    backends.push_back(make_cudnn_backend());
#endif
    backends.push_back(make_cuda_naive_backend());
#endif
    if (auto cpu = make_cpu_backend()) backends.push_back(std::move(cpu));
    backends.push_back(make_cpu_ref_backend());
  });
  return backends;
}

}  // namespace

Tensor Backend::involution_kernels_at(const Tensor& input, const InvolutionParams& params,
                                      const InvolutionWeights& weights,
                                      const std::vector<OutputPixel>& pixels) {
  check_output_pixels(input.shape, params, pixels);
  const Shape shape =
      involution_kernels_at_shape(input.shape, params, static_cast<int64_t>(pixels.size()));
  Tensor out = Tensor::uninitialized(shape);
  const int64_t B = shape[1], per_pixel = shape[2] * shape[3];
  float* dst = out.ptr();
  for (const OutputPixel& px : pixels)
    for (int64_t b = 0; b < B; ++b, dst += per_pixel)
      ref::involution_kernels_at_pixel(input, params, weights, b, px.y, px.x, dst);
  return out;
}

void Backend::notebook_variant_into(const Tensor&, const NotebookVariantParams&,
                                    const NotebookVariantWeights&, const RunOptions&,
                                    NotebookVariantResult*, StageTimes*) {
  throw Error("backend '" + name() + "' does not implement the notebook variant");
}

std::vector<Backend*> registered_backends() {
  std::vector<Backend*> backends;
  for (auto& b : registry()) backends.push_back(b.get());
  return backends;
}

std::vector<std::string> backend_names() {
  std::vector<std::string> names;
  for (auto& b : registry()) names.push_back(b->name());
  return names;
}

Backend* find_backend(const std::string& name) {
  for (auto& b : registry())
    if (b->name() == name) return b.get();
  return nullptr;
}

Backend& select_backend(const std::string& name, std::string* notice) {
  // dispatch's rule with a question every backend answers yes to.
  const dispatch_detail::Query any{nullptr, [](const Backend&, const void*) { return true; },
                                   "any operation"};
  BackendChoice choice = dispatch_detail::choose(registered_backends(), name, any);
  if (notice) *notice = choice.notice;
  return *choice.backend;
}

namespace {
std::atomic<int> requested_gpu_device{0};
std::atomic<bool> gpu_device_probed{false};
}  // namespace

void set_gpu_device(int index) {
  if (index < 0) throw Error("GPU index " + std::to_string(index) + " is negative");
#ifndef KS_HAVE_CUDA
  if (index != 0) throw Error("this build has no GPU backends; only device 0 may be named");
#endif
  if (gpu_device_probed && index != requested_gpu_device)
    throw Error("the GPU was already chosen; set_gpu_device must come before its first use");
  requested_gpu_device = index;
}

int gpu_device() { return requested_gpu_device; }

int gpu_device_for_probe() {
  gpu_device_probed = true;
  return requested_gpu_device;
}

bool is_cpu_backend(const Backend& backend) { return backend.name().rfind("cpu", 0) == 0; }

}  // namespace ks
