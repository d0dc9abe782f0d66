// Pre-checks for two weaknesses of the stb_image in Debian (2022-09 snapshot):
// - PNG: it grows its compressed-data buffer to a chunk's declared length before reading the
//   chunk, so a 100-byte file declaring a 2 GiB chunk costs a 2 GiB allocation;
// - JPEG: it builds a Huffman table from 16 code counts without checking that they sum to at
//   most 256, writing past its 257-entry arrays (fixed upstream later).
// Both checks walk the file the way stb does and throw before stb runs.
#include "io/image_guards.h"

#include <algorithm>
#include <cstring>
#include <string>

#include "io/io_detail.h"
#include "kernelscope/error.h"

namespace ks::io_detail {

void check_png_chunks(const uint8_t* data, size_t size) {
  static const uint8_t kSignature[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
  if (size < 8 || std::memcmp(data, kSignature, 8) != 0) return;
  size_t pos = 8;
  while (pos < size) {
    if (size - pos < 12) throw Error("truncated PNG: file ends inside a chunk header");
    const uint64_t length = load_be32(data + pos);
    const std::string type =
        one_line(std::string(reinterpret_cast<const char*>(data + pos + 4), 4));
    if (length > size - pos - 12)
      throw Error("truncated PNG: chunk '" + type + "' says " + std::to_string(length) +
                  " bytes, file has " + std::to_string(size - pos - 12));
    pos += 12 + static_cast<size_t>(length);
    if (type == "IEND") return;
  }
  throw Error("truncated PNG: no IEND chunk");
}

namespace {

// One DHT segment body: tables of (class/id byte, 16 counts, values) until the declared
// length is used up. stb reads the counts of each table and builds it before looking at the
// next, so each table is checked on its own, reading exactly as far as stb would.
void check_dht_segment(const uint8_t* data, size_t size, size_t pos, int64_t length) {
  while (length > 0 && pos < size) {
    int codes = 0;  // stb reads missing bytes past the end as 0
    for (size_t i = 1; i <= 16 && pos + i < size; ++i) codes += data[pos + i];
    if (codes > 256)
      throw Error("corrupt JPEG: Huffman table defines " + std::to_string(codes) +
                  " codes, at most 256 are possible");
    pos += 17 + static_cast<size_t>(codes);
    length -= 17 + codes;
  }
}

}  // namespace

void check_jpeg_huffman_tables(const uint8_t* data, size_t size) {
  if (size < 3 || data[0] != 0xff || data[1] != 0xd8 || data[2] != 0xff) return;
  size_t pos = 2;
  while (pos + 1 < size) {
    // Between segments lies entropy-coded data, where 0xff is followed by 0x00 (a stuffed
    // byte), 0xd0-0xd7 (restart markers) or another 0xff (fill); other 0xff xx are markers.
    if (data[pos] != 0xff) {
      ++pos;
      continue;
    }
    const uint8_t marker = data[pos + 1];
    if (marker == 0xff) {
      ++pos;
      continue;
    }
    if (marker == 0x00 || marker == 0x01 || (marker >= 0xd0 && marker <= 0xd8)) {
      pos += 2;  // markers without a length field
      continue;
    }
    if (marker == 0xd9 || pos + 4 > size) return;  // end of image, or stb reports truncation
    const size_t length = size_t{data[pos + 2]} << 8 | data[pos + 3];
    if (marker == 0xc4) check_dht_segment(data, size, pos + 4, static_cast<int64_t>(length) - 2);
    pos += 2 + std::max<size_t>(length, 2);
  }
}

}  // namespace ks::io_detail
