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

}  // namespace ks::io_detail
