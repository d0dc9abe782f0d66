// "kernelscope learn" through the real binary: the files it writes, --json, reproducing the
// learned output with "kernelscope run --weights", determinism, and its errors (one line on
// stderr, nonzero exit, nothing lost).
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <cmath>
#include <filesystem>
#include <string>

#include "cli/cli_runner.h"
#include "kernelscope/io.h"
#include "test_util.h"

namespace ks {
namespace {

namespace fs = std::filesystem;
using test::CommandResult;
using test::kernelscope;

struct LearnDir {
  test::TempDir dir{"cli_learn"};
  std::string input = dir.path + "/input.npy";
  LearnDir() { save_npy(input, test::random_tensor({1, 3, 12, 12}, 4, 0.0f, 1.0f)); }
  std::string out(const std::string& name) const { return dir.path + "/" + name; }
};

void expect_one_line_error(const CommandResult& r, const std::string& fragment) {
  EXPECT_NE(r.exit_code, 0);
  EXPECT_EQ(test::count_lines(r.err), 1) << r.err;
  EXPECT_NE(r.err.find(fragment), std::string::npos)
      << "expected '" << fragment << "' in " << r.err;
}

TEST(CliLearn, ConvOnAPresetTargetWritesWeightsLossAndOutputThatRunReproduces) {
  LearnDir d;
  const CommandResult r =
      kernelscope("learn --op conv --input " + d.input +
                  " --target gaussian --steps 30 --lr 0.05 --seed 1 --json --out " + d.out("fit"));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const nlohmann::json j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j.at("steps"), 30);
  EXPECT_LT(j.at("final_loss").get<double>(), j.at("initial_loss").get<double>());
  EXPECT_GT(j.at("steps_per_s").get<double>(), 0);
  EXPECT_EQ(test::count_lines(test::read_text(d.out("fit/loss.csv"))), 32);  // header + 0..30
  EXPECT_TRUE(fs::exists(d.out("fit/feature_b0_c2.png")));
  EXPECT_TRUE(fs::exists(d.out("fit/learn.json")));
  const TensorMap weights = load_safetensors(d.out("fit/weights.safetensors"));
  EXPECT_EQ(weights.at("weight").shape, (Shape{3, 3, 3, 3}));
  EXPECT_EQ(weights.at("bias").shape, (Shape{3}));

  const CommandResult again =
      kernelscope("run --op conv --input " + d.input + " --padding 1 --weights " +
                  d.out("fit/weights.safetensors") + " --no-png --out " + d.out("run"));
  ASSERT_EQ(again.exit_code, 0) << again.err;
  EXPECT_EQ(load_npy(d.out("run/output.npy")).data, load_npy(d.out("fit/output.npy")).data);
}

TEST(CliLearn, InvolutionOnADesignedTargetReloadsInRun) {
  LearnDir d;
  const CommandResult r =
      kernelscope("learn --op involution --input " + d.input +
                  " --target designed:edge_aware --kernel-size 5 --group-channels 3 --steps 10 "
                  "--out " +
                  d.out("fit"));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("involution on designed:edge_aware"), std::string::npos) << r.out;
  const CommandResult again = kernelscope(
      "run --op involution --input " + d.input + " --kernel-size 5 --weights " +
      d.out("fit/weights.safetensors") + " --kernels none --no-png --out " + d.out("run"));
  ASSERT_EQ(again.exit_code, 0) << again.err;
  EXPECT_EQ(load_npy(d.out("run/output.npy")).data, load_npy(d.out("fit/output.npy")).data);
}

TEST(CliLearn, TheSameSeedGivesTheSameWeights) {
  LearnDir d;
  for (const char* name : {"a", "b"})
    ASSERT_EQ(kernelscope("learn --op involution --input " + d.input +
                          " --target bilateral --steps 5 --seed 9 --no-png --out " + d.out(name))
                  .exit_code,
              0);
  EXPECT_EQ(test::read_text(d.out("a/weights.safetensors")),
            test::read_text(d.out("b/weights.safetensors")));
  EXPECT_EQ(test::read_text(d.out("a/loss.csv")), test::read_text(d.out("b/loss.csv")));
}

TEST(CliLearn, TargetFilesAndMasks) {
  LearnDir d;
  save_npy(d.out("target.npy"), test::random_tensor({1, 3, 12, 12}, 5, 0.0f, 1.0f));
  EXPECT_EQ(kernelscope("learn --op conv --input " + d.input + " --target " + d.out("target.npy") +
                        " --steps 2 --no-png --out " + d.out("fit"))
                .exit_code,
            0);
  EXPECT_EQ(kernelscope("learn --op conv --input " + d.input + " --target masked_blur --mask " +
                        d.input + " --steps 2 --no-png --out " + d.out("mask"))
                .exit_code,
            0);
}

