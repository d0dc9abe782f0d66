// The work the app hands to its worker thread: load (and maybe downscale) the image, build
// the weights, run the chosen operation(s) on the chosen backend, or race every backend.
// Nothing here touches OpenGL or ImGui.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "gui/settings.h"
#include "kernelscope/backend.h"
#include "kernelscope/notebook_variant.h"
#include "kernelscope/ops.h"

namespace ks::app {

// The image being looked at: the file as loaded and the copy the operators run on (the
// same tensor unless the preview downscale is active).
struct ImageSlot {
  std::string path;
  std::shared_ptr<const Tensor> full;
  std::shared_ptr<const Tensor> compute;
  int downscale = 1;  // compute is full averaged over downscale x downscale blocks
};

struct OpResult {
  bool ran = false;
  std::string error;  // one line, shown in the app; empty when it ran
  Tensor output;      // [1, C_out, H_out, W_out], after the activation
  bool relu = false;  // the activation was ReLU
  Tensor kernels;     // involution: [1, G, K*K, H_out, W_out]
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
};

// Loads request.image_path into cache unless it is already there (a failure keeps the old
// image and reports load_error), then computes. cancelled() is polled between race runs.
ComputeResult compute(const ComputeRequest& request, ImageSlot* cache,
                      const std::function<bool()>& cancelled);

// A 320 x 240 RGB test pattern, for when no sample image can be found.
Tensor test_pattern();

// Averages factor x factor blocks (ceil mode at the edges).
Tensor downscale(const Tensor& image, int factor);

// The parameters the settings imply for an input of `channels` channels.
ConvParams conv_params(const OpSettings& settings, int64_t channels);
InvolutionParams involution_params(const OpSettings& settings, int64_t channels);

}  // namespace ks::app
