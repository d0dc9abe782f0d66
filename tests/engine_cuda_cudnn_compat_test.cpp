// The cudnn backend's decisions that need no cuDNN (engine/src/cuda/cudnn_compat.h): version
// decoding for cuDNN 8 and 9, the CUDA-version check, and the FMA-only algorithm pick.
#include <gtest/gtest.h>

#include "cuda/cudnn_compat.h"

namespace ks::cuda {
namespace {

TEST(CudnnCompat, DecodesCudnn9Versions) {
  const CudnnVersion v = decode_cudnn_version(90100);  // 9.1.0
  EXPECT_EQ(v.major, 9);
  EXPECT_EQ(v.minor, 1);
  EXPECT_EQ(v.patch, 0);
  EXPECT_EQ(cudnn_version_string(decode_cudnn_version(91203)), "9.12.3");
}

TEST(CudnnCompat, DecodesCudnn8VersionsWithTheirOwnScheme) {
  // 8.9.2 is 8902; read with cuDNN 9's scheme it would be "0.89.2".
  EXPECT_EQ(cudnn_version_string(decode_cudnn_version(8902)), "8.9.2");
  EXPECT_EQ(cudnn_version_string(decode_cudnn_version(8100)), "8.1.0");
  EXPECT_EQ(cudnn_version_string(decode_cudnn_version(7605)), "7.6.5");
}

TEST(CudnnCompat, AcceptsTheMatchingMajorBuiltForOurCudaMajor) {
  EXPECT_EQ(cudnn_mismatch(91400, 13000, 9, 13000), "");
  EXPECT_EQ(cudnn_mismatch(90100, 13020, 9, 13000), "") << "minor CUDA versions are compatible";
}

TEST(CudnnCompat, NamesAWrongCudnnMajor) {
  EXPECT_EQ(cudnn_mismatch(8902, 12020, 9, 13000), "found cuDNN 8.9.2, this build needs cuDNN 9");
}

TEST(CudnnCompat, NamesACudnnBuiltForAnotherCuda) {
  // PyTorch's CUDA 12 wheels carry such a cuDNN; with this CUDA 13 build it cannot work.
  EXPECT_EQ(cudnn_mismatch(90100, 12080, 9, 13000),
            "found cuDNN 9.1.0 built for CUDA 12.8, this build uses CUDA 13 (install the cuDNN "
            "for CUDA 13)");
}

// Stand-ins for cudnnConvolutionFwdAlgoPerf_t and its enums.
enum Status { kSuccess, kNotSupported };
enum Math { kDefault, kTensorOp, kTensorOpConversion, kFma };
struct Perf {
  int algo;
  Status status;
  Math mathType;
};

TEST(CudnnCompat, PicksTheFastestFmaAlgorithm) {
  const Perf results[] = {{7, kSuccess, kTensorOp},  // fastest: tensor cores, refused
                          {6, kNotSupported, kFma},
                          {5, kSuccess, kDefault},  // TF32 on sm_80+: refused
                          {1, kSuccess, kFma},
                          {0, kSuccess, kFma}};
  const Perf* best = pick_fma_algorithm(results, 5, kSuccess, kFma);
  ASSERT_NE(best, nullptr);
  EXPECT_EQ(best->algo, 1);
}

TEST(CudnnCompat, FindsNothingWithoutAnFmaAlgorithm) {
  const Perf results[] = {{7, kSuccess, kTensorOpConversion}, {5, kSuccess, kDefault}};
  EXPECT_EQ(pick_fma_algorithm(results, 2, kSuccess, kFma), nullptr);
  EXPECT_EQ(pick_fma_algorithm(results, 0, kSuccess, kFma), nullptr);
}

}  // namespace
}  // namespace ks::cuda
