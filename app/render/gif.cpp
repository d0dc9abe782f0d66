// GIF89a writing: popularity quantisation, LZW, the file structure (see gif.h).
#include "render/gif.h"

#include <algorithm>
#include <array>
#include <cstdio>
#include <limits>
#include <string>

#include "kernelscope/error.h"
#include "kernelscope/io.h"

namespace ks::render {
namespace {

int bin_of(const uint8_t* p) { return ((p[0] >> 3) << 10) | ((p[1] >> 3) << 5) | (p[2] >> 3); }

void put16(std::string& out, int v) {
  out += static_cast<char>(v & 0xFF);
  out += static_cast<char>((v >> 8) & 0xFF);
}

// Packs codes LSB first, as GIF requires.
class BitWriter {
 public:
  explicit BitWriter(std::vector<uint8_t>* out) : out_(out) {}
  void write(int code, int bits) {
    buffer_ |= static_cast<uint32_t>(code) << count_;
    count_ += bits;
    while (count_ >= 8) {
      out_->push_back(static_cast<uint8_t>(buffer_ & 0xFF));
      buffer_ >>= 8;
      count_ -= 8;
    }
  }
  void flush() {
    if (count_ > 0) out_->push_back(static_cast<uint8_t>(buffer_ & 0xFF));
    buffer_ = 0;
    count_ = 0;
  }

