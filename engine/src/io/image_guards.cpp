// Pre-checks for two weaknesses of the stb_image in Debian (2022-09 snapshot):
// - PNG: it grows its compressed-data buffer to a chunk's declared length before reading the
//   chunk, so a 100-byte file declaring a 2 GiB chunk costs a 2 GiB allocation;
// - JPEG: it builds a Huffman table from 16 code counts without checking that they sum to at
//   most 256, writing past its 257-entry arrays (fixed upstream later).
// Both checks walk the file the way stb does and throw before stb runs.
#include "io/image_guards.h"

#include <algorithm>
#include <cstdint>
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

// ---------------------------------------------------------------------------------------------
// Pixel-data walks. The stb_image in Debian reads past the end of the buffer as zero bytes
// (BMP, PSD, TGA RLE, HDR) or leaves the output buffer unwritten (binary PNM, raw TGA), and its
// run-length HDR decoder never advances on a zero count, so a truncated file spins forever.
// Each walk below follows the decoder's reads byte for byte and throws when the file ends
// first, so stb only ever sees files whose pixel data it can decode completely.
namespace {

class Cursor {
 public:
  Cursor(const uint8_t* data, size_t size, const char* format)
      : data_(data), size_(size), format_(format) {}
  bool at_eof() const { return pos_ >= size_; }
  size_t pos() const { return pos_; }
  uint8_t get8() {
    if (at_eof()) truncated();
    return data_[pos_++];
  }
  uint32_t get16be() { return uint32_t{get8()} << 8 | get8(); }
  uint32_t get16le() { return get8() | uint32_t{get8()} << 8; }
  uint32_t get32be() { return get16be() << 16 | get16be(); }
  // Moves on n bytes that must all be in the file.
  void skip(uint64_t n) {
    if (n > size_ - pos_) truncated();
    pos_ += static_cast<size_t>(n);
  }
  // stb's skip: a negative count (a length field above 2^31) jumps to the end of the file.
  void stb_skip(uint32_t n) {
    if (static_cast<int32_t>(n) < 0) truncated();
    skip(n);
  }
  [[noreturn]] void truncated() const {
    throw Error(std::string("truncated ") + format_ +
                ": the file ends before its pixel data does (" + std::to_string(size_) + " bytes)");
  }

