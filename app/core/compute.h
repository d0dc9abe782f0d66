// The work the app hands to its worker thread: load (and maybe downscale) the image, build
// the weights, run the chosen operation(s) on the chosen backend, or race every backend.
// Nothing here touches OpenGL or ImGui.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "core/op_settings.h"
#include "kernelscope/backend.h"
#include "kernelscope/colormap.h"
#include "kernelscope/notebook_variant.h"
#include "kernelscope/ops.h"

namespace ks::core {

// The image being looked at: the file as loaded and the copy the operators run on (the
// same tensor unless the image is beyond what a texture can hold, kMaxDisplaySide).
struct ImageSlot {
  std::string path;
  std::shared_ptr<const Tensor> full;
  std::shared_ptr<const Tensor> compute;
  int downscale = 1;  // compute is full averaged over downscale x downscale blocks
  // compute as RGB bytes for its texture, made on the worker once per image.
  std::shared_ptr<const std::vector<uint8_t>> rgb;
};

struct OpResult {
  bool ran = false;
  std::string error;  // one line, shown in the app; empty when it ran
  Tensor output;      // [1, C_out, H_out, W_out], after the activation
  bool relu = false;  // the activation was ReLU
  // Involution: the kernel-sum map [1, G, H_out, W_out]. The full kernels tensor is made
  // only by the notebook variant (its own loops) and for exports (full_kernels below); the
  // screen asks for the kernels of single pixels (kernels_at).
  Tensor kernel_sum;
  Tensor kernels;  // notebook variant only: [1, G, K*K, H_out, W_out]
  // Scans of the result made on the worker, so the UI thread never walks a large tensor:
  // each output channel's and each kernel-sum group's finite min/max, and the RGB
  // composite of a 3-channel output over the layer's range.
  std::vector<ValueRange> channel_ranges;
  std::vector<ValueRange> kernel_sum_ranges;
  std::vector<uint8_t> composite;
  // What the textures are made from: the output and the sum map box-filtered by
  // display_factor so the long side is at most kMapTextureSide (a map is shown at most
  // panel-sized; the hover readouts use the full tensors). Empty when the factor is 1.
  int display_factor = 1;
  Tensor display_output;                // [C_out, H', W']
  Tensor display_kernel_sum;            // [G, H', W']
  std::shared_ptr<const Tensor> input;  // what ran, for kernels_at and exports
  int64_t memory_cap = 0;               // bytes, the settings' cap (exports honour it)
  // Per-pixel kernels already asked for, keyed by y * W_out + x (UI thread only).
  mutable std::unordered_map<int64_t, std::vector<float>> kernel_cache;
  ConvParams conv;
  ConvWeights conv_weights;
  InvolutionParams involution;
  InvolutionWeights involution_weights;
  // The notebook variant (settings.notebook_variant): its parameters and raw result (output
  // before the activation, and the span's kernels); involution above holds K, C, G and r.
  bool notebook = false;
  NotebookVariantParams notebook_params;
  NotebookVariantResult notebook_result;
  StageTimes times;
  std::string backend;
  double flops = 0;
};

struct RaceRow {
  std::string backend;
  std::string note;     // why it did not run, or "" when it did
  double conv_ms = -1;  // -1: not run
  double involution_ms = -1;
  double conv_gflops = 0;
  double involution_gflops = 0;
};

struct ComputeRequest {
  uint64_t id = 0;
  OpSettings settings;
  std::string image_path;  // "" = the built-in test pattern
  // Loaded instead when image_path fails and there is no previous image to keep.
  std::string fallback_path;
  bool race = false;
};

struct ComputeResult {
  uint64_t id = 0;
  bool race = false;
  ImageSlot image;
  std::string load_error;  // the requested image could not be loaded; image is the old one
  std::string notice;      // e.g. "cuda unavailable (...), using the CPU"
  OpResult conv;
  OpResult involution;
  std::vector<RaceRow> race_rows;
  double job_ms = 0;
  bool cancelled = false;  // a newer request stopped this one; nothing in it is shown
};

// Loads request.image_path into cache unless it is already there, then computes. A load
// failure keeps the old image and reports load_error without computing anything (the old
// result stays on screen). cancel, once set, stops the engine between tiles (the result
// comes back with cancelled set). recycled is an older result the UI no longer shows:
// its tensors' storage is reused, so a stream of recomputes touches no fresh memory.
ComputeResult compute(const ComputeRequest& request, ImageSlot* cache,
                      const std::atomic<bool>& cancel, ComputeResult* recycled = nullptr);

// The G*K*K kernels generated at output pixel (oy, ox) of an involution result, row
// g*K*K + tap; empty when r holds no involution or the pixel is outside its output. Asked of
// the engine per pixel (Backend::involution_kernels_at) and cached in r; cheap enough for
// the UI thread (a few pixels' generation).
const std::vector<float>& kernels_at(const OpResult& r, int oy, int ox);

// The full kernels tensor [1, G, K*K, H_out, W_out] of an involution result, for exports:
// computed now on the CPU, under the result's memory cap (throws ks::Error when over).
Tensor full_kernels(const OpResult& r);

// [1, C, H, W] -> RGB bytes for display and export: channels 0-2 (or channel 0 as grey),
// values in [0, 1], or the tensor's finite range when it leaves [0, 1]; NaN shows black,
// +-inf as the ends of the range.
std::vector<uint8_t> image_rgb(const Tensor& image);

// A 320 x 240 RGB test pattern, for when no sample image can be found.
Tensor test_pattern();

// The long side of the feature-map textures: uploading a 4K map at full size costs a software
// OpenGL hundreds of milliseconds for a thumbnail a few hundred pixels wide.
constexpr int64_t kMapTextureSide = 1280;

// Averages factor x factor blocks (ceil mode at the edges).
Tensor downscale(const Tensor& image, int factor);

// The parameters the settings imply for an input of `channels` channels.
ConvParams conv_params(const OpSettings& settings, int64_t channels);
InvolutionParams involution_params(const OpSettings& settings, int64_t channels);
// Throws ks::Error("--groups G must divide the input's C channels") for a pending --groups
// (OpSettings::involution_groups) that does not fit the image, as `kernelscope run` does.
void check_involution_groups(const OpSettings& settings, int64_t channels);

}  // namespace ks::core
