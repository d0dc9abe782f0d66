// The app's one display path for float data: a plane goes into an R32F texture
// (glTexSubImage2D), a fragment shader maps it through a 256-entry LUT texture into an RGBA
// texture that ImGui draws. Also small helpers for 8-bit textures and window read-back.
#pragma once

#include <epoxy/gl.h>

#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include "kernelscope/colormap.h"

namespace ks::app {

// A colour-mapped plane: the float values and the RGBA image drawn from them.
struct MapTexture {
  GLuint values = 0;  // R32F
  GLuint rgba = 0;    // RGBA8, what ImGui shows
  GLuint fbo = 0;
  int width = 0;
  int height = 0;
  void release();
  void* imgui_id() const { return reinterpret_cast<void*>(static_cast<intptr_t>(rgba)); }
};

class ColormapPass {
 public:
  // Compiles the embedded shaders and builds the LUTs; false (and *error) on failure.
  bool init(std::string* error);
  void shutdown();
  // Uploads `plane` (width x height floats, row 0 at the top) and colour-maps it into tex.
  // Rows [row0, row1) of the plane (row1 < 0: to the end), so a large map can be uploaded
  // a strip per frame; the textures are (re)made when the size changes.
  void draw(const float* plane, int width, int height, Colormap map, ValueRange range,
            MapTexture* tex, int row0 = 0, int row1 = -1);

 private:
  GLuint program_ = 0;
  GLuint vao_ = 0;
  std::array<GLuint, 3> luts_{};
  GLint lo_ = -1, hi_ = -1, values_ = -1, lut_ = -1;
};

// An RGBA8 texture from tightly packed RGB bytes; (re)allocated when the size changes.
// Rows [row0, row1) only (row1 < 0: to the end), as draw() above.
void upload_rgb_texture(GLuint* tex, int* tex_w, int* tex_h, int width, int height,
                        const std::vector<uint8_t>& rgb, int row0 = 0, int row1 = -1);
// Chooses how a texture is magnified: nearest at high zoom (pixels stay pixels), linear below.
void set_magnification(GLuint tex, bool nearest);
// Reads the default framebuffer into RGB rows, top row first.
std::vector<uint8_t> read_window_rgb(int width, int height);

}  // namespace ks::app
