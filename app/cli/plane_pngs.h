// Colour-mapped PNGs of feature maps, shared by "kernelscope run" and "kernelscope learn".
#pragma once

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <exception>
#include <filesystem>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "kernelscope/colormap.h"
#include "kernelscope/io.h"

namespace ks::cli {

// Colour-maps and writes planes [0, count) of planes (count x height x width floats), one
// PNG each, named by name(i); symmetric diverging map so each value's sign shows. PNG
// encoding is most of `run`'s wall time at 1080p, so the planes are encoded in parallel.
template <class Name>
void write_plane_pngs(const float* planes, int64_t count, int64_t height, int64_t width,
                      const std::filesystem::path& dir, Name name) {
  std::atomic<int64_t> next{0};
  std::mutex failure_mutex;
  std::exception_ptr failure;
  auto work = [&] {
    for (int64_t i = next++; i < count; i = next++) {
      try {
        const float* plane = planes + i * height * width;
        const ValueRange range = plane_range(plane, height * width, /*symmetric=*/true);
        const auto rgb = colorize_plane(plane, width, height, Colormap::Diverging, range);
        save_png_rgb((dir / name(i)).string(), static_cast<int>(width), static_cast<int>(height),
                     rgb);
      } catch (...) {
        std::lock_guard<std::mutex> lock(failure_mutex);
        if (!failure) failure = std::current_exception();
      }
    }
  };
  const int64_t threads =
      std::min<int64_t>(count, std::max(1u, std::thread::hardware_concurrency()));
  std::vector<std::thread> pool;
  for (int64_t t = 1; t < threads; ++t) pool.emplace_back(work);
  work();
  for (auto& t : pool) t.join();
  if (failure) std::rethrow_exception(failure);
}

// PNGs are for looking at: past a few hundred maps nobody does, and --out-channels 200000
// wrote 200,000 files. The first kMaxPngs planes get one; the .npy keeps every plane.
constexpr int64_t kMaxPngs = 256;

// How many of `planes` maps get a PNG (at most kMaxPngs), with a note on stderr when not
// all do.
int64_t bounded_png_count(int64_t planes, const char* what, const char* npy);
// One PNG per (batch, channel) plane of the output (feature_b<b>_c<c>.png), up to kMaxPngs.
int write_feature_pngs(const Tensor& output, const std::filesystem::path& dir);

}  // namespace ks::cli
