// Runs the real `kernelscope` binary: the `run` contract, its outputs, and every bad-input
// path (one line on stderr, nonzero exit, no output files).
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>
#include <nlohmann/json.hpp>

#include <sys/wait.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <string>

#include "cli/cli_runner.h"
#include "cpu_ref/reference.h"
#include "kernelscope/backend.h"
#include "kernelscope/benchmark.h"
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
// (here an extra one) exceed --max-memory-mb is refused naming the cap.
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
  // Under 4 GiB the file is read, and its unknown tensor refused (issue 15: not ignored).
  expect_clean_failure(args + " --no-png", out(), "unknown tensor 'extra'");
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

// --- --kernels and --kernels-at -----------------------------------------------------------

// Two batches and two kernel groups, stride 2: indexing mistakes in any dimension show.
struct KernelsRun {
  test::TempDir dir{"cli_kernels"};
  std::string args;
  KernelsRun() {
    save_npy(dir.path + "/x.npy", test::random_tensor({2, 4, 13, 17}, 7, 0.0f, 1.0f));
    args = "run --op involution --input " + dir.path +
           "/x.npy --kernel-size 5 --group-channels 2 --stride 2 --seed 3";
  }
  // The JSON summary of a run into dir/<out> with the extra flags.
  nlohmann::json run(const std::string& out, const std::string& flags) const {
    const CommandResult r =
        kernelscope(args + " " + flags + " --json --out " + dir.path + "/" + out);
    EXPECT_EQ(r.exit_code, 0) << flags << ": " << r.err;
    return r.exit_code == 0 ? nlohmann::json::parse(r.out) : nlohmann::json::object();
  }
  bool has(const std::string& file) const { return fs::exists(dir.path + "/" + file); }
};

int count_files_starting(const fs::path& dir, const std::string& prefix) {
  int n = 0;
  for (auto& e : fs::directory_iterator(dir))
    n += e.path().filename().string().rfind(prefix, 0) == 0;
  return n;
}

// --kernels sum writes kernel_sum.npy [B, G, H_out, W_out] and one PNG per (b, g) plane instead
// of kernels.npy; its values are the full run's kernels summed over the K*K taps.
TEST(CliKernels, SumIsTheFullKernelsSummedOverTaps) {
  const KernelsRun k;
  const nlohmann::json full = k.run("full", "");
  EXPECT_EQ(full["kernels"], "full");
  EXPECT_EQ(full["kernels_shape"], (std::vector<int64_t>{2, 2, 25, 7, 9}));
  const nlohmann::json sum = k.run("sum", "--kernels sum");
  EXPECT_EQ(sum["kernels"], "sum");
  EXPECT_EQ(sum["kernel_sum_shape"], (std::vector<int64_t>{2, 2, 7, 9}));
  EXPECT_FALSE(sum.contains("kernels_shape"));
  EXPECT_FALSE(k.has("sum/kernels.npy"));
  EXPECT_EQ(count_files_starting(k.dir.path + "/sum", "kernel_sum_b"), 4);  // B x G planes
  EXPECT_TRUE(k.has("sum/kernel_sum_b1_g1.png"));
  EXPECT_EQ(count_pngs(k.dir.path + "/sum"), 2 * 4 + 4);
  EXPECT_EQ(sum["pngs"], 2 * 4 + 4);

  const Tensor kernels = load_npy(k.dir.path + "/full/kernels.npy");
  Tensor expected({2, 2, 7, 9});
  for (int64_t bg = 0; bg < 4; ++bg)
    for (int64_t i = 0; i < 7 * 9; ++i) {
      double total = 0;
      for (int64_t t = 0; t < 25; ++t) total += kernels.data[(bg * 25 + t) * 63 + i];
      expected.data[bg * 63 + i] = static_cast<float>(total);
    }
  EXPECT_TRUE(
      test::all_close(load_npy(k.dir.path + "/sum/kernel_sum.npy"), expected, 1e-5f, 1e-5f));
  // The output does not depend on which kernels are kept.
  EXPECT_TRUE(test::all_close(load_npy(k.dir.path + "/sum/output.npy"),
                              load_npy(k.dir.path + "/full/output.npy"), 1e-6f, 1e-6f));

  // --no-png skips the kernel-sum PNGs too.
  EXPECT_EQ(k.run("sum_no_png", "--kernels sum --no-png")["pngs"], 0);
  EXPECT_EQ(count_pngs(k.dir.path + "/sum_no_png"), 0);
  EXPECT_TRUE(k.has("sum_no_png/kernel_sum.npy"));
}

