// Colour-mapped PNGs of feature maps (plane_pngs.h).
#include "cli/plane_pngs.h"

#include <cstdio>

namespace ks::cli {

// PNGs are for looking at: past a few hundred maps nobody does, and --out-channels 200000
// wrote 200,000 files. The first kMaxPngs planes get one; the .npy keeps every plane.
// How many of `planes` maps get a PNG, with a note on stderr when not all do.
int64_t bounded_png_count(int64_t planes, const char* what, const char* npy) {
  if (planes <= kMaxPngs) return planes;
  std::fprintf(stderr,
               "kernelscope: note: wrote PNGs of the first %lld of %lld %s only; %s holds them "
               "all\n",
               static_cast<long long>(kMaxPngs), static_cast<long long>(planes), what, npy);
  return kMaxPngs;
}

// One PNG per (batch, channel) plane of the output, up to kMaxPngs.
int write_feature_pngs(const Tensor& output, const std::filesystem::path& dir) {
  const int64_t C = output.dim(1);
  const int64_t planes = bounded_png_count(output.dim(0) * C, "feature maps", "output.npy");
  write_plane_pngs(output.ptr(), planes, output.dim(2), output.dim(3), dir, [C](int64_t i) {
    return "feature_b" + std::to_string(i / C) + "_c" + std::to_string(i % C) + ".png";
  });
  return static_cast<int>(planes);
}

}  // namespace ks::cli
