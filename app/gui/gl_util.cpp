// OpenGL side of the display path (see gl_util.h). Calls go through libepoxy.
#include "gui/gl_util.h"

#include <cstdio>

#include <algorithm>

#include "ks_shaders.h"

namespace ks::app {

namespace {

GLuint compile(GLenum type, const char* source, std::string* error) {
  GLuint shader = glCreateShader(type);
  glShaderSource(shader, 1, &source, nullptr);
  glCompileShader(shader);
  GLint ok = 0;
  glGetShaderiv(shader, GL_COMPILE_STATUS, &ok);
  if (!ok) {
    char log[1024] = {};
    glGetShaderInfoLog(shader, sizeof log, nullptr, log);
    *error = std::string("shader compile failed: ") + log;
    glDeleteShader(shader);
    return 0;
  }
  return shader;
}

void set_filters(GLenum min_filter, GLenum mag_filter) {
  glTexParameteri(GL_TEXTURE_2D, GL_TEXTURE_MIN_FILTER, static_cast<GLint>(min_filter));
  glTexParameteri(GL_TEXTURE_2D, GL_TEXTURE_MAG_FILTER, static_cast<GLint>(mag_filter));
  glTexParameteri(GL_TEXTURE_2D, GL_TEXTURE_WRAP_S, GL_CLAMP_TO_EDGE);
  glTexParameteri(GL_TEXTURE_2D, GL_TEXTURE_WRAP_T, GL_CLAMP_TO_EDGE);
}

}  // namespace

void MapTexture::release() {
  if (values) glDeleteTextures(1, &values);
  if (rgba) glDeleteTextures(1, &rgba);
  if (fbo) glDeleteFramebuffers(1, &fbo);
  *this = MapTexture{};
}

bool ColormapPass::init(std::string* error) {
  GLuint vs = compile(GL_VERTEX_SHADER, kShader_colormap_vert, error);
  if (!vs) return false;
  GLuint fs = compile(GL_FRAGMENT_SHADER, kShader_colormap_frag, error);
  if (!fs) return false;
  program_ = glCreateProgram();
  glAttachShader(program_, vs);
  glAttachShader(program_, fs);
  glLinkProgram(program_);
  glDeleteShader(vs);
  glDeleteShader(fs);
  GLint ok = 0;
  glGetProgramiv(program_, GL_LINK_STATUS, &ok);
  if (!ok) {
    char log[1024] = {};
    glGetProgramInfoLog(program_, sizeof log, nullptr, log);
    *error = std::string("shader link failed: ") + log;
    return false;
  }
  lo_ = glGetUniformLocation(program_, "lo");
  hi_ = glGetUniformLocation(program_, "hi");
  values_ = glGetUniformLocation(program_, "values");
  lut_ = glGetUniformLocation(program_, "lut");
  glGenVertexArrays(1, &vao_);  // core profile needs a bound VAO even without attributes

  const Colormap maps[3] = {Colormap::Diverging, Colormap::Viridis, Colormap::Grey};
  glPixelStorei(GL_UNPACK_ALIGNMENT, 1);  // 256 x 3 bytes rows are not 4-aligned in general
  for (int i = 0; i < 3; ++i) {
    const std::vector<uint8_t> lut = colormap_lut(maps[i]);
    glGenTextures(1, &luts_[static_cast<size_t>(i)]);
    glBindTexture(GL_TEXTURE_2D, luts_[static_cast<size_t>(i)]);
    set_filters(GL_LINEAR, GL_LINEAR);
    glTexImage2D(GL_TEXTURE_2D, 0, GL_RGB8, 256, 1, 0, GL_RGB, GL_UNSIGNED_BYTE, lut.data());
  }
  return true;
}

void ColormapPass::shutdown() {
  if (program_) glDeleteProgram(program_);
  if (vao_) glDeleteVertexArrays(1, &vao_);
  for (auto& t : luts_)
    if (t) glDeleteTextures(1, &t);
  program_ = vao_ = 0;
  luts_ = {};
}

void ColormapPass::draw(const float* plane, int width, int height, Colormap map, ValueRange range,
                        MapTexture* tex, int row0, int row1) {
  if (row1 < 0 || row1 > height) row1 = height;
  row0 = std::clamp(row0, 0, row1);
  glPixelStorei(GL_UNPACK_ALIGNMENT, 1);
  if (tex->width != width || tex->height != height || !tex->values) {
    tex->release();
    tex->width = width;
    tex->height = height;
    glGenTextures(1, &tex->values);
    glBindTexture(GL_TEXTURE_2D, tex->values);
    set_filters(GL_NEAREST, GL_NEAREST);
    glTexImage2D(GL_TEXTURE_2D, 0, GL_R32F, width, height, 0, GL_RED, GL_FLOAT, nullptr);
    glGenTextures(1, &tex->rgba);
    glBindTexture(GL_TEXTURE_2D, tex->rgba);
    set_filters(GL_LINEAR, GL_NEAREST);
    glTexImage2D(GL_TEXTURE_2D, 0, GL_RGBA8, width, height, 0, GL_RGBA, GL_UNSIGNED_BYTE, nullptr);
    glGenFramebuffers(1, &tex->fbo);
    glBindFramebuffer(GL_FRAMEBUFFER, tex->fbo);
    glFramebufferTexture2D(GL_FRAMEBUFFER, GL_COLOR_ATTACHMENT0, GL_TEXTURE_2D, tex->rgba, 0);
    if (glCheckFramebufferStatus(GL_FRAMEBUFFER) != GL_FRAMEBUFFER_COMPLETE)
      std::fprintf(stderr, "kernelscope: colour-map framebuffer incomplete\n");
  }
  glBindTexture(GL_TEXTURE_2D, tex->values);
  glTexSubImage2D(GL_TEXTURE_2D, 0, 0, row0, width, row1 - row0, GL_RED, GL_FLOAT,
                  plane + static_cast<int64_t>(row0) * width);

  GLint viewport[4];
  glGetIntegerv(GL_VIEWPORT, viewport);
  glBindFramebuffer(GL_FRAMEBUFFER, tex->fbo);
  glViewport(0, 0, width, height);
  glDisable(GL_BLEND);
  glDisable(GL_SCISSOR_TEST);
  glUseProgram(program_);
  glUniform1f(lo_, range.lo);
  glUniform1f(hi_, range.hi);
  glUniform1i(values_, 0);
  glUniform1i(lut_, 1);
  glActiveTexture(GL_TEXTURE0);
  glBindTexture(GL_TEXTURE_2D, tex->values);
  glActiveTexture(GL_TEXTURE1);
  glBindTexture(GL_TEXTURE_2D, luts_[static_cast<size_t>(map)]);
  glBindVertexArray(vao_);
  // Only the rows just uploaded are shaded (texture row r is framebuffer row r).
  glEnable(GL_SCISSOR_TEST);
  glScissor(0, row0, width, row1 - row0);
  glDrawArrays(GL_TRIANGLES, 0, 3);
  glDisable(GL_SCISSOR_TEST);
  glBindVertexArray(0);
  glActiveTexture(GL_TEXTURE0);
  glUseProgram(0);
  glBindFramebuffer(GL_FRAMEBUFFER, 0);
  glViewport(viewport[0], viewport[1], viewport[2], viewport[3]);
}

void upload_rgb_texture(GLuint* tex, int* tex_w, int* tex_h, int width, int height,
                        const std::vector<uint8_t>& rgb, int row0, int row1) {
  if (row1 < 0 || row1 > height) row1 = height;
  row0 = std::clamp(row0, 0, row1);
  glPixelStorei(GL_UNPACK_ALIGNMENT, 1);  // RGB rows of odd widths are not 4-byte aligned
  if (!*tex || *tex_w != width || *tex_h != height) {
    if (*tex) glDeleteTextures(1, tex);
    glGenTextures(1, tex);
    glBindTexture(GL_TEXTURE_2D, *tex);
    set_filters(GL_LINEAR, GL_LINEAR);
    glTexImage2D(GL_TEXTURE_2D, 0, GL_RGBA8, width, height, 0, GL_RGB, GL_UNSIGNED_BYTE, nullptr);
    *tex_w = width;
    *tex_h = height;
  }
  glBindTexture(GL_TEXTURE_2D, *tex);
  glTexSubImage2D(GL_TEXTURE_2D, 0, 0, row0, width, row1 - row0, GL_RGB, GL_UNSIGNED_BYTE,
                  rgb.data() + static_cast<size_t>(row0) * static_cast<size_t>(width) * 3);
}

void set_magnification(GLuint tex, bool nearest) {
  if (!tex) return;
  glBindTexture(GL_TEXTURE_2D, tex);
  glTexParameteri(GL_TEXTURE_2D, GL_TEXTURE_MAG_FILTER, nearest ? GL_NEAREST : GL_LINEAR);
}

std::vector<uint8_t> read_window_rgb(int width, int height) {
  std::vector<uint8_t> rows(static_cast<size_t>(width) * height * 3);
  glPixelStorei(GL_PACK_ALIGNMENT, 1);
  glReadBuffer(GL_BACK);
  glReadPixels(0, 0, width, height, GL_RGB, GL_UNSIGNED_BYTE, rows.data());
  // GL's row 0 is the bottom of the window; PNG's is the top.
  std::vector<uint8_t> flipped(rows.size());
  const size_t stride = static_cast<size_t>(width) * 3;
  for (int y = 0; y < height; ++y)
    std::copy(rows.begin() + static_cast<long>(y * stride),
              rows.begin() + static_cast<long>((y + 1) * stride),
              flipped.begin() + static_cast<long>((height - 1 - y) * stride));
  return flipped;
}

}  // namespace ks::app