TEST(CliKernels, NoneWritesNeitherKernelsNorTheirSum) {
  const KernelsRun k;
  const nlohmann::json none = k.run("none", "--kernels none");
  EXPECT_EQ(none["kernels"], "none");
  EXPECT_FALSE(none.contains("kernels_shape") || none.contains("kernel_sum_shape"));
  EXPECT_TRUE(k.has("none/output.npy"));
  EXPECT_FALSE(k.has("none/kernels.npy"));
  EXPECT_FALSE(k.has("none/kernel_sum.npy"));
  EXPECT_EQ(count_files_starting(k.dir.path + "/none", "kernel"), 0);
}

// A run into the directory of an earlier run removes the kernel files it did not write, so a
// kernels.npy of a full run never sits next to the output of a --kernels none run. Files
// that are not run's kernel files stay.
TEST(CliKernels, StaleKernelFilesOfAnEarlierRunAreRemoved) {
  const KernelsRun k;
  const std::string out = " --out " + k.dir.path + "/out";
  ASSERT_EQ(kernelscope(k.args + " --kernels sum --kernels-at 1,1" + out).exit_code, 0);
  ASSERT_EQ(kernelscope(k.args + out).exit_code, 0);
  EXPECT_TRUE(k.has("out/kernels.npy"));
  EXPECT_FALSE(k.has("out/kernel_sum.npy")) << "left over from the sum run";
  EXPECT_FALSE(k.has("out/kernels_at.npy")) << "left over from the sum run";
  EXPECT_FALSE(k.has("out/kernel_sum_b0_g0.png")) << "left over from the sum run";
  std::ofstream(k.dir.path + "/out/kernels_notes.txt") << "mine";

  CommandResult r = kernelscope(k.args + " --kernels sum" + out);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_FALSE(k.has("out/kernels.npy")) << "stale kernels.npy of the full run";
  EXPECT_TRUE(k.has("out/kernel_sum.npy"));
  // The summary line names the files written.
  EXPECT_NE(r.out.find("output.npy, kernel_sum.npy and 12 PNGs"), std::string::npos) << r.out;
  EXPECT_EQ(r.out.find("kernels.npy"), std::string::npos) << r.out;

  r = kernelscope(k.args + " --kernels none --kernels-at 0,0" + out);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("output.npy, kernels_at.npy and 8 PNGs"), std::string::npos) << r.out;
  EXPECT_FALSE(k.has("out/kernel_sum.npy"));
  EXPECT_EQ(count_files_starting(k.dir.path + "/out", "kernel_sum"), 0);
  EXPECT_TRUE(k.has("out/kernels_at.npy"));
  EXPECT_TRUE(k.has("out/kernels_notes.txt"));

  // A conv run writes no kernels at all.
  r = kernelscope("run --op conv --input " + k.dir.path + "/x.npy --json" + out);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(nlohmann::json::parse(r.out)["kernels"], "none");
  EXPECT_FALSE(k.has("out/kernels_at.npy"));
  EXPECT_TRUE(k.has("out/kernels_notes.txt"));
}

// kernels_at.npy [N, B, G, K*K] holds the kernels generated at the given output pixels: the
// matching slices of a full run's kernels.npy, whatever --kernels says.
TEST(CliKernels, KernelsAtRowsAreTheFullKernelsAtThosePixels) {
  const KernelsRun k;
  k.run("full", "");
  const std::vector<std::pair<int64_t, int64_t>> pixels = {{0, 0}, {6, 8}, {3, 5}, {0, 8}};
  for (const char* mode : {"full", "sum", "none"}) {
    const nlohmann::json j =
        k.run(mode, std::string("--kernels ") + mode + " --kernels-at \"0,0; 6,8;3, 5;0,8\"");
    EXPECT_EQ(j["kernels_at_shape"], (std::vector<int64_t>{4, 2, 2, 25})) << mode;
    const Tensor at = load_npy(k.dir.path + "/" + mode + "/kernels_at.npy");
    const Tensor kernels = load_npy(k.dir.path + "/full/kernels.npy");
    ASSERT_EQ(at.shape, (Shape{4, 2, 2, 25})) << mode;
    Tensor expected(at.shape);
    for (size_t n = 0; n < pixels.size(); ++n)
      for (int64_t bg = 0; bg < 4; ++bg)
        for (int64_t t = 0; t < 25; ++t)
          expected.data[(n * 4 + bg) * 25 + t] =
              kernels.data[(bg * 25 + t) * 63 + pixels[n].first * 9 + pixels[n].second];
    EXPECT_TRUE(test::all_close(at, expected, 1e-5f, 1e-5f)) << mode;
  }
}

