// prepare (the CLI's flags -> engine params + weights + memory check) and the app's worker
// (newest request wins), with no display.
#include <gtest/gtest.h>
#include <sys/resource.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <limits>
#include <string>
#include <thread>
#include <vector>

#include "core/compute.h"
#include "core/operator_options.h"
#include "core/result_scan.h"
#include "core/worker.h"
#include "kernelscope/error.h"
#include "kernelscope/io.h"

namespace ks::core {
namespace {

const std::string kShapes = std::string(KS_ASSET_DIR) + "/samples/shapes.png";

OperatorOptions involution_options(uint64_t seed) {
  OperatorOptions o;
  o.op = "involution";
  o.input = kShapes;
  o.kernel_size = 5;
  o.weights.seed = seed;
  return o;
}

TEST(CorePrepare, EqualOptionsGiveEqualParamsAndWeights) {
  const PreparedOperation a = prepare_operation(involution_options(7));
  const PreparedOperation b = prepare_operation(involution_options(7));
  ASSERT_EQ(a.op, OpKind::Involution);
  EXPECT_EQ(a.involution.kernel_size, 5);
  EXPECT_EQ(a.involution.kernel_size, b.involution.kernel_size);
  EXPECT_EQ(a.involution.group_channels, b.involution.group_channels);
  EXPECT_EQ(a.involution.reduction, b.involution.reduction);
  EXPECT_EQ(a.involution_weights.span_weight.data, b.involution_weights.span_weight.data);
  EXPECT_EQ(a.involution_weights.reduce_weight.data, b.involution_weights.reduce_weight.data);
  // And a different seed gives different weights: the comparison above can fail.
  const PreparedOperation c = prepare_operation(involution_options(8));
  EXPECT_NE(a.involution_weights.span_weight.data, c.involution_weights.span_weight.data);
}

TEST(CorePrepare, DefaultsComeFromTheTable) {
  OperatorOptions o;
  o.input = kShapes;
  const PreparedOperation p = prepare_operation(o);
  ASSERT_EQ(p.op, OpKind::Conv);
  EXPECT_EQ(p.conv.kernel_size, kDefaultKernelSize);
  EXPECT_EQ(p.conv.out_channels, kDefaultConvOutChannels);
  EXPECT_EQ(p.conv.stride, 1);
}

TEST(CorePrepare, MemoryCapRefusesBeforeWeightsAreMade) {
  OperatorOptions o = involution_options(0);
  o.max_memory_mb = 1;
  o.kernel_size = 15;
  try {
    prepare_operation(o);
    FAIL() << "a 1 MiB cap let the involution through";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("more than the memory cap of 1 MiB"), std::string::npos)
        << e.what();
  }
}

TEST(CoreCompute, BothOperationsRunOnTheTestPattern) {
  ComputeRequest request;
  request.id = 1;
  request.settings.operation = Operation::Both;
  ImageSlot cache;
  std::atomic<bool> cancel{false};
  const ComputeResult r = compute(request, &cache, cancel);
  EXPECT_TRUE(r.conv.ran) << r.conv.error;
  EXPECT_TRUE(r.involution.ran) << r.involution.error;
  EXPECT_EQ(r.conv.output.dim(1), request.settings.out_channels);
  // An even K is refused for involution, with the reason in place of the result.
  request.settings.kernel_size = 4;
  const ComputeResult even = compute(request, &cache, cancel);
  EXPECT_FALSE(even.involution.ran);
  EXPECT_FALSE(even.involution.error.empty());
}

// Requests sent faster than they run: the last one sent is the one whose result arrives
// last and complete; older ones are dropped unstarted or come back cancelled.
// The input's RGB bytes (screen and export): an array outside [0, 1] is shown over its
// finite range. One infinity once made that range infinite and every other pixel black.
TEST(CoreCompute, InputRgbUsesTheFiniteRangeAndClampsInfinities) {
  Tensor image({1, 3, 1, 4});
  const float inf = std::numeric_limits<float>::infinity();
  const float values[4] = {-1.0f, 0.0f, 3.0f, inf};  // finite range -1 .. 3
  for (int c = 0; c < 3; ++c)
    for (int x = 0; x < 4; ++x) image.data[static_cast<size_t>(c * 4 + x)] = values[x];
  image.data[1] = std::numeric_limits<float>::quiet_NaN();  // red of pixel 1
  image.data[4 + 3] = -inf;                                 // green of pixel 3
  const std::vector<uint8_t> rgb = image_rgb(image);
  ASSERT_EQ(rgb.size(), 12u);
  EXPECT_EQ(rgb[0], 0);    // -1: the bottom of the range
  EXPECT_EQ(rgb[3], 0);    // NaN: black
  EXPECT_EQ(rgb[4], 64);   // 0: a quarter of the way up (63.75 rounded)
  EXPECT_EQ(rgb[6], 255);  // 3: the top
  EXPECT_EQ(rgb[9], 255);  // +inf: the top
  EXPECT_EQ(rgb[10], 0);   // -inf: the bottom
  EXPECT_EQ(rgb[11], 255);
}

TEST(CoreWorker, NewestRequestWins) {
  Worker worker;
  for (uint64_t id = 1; id <= 6; ++id) {
    ComputeRequest request;
    request.id = id;
    request.settings.operation = Operation::Both;
    request.settings.kernel_size = 7;
    request.settings.seed = id;
    worker.submit(request);
  }
  std::vector<ComputeResult> results;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  while (std::chrono::steady_clock::now() < deadline) {
    ComputeResult r;
    while (worker.poll(&r)) results.push_back(std::move(r));
    if (!results.empty() && results.back().id == 6 && !worker.busy()) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  ASSERT_FALSE(results.empty());
  EXPECT_EQ(results.back().id, 6u);
  EXPECT_FALSE(results.back().cancelled);
  EXPECT_TRUE(results.back().involution.ran) << results.back().involution.error;
  for (size_t i = 1; i < results.size(); ++i) EXPECT_LT(results[i - 1].id, results[i].id);
  EXPECT_LE(results.size(), 6u);  // one result per request at most
}

// What the app does with every result: show it, and hand the one it stops showing back to
// the worker, whose next job writes into that storage instead of fresh pages (first touch of
// a page costs this VM about 3 ms/MB). Maps of 58 MB are beyond glibc's mmap threshold, so a
// job that allocated them anew would fault in every page of them: a steady stream of jobs
// must not. (The worker once kept a spare that its previous job had already emptied and
// dropped the result handed back, so every job took fresh pages.)
TEST(CoreWorker, ASteadyStreamOfJobsReusesTheStorageOfResultsHandedBack) {
  const std::string path = ::testing::TempDir() + "ks_worker_reuse.npy";
  Tensor image({1, 3, 2200, 2200});
  for (size_t i = 0; i < image.data.size(); ++i)
    image.data[i] = static_cast<float>(i % 251) / 251.0f;
  save_npy(path, image);
  Worker worker;
  ComputeResult shown;
  bool have_shown = false;
  std::vector<long> faults;
  for (uint64_t id = 1; id <= 6; ++id) {
    ComputeRequest request;
    request.id = id;
    request.image_path = path;
    request.settings.operation = Operation::Involution;
    request.settings.kernel_size = 3;
    request.settings.group_channels = 1;
    request.settings.seed = id;
    rusage before{};
    getrusage(RUSAGE_SELF, &before);
    worker.submit(request);
    ComputeResult r;
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
    while (!worker.poll(&r) && std::chrono::steady_clock::now() < deadline)
      std::this_thread::sleep_for(std::chrono::milliseconds(2));
    rusage after{};
    getrusage(RUSAGE_SELF, &after);
    ASSERT_EQ(r.id, id);
    ASSERT_TRUE(r.involution.ran) << r.involution.error;
    faults.push_back(after.ru_minflt - before.ru_minflt);
    if (have_shown) worker.recycle(std::move(shown));
    shown = std::move(r);
    have_shown = true;
  }
  std::remove(path.c_str());
  // The output and the kernel-sum map: 2 x 58 MB, 28 K pages, all of them on a fresh job.
  const long map_pages = 2L * 3 * 2200 * 2200 * 4 / 4096;
  EXPECT_GT(faults[0], map_pages / 2) << "the first job has nothing to reuse";
  for (size_t job = 3; job < faults.size(); ++job)
    EXPECT_LT(faults[job], map_pages / 8) << "job " << job + 1 << " took fresh pages";
}

// The worker's display copies: every map averaged over factor x factor blocks (ceil mode),
// against a plain double-precision box filter, for the factor-2 fast path (even and odd
// sizes), the unrolled factors 3 and 4 with and without partial blocks at the edges, and
// the ranges from the full-size maps.
TEST(CoreResultScan, DisplayCopiesAreBoxFilteredMaps) {
  for (const Shape& shape :
       {Shape{1, 3, 1081, 1921}, Shape{1, 2, 1300, 2560}, Shape{1, 1, 3000, 2601},
        Shape{1, 1, 2159, 3838}, Shape{1, 1, 3001, 3842}}) {
    SCOPED_TRACE(shape_to_string(shape));
    OpResult r;
    r.ran = true;
    r.output = Tensor(shape);
    for (size_t i = 0; i < r.output.data.size(); ++i)
      r.output.data[i] = static_cast<float>((i * 7919) % 1000) / 1000.0f - 0.3f;
    scan_result(&r, nullptr);
    const int64_t h = shape[2], w = shape[3];
    const int f = static_cast<int>((std::max(h, w) + kMapTextureSide - 1) / kMapTextureSide);
    ASSERT_EQ(r.display_factor, f);
    const int64_t ho = (h + f - 1) / f, wo = (w + f - 1) / f;
    ASSERT_EQ(r.display_output.shape, (Shape{shape[1], ho, wo}));
    double worst = 0;
    for (int64_t p = 0; p < shape[1]; ++p)
      for (int64_t y = 0; y < ho; ++y)
        for (int64_t x = 0; x < wo; ++x) {
          double sum = 0;
          int n = 0;
          for (int64_t yy = y * f; yy < std::min(h, (y + 1) * f); ++yy)
            for (int64_t xx = x * f; xx < std::min(w, (x + 1) * f); ++xx, ++n)
              sum += r.output.data[static_cast<size_t>((p * h + yy) * w + xx)];
          worst = std::max(
              worst, std::abs(sum / n -
                              r.display_output.data[static_cast<size_t>((p * ho + y) * wo + x)]));
        }
    EXPECT_LT(worst, 1e-6);
    EXPECT_FLOAT_EQ(r.channel_ranges[0].lo, -0.3f);
    EXPECT_EQ(r.composite.size(), shape[1] == 3 ? static_cast<size_t>(ho * wo * 3) : 0u);
  }
}

// The ranges come out of the box filter's pass on large maps and a separate scan on small
// ones: either way each plane's exact finite extremes, wherever they sit (last row and
// column of an odd size included), skipping NaN and infinities, with the kernel-sum map's too.
TEST(CoreResultScan, RangesAreTheExactFiniteExtremesOfEveryPlane) {
  for (const Shape& shape : {Shape{1, 3, 1081, 1921}, Shape{1, 2, 40, 33}}) {
    SCOPED_TRACE(shape_to_string(shape));
    OpResult r;
    r.ran = true;
    r.output = Tensor(shape);
    r.kernel_sum = Tensor({1, 2, shape[2], shape[3]});
    for (Tensor* t : {&r.output, &r.kernel_sum})
      for (size_t i = 0; i < t->data.size(); ++i)
        t->data[i] = static_cast<float>((i * 7919) % 1000) / 1000.0f - 0.3f;
    const int64_t h = shape[2], w = shape[3], plane = h * w;
    r.output.data[static_cast<size_t>(plane + (h - 1) * w + w - 1)] = 9.5f;  // plane 1, corner
    r.output.data[static_cast<size_t>(plane + 5)] = NAN;
    r.output.data[static_cast<size_t>(plane + 6)] = -INFINITY;
    r.output.data[static_cast<size_t>(w * (h / 2))] = -4.25f;  // plane 0, a middle row
    r.kernel_sum.data[static_cast<size_t>(plane + (h - 1) * w)] = INFINITY;
    r.kernel_sum.data[static_cast<size_t>(plane + (h - 1) * w + 1)] = 7.0f;
    scan_result(&r, nullptr);
    EXPECT_EQ(r.display_factor > 1, w > kMapTextureSide);
    const std::vector<ValueRange> want = plane_ranges(r.output.ptr(), shape[1], plane);
    ASSERT_EQ(r.channel_ranges.size(), want.size());
    for (size_t p = 0; p < want.size(); ++p) {
      EXPECT_EQ(r.channel_ranges[p].lo, want[p].lo) << "plane " << p;
      EXPECT_EQ(r.channel_ranges[p].hi, want[p].hi) << "plane " << p;
    }
    EXPECT_EQ(r.channel_ranges[0].lo, -4.25f);
    EXPECT_EQ(r.channel_ranges[1].hi, 9.5f);
    ASSERT_EQ(r.kernel_sum_ranges.size(), 2u);
    EXPECT_EQ(r.kernel_sum_ranges[1].hi, 7.0f);
    EXPECT_FLOAT_EQ(r.kernel_sum_ranges[0].lo, -0.3f);
  }
}

}  // namespace
}  // namespace ks::core