 private:
  const uint8_t* data_;
  size_t size_;
  size_t pos_ = 0;
  const char* format_;
};

bool starts_with(const uint8_t* data, size_t size, const char* magic) {
  const size_t n = std::strlen(magic);
  return size >= n && std::memcmp(data, magic, n) == 0;
}

// Radiance HDR: stbi__hdr_gettoken, one header line.
std::string hdr_token(Cursor& in) {
  std::string token;
  char c = static_cast<char>(in.get8());
  while (!in.at_eof() && c != '\n') {
    token += c;
    if (token.size() == 1023) {
      while (!in.at_eof() && in.get8() != '\n') {
      }
      break;
    }
    c = static_cast<char>(in.get8());
  }
  return token;
}

void check_hdr(const uint8_t* data, size_t size, int64_t width, int64_t height) {
  Cursor in(data, size, "HDR");
  hdr_token(in);                    // "#?RADIANCE"
  while (!hdr_token(in).empty()) {  // header lines up to the empty one
  }
  hdr_token(in);                          // "-Y <height> +X <width>", parsed by stbi_info already
  const int64_t pixels = width * height;  // both below 2^24 (stb's limit)
  if (width < 8 || width >= 32768) return in.skip(uint64_t(pixels) * 4);  // flat data
  for (int64_t row = 0; row < height; ++row) {
    const uint8_t c1 = in.get8(), c2 = in.get8(), len = in.get8();
    if (c1 != 2 || c2 != 2 || (len & 0x80))  // not run-length: stb reads the rest flat
      return in.skip(1 + uint64_t(pixels - 1) * 4);
    if ((int64_t{len} << 8 | in.get8()) != width) return;  // stb reports the bad length
    for (int component = 0; component < 4; ++component)
      for (int64_t x = 0; x < width;) {
        const int count = in.get8();
        // stb would loop forever here: a zero count advances nothing.
        if (count == 0) throw Error("corrupt HDR: zero-length run in row " + std::to_string(row));
        const int n = count > 128 ? count - 128 : count;
        if (n > width - x) return;  // stb reports "bad RLE data"
        in.skip(count > 128 ? 1 : n);
        x += n;
      }
  }
}

// Binary PGM/PPM (P5/P6): stbi__pnm_info's header walk, then every pixel byte must follow.
void check_pnm(const uint8_t* data, size_t size) {
  Cursor in(data, size, "PNM");
  in.skip(2);
  const auto is_space = [](char c) {
    return c == ' ' || c == '\t' || c == '\n' || c == '\v' || c == '\f' || c == '\r';
  };
  char c = static_cast<char>(in.get8());
  const auto skip_space = [&] {
    for (;;) {
      while (!in.at_eof() && is_space(c)) c = static_cast<char>(in.get8());
      if (in.at_eof() || c != '#') break;
      while (!in.at_eof() && c != '\n' && c != '\r') c = static_cast<char>(in.get8());
    }
  };
  const auto integer = [&] {
    int64_t value = 0;
    while (!in.at_eof() && c >= '0' && c <= '9') {
      value = std::min<int64_t>(value * 10 + (c - '0'), int64_t{1} << 40);
      c = static_cast<char>(in.get8());
    }
    return value;
  };
  skip_space();
  const int64_t width = integer();
  skip_space();
  const int64_t height = integer();
  skip_space();
  const int64_t max_value = integer();
  const int64_t channels = data[1] == '6' ? 3 : 1;
  in.skip(uint64_t(channels * width * height * (max_value > 255 ? 2 : 1)));
}

// TGA: stbi__tga_load's reads (stb has no bounds checks on any of them).
void check_tga(const uint8_t* data, size_t size, int64_t width, int64_t height) {
  Cursor in(data, size, "TGA");
  if (size < 18) in.truncated();
  const uint32_t id_length = data[0], indexed = data[1], type = data[2];
  const uint32_t palette_start = load_le16(data + 3), palette_len = load_le16(data + 5);
  const uint32_t palette_bits = data[7], bits = data[16];
  const bool rle = type >= 8;
  // stbi__tga_get_comp: 15- and 16-bit pixels take 2 bytes, other depths bits / 8.
  const auto bytes_of = [](uint32_t b) { return b == 15 ? 2u : b / 8; };
  in.skip(18 + id_length);
  uint64_t pixel_bytes = bytes_of(bits);
  if (indexed) {
    in.skip(palette_start);
    in.skip(uint64_t(palette_len) * bytes_of(palette_bits));
    pixel_bytes = bits == 8 ? 1 : 2;
  }
  const uint64_t pixels = uint64_t(width) * uint64_t(height);
  if (!rle) return in.skip(pixels * pixel_bytes);
  for (uint64_t done = 0; done < pixels;) {
    const uint8_t command = in.get8();
    const uint64_t count = std::min<uint64_t>(1 + (command & 127), pixels - done);
    in.skip(command & 0x80 ? pixel_bytes : count * pixel_bytes);
    done += count;
  }
}

// BMP: the rows end at the header's data offset plus height row strides (the last row's
// padding may be missing; stb skips it).
void check_bmp(const uint8_t* data, size_t size, int64_t width, int64_t height) {
  Cursor in(data, size, "BMP");
  if (size < 30) in.truncated();
  const uint64_t offset = load_le32(data + 10);
  const uint32_t header_size = load_le32(data + 14);
  const uint64_t bits = header_size == 12 ? load_le16(data + 24) : load_le16(data + 28);
  const uint64_t row = (uint64_t(width) * bits + 7) / 8;
  const uint64_t stride = (row + 3) / 4 * 4;
  in.skip(offset);
  in.skip(uint64_t(height - 1) * stride + row);
}

// PSD: stb decodes the first four channels; 16-bit run-length data it decodes as 8-bit.
void check_psd(const uint8_t* data, size_t size) {
  Cursor in(data, size, "PSD");
  in.skip(12);
  const uint32_t channels = in.get16be();
  const uint64_t height = in.get32be(), width = in.get32be();
  const uint32_t depth = in.get16be();
  if (channels > 16 || (depth != 8 && depth != 16) || in.get16be() != 3) return;  // stb refuses
  for (int section = 0; section < 3; ++section) in.stb_skip(in.get32be());
  const uint32_t compression = in.get16be();
  const uint64_t pixels = width * height;
  const uint64_t decoded = std::min<uint32_t>(channels, 4);
  if (compression == 0) return in.skip(decoded * pixels * depth / 8);
  if (compression != 1) return;  // stb refuses
  if (depth == 16)
    throw Error("16-bit run-length PSD is not supported (the decoder reads it wrongly)");
  in.stb_skip(static_cast<uint32_t>(height * channels * 2));
  for (uint64_t channel = 0; channel < decoded; ++channel)
    for (uint64_t done = 0; done < pixels;) {
      const int length = in.get8();
      if (length == 128) continue;
      const uint64_t n = length < 128 ? length + 1 : 257 - length;
      if (n > pixels - done) return;  // stb reports "bad RLE data"
      in.skip(length < 128 ? n : 1);
      done += n;
    }
}

}  // namespace

void check_pixel_data(const uint8_t* data, size_t size, int width, int height) {
  if (starts_with(data, size, "#?RADIANCE\n") || starts_with(data, size, "#?RGBE\n"))
    return check_hdr(data, size, width, height);
  if (starts_with(data, size, "P5") || starts_with(data, size, "P6")) return check_pnm(data, size);
  if (starts_with(data, size, "BM")) return check_bmp(data, size, width, height);
  if (starts_with(data, size, "8BPS")) return check_psd(data, size);
  // stb tries TGA last and it has no magic; no TGA can start like the formats above or
  // these (its second byte, the colour-map type, is 0 or 1).
  if (size >= 2 && data[1] <= 1 && !starts_with(data, size, "\x89PNG") &&
      !starts_with(data, size, "\xff\xd8"))
    check_tga(data, size, width, height);
}

}  // namespace ks::io_detail