// The memory cap counts the kernels tensor only when it is asked for: a run that keeps the
// sum or nothing is not refused for the 49 floats per pixel it never allocates.
TEST(CliKernels, MemoryCapCountsOnlyTheKernelsAskedFor) {
  const test::TempDir dir("cli_kernels_cap");
  save_npy(dir.path + "/x.npy", test::random_tensor({1, 3, 256, 256}, 1));
  // ~2.3 MiB of input, output and kernel sum; the full kernels add 36.8 MiB.
  const std::string args = "run --op involution --input " + dir.path +
                           "/x.npy --kernel-size 7 --group-channels 1 --max-memory-mb 4 --no-png";
  CommandResult r = kernelscope(args + " --out " + dir.path + "/full");
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.err.find("memory cap"), std::string::npos) << r.err;
  for (const char* mode : {"sum", "none"}) {
    r = kernelscope(args + " --kernels " + mode + " --out " + dir.path + "/" + mode);
    EXPECT_EQ(r.exit_code, 0) << mode << ": " << r.err;
  }
}

TEST_F(CliErrors, KernelsBadMode) {
  expect_clean_failure("run --op involution --input " + sample("shapes.png") + " --kernels bogus",
                       out(), "--kernels: unknown kernels mode 'bogus'");
}

TEST_F(CliErrors, KernelsAtMalformedPixels) {
  for (const char* pixels : {"1", "1,2,3", "a,b", "\"1;2\"", "\"\""})
    expect_clean_failure(
        "run --op involution --input " + sample("shapes.png") + " --kernels-at " + pixels, out(),
        "--kernels-at: cannot read output pixels");
}

TEST_F(CliErrors, KernelsAtPixelOutsideTheOutput) {
  for (const char* pixels : {"99999,0", "0,320", "\"-1,0\"", "\"0,0;240,0\""})
    expect_clean_failure(
        "run --op involution --input " + sample("shapes.png") + " --kernels-at=" + pixels, out(),
        "is outside the output of 240 x 320");
}

TEST_F(CliErrors, KernelFlagsWithConv) {
  const std::string conv = "run --op conv --input " + sample("shapes.png");
  expect_clean_failure(conv + " --kernels-at 0,0", out(), "--kernels-at applies to involution");
  expect_clean_failure(conv + " --kernels sum", out(), "--kernels applies to involution");
  // A preset's conv is conv too.
  expect_clean_failure("run --preset " + preset_file("02_sobel_x_shapes.json") + " --kernels none",
                       out(), "--kernels applies to involution");
}

// --- kernelscope bench -------------------------------------------------------------------

const nlohmann::json* find_problem(const nlohmann::json& list, const std::string& name) {
  for (const auto& p : list)
    if (p["problem"] == name) return &p;
  return nullptr;
}

// The screen problems are standard problems; --list shows them (and every problem's kernels
// mode) without timing anything, so this stays fast.
TEST(CliBench, ListsTheScreenProblemsWithTheirKernels) {
  const CommandResult r = kernelscope("bench --list --json");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const nlohmann::json problems = nlohmann::json::parse(r.out)["problems"];
  for (const auto& p : problems) EXPECT_TRUE(p.contains("kernels")) << p.dump();

  const nlohmann::json* screen = find_problem(problems, "inv 1080p K7 gc1 screen");
  ASSERT_TRUE(screen);
  EXPECT_EQ((*screen)["kernels"], "sum");
  EXPECT_EQ((*screen)["input"], (std::vector<int64_t>{1, 3, 1080, 1920}));
  EXPECT_EQ((*screen)["involution"]["kernel_size"], 7);
  EXPECT_EQ((*screen)["involution"]["group_channels"], 1);
  EXPECT_EQ((*screen)["involution"]["reduction"], 1);
  const nlohmann::json* screen4k = find_problem(problems, "inv 4K K7 screen");
  ASSERT_TRUE(screen4k);
  EXPECT_EQ((*screen4k)["kernels"], "sum");
  EXPECT_EQ((*screen4k)["input"], (std::vector<int64_t>{1, 3, 2160, 3840}));
  EXPECT_EQ((*screen4k)["involution"]["kernel_size"], 7);
  EXPECT_EQ((*screen4k)["involution"]["group_channels"], 1);
  EXPECT_EQ((*screen4k)["involution"]["reduction"], 1);
  const nlohmann::json* conv4k = find_problem(problems, "conv 4K K7");
  ASSERT_TRUE(conv4k);
  EXPECT_EQ((*conv4k)["kernels"], "none");
  EXPECT_EQ((*conv4k)["input"], (std::vector<int64_t>{1, 3, 2160, 3840}));
  EXPECT_EQ((*conv4k)["conv"]["out_channels"], 16);
  EXPECT_EQ((*conv4k)["conv"]["kernel_size"], 7);
  EXPECT_EQ((*conv4k)["conv"]["padding"], 3);
  const nlohmann::json* full = find_problem(problems, "inv 1080p K7");
  ASSERT_TRUE(full);
  EXPECT_EQ((*full)["kernels"], "full");

  // The table names the kernels too.
  const CommandResult table = kernelscope("bench --list --problem screen");
  ASSERT_EQ(table.exit_code, 0) << table.err;
  EXPECT_EQ(count_lines(table.out), 3) << table.out;
  EXPECT_NE(table.out.find("K7 gc1 r1 sum"), std::string::npos) << table.out;
}