TEST(CliLearn, ErrorsAreOneLine) {
  LearnDir d;
  const std::string base = "learn --op conv --input " + d.input + " --steps 3 --out " + d.out("e");
  save_npy(d.out("small.npy"), test::random_tensor({1, 3, 11, 12}, 5));
  expect_one_line_error(kernelscope(base + " --target " + d.out("small.npy")),
                        "the target is [1, 3, 11, 12] but the output is [1, 3, 12, 12]");
  expect_one_line_error(kernelscope(base + " --target gaussian --lr 0"),
                        "--lr must be a positive number, got 0");
  expect_one_line_error(kernelscope(base + " --target gaussian --lr -0.5"),
                        "--lr must be a positive number");
  expect_one_line_error(kernelscope(base + " --target " + d.out("missing.png")), "missing.png");
  expect_one_line_error(kernelscope(base + " --target gaussian --optimizer rmsprop"),
                        "unknown optimizer 'rmsprop'");
  expect_one_line_error(kernelscope(base + " --target gaussian --stride 2 --padding 0"),
                        "but the output is");
  EXPECT_FALSE(fs::exists(d.out("e/weights.safetensors")));
}

// --start: identity by default from seeded weights, given with --weights, and the manifest
// says which was used.
TEST(CliLearn, StartIsIdentityFromRandomWeightsAndGivenFromAFile) {
  LearnDir d;
  const std::string base = "learn --op involution --input " + d.input +
                           " --target gaussian --kernel-size 3 --steps 3 --no-png --json";
  const CommandResult identity = kernelscope(base + " --out " + d.out("identity"));
  ASSERT_EQ(identity.exit_code, 0) << identity.err;
  const CommandResult explicit_identity =
      kernelscope(base + " --start identity --out " + d.out("explicit"));
  const CommandResult given = kernelscope(base + " --start given --out " + d.out("given"));
  ASSERT_EQ(given.exit_code, 0) << given.err;
  const auto weights = [&](const std::string& dir) {
    return test::read_text(d.out(dir + "/weights.safetensors"));
  };
  EXPECT_EQ(weights("identity"), weights("explicit"));
  EXPECT_NE(weights("identity"), weights("given"));
  const auto manifest = [&](const std::string& dir) {
    return nlohmann::json::parse(test::read_text(d.out(dir + "/learn.json")));
  };
  EXPECT_EQ(manifest("identity")["start"], "identity");
  EXPECT_EQ(manifest("given")["start"], "given");
  // Every kernel starts near the identity (small pixel-dependent part), where the random
  // span's kernels are of any size: the identity start's first loss is the smaller.
  EXPECT_LT(nlohmann::json::parse(identity.out)["initial_loss"].get<double>(),
            nlohmann::json::parse(given.out)["initial_loss"].get<double>());
  // From a weights file the default is to go on from those weights, unchanged.
  const CommandResult resumed = kernelscope(
      base + " --weights " + d.out("given/weights.safetensors") + " --out " + d.out("resumed"));
  ASSERT_EQ(resumed.exit_code, 0) << resumed.err;
  EXPECT_EQ(manifest("resumed")["start"], "given");
}

TEST(CliLearn, StartErrorsAreOneLine) {
  LearnDir d;
  const std::string base =
      "learn --input " + d.input + " --target gaussian --steps 3 --out " + d.out("e");
  expect_one_line_error(kernelscope(base + " --op involution --start zeros"),
                        "unknown start 'zeros' (choices: given, identity)");
  expect_one_line_error(kernelscope(base + " --op conv --start identity"),
                        "--start applies to --op involution only");
  EXPECT_FALSE(fs::exists(d.out("e/weights.safetensors")));
}

TEST(CliLearn, ADivergingRunSaysWhereAndKeepsTheLastFiniteWeights) {
  LearnDir d;
  const CommandResult r = kernelscope("learn --op conv --input " + d.input +
                                      " --target sharpen --steps 500 --optimizer sgd --lr 1e6 "
                                      "--no-png --out " +
                                      d.out("fit"));
  expect_one_line_error(r, "the loss became NaN or Inf at step");
  const TensorMap weights = load_safetensors(d.out("fit/weights.safetensors"));
  for (float v : weights.at("weight").data) ASSERT_TRUE(std::isfinite(v));
  EXPECT_GE(test::count_lines(test::read_text(d.out("fit/loss.csv"))), 2);
}

}  // namespace
}  // namespace ks
