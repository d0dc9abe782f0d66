// .npy reader and writer: round trips, both byte orders, all header versions, and every way a
// file can be malformed. Files are written by the tests themselves.
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

// An .npy file from parts, so each test can break exactly one of them.
std::string npy_bytes(const std::string& dict, const std::string& payload, int version = 1) {
  std::string out("\x93NUMPY", 6);
  out += static_cast<char>(version);
  out += '\0';
  const uint32_t length = static_cast<uint32_t>(dict.size());
  for (int i = 0; i < (version == 1 ? 2 : 4); ++i) out += static_cast<char>(length >> (8 * i));
  return out + dict + payload;
}

std::string dict_for(const std::string& descr, const std::string& shape) {
  return "{'descr': '" + descr + "', 'fortran_order': False, 'shape': " + shape + ", }\n";
}

Tensor parse(const std::string& bytes, int64_t max_bytes = kDefaultMemoryCapBytes) {
  return parse_npy(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size(), max_bytes);
}

std::string float_bytes_le(std::initializer_list<float> values) {
  std::string out;
  for (float v : values) {
    uint32_t bits;
    std::memcpy(&bits, &v, 4);
    for (int i = 0; i < 4; ++i) out += static_cast<char>(bits >> (8 * i));
  }
  return out;
}

std::string double_bytes(std::initializer_list<double> values, bool big_endian) {
  std::string out;
  for (double v : values) {
    uint64_t bits;
    std::memcpy(&bits, &v, 8);
    for (int i = 0; i < 8; ++i) out += static_cast<char>(bits >> (8 * (big_endian ? 7 - i : i)));
  }
  return out;
}

void write_bytes(const std::string& path, const std::string& bytes) {
  std::ofstream(path, std::ios::binary) << bytes;
}

TEST(NpyIo, RoundTripKeepsShapeAndValuesExactly) {
  const TempDir temp("npy_roundtrip");
  const std::string& dir = temp.path;
  for (const Shape& shape : {Shape{2, 3, 4, 5}, Shape{7}, Shape{}, Shape{0, 3}, Shape{1, 1, 1}}) {
    const Tensor original = test::random_tensor(shape, 42);
    const std::string path = dir + "/t.npy";
    save_npy(path, original);
    EXPECT_FALSE(std::filesystem::exists(path + ".tmp"));
    const Tensor loaded = load_npy(path);
    EXPECT_EQ(loaded.shape, shape);
    EXPECT_EQ(loaded.data, original.data) << shape_to_string(shape);
  }
}

TEST(NpyIo, WrittenHeaderIsWhatNumpyWrites) {
  const TempDir temp("npy_header");
  const std::string& dir = temp.path;
  save_npy(dir + "/a.npy", Tensor({3}, 1.5f));
  std::ifstream in(dir + "/a.npy", std::ios::binary);
  const std::string bytes((std::istreambuf_iterator<char>(in)), {});
  ASSERT_EQ(bytes.size(), 128u + 12u);  // data aligned to 64 bytes, as numpy does
  EXPECT_EQ(bytes.substr(0, 8), std::string("\x93NUMPY\x01\x00", 8));
  EXPECT_NE(bytes.find("{'descr': '<f4', 'fortran_order': False, 'shape': (3,), }"),
            std::string::npos);
  EXPECT_EQ(bytes[127], '\n');
}

TEST(NpyIo, ReadsBothByteOrdersAndFloat64) {
  const Tensor le = parse(npy_bytes(dict_for("<f4", "(2,)"), float_bytes_le({1.5f, -2.0f})));
  EXPECT_EQ(le.data, (FloatBuffer{1.5f, -2.0f}));

  // 1.5f is 0x3fc00000; big-endian stores the most significant byte first.
  const Tensor be = parse(npy_bytes(dict_for(">f4", "(1,)"), std::string("\x3f\xc0\x00\x00", 4)));
  EXPECT_EQ(be.data, (FloatBuffer{1.5f}));

  const Tensor d_le =
      parse(npy_bytes(dict_for("<f8", "(1, 3)"), double_bytes({0.1, -3.0, 1e300}, false)));
  EXPECT_EQ(d_le.shape, (Shape{1, 3}));
  EXPECT_EQ(d_le.data[0], 0.1f);
  EXPECT_EQ(d_le.data[1], -3.0f);
  EXPECT_TRUE(std::isinf(d_le.data[2]));  // out of float range becomes inf, not UB

  const Tensor d_be = parse(npy_bytes(dict_for(">f8", "(2,)"), double_bytes({2.25, -1e-3}, true)));
  EXPECT_EQ(d_be.data, (FloatBuffer{2.25f, -1e-3f}));
}

