// Reading and writing images, .npy arrays and safetensors files. Every reader validates
// before it allocates and throws ks::Error with a one-line message naming the file.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <vector>

#include "kernelscope/ops.h"
#include "kernelscope/tensor.h"

namespace ks {

using TensorMap = std::map<std::string, Tensor>;

// PNG, JPEG, BMP, TGA, GIF, ... via stb_image: 8-bit values mapped to [0, 1]; grey images
// give 1 channel, colour 3 (alpha dropped). Returns [1, C, H, W].
Tensor load_image(const std::string& path, int64_t max_bytes = kDefaultMemoryCapBytes);

// .npy: float32 or float64 (either byte order), C order, rank 3 [C,H,W] or 4 [B,C,H,W] for
// inputs. parse_npy accepts any rank; the rank rule lives in load_input.
Tensor parse_npy(const uint8_t* data, size_t size, int64_t max_bytes = kDefaultMemoryCapBytes);
Tensor load_npy(const std::string& path, int64_t max_bytes = kDefaultMemoryCapBytes);
// Writes float32 little-endian, through a temporary file renamed into place, so a failure
// never leaves a partial file.
void save_npy(const std::string& path, const Tensor& tensor);

// An operator input: .npy by its magic bytes, otherwise an image. Always returns rank 4.
Tensor load_input(const std::string& path, int64_t max_bytes = kDefaultMemoryCapBytes);

// safetensors: F32, F64, F16 and BF16 tensors are converted to float32; other dtypes are an
// error naming the key and dtype.
TensorMap parse_safetensors(const uint8_t* data, size_t size,
                            int64_t max_bytes = kDefaultMemoryCapBytes);
TensorMap load_safetensors(const std::string& path, int64_t max_bytes = kDefaultMemoryCapBytes);
// Writes F32 tensors (atomically, as save_npy).
void save_safetensors(const std::string& path, const TensorMap& tensors);

// Layer weights under PyTorch's state_dict key names (conv: weight, bias; involution:
// conv1.conv.weight, conv1.bn.*, conv2.conv.weight, conv2.conv.bias). Extra keys are
// ignored; missing keys or inconsistent shapes are errors. The parameters that the file
// determines (channels, kernel size, groups...) are written into params; the caller compares
// them with what the user asked for.
ConvWeights conv_weights_from_tensors(const TensorMap& tensors, ConvParams* params);
// The span rows are K*K*G: if params->kernel_size is set (> 0) G follows from it; otherwise,
// if params->group_channels > 0, K follows from G; otherwise the largest odd K that gives a
// valid G is chosen.
InvolutionWeights involution_weights_from_tensors(const TensorMap& tensors,
                                                  InvolutionParams* params);
TensorMap conv_weights_to_tensors(const ConvWeights& weights);
TensorMap involution_weights_to_tensors(const InvolutionParams& params,
                                        const InvolutionWeights& weights);

// 8-bit RGB PNG, rows top to bottom, written atomically.
void save_png_rgb(const std::string& path, int width, int height, const std::vector<uint8_t>& rgb);

// Reads a whole file; throws ks::Error when it cannot be opened or exceeds max_bytes. Pipes
// are read as a stream under the same limit; devices (/dev/zero, a terminal) are refused.
std::vector<uint8_t> read_file_bytes(const std::string& path, int64_t max_bytes);
// The one way the project writes files: a temporary ".NAME.kstmp-PID-RANDOM" beside the
// target, created exclusively (never following a symlink), written, fsynced and renamed into
// place; removed on any failure and, for SIGINT/SIGTERM/SIGHUP, by a signal handler installed
// where the default action is in place. A target that is not a regular file (device, FIFO,
// directory, or a symlink to one) is refused with one line.
void write_file_atomically(const std::string& path, const void* data, size_t size);
// The target check of write_file_atomically, for writers that want to fail before working.
void check_output_target(const std::string& path);
// Records the targets write_file_atomically commits while it lives, from any thread: how
// `kernelscope run` knows exactly which files it wrote for its manifest. One at a time.
class WriteJournal {
 public:
  WriteJournal();
  ~WriteJournal();
  WriteJournal(const WriteJournal&) = delete;
  WriteJournal& operator=(const WriteJournal&) = delete;
  std::vector<std::string> paths() const;
  void add(const std::string& path);

 private:
  mutable std::mutex mutex_;
  std::vector<std::string> paths_;
};
// Removes temporaries of write_file_atomically in `dir` whose process has exited and that are
// over a minute old (a run killed with SIGKILL). Done by the first write into a directory;
// returns how many were removed.
int remove_stale_temporaries(const std::string& dir);

}  // namespace ks
