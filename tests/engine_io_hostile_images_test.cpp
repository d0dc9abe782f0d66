// Hostile and truncated images (issue 15): decoder hangs, uninitialised or silently zero
// pixels, formats stb decodes wrongly, the memory cap before decoding, pipes and devices.
// Every file is made here, from a good one written by stb_image_write or by hand.
#include <fcntl.h>
#include <stb/stb_image_write.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <csignal>
#include <cstring>
#include <fstream>
#include <functional>
#include <string>
#include <thread>

#include "kernelscope/error.h"
#include "kernelscope/io.h"
#include "test_util.h"

namespace ks {
namespace {

using test::TempDir;
using test::throws_with;

using Bytes = std::string;

void append_to_string(void* context, void* data, int size) {
  static_cast<Bytes*>(context)->append(static_cast<const char*>(data), static_cast<size_t>(size));
}

void write_bytes(const std::string& path, const Bytes& bytes) {
  std::ofstream(path, std::ios::binary) << bytes;
}

// Runs body in a child process and fails if it has not finished within `seconds`: a decoder
// that loops forever must fail the test, not hang the suite. body returns "" on success or
// what went wrong.
::testing::AssertionResult finishes_within(int seconds, const std::function<std::string()>& body) {
  int fds[2];
  if (::pipe(fds) != 0) return ::testing::AssertionFailure() << "pipe failed";
  const pid_t child = ::fork();
  if (child == 0) {
    ::close(fds[0]);
    const std::string problem = body();
    if (!problem.empty()) (void)!::write(fds[1], problem.data(), problem.size());
    ::_exit(problem.empty() ? 0 : 1);
  }
  ::close(fds[1]);
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(seconds);
  int status = 0;
  while (::waitpid(child, &status, WNOHANG) == 0) {
    if (std::chrono::steady_clock::now() > deadline) {
      ::kill(child, SIGKILL);
      ::waitpid(child, &status, 0);
      ::close(fds[0]);
      return ::testing::AssertionFailure() << "still running after " << seconds << " s (a hang)";
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  std::string problem;
  char buffer[512];
  for (ssize_t n; (n = ::read(fds[0], buffer, sizeof buffer)) > 0;) problem.append(buffer, n);
  ::close(fds[0]);
  if (WIFEXITED(status) && WEXITSTATUS(status) == 0) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure() << (problem.empty() ? "child crashed" : problem);
}

// "" if decoding bytes (written to path) throws a ks::Error containing needle, otherwise
// what happened.
std::string decode_fails_with(const std::string& path, const Bytes& bytes,
                              const std::string& needle) {
  write_bytes(path, bytes);
  try {
    load_image(path);
  } catch (const Error& e) {
    if (std::string(e.what()).find(needle) != std::string::npos) return "";
    return std::string("wrong error: ") + e.what();
  }
  return "decoded without an error";
}

Bytes good_hdr(int width, int height) {
  std::vector<float> rgb(static_cast<size_t>(width * height * 3));
  for (size_t i = 0; i < rgb.size(); ++i) rgb[i] = static_cast<float>(i % 7) * 0.1f;
  Bytes hdr;
  stbi_write_hdr_to_func(append_to_string, &hdr, width, height, 3, rgb.data());
  return hdr;
}

class HostileImages : public ::testing::Test {
 protected:
  TempDir temp_{"hostile_images"};
  const std::string& dir_ = temp_.path;
  // Loads bytes from a file; returns the tensor (throws like load_image).
  Tensor load(const Bytes& bytes) {
    write_bytes(dir_ + "/image", bytes);
    return load_image(dir_ + "/image");
  }
};

// The 49-byte file of the issue: run-length HDR whose scanline data stops after its header.
// stb reads zero counts past the end and never advances.
TEST_F(HostileImages, TruncatedRunLengthHdrFailsQuickly) {
  const Bytes header = "#?RADIANCE\nFORMAT=32-bit_rle_rgbe\n\n-Y 2 +X 16\n";
  const Bytes truncated = header + Bytes("\x02\x02\x00\x10\x82", 5);
  EXPECT_TRUE(finishes_within(
      10, [&] { return decode_fails_with(dir_ + "/image", truncated, "truncated HDR"); }));
  // A zero count inside the data (not at the end) loops just the same.
  Bytes zero_run = header + Bytes("\x02\x02\x00\x10", 4) + Bytes(1, '\0') + Bytes(200, '\x81');
  EXPECT_TRUE(finishes_within(
      10, [&] { return decode_fails_with(dir_ + "/image", zero_run, "zero-length run"); }));
}

TEST_F(HostileImages, EveryTruncationOfARunLengthHdrIsAnError) {
  const Bytes hdr = good_hdr(16, 3);  // width >= 8: stb writes run-length scanlines
  EXPECT_EQ(load(hdr).shape, (Shape{1, 3, 3, 16}));
  const size_t data_start = hdr.find("+X 16\n") + 6;
  EXPECT_TRUE(finishes_within(20, [&] {
    for (size_t size = data_start; size < hdr.size(); ++size) {
      const std::string problem =
          decode_fails_with(dir_ + "/image", hdr.substr(0, size), "truncated HDR");
      if (!problem.empty()) return "at " + std::to_string(size) + " bytes: " + problem;
    }
    return std::string();
  }));
}

// Header-only binary PNM: stb returned its unwritten output buffer (heap bytes).
TEST_F(HostileImages, HeaderOnlyOrShortPnmIsAnError) {
  EXPECT_TRUE(throws_with([&] { load("P6\n4 4\n255\n"); }, "truncated PNM"));
  EXPECT_TRUE(
      throws_with([&] { load("P5\n# comment\n4 4\n65535\n" + Bytes(31, 'x')); }, "truncated PNM"));
  const Bytes full = "P6\n2 2\n255\n" + Bytes(12, '\x80');
  EXPECT_TRUE(throws_with([&] { load(full.substr(0, full.size() - 1)); }, "truncated PNM"));
  const Tensor t = load(full);
  EXPECT_EQ(t.shape, (Shape{1, 3, 2, 2}));
  EXPECT_FLOAT_EQ(t.data[0], 128.0f / 255.0f);
}

// Header-only TGA: uncompressed data was left unwritten, run-length data read as zeros.
TEST_F(HostileImages, HeaderOnlyOrShortTgaIsAnError) {
  Bytes header(18, '\0');
  header[2] = 2;  // uncompressed true colour
  header[12] = 4;
  header[14] = 4;  // 4 x 4
  header[16] = 24;
  EXPECT_TRUE(throws_with([&] { load(header); }, "truncated TGA"));

  std::vector<uint8_t> rgb(8 * 4 * 3);
  for (size_t i = 0; i < rgb.size(); ++i) rgb[i] = static_cast<uint8_t>(i * 13);
  for (int rle : {0, 1}) {
    stbi_write_tga_with_rle = rle;
    Bytes tga;
    stbi_write_tga_to_func(append_to_string, &tga, 8, 4, 3, rgb.data());
    EXPECT_EQ(load(tga).shape, (Shape{1, 3, 4, 8})) << "rle " << rle;
    for (size_t cut : {size_t{1}, size_t{5}, tga.size() / 2})
      EXPECT_TRUE(throws_with([&] { load(tga.substr(0, tga.size() - cut)); }, "truncated TGA"))
          << "rle " << rle << ", " << cut << " bytes short";
  }
  stbi_write_tga_with_rle = 1;
}

// Truncated BMP: stb filled the missing rows with zeros.
TEST_F(HostileImages, TruncatedBmpIsAnError) {
  std::vector<uint8_t> rgb(5 * 3 * 3, 200);
  Bytes bmp;
  stbi_write_bmp_to_func(append_to_string, &bmp, 5, 3, 3, rgb.data());
  EXPECT_EQ(load(bmp).shape, (Shape{1, 3, 3, 5}));
  EXPECT_TRUE(throws_with([&] { load(bmp.substr(0, bmp.size() - 8)); }, "truncated BMP"));
  EXPECT_TRUE(throws_with([&] { load(bmp.substr(0, 54)); }, "truncated BMP"));
}

// A 2x2 RGB PSD: 8BPS, version 1, 3 channels, depth, RGB mode, empty sections, compression.
Bytes psd(int depth, int compression, const Bytes& data) {
  Bytes b = "8BPS" + Bytes("\x00\x01", 2) + Bytes(6, '\0');
  b += Bytes("\x00\x03", 2);                                 // channels
  b += Bytes("\x00\x00\x00\x02\x00\x00\x00\x02", 8);         // height, width
  b += Bytes(1, '\0') + Bytes(1, static_cast<char>(depth));  // depth
  b += Bytes("\x00\x03", 2);                                 // RGB
  b += Bytes(12, '\0');                                      // three empty sections
  b += Bytes(1, '\0') + Bytes(1, static_cast<char>(compression));
  return b + data;
}

TEST_F(HostileImages, TruncatedPsdIsAnErrorAndSixteenBitRunLengthIsRefused) {
  EXPECT_EQ(load(psd(8, 0, Bytes(12, '\x40'))).shape, (Shape{1, 3, 2, 2}));
  EXPECT_TRUE(throws_with([&] { load(psd(8, 0, Bytes(11, '\x40'))); }, "truncated PSD"));
  // Run-length: 2 rows x 3 channels of row byte counts, then per channel one literal packet.
  const Bytes counts(12, '\0');
  Bytes packets;
  for (int c = 0; c < 3; ++c) packets += Bytes(1, '\x03') + Bytes(4, '\x20');
  EXPECT_EQ(load(psd(8, 1, counts + packets)).shape, (Shape{1, 3, 2, 2}));
  EXPECT_TRUE(
      throws_with([&] { load(psd(8, 1, counts + packets.substr(0, 12))); }, "truncated PSD"));
  EXPECT_TRUE(throws_with([&] { load(psd(16, 1, counts + packets)); },
                          "16-bit run-length PSD is not supported"));
}

// The cap is checked from the header: a 16000x16000 PNG is refused before stb decodes it
// (that took 18 s and 3.8 GB).
TEST_F(HostileImages, HugePngIsRefusedFromItsHeader) {
  std::vector<uint8_t> rgb(3 * 2 * 3, 7);
  Bytes png;
  stbi_write_png_to_func(append_to_string, &png, 3, 2, 3, rgb.data(), 9);
  const char big[4] = {0x00, 0x00, 0x3e, static_cast<char>(0x80)};  // 16000 big-endian
  png.replace(16, 4, big, 4);
  png.replace(20, 4, big, 4);
  const auto start = std::chrono::steady_clock::now();
  EXPECT_TRUE(throws_with([&] { load(png); }, "decoding an image of 16000x16000"));
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(1));
}

// Devices are refused instead of read until the (gigabyte) limit.
TEST_F(HostileImages, DevicesAreRefused) {
  const auto start = std::chrono::steady_clock::now();
  EXPECT_TRUE(throws_with([] { load_input("/dev/zero"); }, "/dev/zero: is a device"));
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(1));
}

// A pipe is read once: the format check must not swallow the first bytes (--input /dev/stdin).
TEST_F(HostileImages, PipeInputLosesNoBytes) {
  const Tensor x = test::random_tensor({1, 2, 3, 4}, 9);
  save_npy(dir_ + "/x.npy", x);
  Bytes npy;
  {
    std::ifstream in(dir_ + "/x.npy", std::ios::binary);
    npy.assign(std::istreambuf_iterator<char>(in), {});
  }
  const std::string fifo = dir_ + "/fifo";
  ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0);
  EXPECT_TRUE(finishes_within(10, [&]() -> std::string {
    std::thread writer([&] {
      const int fd = ::open(fifo.c_str(), O_WRONLY);
      (void)!::write(fd, npy.data(), npy.size());
      ::close(fd);
    });
    std::string problem;
    try {
      const Tensor got = load_input(fifo);
      if (got.data != x.data) problem = "different values";
    } catch (const Error& e) {
      problem = e.what();
    }
    writer.join();
    return problem;
  }));
}

}  // namespace
}  // namespace ks
