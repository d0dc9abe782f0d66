// Runs the real `kernelscope` binary: the `run` contract, its outputs, and every bad-input
// path (one line on stderr, nonzero exit, no output files).
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>

#include "cli/cli_runner.h"
#include "cpu_ref/reference.h"
#include "kernelscope/io.h"
#include "test_util.h"

namespace ks {
namespace {

namespace fs = std::filesystem;

using test::CommandResult;
using test::count_lines;
using test::kernelscope;
using test::read_text;

std::string sample(const std::string& name) {
  return std::string(KS_ASSET_DIR) + "/samples/" + name;
}

std::string preset_file(const std::string& name) {
  return std::string(KS_ASSET_DIR) + "/presets/" + name;
}

int count_pngs(const fs::path& dir) {
  int n = 0;
  for (auto& e : fs::directory_iterator(dir)) n += e.path().extension() == ".png";
  return n;
}

// A failed run prints exactly one line naming the problem and writes nothing.
void expect_clean_failure(const std::string& args, const std::string& out_dir,
                          const std::string& expected_fragment) {
  const CommandResult r = kernelscope(args + " --out " + out_dir);
  EXPECT_NE(r.exit_code, 0) << args;
  EXPECT_EQ(count_lines(r.err), 1) << "stderr: " << r.err;
  EXPECT_NE(r.err.find("error"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find(expected_fragment), std::string::npos)
      << "stderr should mention '" << expected_fragment << "': " << r.err;
  EXPECT_FALSE(fs::exists(fs::path(out_dir) / "output.npy")) << "partial output left behind";
}

TEST(CliRun, EverySampleImageWithBothOperators) {
  for (const char* image : {"shapes.png", "landscape.png", "zone-plate.png", "checker.png"})
    for (const char* op : {"conv", "involution"}) {
      const std::string out = test::make_temp_dir("cli_run");
      const CommandResult r = kernelscope(std::string("run --op ") + op + " --input " +
                                          sample(image) + " --out " + out + " --kernel-size 3");
      ASSERT_EQ(r.exit_code, 0) << image << " " << op << ": " << r.err;
      EXPECT_NE(r.out.find("total"), std::string::npos) << r.out;
      EXPECT_EQ(count_lines(r.out), 1);
      const Tensor input = load_input(sample(image));
      const Tensor output = load_npy(out + "/output.npy");
      const int64_t channels = std::string(op) == "conv" ? 8 : input.dim(1);
      EXPECT_EQ(output.shape, (Shape{1, channels, input.dim(2) - (op[0] == 'c' ? 2 : 0),
                                     input.dim(3) - (op[0] == 'c' ? 2 : 0)}));
      EXPECT_EQ(count_pngs(out), channels);
      EXPECT_EQ(fs::exists(out + "/kernels.npy"), std::string(op) == "involution");
      fs::remove_all(out);
    }
}

TEST(CliRun, NpyInputInvolutionWritesKernels) {
  const std::string out = test::make_temp_dir("cli_npy");
  const CommandResult r =
      kernelscope("run --op involution --input " + sample("waves-4ch.npy") + " --out " + out +
                  " --group-channels 2 --kernel-size 3 --json");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto summary = nlohmann::json::parse(r.out);
  EXPECT_EQ(summary["op"], "involution");
  EXPECT_EQ(summary["output_shape"], (std::vector<int64_t>{1, 4, 48, 64}));
  EXPECT_GT(summary["times_ms"]["total"].get<double>(), 0.0);
  EXPECT_EQ(load_npy(out + "/kernels.npy").shape, (Shape{1, 2, 9, 48, 64}));
  fs::remove_all(out);
}

// The CLI must honour every flag: its output equals the reference computed in-process with
// the same seed and parameters.
TEST(CliRun, OutputEqualsReferenceForEveryFlag) {
  const std::string dir = test::make_temp_dir("cli_ref");
  const Tensor x = test::random_tensor({2, 4, 13, 10}, 5);
  save_npy(dir + "/x.npy", x);

  ConvParams cp;
  cp.in_channels = 4;
  cp.out_channels = 6;
  cp.kernel_size = 4;
  cp.stride = 2;
  cp.padding = 3;
  cp.dilation = 2;
  cp.groups = 2;
  CommandResult r = kernelscope("run --op conv --input " + dir + "/x.npy --out " + dir +
                                "/conv --seed 11 --backend cpu-ref --kernel-size 4 "
                                "--out-channels 6 --stride 2 --padding 3 --dilation 2 --groups 2");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_TRUE(test::all_close(load_npy(dir + "/conv/output.npy"),
                              ref::conv2d(x, cp, random_conv_weights(cp, 11))));

  InvolutionParams ip;
  ip.channels = 4;
  ip.kernel_size = 5;
  ip.stride = 2;
  ip.dilation = 2;
  ip.group_channels = 2;
  ip.reduction = 2;
  r = kernelscope("run --op involution --input " + dir + "/x.npy --out " + dir +
                  "/inv --seed 12 --kernel-size 5 --stride 2 --dilation 2 --group-channels 2 "
                  "--reduction 2");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const InvolutionWeights iw = random_involution_weights(ip, 12);
  const Tensor kernels = ref::involution_kernels(x, ip, iw);
  EXPECT_TRUE(test::all_close(load_npy(dir + "/inv/kernels.npy"), kernels));
  EXPECT_TRUE(test::all_close(load_npy(dir + "/inv/output.npy"),
                              ref::involution_aggregate(x, kernels, ip)));
  fs::remove_all(dir);
}

TEST(CliRun, WeightsFileDecidesShapesAndContradictionsNameBothValues) {
  const std::string dir = test::make_temp_dir("cli_weights");
  ConvParams cp;
  cp.in_channels = 3;
  cp.out_channels = 2;
  cp.kernel_size = 3;
  const ConvWeights cw = random_conv_weights(cp, 3);
  save_safetensors(dir + "/conv.safetensors", conv_weights_to_tensors(cw));
  CommandResult r = kernelscope("run --op conv --input " + sample("shapes.png") + " --weights " +
                                dir + "/conv.safetensors --out " + dir + "/ok --padding 1");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  cp.padding = 1;
  EXPECT_TRUE(test::all_close(load_npy(dir + "/ok/output.npy"),
                              ref::conv2d(load_input(sample("shapes.png")), cp, cw), 1e-4f, 1e-4f));

  const CommandResult bad =
      kernelscope("run --op conv --input " + sample("shapes.png") + " --weights " + dir +
                  "/conv.safetensors --kernel-size 5 --out " + dir + "/bad");
  EXPECT_NE(bad.exit_code, 0);
  EXPECT_NE(bad.err.find("--kernel-size 5"), std::string::npos) << bad.err;
  EXPECT_NE(bad.err.find("kernel size 3"), std::string::npos) << bad.err;
  EXPECT_FALSE(fs::exists(dir + "/bad/output.npy"));

  InvolutionParams ip;
  ip.channels = 3;
  ip.kernel_size = 5;
  ip.group_channels = 3;
  const InvolutionWeights iw = random_involution_weights(ip, 4);
  save_safetensors(dir + "/inv.safetensors", involution_weights_to_tensors(ip, iw));
  r = kernelscope("run --op involution --input " + sample("checker.png") + " --weights " + dir +
                  "/inv.safetensors --out " + dir + "/inv");
  EXPECT_NE(r.exit_code, 0) << "a 3-channel layer on a grey image must be refused";
  EXPECT_NE(r.err.find("3 channels"), std::string::npos) << r.err;
  r = kernelscope("run --op involution --input " + sample("shapes.png") + " --weights " + dir +
                  "/inv.safetensors --out " + dir + "/inv --json");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(load_npy(dir + "/inv/kernels.npy").shape, (Shape{1, 1, 25, 240, 320}));
  fs::remove_all(dir);
}

TEST(CliRun, NonFiniteWeightsWarnButRun) {
  const std::string dir = test::make_temp_dir("cli_nan");
  ConvParams cp;
  cp.in_channels = 1;
  cp.out_channels = 1;
  ConvWeights cw = random_conv_weights(cp, 1);
  cw.weight.data[4] = NAN;
  save_safetensors(dir + "/w.safetensors", conv_weights_to_tensors(cw));
  const CommandResult r = kernelscope("run --op conv --input " + sample("checker.png") +
                                      " --weights " + dir + "/w.safetensors --out " + dir + "/o");
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.err.find("warning"), std::string::npos);
  EXPECT_NE(r.err.find("NaN"), std::string::npos) << r.err;
  fs::remove_all(dir);
}

class CliErrors : public ::testing::Test {
 protected:
  void SetUp() override { dir_ = test::make_temp_dir("cli_err"); }
  void TearDown() override { fs::remove_all(dir_); }
  std::string write(const std::string& name, const std::string& bytes) {
    std::ofstream(dir_ + "/" + name, std::ios::binary) << bytes;
    return dir_ + "/" + name;
  }
  std::string out() const { return dir_ + "/out"; }
  std::string dir_;
};

TEST_F(CliErrors, MissingInput) {
  expect_clean_failure("run --op conv --input " + dir_ + "/nope.png", out(), "nope.png");
}

TEST_F(CliErrors, CorruptImage) {
  expect_clean_failure("run --op conv --input " + write("bad.png", "\x89PNG\r\n\x1a\ngarbage"),
                       out(), "bad.png");
}

TEST_F(CliErrors, TruncatedImage) {
  std::ifstream in(sample("shapes.png"), std::ios::binary);
  std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  expect_clean_failure(
      "run --op conv --input " + write("cut.png", bytes.substr(0, bytes.size() / 2)), out(),
      "cut.png");
}

TEST_F(CliErrors, TruncatedNpy) {
  save_npy(dir_ + "/x.npy", test::random_tensor({1, 2, 8, 8}, 1));
  std::ifstream in(dir_ + "/x.npy", std::ios::binary);
  std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  expect_clean_failure(
      "run --op conv --input " + write("cut.npy", bytes.substr(0, bytes.size() - 10)), out(),
      "cut.npy");
}

TEST_F(CliErrors, WrongRankNpy) {
  save_npy(dir_ + "/flat.npy", test::random_tensor({8, 8}, 1));
  expect_clean_failure("run --op conv --input " + dir_ + "/flat.npy", out(), "[8, 8]");
}

TEST_F(CliErrors, CorruptWeights) {
  expect_clean_failure("run --op conv --input " + sample("checker.png") + " --weights " +
                           write("w.safetensors", "\x10\x00\x00\x00\x00\x00\x00\x00{not json"),
                       out(), "w.safetensors");
}

TEST_F(CliErrors, GroupsNotDividingChannels) {
  expect_clean_failure("run --op conv --input " + sample("shapes.png") + " --groups 2", out(),
                       "groups");
}

TEST_F(CliErrors, EvenInvolutionKernel) {
  expect_clean_failure("run --op involution --input " + sample("shapes.png") + " --kernel-size 4",
                       out(), "odd");
}

TEST_F(CliErrors, ChannelsNotDivisibleByGroupChannels) {
  expect_clean_failure(
      "run --op involution --input " + sample("shapes.png") + " --group-channels 2", out(),
      "group channels");
}

TEST_F(CliErrors, OutputSizeNotPositive) {
  save_npy(dir_ + "/tiny.npy", test::random_tensor({1, 1, 3, 3}, 1));
  expect_clean_failure("run --op conv --input " + dir_ + "/tiny.npy --kernel-size 5", out(),
                       "output size");
}

TEST_F(CliErrors, MemoryCapRefusesBeforeAllocating) {
  expect_clean_failure("run --op conv --input " + sample("landscape.png") +
                           " --out-channels 64 --kernel-size 7 --max-memory-mb 2",
                       out(), "memory cap");
}

TEST_F(CliErrors, HugeProblemRefusedByDefaultCap) {
  expect_clean_failure(
      "run --op conv --input " + sample("landscape.png") + " --out-channels 100000", out(),
      "memory cap");
}

// Parameters whose memory overflows int64 (2^61 conv weights: the byte count wrapped negative;
// K^2 ~ 2^61 involution kernels: it wrapped to a few hundred KiB) hit the cap instead of
// passing it and dying in the allocator; geometry beyond int64 is refused instead of
// segfaulting in the backend.
TEST_F(CliErrors, OverflowingParametersHitTheCapNotTheAllocator) {
  expect_clean_failure("run --op conv --input " + sample("checker.png") +
                           " --out-channels 2 --kernel-size 1073741824 --padding 536870912"
                           " --stride 1000",
                       out(), "memory cap");
  expect_clean_failure("run --op involution --input " + sample("checker.png") +
                           " --kernel-size 1518500249 --stride 1000",
                       out(), "memory cap");
  for (const char* op : {"conv", "involution"})
    expect_clean_failure(std::string("run --op ") + op + " --input " + sample("checker.png") +
                             " --kernel-size 3 --dilation 6917529027641081856"
                             " --stride 2305843009213693952",
                         out(), "overflows");
}

// A huge dilation with as much padding fits the cap (the output is the input's size) but not
// the cpu backend's padded band (a bad_alloc that aborted): auto hands it to cpu-ref.
TEST(CliRun, HugeDilationRunsOnCpuRef) {
  const test::TempDir dir("cli_huge_dilation");
  const std::string input = " --input " + sample("checker.png") + " --kernel-size 3";
  const std::string rest = " --dilation 1099511627776 --no-png --json --out " + dir.path;
  CommandResult r = kernelscope("run --op conv" + input + " --padding 1099511627776" + rest);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(nlohmann::json::parse(r.out)["backend"], "cpu-ref");
  EXPECT_EQ(load_npy(dir.path + "/output.npy").shape, (Shape{1, 8, 192, 192}));
  r = kernelscope("run --op involution" + input + rest);  // pads d(K-1)/2 by itself
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(nlohmann::json::parse(r.out)["backend"], "cpu-ref");
  EXPECT_EQ(load_npy(dir.path + "/output.npy").shape, (Shape{1, 1, 192, 192}));
}

// A cap too large to shift into bytes saturates instead of wrapping to a negative cap.
TEST(CliRun, HugeMemoryCapIsNoCap) {
  const test::TempDir dir("cli_huge_cap");
  const CommandResult r = kernelscope("run --op conv --input " + sample("checker.png") +
                                      " --max-memory-mb 9000000000000 --no-png --out " + dir.path);
  EXPECT_EQ(r.exit_code, 0) << r.err;
}

// The weights file is read under the user's cap, not the default 4 GiB: a file whose tensors
// (here an extra, ignored one) exceed --max-memory-mb is refused naming the cap.
TEST_F(CliErrors, WeightsFileOverTheCapIsRefused) {
  ConvParams cp;
  cp.in_channels = 1;
  cp.out_channels = 8;
  cp.kernel_size = 3;
  cp.has_bias = true;
  TensorMap tensors = conv_weights_to_tensors(random_conv_weights(cp, 1));
  tensors["extra"] = Tensor({3 << 18});  // 3 MiB
  save_safetensors(dir_ + "/big.safetensors", tensors);
  const std::string args =
      "run --op conv --input " + sample("checker.png") + " --weights " + dir_ + "/big.safetensors";
  ASSERT_EQ(kernelscope(args + " --no-png --out " + out()).exit_code, 0);  // fine under 4 GiB
  fs::remove_all(out());
  expect_clean_failure(args + " --max-memory-mb 2", out(), "memory cap of 2 MiB");
  expect_clean_failure(args + " --max-memory-mb 2", out(), "big.safetensors");
}

// A hand-edited preset may hold any integer: a kernel size whose square overflows int64
// gets the same one-line mismatch as any wrong grid, not undefined arithmetic.
TEST_F(CliErrors, PresetGridWithAHugeKernelSizeIsAMismatch) {
  for (const std::string k : {"4", "4294967296", "9223372036854775807"}) {
    const std::string preset =
        write("huge_k.json", "{\"name\": \"huge\", \"image\": \"" + sample("shapes.png") +
                                 "\", \"op\": \"conv\", \"kernel_size\": " + k +
                                 ", \"weights\": {\"grid\": [1, 2, 3]}}");
    expect_clean_failure(
        "run --preset " + preset, out(),
        "weights.grid has 3 values but kernel_size " + k + " needs " + k + " x " + k);
  }
}

// An empty value is not "not given": it is refused rather than letting a preset or the
// default decide (--input "" used to run the preset's image, --weights "" random weights).
TEST_F(CliErrors, EmptyFlagValuesAreRefused) {
  const std::string preset = " --preset " + preset_file("02_sobel_x_shapes.json");
  const std::string input = " --input " + sample("shapes.png");
  for (const auto& [args, message] : {std::pair{preset + " --input \"\"", "--input needs"},
                                      {" --op conv --input \"\"", "--input needs"},
                                      {preset + " --weights \"\"", "--weights needs"},
                                      {input + " --weights \"\"", "--weights needs"},
                                      {preset + " --kernel \"\"", "--kernel needs"},
                                      {input + " --kernel ''", "--kernel needs"},
                                      {input + " --preset \"\"", "--preset needs"}})
    expect_clean_failure("run" + std::string(args), out(), message);
}

// A flag given as -1 (the value that means "not given") is refused, with or without a preset,
// instead of silently falling back to the default or the preset's value.
TEST_F(CliErrors, ExplicitMinusOneIsRefusedNotTakenAsUnset) {
  for (const char* flag : {"kernel-size", "out-channels", "stride", "padding", "dilation", "groups",
                           "group-channels", "reduction"}) {
    const std::string op = std::string(flag) == "group-channels" || std::string(flag) == "reduction"
                               ? "involution"
                               : "conv";
    expect_clean_failure(
        "run --op " + op + " --input " + sample("shapes.png") + " --" + flag + " -1", out(),
        std::string("--") + flag);
    expect_clean_failure("run --preset " + preset_file("02_sobel_x_shapes.json") + " --op " + op +
                             " --" + flag + " -1",
                         out(), std::string("--") + flag);
  }
}

TEST_F(CliErrors, UnknownBackend) {
  expect_clean_failure("run --op conv --input " + sample("checker.png") + " --backend warp-drive",
                       out(), "warp-drive");
}

TEST_F(CliErrors, UnknownCommandAndMissingFlags) {
  CommandResult r = kernelscope("frobnicate");
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.err.find("frobnicate"), std::string::npos);
  r = kernelscope("run --op conv");
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.err.find("--input"), std::string::npos) << r.err;
}