// --problem with a problem's full name picks that problem alone ("inv 1080p K7" is also part
// of "inv 1080p K7 gc1 screen"); other text picks every name containing it.
TEST(CliBench, ExactProblemNameSelectsOneProblem) {
  CommandResult r = kernelscope("bench --list --json --problem \"inv 1080p K7\"");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  nlohmann::json problems = nlohmann::json::parse(r.out)["problems"];
  ASSERT_EQ(problems.size(), 1u);
  EXPECT_EQ(problems[0]["problem"], "inv 1080p K7");
  r = kernelscope("bench --list --json --problem \"inv 1080p\"");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(nlohmann::json::parse(r.out)["problems"].size(), 2u);
}

// Timed results carry the kernels field too (small problems, one repeat: fast).
TEST(CliBench, TimedResultsNameTheirKernels) {
  const CommandResult r = kernelscope("bench --json --backend cpu --problem small --repeats 1");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const nlohmann::json results = nlohmann::json::parse(r.out)["results"];
  const nlohmann::json* conv = find_problem(results, "conv small");
  const nlohmann::json* inv = find_problem(results, "inv small");
  ASSERT_TRUE(conv && inv) << r.out;
  EXPECT_EQ((*conv)["kernels"], "none");
  EXPECT_EQ((*inv)["kernels"], "full");
}

// run_problem asks the backend for the problem's kernels, into results reused call after call
// (what time_problem times).
TEST(CliBench, RunProblemKeepsTheProblemsKernelsInReusedResults) {
  const auto& standard = standard_problems();
  const auto screen = std::find_if(standard.begin(), standard.end(), [](const BenchProblem& p) {
    return p.name == "inv 1080p K7 gc1 screen";
  });
  ASSERT_NE(screen, standard.end());
  BenchProblem small = *screen;
  small.input = {1, 3, 20, 24};
  const BenchInputs inputs = make_bench_inputs(small);
  BenchOutputs outputs;
  Backend& cpu = select_backend("cpu");
  run_problem(cpu, small, inputs, &outputs, nullptr);
  EXPECT_EQ(outputs.involution.output.shape, (Shape{1, 3, 20, 24}));
  EXPECT_EQ(outputs.involution.kernel_sum.shape, (Shape{1, 3, 20, 24}));
  EXPECT_TRUE(outputs.involution.kernels.empty());
  const float* output = outputs.involution.output.ptr();
  const float* kernel_sum = outputs.involution.kernel_sum.ptr();
  StageTimes times;
  run_problem(cpu, small, inputs, &outputs, &times);
  EXPECT_EQ(outputs.involution.output.ptr(), output) << "the output was allocated afresh";
  EXPECT_EQ(outputs.involution.kernel_sum.ptr(), kernel_sum) << "the sum was allocated afresh";
  EXPECT_GT(times.total_ms, 0.0);
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

// --- Issue 15: absurd parameters, hostile weights, nothing silent -------------------------

double seconds_of(const std::function<void()>& f) {
  const auto start = std::chrono::steady_clock::now();
  f();
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

// A non-UTF-8 --out with --json failed in the JSON encoder after all the work was done: the
// path now prints with U+FFFD, the files are written and the exit status is 0.
TEST(CliHardening, NonUtf8OutWithJsonPrintsAndSucceeds) {
  const test::TempDir dir("cli_non_utf8");
  const std::string out = dir.path + "/bad\xff" + "dir";
  const CommandResult r =
      kernelscope("run --op conv --backend cpu --input " + sample("checker.png") +
                  " --no-png --json --out '" + out + "'");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const nlohmann::json j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j["backend"], "cpu");
  EXPECT_TRUE(fs::exists(out + "/output.npy"));
}

// A preset's relative paths are relative to its own folder (or the folder above, where the
// bundled scenes find samples/), whatever the working directory; a path that leads out of
// that tree still works but says so.
TEST(CliHardening, PresetPathsResolveAgainstTheirFolderAndSayWhenTheyLeaveIt) {
  const test::TempDir dir("cli_preset_paths");
  fs::create_directories(dir.path + "/kit/scenes");
  fs::copy_file(sample("checker.png"), dir.path + "/kit/scenes/mine.png");
  fs::copy_file(sample("checker.png"), dir.path + "/elsewhere.png");
  const auto scene = [&](const std::string& name, const std::string& image) {
    const std::string path = dir.path + "/kit/scenes/" + name;
    std::ofstream(path) << R"({"name": "paths", "op": "conv", "image": ")" << image << R"("})";
    return path;
  };
  const std::string inside = scene("inside.json", "mine.png");
  const std::string dotdot = scene("dotdot.json", "../../elsewhere.png");
  const std::string absolute = scene("absolute.json", dir.path + "/elsewhere.png");
  // From another working directory: the runner's is the build tree.
  CommandResult r =
      kernelscope("run --preset " + inside + " --backend cpu --no-png --out " + dir.path + "/o");
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.err, "");
  for (const std::string& preset : {dotdot, absolute}) {
    r = kernelscope("run --preset " + preset + " --no-png --out " + dir.path + "/o");
    EXPECT_EQ(r.exit_code, 0) << r.err;
    EXPECT_NE(r.err.find("kernelscope: warning: preset " + preset + " reads '"), std::string::npos)
        << r.err;
    EXPECT_NE(r.err.find("outside its folder " + dir.path + "/kit"), std::string::npos) << r.err;
  }
}

