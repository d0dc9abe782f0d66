// GLFW, the OpenGL context, Dear ImGui's start and end, fonts and theme (platform.h).
#include "gui/platform.h"

#include <epoxy/gl.h>
#define GLFW_INCLUDE_NONE
#include <GLFW/glfw3.h>
#include <backends/imgui_impl_glfw.h>
#include <backends/imgui_impl_opengl3.h>
#include <imgui.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>

#include "gui/presentation_layout.h"

namespace ks::app {

namespace {

namespace fs = std::filesystem;

std::vector<std::string> g_dropped;  // filled by the GLFW drop callback, drained per frame
std::string g_glfw_error;
std::vector<KeyPress> g_keys;

void on_drop(GLFWwindow*, int count, const char** paths) {
  for (int i = 0; i < count; ++i) g_dropped.emplace_back(paths[i]);
}

void on_glfw_error(int, const char* text) { g_glfw_error = text ? text : "unknown GLFW error"; }

// Installed before ImGui, whose callbacks chain to it.
void on_key(GLFWwindow*, int key, int, int action, int mods) {
  if (action == GLFW_PRESS) g_keys.push_back({key, mods});
}

}  // namespace

GLFWwindow* open_window(int width, int height, bool exact_size) {
  const char* display = std::getenv("DISPLAY");
  const char* wayland = std::getenv("WAYLAND_DISPLAY");
  if ((!display || !*display) && (!wayland || !*wayland)) {
    std::fprintf(stderr,
                 "kernelscope: no display (DISPLAY is not set), so the desktop app cannot open; "
                 "use `kernelscope run` for headless work\n");
    return nullptr;
  }
  glfwSetErrorCallback(on_glfw_error);
  if (!glfwInit()) {
    std::fprintf(stderr,
                 "kernelscope: cannot open the display (%s); use `kernelscope run` for headless "
                 "work\n",
                 g_glfw_error.c_str());
    return nullptr;
  }
  glfwWindowHint(GLFW_CONTEXT_VERSION_MAJOR, 3);
  glfwWindowHint(GLFW_CONTEXT_VERSION_MINOR, 3);
  glfwWindowHint(GLFW_OPENGL_PROFILE, GLFW_OPENGL_CORE_PROFILE);
  glfwWindowHint(GLFW_OPENGL_FORWARD_COMPAT, GLFW_TRUE);
  // Scripted runs need the exact pixel size asked for; interactive windows follow the DPI.
  glfwWindowHint(GLFW_SCALE_TO_MONITOR, exact_size ? GLFW_FALSE : GLFW_TRUE);
  GLFWwindow* window = glfwCreateWindow(width, height, "KernelScope", nullptr, nullptr);
  if (!window) {
    std::fprintf(stderr,
                 "kernelscope: cannot create an OpenGL 3.3 window (%s); use `kernelscope run` "
                 "for headless work\n",
                 g_glfw_error.c_str());
    glfwTerminate();
    return nullptr;
  }
  glfwMakeContextCurrent(window);
  glfwSwapInterval(exact_size ? 0 : 1);
  glfwSetDropCallback(window, on_drop);
  glfwSetKeyCallback(window, on_key);
  return window;
}

ImFont* start_imgui(GLFWwindow* window, bool exact_size, float ui_scale) {
  IMGUI_CHECKVERSION();
  ImGui::CreateContext();
  ImGuiIO& io = ImGui::GetIO();
  io.IniFilename = nullptr;  // the layout is ours and lives in the session
  // Scripted screenshots must not depend on where the display's pointer happens to be.
  if (exact_size) io.ConfigFlags |= ImGuiConfigFlags_NoMouse;
  ImFont* big = setup_style_and_fonts(ui_scale, false);
  ImGui_ImplGlfw_InitForOpenGL(window, true);
  ImGui_ImplOpenGL3_Init("#version 330 core");
  return big;
}

void close_window(GLFWwindow* window, bool imgui_started) {
  if (imgui_started) {
    ImGui_ImplOpenGL3_Shutdown();
    ImGui_ImplGlfw_Shutdown();
    ImGui::DestroyContext();
  }
  glfwDestroyWindow(window);
  glfwTerminate();
}

float window_content_scale(GLFWwindow* window) {
  float content_scale = 1, unused = 1;
  glfwGetWindowContentScale(window, &content_scale, &unused);
  return content_scale;
}

ImFont* setup_style_and_fonts(float scale, bool rebuild) {
  ImGuiIO& io = ImGui::GetIO();
  io.Fonts->Clear();
  const char* dejavu = "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf";
  // Latin, Greek (sigma), punctuation, arrows and maths operators: the step-through's notes.
  static const ImWchar ranges[] = {0x0020, 0x00FF, 0x0370, 0x03FF, 0x2000, 0x206F, 0x2190,
                                   0x21FF, 0x2200, 0x22FF, 0x25A0, 0x25FF, 0};
  std::error_code ec;
  ImFont* big = nullptr;
  if (fs::exists(dejavu, ec)) {
    io.Fonts->AddFontFromFileTTF(dejavu, kBaseFontPx * scale, nullptr, ranges);
    big = io.Fonts->AddFontFromFileTTF(dejavu, 2 * kBaseFontPx * scale, nullptr, ranges);
  } else {
    ImFontConfig config;
    config.SizePixels = 13.0f * scale;
    io.Fonts->AddFontDefault(&config);
    config.SizePixels = 26.0f * scale;
    big = io.Fonts->AddFontDefault(&config);
  }
  if (rebuild) {
    ImGui_ImplOpenGL3_DestroyFontsTexture();
    ImGui_ImplOpenGL3_CreateFontsTexture();
  }
  ImGuiStyle& style = ImGui::GetStyle();
  style = ImGuiStyle();
  ImGui::StyleColorsDark(&style);
  style.WindowRounding = 0;
  style.FrameRounding = 3;
  style.GrabRounding = 3;
  style.WindowBorderSize = 1;
  style.WindowPadding = ImVec2(8, 6);
  style.ItemSpacing = ImVec2(7, 5);
  style.Colors[ImGuiCol_WindowBg] = ImVec4(0.085f, 0.09f, 0.10f, 1.0f);
  style.Colors[ImGuiCol_TitleBg] = ImVec4(0.12f, 0.14f, 0.18f, 1.0f);
  style.Colors[ImGuiCol_TitleBgActive] = ImVec4(0.16f, 0.22f, 0.32f, 1.0f);
  style.ScaleAllSizes(scale);
  return big;
}

std::vector<KeyPress> take_key_presses() {
  std::vector<KeyPress> keys;
  keys.swap(g_keys);
  return keys;
}

std::vector<std::string> take_dropped_paths() {
  std::vector<std::string> paths;
  paths.swap(g_dropped);
  return paths;
}

std::string find_assets_dir() {
  std::vector<fs::path> candidates;
#ifdef KS_SOURCE_ASSET_DIR
  candidates.emplace_back(KS_SOURCE_ASSET_DIR);
#endif
  std::error_code ec;
  const fs::path exe = fs::read_symlink("/proc/self/exe", ec);
  if (!ec) {
    const fs::path dir = exe.parent_path();
    for (const char* rel : {"assets", "../assets", "../../assets", "../share/kernelscope/assets"})
      candidates.push_back(dir / rel);
  }
  for (const auto& c : candidates)
    if (fs::is_directory(c / "samples", ec)) return fs::weakly_canonical(c, ec).string();
  return "";
}

}  // namespace ks::app
