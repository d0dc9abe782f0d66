// Writes a step-through as slides: PNG frames and, optionally, one animated GIF. Shared by
// "kernelscope animate" and the app's step-through export.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "render/font.h"
#include "render/gif.h"
#include "render/step_view.h"

namespace ks::render {

// Frames go to dir as frame_0000.png ... (numbered from first_index); a GIF writer is
// created on the first frame when gif_path is set and gif is empty, so several calls (the
// scenes of a demo) can append to one GIF.
struct SlideSink {
  std::string dir;
  std::string gif_path;
  int delay_cs = 60;
  float scale = 1.0f;
  std::unique_ptr<GifWriter> gif;
  std::vector<std::string> written;  // the PNG files, in order
};

// Draws one StepView and appends it: frame_<index>.png in sink->dir and a GIF frame.
// Returns the PNG's file name (without the directory).
std::string write_step_slide(const StepView& view, const Font& font, int index, SlideSink* sink);

// Removes frame_*.png left in dir by an earlier export (creating dir if needed).
void prepare_slide_dir(const std::string& dir);

// `count` evenly spaced positions 0 ... length-1 (the window's path along a row or map).
std::vector<int64_t> even_positions(int64_t length, int count);

}  // namespace ks::render
