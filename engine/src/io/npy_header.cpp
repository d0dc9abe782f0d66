// Parses the .npy header strictly. The dict is a Python literal written by numpy's
// format.py; we accept exactly what it produces (quoted keys, True/False, int tuples) and
// reject anything else rather than guessing.
#include "io/npy_header.h"

#include <cctype>
#include <cstring>
#include <limits>
#include <string>

#include "io/io_detail.h"
#include "kernelscope/error.h"

namespace ks::io_detail {
namespace {

constexpr char kMagic[] = "\x93NUMPY";
constexpr size_t kMagicSize = 6;

// A cursor over the dict text with one-line error messages that quote the position.
class DictReader {
 public:
  explicit DictReader(std::string text) : text_(std::move(text)) {}

  [[noreturn]] void fail(const std::string& what) const {
    throw Error("bad npy header: " + what + " at offset " + std::to_string(pos_) + " in " +
                quoted_text());
  }

  void skip_space() {
    while (pos_ < text_.size() && (text_[pos_] == ' ' || text_[pos_] == '\t')) ++pos_;
  }
  bool at_end() const { return pos_ >= text_.size(); }
  char peek() const { return at_end() ? '\0' : text_[pos_]; }
  bool accept(char c) {
    skip_space();
    if (peek() != c) return false;
    ++pos_;
    return true;
  }
  void expect(char c) {
    if (!accept(c)) fail(std::string("expected '") + c + "'");
  }
  bool accept_word(const char* word) {
    skip_space();
    const size_t n = std::strlen(word);
    if (text_.compare(pos_, n, word) != 0) return false;
    pos_ += n;
    return true;
  }

  std::string read_string() {
    skip_space();
    const char quote = peek();
    if (quote != '\'' && quote != '"') fail("expected a quoted string");
    const size_t end = text_.find(quote, pos_ + 1);
    if (end == std::string::npos) fail("unterminated string");
    std::string value = text_.substr(pos_ + 1, end - pos_ - 1);
    pos_ = end + 1;
    return value;
  }

  int64_t read_int() {
    skip_space();
    if (peek() == '-') fail("negative dimension");
    if (!std::isdigit(static_cast<unsigned char>(peek()))) fail("expected an integer");
    int64_t value = 0;
    while (std::isdigit(static_cast<unsigned char>(peek()))) {
      const int digit = text_[pos_] - '0';
      if (value > (std::numeric_limits<int64_t>::max() - digit) / 10) fail("dimension too large");
      value = value * 10 + digit;
      ++pos_;
    }
    return value;
  }

  // "()", "(3,)", "(3, 4)" and "(3, 4,)".
  Shape read_shape() {
    expect('(');
    Shape shape;
    if (accept(')')) return shape;
    while (true) {
      if (shape.size() == 64) fail("too many dimensions");
      shape.push_back(read_int());
      if (accept(')')) break;
      expect(',');
      if (accept(')')) break;
    }
    return shape;
  }

 private:
  std::string quoted_text() const {
    std::string shown = text_.size() > 120 ? text_.substr(0, 120) + "..." : text_;
    return "\"" + one_line(shown) + "\"";
  }