 private:
  std::vector<uint8_t>* out_;
  uint32_t buffer_ = 0;
  int count_ = 0;
};

}  // namespace

IndexedImage quantize_popularity(const std::vector<uint8_t>& rgb, int width, int height) {
  const size_t n = static_cast<size_t>(width) * height;
  std::vector<uint32_t> count(32768, 0);
  std::vector<std::array<uint64_t, 3>> sum(32768, {0, 0, 0});
  for (size_t i = 0; i < n; ++i) {
    const uint8_t* p = &rgb[i * 3];
    const int b = bin_of(p);
    ++count[static_cast<size_t>(b)];
    for (int c = 0; c < 3; ++c) sum[static_cast<size_t>(b)][static_cast<size_t>(c)] += p[c];
  }
  std::vector<int> bins;
  for (int b = 0; b < 32768; ++b)
    if (count[static_cast<size_t>(b)]) bins.push_back(b);
  std::sort(bins.begin(), bins.end(), [&](int a, int b) {
    return count[static_cast<size_t>(a)] > count[static_cast<size_t>(b)];
  });
  const size_t used = std::min<size_t>(bins.size(), 256);

  IndexedImage img;
  img.palette.assign(256 * 3, 0);
  for (size_t e = 0; e < used; ++e) {
    const size_t b = static_cast<size_t>(bins[e]);
    for (int c = 0; c < 3; ++c)
      img.palette[e * 3 + static_cast<size_t>(c)] =
          static_cast<uint8_t>((sum[b][static_cast<size_t>(c)] + count[b] / 2) / count[b]);
  }
  // Each occupied bin maps to the nearest palette colour (its own entry when it has one).
  std::vector<uint8_t> lookup(32768, 0);
  for (size_t k = 0; k < bins.size(); ++k) {
    const size_t b = static_cast<size_t>(bins[k]);
    if (k < used) {
      lookup[b] = static_cast<uint8_t>(k);
      continue;
    }
    int best = 0;
    int64_t best_d = std::numeric_limits<int64_t>::max();
    for (size_t e = 0; e < used; ++e) {
      int64_t d = 0;
      for (int c = 0; c < 3; ++c) {
        const int64_t v = static_cast<int64_t>(sum[b][static_cast<size_t>(c)] / count[b]) -
                          img.palette[e * 3 + static_cast<size_t>(c)];
        d += v * v;
      }
      if (d < best_d) best_d = d, best = static_cast<int>(e);
    }
    lookup[b] = static_cast<uint8_t>(best);
  }
  img.indices.resize(n);
  for (size_t i = 0; i < n; ++i) img.indices[i] = lookup[static_cast<size_t>(bin_of(&rgb[i * 3]))];
  return img;
}

std::vector<uint8_t> gif_lzw_encode(const std::vector<uint8_t>& indices) {
  constexpr int kClear = 256, kEnd = 257, kFirstFree = 258, kMaxCodes = 4096;
  std::vector<uint8_t> out;
  BitWriter bits(&out);
  // child[prefix * 256 + byte] = code of the string prefix+byte, 0 when absent (real codes
  // are >= 258, so 0 is free to mean "none").
  std::vector<uint16_t> child(static_cast<size_t>(kMaxCodes) * 256, 0);
  int next = kFirstFree, width = 9;
  // The decoder widens its codes once its table reaches 2^width; emitting a code and then
  // checking `next` (before adding this step's entry) keeps the encoder in step with it.
  auto emit = [&](int code) {
    bits.write(code, width);
    if (next >= (1 << width) && width < 12) ++width;
  };
  emit(kClear);
  if (indices.empty()) {
    emit(kEnd);
    bits.flush();
    return out;
  }
  int prefix = indices[0];
  for (size_t i = 1; i < indices.size(); ++i) {
    const int k = indices[i];
    uint16_t& slot = child[static_cast<size_t>(prefix) * 256 + static_cast<size_t>(k)];
    if (slot) {
      prefix = slot;
      continue;
    }
    emit(prefix);
    if (next < kMaxCodes) {
      slot = static_cast<uint16_t>(next++);
    } else {  // table full: start over
      emit(kClear);
      std::fill(child.begin(), child.end(), 0);
      next = kFirstFree;
      width = 9;
    }
    prefix = k;
  }
  emit(prefix);
  emit(kEnd);
  bits.flush();
  return out;
}

GifWriter::GifWriter(const std::string& path, int width, int height, int delay_cs)
    : path_(path), width_(width), height_(height), delay_cs_(delay_cs) {
  if (width < 1 || height < 1 || width > 65535 || height > 65535)
    throw Error("GIF frames must be 1..65535 pixels wide and high");
  check_output_target(path_);  // a device or FIFO fails now, not after all frames
  out_.append("GIF89a", 6);
  put16(out_, width_);
  put16(out_, height_);
  out_ += static_cast<char>(0);  // no global colour table: every frame brings its own
  out_ += static_cast<char>(0);  // background index
  out_ += static_cast<char>(0);  // pixel aspect ratio: unspecified
  // NETSCAPE2.0 application extension: loop forever.
  const char loop[] = {'\x21', '\xFF', '\x0B', 'N', 'E',    'T',    'S',    'C',    'A',   'P',
                       'E',    '2',    '.',    '0', '\x03', '\x01', '\x00', '\x00', '\x00'};
  out_.append(loop, sizeof loop);
}

GifWriter::~GifWriter() = default;  // an unfinished GIF was never written

void GifWriter::add_frame(const std::vector<uint8_t>& rgb) {
  if (finished_) throw Error("GIF " + path_ + " is already finished");
  if (rgb.size() != static_cast<size_t>(width_) * height_ * 3)
    throw Error("GIF frame has the wrong size");
  const IndexedImage img = quantize_popularity(rgb, width_, height_);
  // Graphic control extension: delay, no transparency, disposal "leave in place".
  out_ += '\x21';
  out_ += '\xF9';
  out_ += static_cast<char>(4);
  out_ += static_cast<char>(0x04);
  put16(out_, delay_cs_);
  out_ += static_cast<char>(0);
  out_ += static_cast<char>(0);
  // Image descriptor with a 256-entry local colour table.
  out_ += '\x2C';
  put16(out_, 0);
  put16(out_, 0);
  put16(out_, width_);
  put16(out_, height_);
  out_ += static_cast<char>(0x80 | 7);
  out_.append(reinterpret_cast<const char*>(img.palette.data()), img.palette.size());
  out_ += static_cast<char>(8);  // LZW minimum code size
  const std::vector<uint8_t> data = gif_lzw_encode(img.indices);
  for (size_t pos = 0; pos < data.size(); pos += 255) {
    const size_t len = std::min<size_t>(255, data.size() - pos);
    out_ += static_cast<char>(len);
    out_.append(reinterpret_cast<const char*>(data.data() + pos), len);
  }
  out_ += static_cast<char>(0);  // end of image data
}

void GifWriter::finish() {
  if (finished_) return;
  out_ += '\x3B';
  write_file_atomically(path_, out_.data(), out_.size());
  finished_ = true;
}

}  // namespace ks::render
