// Images through stb_image (decoding) and stb_image_write (PNG export). Debian's libstb holds
// the implementations; we only include the declarations.
#include <stb_image.h>
#include <stb_image_write.h>

#include <climits>
#include <cstring>
#include <limits>
#include <memory>

#include "io/image_guards.h"
#include "io/io_detail.h"
#include "kernelscope/error.h"
#include "kernelscope/io.h"

namespace ks {

using namespace io_detail;

namespace {

struct StbiFree {
  void operator()(stbi_uc* pixels) const { stbi_image_free(pixels); }
};

std::string stb_reason() {
  const char* reason = stbi_failure_reason();
  return reason ? one_line(reason) : "unknown error";
}

void append_to_vector(void* context, void* data, int size) {
  auto* out = static_cast<std::vector<uint8_t>*>(context);
  const auto* bytes = static_cast<const uint8_t*>(data);
  out->insert(out->end(), bytes, bytes + size);
}

}  // namespace

Tensor io_detail::decode_image(const uint8_t* data, size_t size, int64_t max_bytes) {
  if (size == 0) throw Error("empty file");
  if (size > static_cast<size_t>(INT_MAX))
    throw Error("file too large for the image decoder (" + std::to_string(size) + " bytes)");
  check_png_chunks(data, size);
  check_jpeg_huffman_tables(data, size);
  const int length = static_cast<int>(size);
  int width = 0, height = 0, file_channels = 0;
  // The header alone gives the size: refuse oversized images before decoding any pixels.
  if (!stbi_info_from_memory(data, length, &width, &height, &file_channels))
    throw Error("not a readable image (" + stb_reason() + ")");
  const int channels = file_channels <= 2 ? 1 : 3;  // alpha is dropped
  // stbi_info passes on a top-down BMP's negative height; the decoder flips it.
  if (height < 0 && height != INT_MIN && size >= 2 && data[0] == 'B' && data[1] == 'M')
    height = -height;
  if (width <= 0 || height <= 0) throw Error("image has no pixels");
  // width * height < 2^62, but times the bytes per pixel can overflow int64: saturate
  // instead, well below the limit because the cap check rounds the value up to MiB.
  const int64_t pixel_count = int64_t{width} * height;
  constexpr int64_t kSaturated = std::numeric_limits<int64_t>::max() / 2;
  // The float tensor plus the decoder's own buffers at their peak: up to three 8-bit images
  // of up to 4 channels (PNG's inflated rows, the decoded image, its channel conversion).
  // Checked here, from the header, so a huge image is refused before any pixel is decoded.
  const int64_t bytes_per_pixel = channels * 4 + 3 * 4;
  const int64_t decode_bytes =
      pixel_count > kSaturated / bytes_per_pixel ? kSaturated : pixel_count * bytes_per_pixel;
  check_memory_cap(decode_bytes, max_bytes,
                   "decoding an image of " + std::to_string(width) + "x" + std::to_string(height) +
                       " with " + std::to_string(channels) +
                       (channels == 1 ? " channel" : " channels"));
  // Truncated pixel data, decoder hangs and formats stb decodes wrongly: refused here.
  check_pixel_data(data, size, width, height);

  int got_width = 0, got_height = 0, ignored = 0;
  // Asking stb for 1 or 3 channels makes it drop alpha (and convert 16-bit to 8-bit) for us.
  std::unique_ptr<stbi_uc, StbiFree> pixels(
      stbi_load_from_memory(data, length, &got_width, &got_height, &ignored, channels));
  if (!pixels) throw Error("cannot decode image (" + stb_reason() + ")");
  if (got_width != width || got_height != height)
    throw Error("image decoder disagrees about the size");

  Tensor tensor;
  tensor.shape = {1, channels, height, width};
  tensor.data.resize(static_cast<size_t>(pixel_count * channels),
                     0.0f);  // within the cap: no overflow
  const size_t plane = static_cast<size_t>(width) * height;
  const stbi_uc* src = pixels.get();
  // Interleaved HWC bytes -> planar CHW floats in [0, 1].
  for (size_t i = 0; i < plane; ++i)
    for (int c = 0; c < channels; ++c)
      tensor.data[c * plane + i] = static_cast<float>(src[i * channels + c]) / 255.0f;
  return tensor;
}

Tensor load_image(const std::string& path, int64_t max_bytes) {
  const std::vector<uint8_t> bytes = read_file_bytes(path, source_file_cap(max_bytes));
  try {
    return decode_image(bytes.data(), bytes.size(), max_bytes);
  } catch (...) {
    rethrow_with_path(path);
  }
}

void save_png_rgb(const std::string& path, int width, int height, const std::vector<uint8_t>& rgb) {
  if (width <= 0 || height <= 0)
    throw Error(path + ": cannot write a " + std::to_string(width) + "x" + std::to_string(height) +
                " PNG");
  if (int64_t{width} * 3 > INT_MAX)
    throw Error(path + ": image too wide for PNG export (" + std::to_string(width) + " pixels)");
  const int64_t expected = int64_t{width} * height * 3;
  if (static_cast<int64_t>(rgb.size()) != expected)
    throw Error(path + ": " + std::to_string(rgb.size()) + " bytes of RGB data for a " +
                std::to_string(width) + "x" + std::to_string(height) + " image, which needs " +
                std::to_string(expected));
  // zlib level 4 instead of stb's 8: a 1080p map encodes about 1.5x faster for a file a few
  // per cent larger. Set once, before any thread encodes (the setting is a global).
  static const bool level_set = [] {
    stbi_write_png_compression_level = 4;
    return true;
  }();
  (void)level_set;
  std::vector<uint8_t> png;
  if (!stbi_write_png_to_func(append_to_vector, &png, width, height, 3, rgb.data(), width * 3))
    throw Error(path + ": PNG encoding failed");
  write_file_atomically(path, png.data(), png.size());
}

}  // namespace ks
