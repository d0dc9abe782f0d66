// Slide output for the step-through: frames as PNGs and an animated GIF.
#include "render/slides.h"

#include <algorithm>
#include <cstdio>
#include <filesystem>

#include "kernelscope/error.h"

namespace ks::render {

namespace fs = std::filesystem;

std::string write_step_slide(const StepView& view, const Font& font, int index, SlideSink* sink) {
  const Canvas canvas = render_step_frame(view, font, sink->scale);
  char name[32];
  std::snprintf(name, sizeof name, "frame_%04d.png", index);
  const std::string path = (fs::path(sink->dir) / name).string();
  canvas.save_png(path);
  sink->written.push_back(path);
  if (!sink->gif_path.empty()) {
    if (!sink->gif)
      sink->gif = std::make_unique<GifWriter>(sink->gif_path, canvas.width(), canvas.height(),
                                              sink->delay_cs);
    sink->gif->add_frame(canvas.rgb());
  }
  return name;
}

void prepare_slide_dir(const std::string& dir) {
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) throw Error("cannot create output directory " + dir + ": " + ec.message());
  for (const auto& e : fs::directory_iterator(dir, ec)) {
    const std::string name = e.path().filename().string();
    if (name.rfind("frame_", 0) == 0 && e.path().extension() == ".png") fs::remove(e.path(), ec);
  }
}

std::vector<int64_t> even_positions(int64_t length, int count) {
  std::vector<int64_t> out;
  const int64_t n = std::min<int64_t>(std::max(count, 1), length);
  for (int64_t k = 0; k < n; ++k)
    out.push_back(n == 1 ? 0 : (k * (length - 1) + (n - 1) / 2) / (n - 1));
  return out;
}

}  // namespace ks::render
