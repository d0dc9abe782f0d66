// Image loading and PNG export through stb, and load_input's format detection and rank rule.
#include <stb/stb_image_write.h>

#include <filesystem>
#include <fstream>

#include "correctness_grid.h"
#include "kernelscope/error.h"
#include "kernelscope/io.h"
#include "test_util.h"

namespace ks {
namespace {

using test::TempDir;
using test::throws_with;

std::string slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string((std::istreambuf_iterator<char>(in)), {});
}

void write_bytes(const std::string& path, const std::string& bytes) {
  std::ofstream(path, std::ios::binary) << bytes;
}

// Interleaved pixels with a distinct value per (pixel, channel), so any mix-up of channel
// order, rows or planes shows.
std::vector<uint8_t> pattern(int width, int height, int channels) {
  std::vector<uint8_t> bytes(static_cast<size_t>(width * height * channels));
  for (size_t i = 0; i < bytes.size(); ++i) bytes[i] = static_cast<uint8_t>((i * 37 + 11) % 256);
  return bytes;
}

class ImageIo : public ::testing::Test {
 protected:
  TempDir temp_{"image_io"};
  const std::string& dir_ = temp_.path;
};

TEST_F(ImageIo, RgbPngRoundTripIsPlanarAndScaledToUnitRange) {
  const int width = 5, height = 3;
  const std::vector<uint8_t> rgb = pattern(width, height, 3);
  save_png_rgb(dir_ + "/a.png", width, height, rgb);
  EXPECT_FALSE(std::filesystem::exists(dir_ + "/a.png.tmp"));
  const Tensor t = load_image(dir_ + "/a.png");
  ASSERT_EQ(t.shape, (Shape{1, 3, height, width}));
  for (int y = 0; y < height; ++y)
    for (int x = 0; x < width; ++x)
      for (int c = 0; c < 3; ++c)
        ASSERT_EQ(t.at(0, c, y, x), rgb[static_cast<size_t>((y * width + x) * 3 + c)] / 255.0f)
            << "c=" << c << " y=" << y << " x=" << x;
}

TEST_F(ImageIo, ChannelCountsFollowTheFile) {
  const int width = 4, height = 2;
  struct Case {
    int file_channels;
    int64_t tensor_channels;
  };
  for (const Case& k : {Case{1, 1}, Case{2, 1}, Case{3, 3}, Case{4, 3}}) {
    const std::vector<uint8_t> pixels = pattern(width, height, k.file_channels);
    const std::string path = dir_ + "/c" + std::to_string(k.file_channels) + ".png";
    ASSERT_TRUE(stbi_write_png(path.c_str(), width, height, k.file_channels, pixels.data(),
                               width * k.file_channels));
    const Tensor t = load_image(path);
    ASSERT_EQ(t.shape, (Shape{1, k.tensor_channels, height, width})) << path;
    // Alpha is dropped: the colour (or grey) channels keep their values.
    for (int i = 0; i < width * height; ++i)
      for (int c = 0; c < k.tensor_channels; ++c)
        ASSERT_EQ(t.data[static_cast<size_t>(c * width * height + i)],
                  pixels[static_cast<size_t>(i * k.file_channels + c)] / 255.0f)
            << path;
  }
}

TEST_F(ImageIo, ReadsOtherFormatsAndSixteenBitPng) {
  const std::vector<uint8_t> rgb = pattern(3, 3, 3);
  const std::string bmp = dir_ + "/a.bmp";
  ASSERT_TRUE(stbi_write_bmp(bmp.c_str(), 3, 3, 3, rgb.data()));
  const Tensor t = load_image(bmp);
  EXPECT_EQ(t.shape, (Shape{1, 3, 3, 3}));
  EXPECT_EQ(t.at(0, 2, 1, 1), rgb[(1 * 3 + 1) * 3 + 2] / 255.0f);

  // Written by tools/make_io_fixtures.py: 16-bit grey 0, 65535, 0x8080, 0x0101.
  const Tensor g = load_image(test::fixture_dir() + "/io/grey16.png");
  ASSERT_EQ(g.shape, (Shape{1, 1, 2, 2}));
  EXPECT_EQ(g.data, (FloatBuffer{0.0f, 1.0f, 128 / 255.0f, 1 / 255.0f}));
}

TEST_F(ImageIo, BadFilesAreOneLineErrorsNamingTheFile) {
  EXPECT_TRUE(
      throws_with([&] { load_image(dir_ + "/missing.png"); }, dir_ + "/missing.png: no such file"));
  write_bytes(dir_ + "/empty.png", "");
  EXPECT_TRUE(
      throws_with([&] { load_image(dir_ + "/empty.png"); }, dir_ + "/empty.png: empty file"));
  write_bytes(dir_ + "/text.png", "hello, I am not a picture\n");
  EXPECT_TRUE(throws_with([&] { load_image(dir_ + "/text.png"); },
                          dir_ + "/text.png: not a readable image"));

  save_png_rgb(dir_ + "/good.png", 32, 32, pattern(32, 32, 3));
  const std::string good = slurp(dir_ + "/good.png");
  write_bytes(dir_ + "/truncated.png", good.substr(0, good.size() / 2));
  EXPECT_TRUE(throws_with([&] { load_image(dir_ + "/truncated.png"); },
                          dir_ + "/truncated.png: truncated PNG: chunk 'IDAT' says"));
  write_bytes(dir_ + "/no_end.png", good.substr(0, good.size() - 12));
  EXPECT_TRUE(throws_with([&] { load_image(dir_ + "/no_end.png"); }, "truncated PNG: no IEND"));

  // Garbage over the compressed pixel data, with every chunk length intact.
  const size_t idat = good.find("IDAT");
  ASSERT_NE(idat, std::string::npos);
  const size_t idat_length =
      (static_cast<uint8_t>(good[idat - 2]) << 8) | static_cast<uint8_t>(good[idat - 1]);
  ASSERT_GT(idat_length, 40u);
  std::string corrupt = good;
  for (size_t i = idat + 6; i < idat + idat_length - 10; ++i) corrupt[i] = static_cast<char>(i * 7);
  write_bytes(dir_ + "/corrupt.png", corrupt);
  EXPECT_TRUE(throws_with([&] { load_image(dir_ + "/corrupt.png"); },
                          dir_ + "/corrupt.png: cannot decode image"));

  // A chunk claiming 2 GiB: stb would allocate that much before noticing the file is short.
  std::string lying = good;
  lying.replace(idat - 4, 4, std::string("\x7f\xff\xff\xf0", 4));
  write_bytes(dir_ + "/lying.png", lying);
  EXPECT_TRUE(throws_with([&] { load_image(dir_ + "/lying.png"); },
                          "truncated PNG: chunk 'IDAT' says 2147483632 bytes"));
}

TEST_F(ImageIo, JpegWithAnImpossibleHuffmanTableIsRefused) {
  const std::vector<uint8_t> rgb = pattern(8, 8, 3);
  const std::string path = dir_ + "/a.jpg";
  ASSERT_TRUE(stbi_write_jpg(path.c_str(), 8, 8, 3, rgb.data(), 90));
  EXPECT_EQ(load_image(path).shape, (Shape{1, 3, 8, 8}));  // the untouched file decodes

  // 16 counts of 255 claim 4080 codes; stb would write them past its 257-entry table.
  std::string jpeg = slurp(path);
  const size_t dht = jpeg.find("\xff\xc4");
  ASSERT_NE(dht, std::string::npos);
  for (size_t i = 0; i < 16; ++i) jpeg[dht + 5 + i] = '\xff';
  write_bytes(dir_ + "/bad.jpg", jpeg);
  EXPECT_TRUE(throws_with([&] { load_image(dir_ + "/bad.jpg"); },
                          dir_ + "/bad.jpg: corrupt JPEG: Huffman table defines 4080 codes"));
}

TEST_F(ImageIo, OversizedImagesAreRefusedBeforeDecoding) {
  save_png_rgb(dir_ + "/a.png", 20, 10, pattern(20, 10, 3));
  // The float tensor (3 x 4 bytes per pixel) plus stb's buffers (12 bytes per pixel).
  EXPECT_TRUE(throws_with([&] { load_image(dir_ + "/a.png", 20 * 10 * 24 - 1); },
                          dir_ + "/a.png: decoding an image of 20x10 with 3 channels needs"));
  EXPECT_NO_THROW(load_image(dir_ + "/a.png", 20 * 10 * 24));

  // A PNG whose header claims 10000 x 10000 pixels but holds only 20 x 10: decoding it would
  // allocate hundreds of MiB first; the header check must stop it. (stb itself refuses
  // images over about 1 GiB of 8-bit pixels, so the size stays under that.)
  std::string png = slurp(dir_ + "/a.png");
  const char big[4] = {0x00, 0x00, 0x27, 0x10};  // 10000 big-endian
  png.replace(16, 4, big, 4);
  png.replace(20, 4, big, 4);
  write_bytes(dir_ + "/big.png", png);
  EXPECT_TRUE(throws_with([&] { load_image(dir_ + "/big.png", int64_t{100} << 20); },
                          "image of 10000x10000 with 3 channels needs 2289 MiB"));
}

TEST_F(ImageIo, SavePngRejectsInconsistentArguments) {
  EXPECT_TRUE(throws_with([&] { save_png_rgb(dir_ + "/a.png", 0, 3, {}); }, "cannot write a 0x3"));
  EXPECT_TRUE(throws_with([&] { save_png_rgb(dir_ + "/a.png", 2, 2, std::vector<uint8_t>(11)); },
                          "11 bytes of RGB data for a 2x2 image, which needs 12"));
  EXPECT_TRUE(
      throws_with([&] { save_png_rgb(dir_ + "/missing/dir/a.png", 1, 1, std::vector<uint8_t>(3)); },
                  "/missing/dir/a.png: cannot create"));
  EXPECT_FALSE(std::filesystem::exists(dir_ + "/a.png"));
}

TEST_F(ImageIo, LoadInputDetectsNpyByContentAndAddsTheBatch) {
  const Tensor chw = test::random_tensor({2, 3, 4}, 5);
  save_npy(dir_ + "/chw.data", chw);  // no .npy extension: the magic bytes decide
  const Tensor a = load_input(dir_ + "/chw.data");
  EXPECT_EQ(a.shape, (Shape{1, 2, 3, 4}));
  EXPECT_EQ(a.data, chw.data);

  save_npy(dir_ + "/bchw.npy", test::random_tensor({2, 1, 3, 3}, 6));
  EXPECT_EQ(load_input(dir_ + "/bchw.npy").shape, (Shape{2, 1, 3, 3}));

  save_png_rgb(dir_ + "/img.npy", 4, 2, pattern(4, 2, 3));  // a PNG despite its name
  EXPECT_EQ(load_input(dir_ + "/img.npy").shape, (Shape{1, 3, 2, 4}));

  save_npy(dir_ + "/flat.npy", Tensor({3, 4}));
  EXPECT_TRUE(throws_with([&] { load_input(dir_ + "/flat.npy"); },
                          dir_ + "/flat.npy: expected [B,C,H,W] or [C,H,W], got [3, 4]"));
  save_npy(dir_ + "/five.npy", Tensor({1, 1, 1, 1, 2}));
  EXPECT_TRUE(throws_with([&] { load_input(dir_ + "/five.npy"); }, "got [1, 1, 1, 1, 2]"));
  EXPECT_TRUE(
      throws_with([&] { load_input(dir_ + "/none.npy"); }, dir_ + "/none.npy: no such file"));
  EXPECT_TRUE(throws_with([&] { load_input(dir_ + "/chw.data", 8); }, "more than the memory cap"));
}

}  // namespace
}  // namespace ks
