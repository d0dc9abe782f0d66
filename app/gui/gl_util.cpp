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
  rect_ = glGetUniformLocation(program_, "rect");
  uv_rect_ = glGetUniformLocation(program_, "uv_rect");
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

void ColormapPass::upload(const float* plane, int width, int height, MapTexture* tex, int row0,
                          int row1) {
  if (row1 < 0 || row1 > height) row1 = height;
  row0 = std::clamp(row0, 0, row1);
  glPixelStorei(GL_UNPACK_ALIGNMENT, 1);
  if (tex->width != width || tex->height != height || !tex->values) {
    tex->release();
    tex->width = width;
    tex->height = height;
    glGenTextures(1, &tex->values);
    glBindTexture(GL_TEXTURE_2D, tex->values);
    // Shrunk: values are interpolated, then coloured. Enlarged: pixels stay pixels.
    set_filters(GL_LINEAR, GL_NEAREST);
    glTexImage2D(GL_TEXTURE_2D, 0, GL_R32F, width, height, 0, GL_RED, GL_FLOAT, nullptr);
  }
  glBindTexture(GL_TEXTURE_2D, tex->values);
  glTexSubImage2D(GL_TEXTURE_2D, 0, 0, row0, width, row1 - row0, GL_RED, GL_FLOAT,
                  plane + static_cast<int64_t>(row0) * width);
}

void ColormapPass::image(const MapTexture& tex, Colormap map, ValueRange range, ImVec2 size) {
  const ImVec2 p0 = ImGui::GetCursorScreenPos();
  ImGui::Dummy(size);
  if (!tex.values || !program_ || !ImGui::IsItemVisible()) return;
  draws_.push_back(Draw{this, tex.values, map, range, p0, ImVec2(p0.x + size.x, p0.y + size.y)});
  ImDrawList* list = ImGui::GetWindowDrawList();
  list->AddCallback(&ColormapPass::draw_callback, &draws_.back());
  list->AddCallback(ImDrawCallback_ResetRenderState, nullptr);  // ImGui's own state back
}

void ColormapPass::draw_callback(const ImDrawList*, const ImDrawCmd* cmd) {
  const Draw& d = *static_cast<const Draw*>(cmd->UserCallbackData);
  d.pass->render(d, cmd->ClipRect);
}

// Runs inside ImGui's OpenGL backend, whose viewport covers the framebuffer; the backend's
// state (program, vertex array, scissor) is reset by the callback queued after this one.
void ColormapPass::render(const Draw& d, const ImVec4& clip) const {
  const ImDrawData* data = ImGui::GetDrawData();
  if (!data || data->DisplaySize.x <= 0 || data->DisplaySize.y <= 0) return;
  const ImVec2 off = data->DisplayPos, scale = data->FramebufferScale;
  const float fb_h = data->DisplaySize.y * scale.y;
  const float x0 = (clip.x - off.x) * scale.x, y0 = (clip.y - off.y) * scale.y;
  const float x1 = (clip.z - off.x) * scale.x, y1 = (clip.w - off.y) * scale.y;
  if (x1 <= x0 || y1 <= y0) return;
  glEnable(GL_SCISSOR_TEST);
  glScissor(static_cast<GLint>(x0), static_cast<GLint>(fb_h - y1), static_cast<GLsizei>(x1 - x0),
            static_cast<GLsizei>(y1 - y0));
  auto ndc_x = [&](float x) { return (x - off.x) / data->DisplaySize.x * 2.0f - 1.0f; };
  auto ndc_y = [&](float y) { return 1.0f - (y - off.y) / data->DisplaySize.y * 2.0f; };
  glUseProgram(program_);
  glUniform4f(rect_, ndc_x(d.p0.x), ndc_y(d.p0.y), ndc_x(d.p1.x), ndc_y(d.p1.y));
  glUniform4f(uv_rect_, 0.0f, 0.0f, 1.0f, 1.0f);
  glUniform1f(lo_, d.range.lo);
  glUniform1f(hi_, d.range.hi);
  glUniform1i(values_, 0);
  glUniform1i(lut_, 1);
  glActiveTexture(GL_TEXTURE1);
  glBindTexture(GL_TEXTURE_2D, luts_[static_cast<size_t>(d.map)]);
  glActiveTexture(GL_TEXTURE0);
  glBindTexture(GL_TEXTURE_2D, d.values);
  glBindVertexArray(vao_);
  glDrawArrays(GL_TRIANGLE_STRIP, 0, 4);
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

void set_mipmapped(GLuint tex, bool on) {
  if (!tex) return;
  glBindTexture(GL_TEXTURE_2D, tex);
  if (on) glGenerateMipmap(GL_TEXTURE_2D);
  glTexParameteri(GL_TEXTURE_2D, GL_TEXTURE_MIN_FILTER, on ? GL_LINEAR_MIPMAP_LINEAR : GL_LINEAR);
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