// Strides whose cpu band was a heap overflow (2^60 + 1), a null write (2^62), an uncaught
// bad_alloc (1e8) or 26 s at 5.6 GB (1e7): auto hands them to cpu-ref, which takes
// milliseconds, from a flag and from a preset's "stride".
TEST(CliHardening, AbsurdStridesRunOnCpuRefInMilliseconds) {
  const test::TempDir dir("cli_absurd_stride");
  for (const char* stride : {"1152921504606846977", "4611686018427387904", "100000000", "10000000"})
    for (const char* op : {"conv", "involution"}) {
      const std::string preset = dir.path + "/absurd.json";
      std::ofstream(preset) << "{\"name\": \"absurd\", \"image\": \"" << sample("shapes.png")
                            << "\", \"op\": \"" << op << "\", \"stride\": " << stride << "}";
      for (const std::string& how :
           {std::string("--op ") + op + " --input " + sample("shapes.png") + " --stride " + stride,
            "--preset " + preset}) {
        CommandResult r;
        const double seconds = seconds_of(
            [&] { r = kernelscope("run " + how + " --no-png --json --out " + dir.path + "/o"); });
        ASSERT_EQ(r.exit_code, 0) << how << ": " << r.err;
        EXPECT_EQ(nlohmann::json::parse(r.out)["backend"], "cpu-ref") << how;
        EXPECT_LT(seconds, 5.0) << how;
      }
    }
}

// A 7.7 GB band for a 192 x 192 output, outside the estimate, took 39 s: now cpu-ref runs it
// under a 100 MiB cap at once.
TEST(CliHardening, HugeDilationAndPaddingUnderASmallCap) {
  const test::TempDir dir("cli_dilation_cap");
  CommandResult r;
  const double seconds = seconds_of([&] {
    r = kernelscope("run --op conv --input " + sample("shapes.png") +
                    " --dilation 9000 --padding 9000 --max-memory-mb 100 --no-png --json --out " +
                    dir.path);
  });
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(nlohmann::json::parse(r.out)["backend"], "cpu-ref");
  EXPECT_LT(seconds, 5.0);
}

#if !defined(__SANITIZE_ADDRESS__)  // ASan reserves terabytes of shadow: no ulimit -v there
// Out of memory that the cap let through is one line, not an abort: a cap far above the
// machine and an address-space limit far below the 14 GB output make the allocation fail.
TEST(CliHardening, OutOfMemoryIsOneLine) {
  const test::TempDir dir("cli_oom");
  const std::string cmd = "(ulimit -v 1000000; " + std::string(KS_CLI_PATH) +
                          " run --op conv --input " + sample("shapes.png") +
                          " --out-channels 100000 --max-memory-mb 100000000 --no-png --out " +
                          dir.path + "/o) >/dev/null 2>" + dir.path + "/err </dev/null";
  const int status = std::system(cmd.c_str());
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 1);
  const std::string err = read_text(dir.path + "/err");
  EXPECT_EQ(count_lines(err), 1) << err;
  EXPECT_NE(err.find("kernelscope: error: out of memory"), std::string::npos) << err;
}
#endif

TEST_F(CliErrors, MemoryCapBelowOneSaysTheRange) {
  expect_clean_failure("run --op conv --input " + sample("checker.png") + " --max-memory-mb 0",
                       out(), "--max-memory-mb: must be a whole number >= 1, got 0");
  expect_clean_failure("run --op conv --input " + sample("checker.png") + " --stride 0", out(),
                       "--stride: must be a whole number >= 1, got 0");
}

