// Checks run on image bytes before stb_image sees them, for inputs that make the stb_image
// version Debian ships allocate far too much or write out of bounds. Internal to engine/src/io.
#pragma once

#include <cstddef>
#include <cstdint>

namespace ks::io_detail {

// PNG: every chunk must fit in the file and an IEND must follow. No-op for other formats.
void check_png_chunks(const uint8_t* data, size_t size);
// JPEG: every Huffman table must define at most 256 codes. No-op for other formats.
void check_jpeg_huffman_tables(const uint8_t* data, size_t size);
// BMP, PSD, binary PNM, TGA and Radiance HDR: the pixel data the header announces must all be
// in the file (stb reads missing bytes as zeros or leaves them unwritten), run-length HDR must
// have no zero-length runs (stb loops forever on one) and 16-bit run-length PSD is refused.
// width and height are stbi_info's. No-op for other formats.
void check_pixel_data(const uint8_t* data, size_t size, int width, int height);

}  // namespace ks::io_detail
