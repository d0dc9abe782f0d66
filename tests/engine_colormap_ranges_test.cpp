// The display ranges (kernelscope/colormap.h): widen_to_finite's vector body against a plain
// loop, display_range's edge cases, and plane_ranges over planes split into chunks.
#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <vector>

#include "kernelscope/colormap.h"

namespace ks {
namespace {

// The finite extremes by the definition, one value at a time.
void plain_extremes(const std::vector<float>& v, float* lo, float* hi) {
  for (float x : v)
    if (std::isfinite(x)) {
      *lo = std::min(*lo, x);
      *hi = std::max(*hi, x);
    }
}

TEST(ColormapRanges, WidenToFiniteSkipsNanAndInfinitiesInEveryLaneAndTail) {
  std::mt19937 rng(7);
  std::uniform_real_distribution<float> value(-50.0f, 50.0f);
  const float specials[] = {NAN, INFINITY, -INFINITY};
  for (int count = 0; count <= 37; ++count)
    for (int trial = 0; trial < 20; ++trial) {
      std::vector<float> v(static_cast<size_t>(count));
      for (float& x : v) x = value(rng);
      // A special value in about every third slot, so every lane and the tail see some.
      for (size_t i = 0; i < v.size(); ++i)
        if (rng() % 3 == 0) v[i] = specials[rng() % 3];
      float want_lo = INFINITY, want_hi = -INFINITY;
      plain_extremes(v, &want_lo, &want_hi);
      float lo = INFINITY, hi = -INFINITY;
      widen_to_finite(v.data(), count, &lo, &hi);
      ASSERT_EQ(lo, want_lo) << "count " << count << " trial " << trial;
      ASSERT_EQ(hi, want_hi) << "count " << count << " trial " << trial;
    }
}

TEST(ColormapRanges, WidenToFiniteOnlyWidens) {
  const std::vector<float> v(19, 1.5f);
  float lo = -3.0f, hi = 8.0f;
  widen_to_finite(v.data(), static_cast<int64_t>(v.size()), &lo, &hi);
  EXPECT_EQ(lo, -3.0f);
  EXPECT_EQ(hi, 8.0f);
  lo = 2.0f;
  hi = 1.0f;  // empty so far
  widen_to_finite(v.data(), static_cast<int64_t>(v.size()), &lo, &hi);
  EXPECT_EQ(lo, 1.5f);
  EXPECT_EQ(hi, 1.5f);
}

TEST(ColormapRanges, DisplayRangeOfNothingAndOfAConstant) {
  const ValueRange none = display_range(INFINITY, -INFINITY);
  EXPECT_EQ(none.lo, -0.5f);
  EXPECT_EQ(none.hi, 0.5f);
  const ValueRange constant = display_range(2.0f, 2.0f);
  EXPECT_EQ(constant.lo, 1.5f);
  EXPECT_EQ(constant.hi, 2.5f);
  const ValueRange plain = display_range(-1.0f, 3.0f);
  EXPECT_EQ(plain.lo, -1.0f);
  EXPECT_EQ(plain.hi, 3.0f);
}

TEST(ColormapRanges, PlaneRangesOfPlanesLargerThanAChunk) {
  // 3 planes of 2.5 M values: each is scanned in chunks on several threads.
  const int64_t plane = 2'500'000;
  std::vector<float> v(static_cast<size_t>(3 * plane));
  for (size_t i = 0; i < v.size(); ++i) v[i] = static_cast<float>(i % 1000) * 0.01f;
  v[static_cast<size_t>(plane - 1)] = -7.0f;          // plane 0, last value
  v[static_cast<size_t>(plane + 1'234'567)] = 99.0f;  // plane 1, a later chunk
  v[static_cast<size_t>(plane + 1'234'568)] = INFINITY;
  for (int64_t i = 2 * plane; i < 3 * plane; ++i) v[static_cast<size_t>(i)] = NAN;  // plane 2
  const std::vector<ValueRange> r = plane_ranges(v.data(), 3, plane);
  ASSERT_EQ(r.size(), 3u);
  EXPECT_EQ(r[0].lo, -7.0f);
  EXPECT_FLOAT_EQ(r[0].hi, 9.99f);
  EXPECT_EQ(r[1].lo, 0.0f);
  EXPECT_EQ(r[1].hi, 99.0f);
  EXPECT_EQ(r[2].lo, -0.5f);  // nothing finite: shown as a constant 0
  EXPECT_EQ(r[2].hi, 0.5f);
}

}  // namespace
}  // namespace ks