// CLI11 turned --seed 99999999999999999999 into 2^64-1 and --kernel-size 1e20 into 2^63-1
// without a word, accepted --atol nan (then failed every case) and printed ranges with 300
// digits: every numeric flag now says its range in words, on one line, before any work.
TEST(CliHardening, NumericFlagsSayTheirRangeAndNeverSaturate) {
  const test::TempDir dir("cli_numeric_flags");
  const std::string run = "run --op conv --input " + sample("checker.png") + " --out " + dir.path;
  const std::pair<std::string, std::string> cases[] = {
      {run + " --seed 99999999999999999999",
       "--seed: must be a whole number from 0 to 18446744073709551615, got 99999999999999999999 "
       "(too large)"},
      {run + " --kernel-size 99999999999999999999",
       "--kernel-size: must be a whole number >= 1, got 99999999999999999999 (too large)"},
      {run + " --stride 2x", "--stride: must be a whole number >= 1, got '2x'"},
      {run + " --seed -1", "--seed: must be a whole number from 0"},
      {"selftest --atol nan", "--atol: must be a finite number >= 0, got nan"},
      {"selftest --rtol -1", "--rtol: must be a finite number >= 0, got -1"},
      {"selftest --cases 0", "--cases: must be a whole number from 1 to 10000, got 0"},
      {"bench --repeats 100000000000000000000", "--repeats: must be a whole number from 1 to 1000"},
      {"--ui-scale nan", "--ui-scale: must be a number from 0.5 to 3, got nan"},
      {"--pin 3 -1", "--pin: must be a whole number from 0 to"},
  };
  for (const auto& [args, fragment] : cases) {
    const CommandResult r = kernelscope(args);
    if (r.err.find("this build has no desktop app") != std::string::npos) continue;  // --ui-scale
    EXPECT_EQ(r.exit_code, 2) << args << ": " << r.err;
    EXPECT_EQ(count_lines(r.err), 1) << args << ": " << r.err;
    EXPECT_NE(r.err.find(fragment), std::string::npos) << args << ": " << r.err;
    EXPECT_EQ(r.err.find("kernelscope"), 0u) << r.err;  // the tool's name, never argv[0]'s path
  }
  EXPECT_FALSE(fs::exists(dir.path + "/output.npy"));
}

TEST_F(CliErrors, MisspelledBiasKeyIsAnError) {
  ConvParams cp;
  cp.in_channels = 1;
  TensorMap tensors = conv_weights_to_tensors(random_conv_weights(cp, 1));
  tensors["Bias"] = tensors["bias"];
  tensors.erase("bias");
  save_safetensors(dir_ + "/w.safetensors", tensors);
  expect_clean_failure(
      "run --op conv --input " + sample("checker.png") + " --weights " + dir_ + "/w.safetensors",
      out(), "unknown tensor 'Bias'");
}

TEST_F(CliErrors, NegativeBnVarianceIsAnError) {
  InvolutionParams ip;
  ip.channels = 1;
  TensorMap tensors = involution_weights_to_tensors(ip, random_involution_weights(ip, 1));
  tensors["conv1.bn.running_var"].data[0] = -0.5f;
  save_safetensors(dir_ + "/w.safetensors", tensors);
  expect_clean_failure("run --op involution --input " + sample("checker.png") + " --weights " +
                           dir_ + "/w.safetensors",
                       out(), "conv1.bn.running_var[0] is -0.5");
}

TEST(CliHardening, NonFiniteInputWarnsButRuns) {
  const test::TempDir dir("cli_nan_input");
  Tensor x = test::random_tensor({1, 1, 8, 8}, 1);
  x.data[5] = NAN;
  save_npy(dir.path + "/x.npy", x);
  const CommandResult r =
      kernelscope("run --op conv --input " + dir.path + "/x.npy --no-png --out " + dir.path + "/o");
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.err.find("warning: input contains non-finite values: input has 1 NaN/Inf value"),
            std::string::npos)
      << r.err;
}

// --out-channels 200000 wrote 200,001 files: the PNGs stop at 256, the .npy keeps all.
TEST(CliHardening, PngCountIsBoundedButTheNpyKeepsEverything) {
  const test::TempDir dir("cli_png_bound");
  save_npy(dir.path + "/x.npy", test::random_tensor({1, 1, 6, 6}, 1));
  const CommandResult r = kernelscope("run --op conv --input " + dir.path +
                                      "/x.npy --out-channels 300 --json --out " + dir.path + "/o");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(count_pngs(dir.path + "/o"), 256);
  EXPECT_EQ(nlohmann::json::parse(r.out)["pngs"], 256);
  EXPECT_NE(r.err.find("first 256 of 300 feature maps"), std::string::npos) << r.err;
  EXPECT_EQ(load_npy(dir.path + "/o/output.npy").shape[1], 300);
}