  std::string text_;
  size_t pos_ = 0;
};

void parse_descr(const std::string& descr, NpyHeader* header) {
  if (descr.size() == 3 && (descr[0] == '<' || descr[0] == '>') && descr[1] == 'f' &&
      (descr[2] == '4' || descr[2] == '8')) {
    header->big_endian = descr[0] == '>';
    header->element_size = descr[2] - '0';
    return;
  }
  throw Error("unsupported npy dtype '" + one_line(descr) +
              "' (only float32 and float64: '<f4', '>f4', '<f8', '>f8')");
}

}  // namespace

NpyHeader parse_npy_header(const uint8_t* data, size_t size) {
  if (size == 0) throw Error("empty file");
  if (size < kMagicSize || std::memcmp(data, kMagic, kMagicSize) != 0)
    throw Error("not an npy file (bad magic bytes)");
  if (size < kMagicSize + 2) throw Error("truncated npy header: no version bytes");

  NpyHeader header;
  header.major_version = data[6];
  const int minor = data[7];
  if ((header.major_version < 1 || header.major_version > 3) || minor != 0)
    throw Error("unsupported npy version " + std::to_string(header.major_version) + "." +
                std::to_string(minor) + " (1.0, 2.0 and 3.0 are supported)");
  // Version 1 stores the header length in 2 bytes, versions 2 and 3 in 4 (3 only changes the
  // dict's text encoding to UTF-8, which our ASCII-only grammar does not care about).
  const size_t length_bytes = header.major_version == 1 ? 2 : 4;
  const size_t prefix = kMagicSize + 2 + length_bytes;
  if (size < prefix) throw Error("truncated npy header: file ends inside the header length");
  const uint64_t dict_length = length_bytes == 2 ? load_le16(data + 8) : load_le32(data + 8);
  if (dict_length > size - prefix)
    throw Error("truncated npy header: header says " + std::to_string(dict_length) +
                " bytes, file has " + std::to_string(size - prefix) + " after the prefix");
  header.data_offset = prefix + static_cast<size_t>(dict_length);

  std::string text(reinterpret_cast<const char*>(data + prefix), static_cast<size_t>(dict_length));
  // numpy pads with spaces and ends with '\n'; some writers omit the newline.
  while (!text.empty() && (text.back() == '\n' || text.back() == ' ')) text.pop_back();
  DictReader reader(text);
  bool seen_descr = false, seen_order = false, seen_shape = false;
  reader.expect('{');
  while (!reader.accept('}')) {
    const std::string key = reader.read_string();
    reader.expect(':');
    bool* seen = nullptr;
    if (key == "descr") {
      seen = &seen_descr;
      parse_descr(reader.read_string(), &header);
    } else if (key == "fortran_order") {
      seen = &seen_order;
      if (reader.accept_word("True"))
        throw Error("fortran-order npy arrays are not supported (save with C order)");
      if (!reader.accept_word("False")) reader.fail("fortran_order must be True or False");
    } else if (key == "shape") {
      seen = &seen_shape;
      header.shape = reader.read_shape();
    } else {
      reader.fail("unexpected key '" + one_line(key) + "'");
    }
    if (*seen) reader.fail("duplicate key '" + key + "'");
    *seen = true;
    if (!reader.accept(',')) {
      reader.expect('}');
      break;
    }
  }
  reader.skip_space();
  if (!reader.at_end()) reader.fail("unexpected text after the dict");
  if (!seen_descr) throw Error("bad npy header: missing key 'descr'");
  if (!seen_order) throw Error("bad npy header: missing key 'fortran_order'");
  if (!seen_shape) throw Error("bad npy header: missing key 'shape'");
  return header;
}

std::string make_npy_header(const Shape& shape) {
  std::string dict = "{'descr': '<f4', 'fortran_order': False, 'shape': (";
  for (size_t i = 0; i < shape.size(); ++i) dict += std::to_string(shape[i]) + ", ";
  if (shape.size() > 1)
    dict.resize(dict.size() - 2);  // "(3,)" keeps its comma, "(3, 4)" not
  else if (shape.size() == 1)
    dict.pop_back();
  dict += "), }";
  // Version 1 unless the dict does not fit its 16-bit length field.
  const bool v1 = dict.size() + 1 + 63 <= 65535;
  const size_t prefix = kMagicSize + 2 + (v1 ? 2 : 4);
  const size_t total = (prefix + dict.size() + 1 + 63) / 64 * 64;
  dict.append(total - prefix - dict.size() - 1, ' ');
  dict += '\n';

  std::string out(kMagic, kMagicSize);
  out += static_cast<char>(v1 ? 1 : 2);
  out += '\0';
  const uint32_t length = static_cast<uint32_t>(dict.size());
  for (size_t i = 0; i < (v1 ? 2u : 4u); ++i) out += static_cast<char>(length >> (8 * i));
  return out + dict;
}

}  // namespace ks::io_detail
