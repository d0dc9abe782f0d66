// The app's one display path for float data: a plane goes into an R32F texture
// (glTexSubImage2D), and a fragment shader maps it through a 256-entry LUT texture as ImGui
// draws the frame, for the pixels on screen only. Also small helpers for 8-bit textures and
// window read-back.
#pragma once

#include <epoxy/gl.h>
#include <imgui.h>

#include <array>
#include <cstdint>
#include <deque>
#include <string>
#include <vector>

#include "kernelscope/colormap.h"

namespace ks::app {

// A plane of float values on the GPU, coloured when it is drawn (ColormapPass::image).
struct MapTexture {
  GLuint values = 0;  // R32F
  int width = 0;
  int height = 0;
  void release();
};

// Under software OpenGL, colour-mapping a new result into RGBA textures cost 16-24 ms of a
// 1080p result's frame and made every later frame slower; mapping at draw time shades only
// the few hundred thousand pixels the panels show, and a colormap or range change needs no
// upload at all.
class ColormapPass {
 public:
  // Compiles the embedded shaders and builds the LUTs; false (and *error) on failure.
  bool init(std::string* error);
  void shutdown();
  // Uploads rows [row0, row1) of `plane` (width x height floats, row 0 at the top; row1 < 0:
  // to the end) into tex, so a large map can be uploaded a strip per frame; the texture is
  // (re)made when the size changes.
  static void upload(const float* plane, int width, int height, MapTexture* tex, int row0 = 0,
                     int row1 = -1);
  // An ImGui item of `size` at the cursor showing tex through `map` over `range` (as
  // ImGui::Image would show an RGBA texture: hover and clicks work on it as on an image).
  void image(const MapTexture& tex, Colormap map, ValueRange range, ImVec2 size);
  // Forgets the previous frame's images; called before a frame's panels are drawn.
  void begin_frame() { draws_.clear(); }

 private:
  struct Draw {
    const ColormapPass* pass;
    GLuint values;
    Colormap map;
    ValueRange range;
    ImVec2 p0, p1;  // screen rectangle
  };
  static void draw_callback(const ImDrawList* list, const ImDrawCmd* cmd);
  void render(const Draw& d, const ImVec4& clip) const;

  GLuint program_ = 0;
  GLuint vao_ = 0;
  std::array<GLuint, 3> luts_{};
  GLint lo_ = -1, hi_ = -1, values_ = -1, lut_ = -1, rect_ = -1, uv_rect_ = -1;
  std::deque<Draw> draws_;  // until the frame is rendered (stable addresses)
};

// An RGBA8 texture from tightly packed RGB bytes; (re)allocated when the size changes.
// Rows [row0, row1) only (row1 < 0: to the end), as draw() above.
void upload_rgb_texture(GLuint* tex, int* tex_w, int* tex_h, int width, int height,
                        const std::vector<uint8_t>& rgb, int row0 = 0, int row1 = -1);
// With `on`, makes tex's mipmaps from its level 0 and samples them when shrunk; without,
// samples level 0 only (while level 0 is being replaced). No-op for texture 0.
void set_mipmapped(GLuint tex, bool on);
// Chooses how a texture is magnified: nearest at high zoom (pixels stay pixels), linear below.
void set_magnification(GLuint tex, bool nearest);
// Reads the default framebuffer into RGB rows, top row first.
std::vector<uint8_t> read_window_rgb(int width, int height);

}  // namespace ks::app
