// safetensors reader and writer: round trips, the four float dtypes against known bit
// patterns, and every way a header or its offsets can be wrong.
#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <limits>

#include "correctness_grid.h"
#include "kernelscope/error.h"
#include "kernelscope/io.h"
#include "test_util.h"

namespace ks {
namespace {

using test::TempDir;
using test::throws_with;

std::string st_bytes(const std::string& header, const std::string& payload) {
  std::string out;
  for (int i = 0; i < 8; ++i)
    out += static_cast<char>(static_cast<uint64_t>(header.size()) >> (8 * i));
  return out + header + payload;
}

std::string le16(std::initializer_list<uint16_t> values) {
  std::string out;
  for (uint16_t v : values) {
    out += static_cast<char>(v & 0xff);
    out += static_cast<char>(v >> 8);
  }
  return out;
}

TensorMap parse(const std::string& bytes, int64_t max_bytes = kDefaultMemoryCapBytes) {
  return parse_safetensors(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size(), max_bytes);
}

std::string entry(const std::string& name, const std::string& dtype, const std::string& shape,
                  uint64_t begin, uint64_t end) {
  return "\"" + name + "\":{\"dtype\":\"" + dtype + "\",\"shape\":" + shape +
         ",\"data_offsets\":[" + std::to_string(begin) + "," + std::to_string(end) + "]}";
}

TEST(SafetensorsIo, RoundTripKeepsEveryTensor) {
  const TempDir temp("st_roundtrip");
  const std::string& dir = temp.path;
  TensorMap tensors;
  tensors["weight"] = test::random_tensor({4, 2, 3, 3}, 1);
  tensors["bias"] = test::random_tensor({4}, 2);
  tensors["scalar"] = Tensor(Shape{}, 3.0f);
  tensors["empty"] = Tensor(Shape{0, 5});
  save_safetensors(dir + "/w.safetensors", tensors);
  EXPECT_FALSE(std::filesystem::exists(dir + "/w.safetensors.tmp"));
  const TensorMap loaded = load_safetensors(dir + "/w.safetensors");
  ASSERT_EQ(loaded.size(), tensors.size());
  for (const auto& [name, tensor] : tensors) {
    ASSERT_EQ(loaded.count(name), 1u) << name;
    EXPECT_EQ(loaded.at(name).shape, tensor.shape) << name;
    EXPECT_EQ(loaded.at(name).data, tensor.data) << name;
  }
  // The data section starts 8-byte aligned.
  std::ifstream in(dir + "/w.safetensors", std::ios::binary);
  uint8_t length[8];
  in.read(reinterpret_cast<char*>(length), 8);
  EXPECT_EQ(length[0] % 8, 0);
}

TEST(SafetensorsIo, DecodesF16AndBf16BitPatterns) {
  // F16: 1.0, -2.0, 65504 (max), smallest subnormal 2^-24, largest subnormal, -0, inf, -inf,
  // NaN, 0.333 (0x3555 = 0.33325195...).
  const std::string f16 =
      le16({0x3c00, 0xc000, 0x7bff, 0x0001, 0x03ff, 0x8000, 0x7c00, 0xfc00, 0x7e00, 0x3555});
  // BF16: 1.0, -2.5, 3.140625 (0x4049), smallest subnormal, inf, NaN.
  const std::string bf16 = le16({0x3f80, 0xc020, 0x4049, 0x0001, 0x7f80, 0x7fc0});
  const std::string header = "{" + entry("h", "F16", "[10]", 0, 20) + "," +
                             entry("b", "BF16", "[2,3]", 20, 32) +
                             ",\"__metadata__\":{\"format\":\"pt\"}}";
  const TensorMap m = parse(st_bytes(header, f16 + bf16));
  ASSERT_EQ(m.size(), 2u);
  const FloatBuffer& h = m.at("h").data;
  EXPECT_EQ(h[0], 1.0f);
  EXPECT_EQ(h[1], -2.0f);
  EXPECT_EQ(h[2], 65504.0f);
  EXPECT_EQ(h[3], std::ldexp(1.0f, -24));
  EXPECT_EQ(h[4], std::ldexp(1023.0f, -24));
  EXPECT_EQ(h[5], 0.0f);
  EXPECT_TRUE(std::signbit(h[5]));
  EXPECT_EQ(h[6], std::numeric_limits<float>::infinity());
  EXPECT_EQ(h[7], -std::numeric_limits<float>::infinity());
  EXPECT_TRUE(std::isnan(h[8]));
  EXPECT_EQ(h[9], 0.33325195f);
  const Tensor& b = m.at("b");
  EXPECT_EQ(b.shape, (Shape{2, 3}));
  EXPECT_EQ(b.data[0], 1.0f);
  EXPECT_EQ(b.data[1], -2.5f);
  EXPECT_EQ(b.data[2], 3.140625f);
  EXPECT_EQ(b.data[3], std::numeric_limits<float>::denorm_min() * float(1 << 16));
  EXPECT_TRUE(std::isinf(b.data[4]));
  EXPECT_TRUE(std::isnan(b.data[5]));
}

TEST(SafetensorsIo, DecodesF64AndF32) {
  std::string payload;
  for (double v : {0.5, -1e-7, 1e300}) {
    uint64_t bits;
    std::memcpy(&bits, &v, 8);
    for (int i = 0; i < 8; ++i) payload += static_cast<char>(bits >> (8 * i));
  }
  payload += std::string("\x00\x00\xc0\x3f", 4);  // F32 1.5 little-endian
  const std::string header =
      "{" + entry("d", "F64", "[3]", 0, 24) + "," + entry("f", "F32", "[]", 24, 28) + "}";
  const TensorMap m = parse(st_bytes(header, payload));
  EXPECT_EQ(m.at("d").data[0], 0.5f);
  EXPECT_EQ(m.at("d").data[1], -1e-7f);
  EXPECT_TRUE(std::isinf(m.at("d").data[2]));
  EXPECT_EQ(m.at("f").shape, Shape{});
  EXPECT_EQ(m.at("f").data, (FloatBuffer{1.5f}));
}

// One byte feeding two tensors is no safetensors writer's output (issue 15): refused, naming
// both tensors. (engine_hardening_test.cpp covers holes, trailing bytes and duplicates.)
TEST(SafetensorsIo, OverlappingOffsetsAreRefused) {
  const std::string header =
      "{" + entry("a", "F32", "[2]", 0, 8) + "," + entry("b", "F32", "[1]", 4, 8) + "}";
  EXPECT_TRUE(throws_with([&] { parse(st_bytes(header, std::string(8, '\0'))); },
                          "tensor 'b': data_offsets [4, 8] overlap those of tensor 'a'"));
}

TEST(SafetensorsIo, RejectsBadFraming) {
  EXPECT_TRUE(throws_with([] { parse(""); }, "empty file"));
  EXPECT_TRUE(throws_with([] { parse("abc"); }, "truncated safetensors file: 3 bytes"));
  EXPECT_TRUE(throws_with([] { parse(st_bytes("{}", "").substr(0, 9)); },
                          "truncated safetensors header: header length says 2 bytes, file has 1"));
  std::string huge_length = st_bytes("{}", "");
  huge_length[7] = '\x7f';
  EXPECT_TRUE(throws_with([&] { parse(huge_length); }, "truncated safetensors header"));
  EXPECT_NO_THROW(parse(st_bytes("{}", "")));
  EXPECT_NO_THROW(parse(st_bytes("{\"__metadata__\":{\"a\":\"b\"}}", "")));
}

TEST(SafetensorsIo, RejectsBadJson) {
  auto bad = [](const std::string& header, const std::string& needle) {
    return throws_with([&] { parse(st_bytes(header, std::string(16, '\0'))); }, needle);
  };
  EXPECT_TRUE(bad("{\"a\": [1, 2", "not valid JSON"));
  EXPECT_TRUE(bad("garbage\n\x01\x02", "not valid JSON"));
  EXPECT_TRUE(bad("{\"a\":\"\xff\xfe\"}", "not valid JSON"));  // invalid UTF-8
  EXPECT_TRUE(bad("[1, 2, 3]", "not a JSON object"));
  EXPECT_TRUE(bad(std::string(100, '[') + std::string(100, ']'), "nested too deeply"));
  EXPECT_TRUE(bad("{\"a\": 5}", "tensor 'a': header entry is not an object"));
  EXPECT_TRUE(
      bad("{\"a\": {\"dtype\": \"F32\", \"shape\": [1]}}", "tensor 'a': missing 'data_offsets'"));
  EXPECT_TRUE(bad("{\"a\": {\"dtype\": \"F32\", \"data_offsets\": [0, 4]}}", "missing 'shape'"));
  EXPECT_TRUE(bad("{\"a\": {\"shape\": [1], \"data_offsets\": [0, 4]}}", "missing 'dtype'"));
  EXPECT_TRUE(bad("{\"a\": {\"dtype\": 3, \"shape\": [1], \"data_offsets\": [0, 4]}}",
                  "dtype is not a string"));
  EXPECT_TRUE(bad("{\"a\": {\"dtype\": \"F32\", \"shape\": 1, \"data_offsets\": [0, 4]}}",
                  "shape is not an array"));
  EXPECT_TRUE(bad("{" + entry("a", "F32", "[-1]", 0, 4) + "}", "negative value in shape"));
  EXPECT_TRUE(bad("{" + entry("a", "F32", "[1.5]", 0, 4) + "}", "non-negative integers"));
  EXPECT_TRUE(bad("{" + entry("a", "F32", "[\"2\"]", 0, 4) + "}", "non-negative integers"));
  EXPECT_TRUE(bad("{\"a\": {\"dtype\": \"F32\", \"shape\": [1], \"data_offsets\": [0]}}",
                  "data_offsets must be [begin, end]"));
  EXPECT_TRUE(bad("{\"a\": {\"dtype\": \"F32\", \"shape\": [1], \"data_offsets\": [0, -4]}}",
                  "negative value in data_offsets"));
  EXPECT_TRUE(bad("{\"line\\nbreak\": 5}", "tensor 'line break'"));
}

TEST(SafetensorsIo, RejectsUnsupportedDtypesByName) {
  for (const char* dtype : {"I32", "U8", "BOOL", "F8_E4M3", "I64", "whatever"}) {
    const std::string header = "{" + entry("layer.w", dtype, "[1]", 0, 4) + "}";
    EXPECT_TRUE(throws_with([&] { parse(st_bytes(header, std::string(4, '\0'))); },
                            std::string("tensor 'layer.w' has dtype ") + dtype +
                                "; only F32, F64, F16 and BF16 are supported"));
  }
}

TEST(SafetensorsIo, RejectsOffsetsThatDoNotFit) {
  const std::string payload(16, '\0');
  auto bad = [&](const std::string& e, const std::string& needle) {
    return throws_with([&] { parse(st_bytes("{" + e + "}", payload)); }, needle);
  };
  EXPECT_TRUE(bad(entry("a", "F32", "[5]", 0, 20),
                  "tensor 'a': data_offsets [0, 20] out of bounds (data section has 16 bytes)"));
  EXPECT_TRUE(bad(entry("a", "F32", "[0]", 8, 4), "out of bounds"));
  EXPECT_TRUE(
      bad(entry("a", "F32", "[1]", 18446744073709551615u, 18446744073709551615u), "out of bounds"));
  EXPECT_TRUE(bad(entry("a", "F32", "[3]", 0, 16),
                  "tensor 'a': data_offsets hold 16 bytes but dtype F32 and shape [3] need 12"));
  EXPECT_TRUE(bad(entry("a", "F16", "[2, 2]", 0, 4), "need 8"));
}

TEST(SafetensorsIo, HugeShapesAreRefusedBeforeAllocating) {
  const std::string payload(16, '\0');
  auto bad = [&](const std::string& header, const std::string& needle, int64_t cap) {
    return throws_with([&] { parse(st_bytes(header, payload), cap); }, needle);
  };
  EXPECT_TRUE(bad("{" + entry("a", "F32", "[4611686018427387904, 4]", 0, 16) + "}",
                  "tensor 'a':", kDefaultMemoryCapBytes));
  EXPECT_TRUE(bad("{" + entry("a", "F32", "[1152921504606846976]", 0, 16) + "}",
                  "too many elements", kDefaultMemoryCapBytes));
  EXPECT_TRUE(bad("{" + entry("a", "F32", "[4]", 0, 16) + "}", "more than the memory cap", 15));
  // Overlapping entries multiply the decoded size: the cap counts every tensor.
  std::string header = "{";
  for (int i = 0; i < 10; ++i)
    header += (i ? "," : "") + entry("t" + std::to_string(i), "F32", "[4]", 0, 16);
  header += "}";
  EXPECT_TRUE(bad(header, "safetensors tensors needs", 100));
  // Under the cap they are still refused, for the overlap.
  EXPECT_TRUE(bad(header, "overlap", 160));
}

TEST(SafetensorsIo, FileErrorsNameTheFile) {
  const TempDir temp("st_errors");
  const std::string& dir = temp.path;
  EXPECT_TRUE(throws_with([&] { load_safetensors(dir + "/missing.safetensors"); },
                          dir + "/missing.safetensors: no such file"));
  std::ofstream(dir + "/junk.safetensors", std::ios::binary) << st_bytes("{nope", "");
  EXPECT_TRUE(throws_with([&] { load_safetensors(dir + "/junk.safetensors"); },
                          dir + "/junk.safetensors: safetensors header is not valid JSON"));
  EXPECT_TRUE(throws_with([&] { save_safetensors(dir + "/nodir/x.safetensors", {}); },
                          dir + "/nodir/x.safetensors: cannot create"));
  TensorMap bad_name;
  bad_name["__metadata__"] = Tensor({1});
  EXPECT_TRUE(throws_with([&] { save_safetensors(dir + "/m.safetensors", bad_name); },
                          "'__metadata__' cannot name a tensor"));
  TensorMap bad_utf8;
  bad_utf8["\xff"] = Tensor({1});
  EXPECT_TRUE(throws_with([&] { save_safetensors(dir + "/u.safetensors", bad_utf8); },
                          "cannot write the header"));
}

TEST(SafetensorsIo, ReadsFilesWrittenByPyTorch) {
  // Written by tools/make_io_fixtures.py with torch + safetensors' reference layout.
  const TensorMap m = load_safetensors(test::fixture_dir() + "/io/dtypes.safetensors");
  ASSERT_EQ(m.count("f16"), 1u);
  const std::vector<float> expected = {0.0f, 1.0f, -2.5f, 0.1f, 1000.0f, -65504.0f};
  for (const char* key : {"f32", "f64", "f16", "bf16"}) {
    ASSERT_EQ(m.count(key), 1u) << key;
    EXPECT_EQ(m.at(key).shape, (Shape{2, 3})) << key;
  }
  for (size_t i = 0; i < expected.size(); ++i) {
    EXPECT_EQ(m.at("f32").data[i], expected[i]);
    EXPECT_EQ(m.at("f64").data[i], expected[i]);
    EXPECT_NEAR(m.at("f16").data[i], expected[i], std::fabs(expected[i]) * 1e-3f);
    EXPECT_NEAR(m.at("bf16").data[i], expected[i], std::fabs(expected[i]) * 1e-2f);
  }
}

}  // namespace
}  // namespace ks