TEST(NpyIo, AcceptsVersions2And3AndLooseSpacing) {
  for (int version : {2, 3}) {
    const Tensor t = parse(npy_bytes(dict_for("<f4", "(1,)"), float_bytes_le({4.0f}), version));
    EXPECT_EQ(t.data, (FloatBuffer{4.0f}));
  }
  const Tensor t = parse(npy_bytes("{\"shape\":(2,1),\"fortran_order\":False,\"descr\":\"<f4\"}",
                                   float_bytes_le({1, 2})));
  EXPECT_EQ(t.shape, (Shape{2, 1}));
  const Tensor scalar = parse(npy_bytes(dict_for("<f4", "()"), float_bytes_le({7})));
  EXPECT_EQ(scalar.shape, Shape{});
  EXPECT_EQ(scalar.data, (FloatBuffer{7}));
}

TEST(NpyIo, RejectsBadPrefixes) {
  EXPECT_TRUE(throws_with([] { parse(""); }, "empty file"));
  EXPECT_TRUE(throws_with([] { parse("PK\x03\x04 not npy"); }, "bad magic"));
  EXPECT_TRUE(throws_with([] { parse("\x93NUM"); }, "bad magic"));
  EXPECT_TRUE(throws_with([] { parse(std::string("\x93NUMPY", 6)); }, "truncated npy header"));
  EXPECT_TRUE(
      throws_with([] { parse(std::string("\x93NUMPY\x01\x00\x10", 9)); }, "truncated npy header"));
  std::string v4 = npy_bytes(dict_for("<f4", "(1,)"), float_bytes_le({1}));
  v4[6] = 4;
  EXPECT_TRUE(throws_with([&] { parse(v4); }, "unsupported npy version 4.0"));
  std::string minor = npy_bytes(dict_for("<f4", "(1,)"), float_bytes_le({1}));
  minor[7] = 1;
  EXPECT_TRUE(throws_with([&] { parse(minor); }, "unsupported npy version 1.1"));
  // Header length pointing past the end of the file.
  std::string long_header = npy_bytes(dict_for("<f4", "(1,)"), "");
  long_header[8] = '\xff';
  long_header[9] = '\x7f';
  EXPECT_TRUE(throws_with([&] { parse(long_header); }, "truncated npy header: header says 32767"));
}

TEST(NpyIo, RejectsBadDicts) {
  const std::string one = float_bytes_le({1});
  auto bad = [&](const std::string& dict, const std::string& needle) {
    return throws_with([&] { parse(npy_bytes(dict, one)); }, needle);
  };
  EXPECT_TRUE(bad(dict_for("<i4", "(1,)"), "unsupported npy dtype '<i4'"));
  EXPECT_TRUE(bad(dict_for("|f4", "(1,)"), "unsupported npy dtype"));
  EXPECT_TRUE(bad(dict_for("<f2", "(1,)"), "unsupported npy dtype"));
  EXPECT_TRUE(bad("{'descr': '<f4', 'fortran_order': True, 'shape': (1,), }",
                  "fortran-order npy arrays are not supported"));
  EXPECT_TRUE(bad("{'descr': '<f4', 'fortran_order': 0, 'shape': (1,), }", "True or False"));
  EXPECT_TRUE(bad("{'descr': '<f4', 'shape': (1,), }", "missing key 'fortran_order'"));
  EXPECT_TRUE(bad("{'fortran_order': False, 'shape': (1,), }", "missing key 'descr'"));
  EXPECT_TRUE(bad("{'descr': '<f4', 'fortran_order': False}", "missing key 'shape'"));
  EXPECT_TRUE(
      bad("{'descr': '<f4', 'fortran_order': False, 'shape': (1,), 'x': 1}", "unexpected key 'x'"));
  EXPECT_TRUE(bad("{'descr': '<f4', 'descr': '<f4', 'fortran_order': False, 'shape': (1,)}",
                  "duplicate key 'descr'"));
  EXPECT_TRUE(bad(dict_for("<f4", "(-1,)"), "negative dimension"));
  EXPECT_TRUE(bad(dict_for("<f4", "(1.5,)"), "expected ','"));
  EXPECT_TRUE(bad(dict_for("<f4", "[1]"), "expected '('"));
  EXPECT_TRUE(bad(dict_for("<f4", "(99999999999999999999,)"), "dimension too large"));
  EXPECT_TRUE(bad("{'descr': '<f4', 'fortran_order': False, 'shape': (1,)} junk",
                  "unexpected text after the dict"));
  EXPECT_TRUE(bad("{'descr: '<f4'}", "expected ':'"));
  EXPECT_TRUE(bad("{'descr': '<f4", "unterminated string"));
  EXPECT_TRUE(bad("not a dict", "expected '{'"));
  EXPECT_TRUE(bad("{'descr': '<f4',\n 'x': 1}", "bad npy header"));  // quoted on one line
}

TEST(NpyIo, PayloadMustMatchTheShapeExactly) {
  const std::string dict = dict_for("<f4", "(2, 3)");
  EXPECT_TRUE(throws_with([&] { parse(npy_bytes(dict, std::string(20, '\0'))); },
                          "truncated npy data: header says 24 bytes, file has 20"));
  EXPECT_TRUE(throws_with([&] { parse(npy_bytes(dict, std::string(25, '\0'))); },
                          "npy file has 1 trailing bytes"));
  EXPECT_TRUE(throws_with([&] { parse(npy_bytes(dict_for("<f8", "(2,)"), std::string(8, 0))); },
                          "header says 16 bytes, file has 8"));
}