// Any flag given on the command line beats the preset, including --seed 0 (0 is a seed, not
// "not given").
TEST(CliPresetOverride, SeedZeroOverridesThePresetsSeed) {
  const std::string out = test::make_temp_dir("cli_preset_seed");
  const Tensor x = load_input(sample("landscape.png"));
  InvolutionParams ip;  // 06_involution_k7_landscape.json, whose weights have seed 2
  ip.channels = x.dim(1);
  ip.kernel_size = 7;
  ip.group_channels = 1;
  ip.reduction = 1;
  for (const char* seed : {"", " --seed 0", " --seed 5"}) {
    const CommandResult r =
        kernelscope("run --preset " + preset_file("06_involution_k7_landscape.json") + seed +
                    " --backend cpu-ref --no-png --out " + out);
    ASSERT_EQ(r.exit_code, 0) << r.err;
    const uint64_t expected_seed = seed[0] == 0 ? 2 : seed[8] - '0';
    const InvolutionWeights w = random_involution_weights(ip, expected_seed);
    EXPECT_TRUE(test::all_close(load_npy(out + "/output.npy"),
                                ref::involution_aggregate(x, ref::involution_kernels(x, ip, w), ip),
                                1e-5f, 1e-5f))
        << "'" << seed << "' should give the weights of seed " << expected_seed;
  }
  // A preset's named kernel gives way to --seed 0 too: seeded random weights, as for any seed.
  const CommandResult r = kernelscope("run --preset " + preset_file("02_sobel_x_shapes.json") +
                                      " --seed 0 --no-png --out " + out);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const Tensor shapes = load_input(sample("shapes.png"));
  ConvParams cp;
  cp.in_channels = shapes.dim(1);
  cp.out_channels = 3;
  cp.kernel_size = 3;
  cp.padding = 1;
  EXPECT_TRUE(test::all_close(load_npy(out + "/output.npy"),
                              ref::conv2d(shapes, cp, random_conv_weights(cp, 0)), 1e-5f, 1e-5f));
  fs::remove_all(out);
}

}  // namespace
}  // namespace ks
