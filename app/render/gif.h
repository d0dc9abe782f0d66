// A small animated-GIF writer of our own (GIF89a, LZW, one 256-colour palette per frame
// chosen by popularity), so slide exports need no extra library.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace ks::render {

class GifWriter {
 public:
  // delay_cs: time per frame in 1/100 s. The animation loops forever. Throws ks::Error
  // when the target cannot be written (not a regular file). The frames are encoded in memory
  // and finish() writes the file through write_file_atomically, so an interrupted export
  // leaves no half GIF under the real name.
  GifWriter(const std::string& path, int width, int height, int delay_cs);
  ~GifWriter();
  GifWriter(const GifWriter&) = delete;
  GifWriter& operator=(const GifWriter&) = delete;

  // rgb: width * height * 3 bytes, rows top to bottom.
  void add_frame(const std::vector<uint8_t>& rgb);
  void finish();

 private:
  std::string path_;
  int width_, height_, delay_cs_;
  std::string out_;  // the file so far
  bool finished_ = false;
};

// Exposed for tests: reduce an RGB image to at most 256 colours. Colours are binned at 5
// bits per channel; the most frequent bins become the palette (their mean colour), and
// every pixel takes the palette entry nearest to its bin. Flat UI colours stay exact.
struct IndexedImage {
  std::vector<uint8_t> palette;  // 256 * 3 (unused entries black)
  std::vector<uint8_t> indices;  // one per pixel
};
IndexedImage quantize_popularity(const std::vector<uint8_t>& rgb, int width, int height);

// GIF's variable-width LZW for 8-bit indices (minimum code size 8), as a byte stream
// before sub-block framing.
std::vector<uint8_t> gif_lzw_encode(const std::vector<uint8_t>& indices);

}  // namespace ks::render