TEST(NpyIo, HugeShapesAreRefusedBeforeAllocating) {
  // A million-by-million array in a tiny file: must fail on the cap, not on bad_alloc.
  EXPECT_TRUE(throws_with(
      [] { parse(npy_bytes(dict_for("<f4", "(1000000, 1000000)"), float_bytes_le({1}))); },
      "more than the memory cap"));
  EXPECT_TRUE(throws_with([] { parse(npy_bytes(dict_for("<f4", "(3037000500, 3037000500)"), "")); },
                          "too many elements"));
  EXPECT_TRUE(
      throws_with([] { parse(npy_bytes(dict_for("<f4", "(1, 2, 3, 1152921504606846976)"), "")); },
                  "too many elements"));
  // A small cap applies even when the payload is complete.
  EXPECT_TRUE(
      throws_with([] { parse(npy_bytes(dict_for("<f4", "(4,)"), std::string(16, '\0')), 15); },
                  "npy array [4] needs"));
  EXPECT_NO_THROW(parse(npy_bytes(dict_for("<f4", "(4,)"), std::string(16, '\0')), 16));
}

TEST(NpyIo, FileErrorsNameTheFile) {
  const TempDir temp("npy_errors");
  const std::string& dir = temp.path;
  EXPECT_TRUE(
      throws_with([&] { load_npy(dir + "/missing.npy"); }, dir + "/missing.npy: no such file"));
  EXPECT_TRUE(throws_with([&] { load_npy(dir); }, dir + ": is a directory"));
  write_bytes(dir + "/empty.npy", "");
  EXPECT_TRUE(throws_with([&] { load_npy(dir + "/empty.npy"); }, dir + "/empty.npy: empty file"));
  write_bytes(dir + "/short.npy", npy_bytes(dict_for("<f4", "(300,)"), std::string(800, 0)));
  EXPECT_TRUE(
      throws_with([&] { load_npy(dir + "/short.npy"); },
                  dir + "/short.npy: truncated npy data: header says 1200 bytes, file has 800"));
  // The file-size cap also applies: a 1 MiB + float64-sized file under a 1-byte tensor cap.
  write_bytes(dir + "/big.npy", npy_bytes(dict_for("<f4", "(600000,)"), std::string(2400000, 0)));
  EXPECT_TRUE(throws_with([&] { load_npy(dir + "/big.npy", 100); }, dir + "/big.npy: file is"));
}

TEST(NpyIo, SaveFailuresLeaveNothingBehind) {
  const TempDir temp("npy_save_fail");
  const std::string& dir = temp.path;
  EXPECT_TRUE(throws_with([&] { save_npy(dir + "/no/such/dir/a.npy", Tensor({2})); },
                          dir + "/no/such/dir/a.npy: cannot create"));
  // A directory is not replaced: refused before any temporary file exists.
  std::filesystem::create_directories(dir + "/target.npy/inside");
  EXPECT_TRUE(throws_with([&] { save_npy(dir + "/target.npy", Tensor({2})); },
                          "target.npy: is a directory, not a regular file"));
  for (const auto& entry : std::filesystem::directory_iterator(dir))
    EXPECT_EQ(entry.path().filename().string().find(".kstmp-"), std::string::npos) << entry.path();
  Tensor inconsistent({2, 2});
  inconsistent.data.pop_back();
  EXPECT_TRUE(throws_with([&] { save_npy(dir + "/x.npy", inconsistent); }, "holding 3 values"));
}

TEST(NpyIo, ReadsAndWritesWhatNumpyDoes) {
  // Written by tools/make_io_fixtures.py with numpy.
  const std::string fixtures = test::fixture_dir() + "/io/";
  const FloatBuffer expected = {0.0f, 1.0f, -2.5f, 0.1f, 1000.0f, -65504.0f};
  for (const char* name : {"f4_le.npy", "f8_be.npy", "f4_v2.npy"}) {
    const Tensor t = load_npy(fixtures + name);
    EXPECT_EQ(t.shape, (Shape{1, 2, 3})) << name;
    EXPECT_EQ(t.data, expected) << name;
  }
  EXPECT_TRUE(throws_with([&] { load_npy(fixtures + "fortran.npy"); },
                          fixtures + "fortran.npy: fortran-order npy arrays are not supported"));
  EXPECT_TRUE(throws_with([&] { load_npy(fixtures + "int32.npy"); },
                          fixtures + "int32.npy: unsupported npy dtype '<i4'"));

  // Our writer produces numpy's bytes exactly.
  const TempDir temp("npy_numpy");
  const std::string& dir = temp.path;
  Tensor t({1, 2, 3});
  t.data = expected;
  save_npy(dir + "/ours.npy", t);
  auto slurp = [](const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    return std::string((std::istreambuf_iterator<char>(in)), {});
  };
  EXPECT_EQ(slurp(dir + "/ours.npy"), slurp(fixtures + "f4_le.npy"));
}

}  // namespace
}  // namespace ks