// ---- Safe writes into --out (issue 15) ------------------------------------------------------
// run.json lists what a run wrote; the next run into the same --out removes those files it
// does not rewrite (feature maps of a wider layer, say) and leaves everything else alone.
TEST(CliSafeWrites, ManifestCleanupRemovesOnlyThePreviousRunsFiles) {
  const test::TempDir dir("cli_manifest");
  save_npy(dir.path + "/x.npy", test::random_tensor({1, 1, 6, 6}, 1));
  const std::string out = dir.path + "/o";
  const std::string args = "run --op conv --input " + dir.path + "/x.npy --out " + out;
  ASSERT_EQ(kernelscope(args + " --out-channels 4").exit_code, 0);
  EXPECT_TRUE(fs::exists(out + "/feature_b0_c3.png"));
  std::ofstream(out + "/notes.txt") << "mine";
  std::ofstream(out + "/feature_b0_c9.png") << "a name like ours, but not from a run";

  const CommandResult r = kernelscope(args + " --out-channels 2");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_FALSE(fs::exists(out + "/feature_b0_c2.png")) << "left over from the 4-channel run";
  EXPECT_FALSE(fs::exists(out + "/feature_b0_c3.png")) << "left over from the 4-channel run";
  EXPECT_TRUE(fs::exists(out + "/feature_b0_c1.png"));
  EXPECT_EQ(read_text(out + "/notes.txt"), "mine");
  EXPECT_TRUE(fs::exists(out + "/feature_b0_c9.png"));

  const nlohmann::json manifest = nlohmann::json::parse(read_text(out + "/run.json"));
  EXPECT_EQ(manifest["op"], "conv");
  EXPECT_EQ(manifest["parameters"]["out_channels"], 2);
  EXPECT_EQ(manifest["command"].back(), "2");
  EXPECT_TRUE(manifest["complete"].get<bool>());
  auto files = manifest["files"].get<std::vector<std::string>>();
  std::sort(files.begin(), files.end());
  EXPECT_EQ(files,
            (std::vector<std::string>{"feature_b0_c0.png", "feature_b0_c1.png", "output.npy"}));
}

// A manifest that names files outside --out (edited by hand, or planted) removes nothing there.
TEST(CliSafeWrites, ManifestCannotReachOutsideTheDirectory) {
  const test::TempDir dir("cli_manifest_escape");
  save_npy(dir.path + "/x.npy", test::random_tensor({1, 1, 6, 6}, 1));
  fs::create_directories(dir.path + "/o");
  std::ofstream(dir.path + "/victim.txt") << "keep";
  std::ofstream(dir.path + "/o/run.json")
      << R"({"files": ["../victim.txt", ")" + dir.path + R"(/victim.txt", "."]})";
  const CommandResult r =
      kernelscope("run --op conv --no-png --input " + dir.path + "/x.npy --out " + dir.path + "/o");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_TRUE(fs::exists(dir.path + "/victim.txt"));
}

// While one run holds --out, a second run into it fails with one line and writes nothing
// (two runs shared temporary names and one renamed a torn file into place).
TEST(CliSafeWrites, ConcurrentRunIntoTheSameOutFailsCleanly) {
  const test::TempDir dir("cli_lock");
  save_npy(dir.path + "/x.npy", test::random_tensor({1, 1, 6, 6}, 1));
  const std::string out = dir.path + "/o";
  fs::create_directories(out);
  const int fd = ::open((out + "/.kernelscope-run.lock").c_str(), O_RDWR | O_CREAT, 0644);
  ASSERT_GE(fd, 0);
  ASSERT_EQ(::flock(fd, LOCK_EX), 0);  // as a running `kernelscope run` holds it
  // --backend cpu: no "cuda unavailable" notice in a build with CUDA, so stderr is one line.
  expect_clean_failure("run --op conv --backend cpu --input " + dir.path + "/x.npy", out,
                       "another kernelscope run is writing into this directory");
  ::close(fd);
  EXPECT_EQ(kernelscope("run --op conv --input " + dir.path + "/x.npy --out " + out).exit_code, 0);
}

// --out files that are not regular files are refused, not replaced.
TEST(CliSafeWrites, OutputOntoAFifoIsRefused) {
  const test::TempDir dir("cli_fifo_out");
  save_npy(dir.path + "/x.npy", test::random_tensor({1, 1, 6, 6}, 1));
  fs::create_directories(dir.path + "/o");
  ASSERT_EQ(::mkfifo((dir.path + "/o/output.npy").c_str(), 0600), 0);
  const CommandResult r = kernelscope("run --op conv --backend cpu --input " + dir.path +
                                      "/x.npy --out " + dir.path + "/o");
  EXPECT_NE(r.exit_code, 0);
  EXPECT_EQ(count_lines(r.err), 1) << r.err;
  EXPECT_NE(r.err.find("output.npy: is a FIFO, not a regular file"), std::string::npos) << r.err;
  EXPECT_TRUE(fs::is_fifo(dir.path + "/o/output.npy"));
}

// --activation (or a scene's "activation") is applied to the output `run` writes, as the app
// shows it; before, `run` ignored a scene's ReLU.
TEST(CliSpec, ActivationReluClampsTheOutputAndIsRecorded) {
  const std::string base = "run --op conv --input " + sample("shapes.png") + " --seed 4";
  const std::string plain = test::make_temp_dir("cli_act"), relu = test::make_temp_dir("cli_act");
  ASSERT_EQ(kernelscope(base + " --no-png --out " + plain).exit_code, 0);
  const CommandResult r = kernelscope(base + " --no-png --activation relu --json --out " + relu);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const Tensor a = load_npy(plain + "/output.npy"), b = load_npy(relu + "/output.npy");
  ASSERT_EQ(a.shape, b.shape);
  int negatives = 0;
  for (size_t i = 0; i < a.data.size(); ++i) {
    negatives += a.data[i] < 0;
    EXPECT_EQ(b.data[i], std::max(a.data[i], 0.0f));
  }
  EXPECT_GT(negatives, 0);  // random weights: the clamp had something to do
  EXPECT_EQ(nlohmann::json::parse(r.out)["activation"], "relu");
  const nlohmann::json manifest = nlohmann::json::parse(read_text(relu + "/run.json"));
  EXPECT_EQ(manifest["parameters"]["activation"], "relu");
  EXPECT_EQ(manifest["parameters"]["weights"]["source"], "random");
  EXPECT_EQ(manifest["parameters"]["weights"]["seed"], 4);
  // The scene with "activation": "relu" gets it without the flag.
  const std::string scene = test::make_temp_dir("cli_act");
  const CommandResult s =
      kernelscope("run --preset " + preset_file("04_stride_dilation_checker.json") +
                  " --no-png --json --out " + scene);
  ASSERT_EQ(s.exit_code, 0) << s.err;
  EXPECT_EQ(nlohmann::json::parse(s.out)["activation"], "relu");
  for (float v : load_npy(scene + "/output.npy").data) ASSERT_GE(v, 0.0f);
}

// --variation: the app's "variation" slider on the command line (and a scene's
// weights.variation): a named kernel as the span bias plus a scaled random span weight.
TEST(CliSpec, VariationMakesTheKernelDependOnThePixel) {
  const std::string base = "run --op involution --input " + sample("shapes.png") +
                           " --kernel gaussian --kernel-size 3 --seed 2 --no-png --kernels-at "
                           "\"10,10;60,80\"";
  const std::string still = test::make_temp_dir("cli_var"), varied = test::make_temp_dir("cli_var");
  ASSERT_EQ(kernelscope(base + " --out " + still).exit_code, 0);
  const CommandResult r = kernelscope(base + " --variation 0.8 --out " + varied);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const nlohmann::json manifest = nlohmann::json::parse(read_text(varied + "/run.json"));
  EXPECT_EQ(manifest["parameters"]["weights"]["source"], "gaussian");
  EXPECT_EQ(manifest["parameters"]["weights"]["variation"], 0.8);
  const Tensor k0 = load_npy(still + "/kernels_at.npy"), k1 = load_npy(varied + "/kernels_at.npy");
  const int64_t per_pixel = k0.numel() / 2;
  // Without variation both pixels get the Gaussian; with it they differ.
  for (int64_t i = 0; i < per_pixel; ++i) EXPECT_EQ(k0.data[i], k0.data[per_pixel + i]);
  float differ = 0;
  for (int64_t i = 0; i < per_pixel; ++i)
    differ = std::max(differ, std::abs(k1.data[i] - k1.data[per_pixel + i]));
  EXPECT_GT(differ, 1e-3f);
  expect_clean_failure("run --op involution --input " + sample("shapes.png") + " --variation 0.5",
                       test::make_temp_dir("cli_var"), "variation applies to");
  expect_clean_failure(
      "run --op conv --input " + sample("shapes.png") + " --kernel box --variation 0.5",
      test::make_temp_dir("cli_var"), "variation applies to");
}

}  // namespace
}  // namespace ks
