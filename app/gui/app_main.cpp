// kernelscope with no subcommand: the desktop app. Parses the app's flags (the operator flags
// of `kernelscope run` plus screenshot/session/window options), opens a GLFW window with an
// OpenGL 3.3 core context and Dear ImGui, and runs the frame loop: drain the worker's
// results, submit changed settings, draw the panels. In scripted mode (--screenshot) it
// renders until the result is on screen, saves the window (and panel exports) and exits.
#include <epoxy/gl.h>
#define GLFW_INCLUDE_NONE
#include <GLFW/glfw3.h>
#include <backends/imgui_impl_glfw.h>
#include <backends/imgui_impl_opengl3.h>
#include <imgui.h>

#include <chrono>
#include <climits>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <thread>
#include <vector>

#include "cli/commands.h"
#include "cli/flag_checks.h"
#include "cli/operator_options.h"
#include "cli/preset.h"
#include "gui/app_options.h"
#include "gui/app_state.h"
#include "gui/demo.h"
#include "gui/export.h"
#include "gui/file_browser.h"
#include "gui/layout.h"
#include "gui/menu.h"
#include "gui/presentation_layout.h"
#include "gui/profiler.h"
#include "gui/session.h"
#include "gui/weights.h"
#include "kernelscope/error.h"
#include "kernelscope/io.h"
#include "panels/learn_panel.h"
#include "panels/panels.h"

namespace ks::cli {

namespace {

namespace fs = std::filesystem;
using namespace ks::app;

std::vector<std::string> g_dropped;  // filled by the GLFW drop callback, drained per frame
std::string g_glfw_error;

void on_drop(GLFWwindow*, int count, const char** paths) {
  for (int i = 0; i < count; ++i) g_dropped.emplace_back(paths[i]);
}

void on_glfw_error(int, const char* text) { g_glfw_error = text ? text : "unknown GLFW error"; }

// Key presses for the shortcuts. ImGui 1.86 only samples key state once per frame, so a press
// and release within one frame (fast typing, scripted input) would be missed; this queue
// keeps them. Installed before ImGui, whose callbacks chain to it.
struct KeyPress {
  int key, mods;
};
std::vector<KeyPress> g_keys;

void on_key(GLFWwindow*, int key, int, int action, int mods) {
  if (action == GLFW_PRESS) g_keys.push_back({key, mods});
}

// The bundled assets: the source tree's (compiled in), then next to the executable.
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

// Dark theme, DejaVu Sans where installed, everything scaled by `scale`. Returns the large
// font (twice the size) for demo captions.
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

// Applies one worker result to the state; stale results only bring their image news.
void take_result(AppState& app, ComputeResult&& r, bool* upload, bool* raced) {
  if (r.cancelled) {
    // A newer request stopped it between tiles; that request's result follows.
    ++app.cancelled_jobs;
    app.set_status("cancelled a stale job (the parameters changed)");
    app.worker->recycle(std::move(r));
    return;
  }
  if (!r.race && r.id == app.latest_id) app.answered_id = r.id;
  if (!r.load_error.empty()) {
    app.set_error(r.load_error, "image");
    if (r.image.full) app.image_path = r.image.path;  // keep showing what is loaded
    // Nothing was computed: the old image and its result stay on screen as they are.
    if (app.have_result && !r.race && !r.conv.ran && !r.involution.ran) return;
  }
  if (r.race) {
    app.race_rows = std::move(r.race_rows);
    app.race_notice = r.notice;
    app.race_running = false;
    *raced = true;
    return;
  }
  if (r.id != app.latest_id) {  // a newer request is on its way
    app.worker->recycle(std::move(r));
    return;
  }
  if (!r.image.compute) return;  // the job failed before it had an image
  const bool new_image = !app.image.full || app.image.full != r.image.full;
  if (new_image) {
    // A new image loaded: an earlier image's load error is about a file no longer involved.
    if (r.load_error.empty()) app.clear_error("image");
    app.fit_view = true;
    if (app.image.full) app.focus.pinned = false;  // a pin from the command line survives
    app.enlarged_map = -1;
  }
  app.image = r.image;
  app.upload_queue.clear();  // it points into the result being replaced
  if (app.have_result) app.worker->recycle(std::move(app.result));
  app.result = std::move(r);
  app.have_result = true;
  // A settings "-G" placeholder for involution groups resolves to C / G here (see above).
  app.history_ms.push_back(static_cast<float>(app.result.job_ms));
  while (app.history_ms.size() > 120) app.history_ms.pop_front();
  *upload = true;
  apply_pending_pins(app, app.result.id);
}

// --groups G for involution needs the channel count: group channels = C / G.
void resolve_group_placeholder(AppState& app) {
  if (app.settings.group_channels >= 0 || !app.image.compute) return;
  const int c = static_cast<int>(app.image.compute->dim(1));
  const int g = -app.settings.group_channels;
  app.settings.group_channels = g > 0 && c % g == 0 ? c / g : 1;
  app.dirty = true;
}

void submit(AppState& app, bool race) {
  ComputeRequest req;
  req.id = app.next_id++;
  req.settings = app.settings;
  if (req.settings.group_channels < 0) req.settings.group_channels = 1;
  req.image_path = app.image_path;
  req.fallback_path = app.default_image;
  req.race = race;
  if (!race) app.latest_id = req.id;
  app.worker->submit(std::move(req));
}

void do_exports(AppState& app) {
  const std::pair<bool*, ExportPanel> jobs[] = {{&app.export_input, ExportPanel::Input},
                                                {&app.export_kernels, ExportPanel::Kernels},
                                                {&app.export_maps, ExportPanel::FeatureMaps}};
  for (const auto& [flag, panel] : jobs) {
    if (!*flag) continue;
    *flag = false;
    try {
      const auto files = export_panel(app, panel, export_folder(app));
      std::string list;
      for (const auto& f : files) {
        list += (list.empty() ? "" : ", ") + f;
        std::printf("kernelscope: wrote %s\n", f.c_str());
      }
      app.set_status("wrote " + list);
      app.clear_error("export");
    } catch (const std::exception& e) {
      app.set_error(std::string("export failed: ") + e.what(), "export");
    }
  }
}

// Step-through slides (PNG frames and a GIF) into the export folder, when asked.
void do_slide_export(AppState& app) {
  if (!app.export_slides) return;
  app.export_slides = false;
  try {
    const auto files = export_step_slides(app);
    for (const auto& f : files) std::printf("kernelscope: wrote %s\n", f.c_str());
    app.set_status("wrote " + std::to_string(files.size() - 1) + " frames to " +
                   fs::path(files.front()).parent_path().string() + " and " + files.back());
  } catch (const std::exception& e) {
    app.set_error(std::string("slide export failed: ") + e.what(), "export");
  }
}

bool save_screenshot(AppState& app, GLFWwindow* window, const std::string& path) {
  int w = 0, h = 0;
  glfwGetFramebufferSize(window, &w, &h);
  try {
    const fs::path p(path);
    std::error_code ec;
    if (p.has_parent_path()) fs::create_directories(p.parent_path(), ec);
    save_png_rgb(path, w, h, read_window_rgb(w, h));
    std::printf("kernelscope: wrote %s\n", path.c_str());
    app.set_status("wrote " + path);
    app.clear_error("export");
    return true;
  } catch (const std::exception& e) {
    app.set_error(std::string("screenshot failed: ") + e.what(), "export");
    return false;
  }
}

void handle_shortcuts(AppState& app) {
  const bool typing = ImGui::GetIO().WantTextInput;
  for (const KeyPress& k : g_keys) {
    const bool ctrl = (k.mods & GLFW_MOD_CONTROL) != 0;
    if (k.key == GLFW_KEY_F12) app.screenshot_requested = true;
    if (k.key == GLFW_KEY_F1) app.show_help = !app.show_help;
    if (k.key == GLFW_KEY_F2) app.step.active = !app.step.active;
    if (k.key == GLFW_KEY_F5) app.demo_requested = true;
    if (k.key == GLFW_KEY_F11) app.presentation = !app.presentation;
    if (app.demo.active && !typing) {
      if (k.key == GLFW_KEY_RIGHT || k.key == GLFW_KEY_PAGE_DOWN) app.demo_move = 1;
      if (k.key == GLFW_KEY_LEFT || k.key == GLFW_KEY_PAGE_UP) app.demo_move = -1;
      if (k.key == GLFW_KEY_ESCAPE) app.demo_requested = true;
    }
    if (ctrl && k.key == GLFW_KEY_Q) app.quit_requested = true;
    if (typing) continue;  // letters belong to the text field
    if (!ctrl && k.key == GLFW_KEY_F) app.fit_view = true;
    if (ctrl && k.key == GLFW_KEY_O) open_file_browser(BrowsePurpose::OpenImage, app.image_path);
    if (ctrl && k.key == GLFW_KEY_S) app.save_session_requested = true;
  }
  g_keys.clear();
}

void handle_browser(AppState& app) {
  if (app.open_browser) {
    app.open_browser = false;
    open_file_browser(
        static_cast<BrowsePurpose>(app.browser_purpose),
        app.settings.weights_file.empty() ? app.image_path : app.settings.weights_file);
  }
  std::string path;
  BrowsePurpose purpose;
  if (!draw_file_browser(&path, &purpose)) return;
  std::string error;
  switch (purpose) {
    case BrowsePurpose::SaveSession:
      if (save_session(path, app, &error)) {
        app.session_path = path;
        app.set_status("saved session " + path);
        app.clear_error("session");
      } else {
        app.set_error(error, "session");
      }
      break;
    case BrowsePurpose::ExportDir:
      app.view.export_dir = path;
      app.set_status("exports go to " + path);
      break;
    default:
      open_path(app, path);
  }
}

void report_profile(const AppState& app, const AppProfiler& profiler, bool json, int* exit_code) {
  const Shape input = app.image.compute ? app.image.compute->shape : Shape{};
  std::printf("%s\n", json ? profiler.json(input).c_str() : profiler.summary(input).c_str());
  for (const OpResult* op : {&app.result.conv, &app.result.involution})
    if (!op->error.empty()) {
      std::fprintf(stderr, "kernelscope: %s error: %s\n",
                   op == &app.result.conv ? "convolution" : "involution", op->error.c_str());
      *exit_code = 1;
    }
}

// The menu bar hides a status line 12 s after it was set (menu.cpp): an idle loop draws the
// frames of the second after that, so it does disappear, and no others.
bool status_may_expire(const AppState& app) {
  const auto age = std::chrono::steady_clock::now() - app.status_time;
  return !app.status.empty() && age >= std::chrono::seconds(12) && age < std::chrono::seconds(13);
}

// How long the frame loop may sleep waiting for events: 0 polls (something is moving), a
// short wait while a job runs (its progress line ticks; the worker wakes the loop when it
// finishes), else long enough that an idle app uses next to no CPU.
double event_wait_seconds(const AppState& app, bool worker_busy, int extra_frames) {
  if (app.worker->has_result()) return 0;  // its wake-up event may already be spent
  if (extra_frames > 0 || !app.upload_queue.empty() || app.step.playing || app.demo.active ||
      app.dirty || app.race_requested || !app.scene_requested.empty())
    return 0;
  if (worker_busy) return 0.1;
  return 0.5;  // a finished job's wake-up event ends the wait at once
}

// After --profile: the panels' exports and the screenshot, when asked for, show the last
// job's result (what the app tests compare with `kernelscope run`).
void finish_profile(AppState& app, GLFWwindow* window, const AppOptions& options) {
  // Not the kernels panel: its export computes the full kernels tensor, which a profile of a
  // large image does not want to wait for.
  if (!options.export_dir.empty()) {
    app.export_input = app.export_maps = true;
    do_exports(app);
  }
  if (!options.screenshot.empty()) save_screenshot(app, window, options.screenshot);
}

// Scripted runs: where everything went, for the app tests. The layout, the body font's pixel
// height, each panel's rectangle and the marked items (the step-through's result line,
// generation chain and visible body) with the body's scroll range.
void report_layout(const AppState& app, const std::vector<PanelRect>& rects) {
  std::printf("kernelscope: layout %s font %.1f\n", app.presentation ? "presentation" : "normal",
              static_cast<double>(ImGui::GetFontSize()));
  for (const PanelRect& r : rects)
    std::printf("kernelscope: panel \"%s\" %.0f %.0f %.0f %.0f\n", r.name.c_str(),
                static_cast<double>(r.x), static_cast<double>(r.y), static_cast<double>(r.w),
                static_cast<double>(r.h));
  for (const AppState::DrawnItem& r : app.drawn_items)
    std::printf("kernelscope: item \"%s\" %.0f %.0f %.0f %.0f\n", r.name.c_str(),
                static_cast<double>(r.x), static_cast<double>(r.y), static_cast<double>(r.w),
                static_cast<double>(r.h));
}

int run(const AppOptions& options) {
  // --screenshot alone is scripted mode; with --profile the screenshot is taken at its end.
  const bool scripted = !options.screenshot.empty() && options.profile == 0;
  AppProfiler profiler(options.profile);
  const char* display = std::getenv("DISPLAY");
  const char* wayland = std::getenv("WAYLAND_DISPLAY");
  if ((!display || !*display) && (!wayland || !*wayland)) {
    std::fprintf(stderr,
                 "kernelscope: no display (DISPLAY is not set), so the desktop app cannot open; "
                 "use `kernelscope run` for headless work\n");
    return 1;
  }
  glfwSetErrorCallback(on_glfw_error);
  if (!glfwInit()) {
    std::fprintf(stderr,
                 "kernelscope: cannot open the display (%s); use `kernelscope run` for headless "
                 "work\n",
                 g_glfw_error.c_str());
    return 1;
  }
  glfwWindowHint(GLFW_CONTEXT_VERSION_MAJOR, 3);
  glfwWindowHint(GLFW_CONTEXT_VERSION_MINOR, 3);
  glfwWindowHint(GLFW_OPENGL_PROFILE, GLFW_OPENGL_CORE_PROFILE);
  glfwWindowHint(GLFW_OPENGL_FORWARD_COMPAT, GLFW_TRUE);
  // Scripted runs need the exact pixel size asked for; interactive windows follow the DPI.
  glfwWindowHint(GLFW_SCALE_TO_MONITOR, scripted || profiler.enabled() ? GLFW_FALSE : GLFW_TRUE);
  GLFWwindow* window =
      glfwCreateWindow(options.width, options.height, "KernelScope", nullptr, nullptr);
  if (!window) {
    std::fprintf(stderr,
                 "kernelscope: cannot create an OpenGL 3.3 window (%s); use `kernelscope run` "
                 "for headless work\n",
                 g_glfw_error.c_str());
    glfwTerminate();
    return 1;
  }
  glfwMakeContextCurrent(window);
  glfwSwapInterval(scripted || profiler.enabled() ? 0 : 1);
  glfwSetDropCallback(window, on_drop);
  glfwSetKeyCallback(window, on_key);

  AppState app;
  app.assets_dir = find_assets_dir();
  if (!app.assets_dir.empty()) app.default_image = app.assets_dir + "/samples/shapes.png";
  app.image_path = app.default_image;
  // Interactive runs continue the last session; scripted runs start clean unless asked.
  std::string error;
  const std::string session = options.session.empty() && !scripted && !profiler.enabled()
                                  ? default_session_path()
                                  : options.session;
  std::error_code ec;
  if (!session.empty() && (fs::exists(session, ec) || !options.session.empty())) {
    // The app's own session names whatever the user opened; a given one says where it reads.
    std::vector<std::string> notes;
    if (load_session(session, &app, &error, options.session.empty() ? nullptr : &notes))
      app.session_path = session;
    else
      app.set_error(error, "session");
    for (const std::string& note : notes) app.set_status(note);
  }
  int exit_code = 0;
  try {
    apply_options(options, &app);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "kernelscope: error: %s\n", e.what());
    glfwDestroyWindow(window);
    glfwTerminate();
    return 2;
  }

  IMGUI_CHECKVERSION();
  ImGui::CreateContext();
  ImGuiIO& io = ImGui::GetIO();
  io.IniFilename = nullptr;  // the layout is ours and lives in the session
  // Scripted screenshots must not depend on where the display's pointer happens to be.
  if (scripted || profiler.enabled()) io.ConfigFlags |= ImGuiConfigFlags_NoMouse;
  float content_scale = 1, unused = 1;
  glfwGetWindowContentScale(window, &content_scale, &unused);
  float applied_scale = effective_ui_scale(app) * content_scale;
  app.big_font = setup_style_and_fonts(applied_scale, false);
  ImGui_ImplGlfw_InitForOpenGL(window, true);
  ImGui_ImplOpenGL3_Init("#version 330 core");

  ColormapPass colormap;
  if (!colormap.init(&error)) {
    std::fprintf(stderr, "kernelscope: %s\n", error.c_str());
    exit_code = 1;
  }
  {
    Worker worker;
    app.worker = &worker;
    app.colormap = &colormap;
    // A finished job wakes the loop at once, however long it was waiting for events.
    worker.set_on_result([] { glfwPostEmptyEvent(); });
    int extra_frames = 3;            // ImGui settles over a couple of frames after each event
    bool profile_finishing = false;  // --profile has reported: exports, screenshot, exit

    const auto start = std::chrono::steady_clock::now();
    int frames_since_result = -1;
    bool scripted_setup_done = false;
    bool saved = false;
    int demo_shown = 0;        // scripted demo: scenes logged so far
    size_t scenes_opened = 0;  // scripted --scene-order: scenes requested so far
    if (options.demo > 0) app.demo_requested = true;
    while (!glfwWindowShouldClose(window) && !app.quit_requested && exit_code == 0) {
      // --profile waits for events as a user's session does (a job in flight draws a frame
      // every 100 ms, not as many as it can, which would take the worker's cores).
      const bool interactive = !scripted && !profile_finishing;
      const double wait_s =
          interactive ? event_wait_seconds(app, worker.busy(), extra_frames) : 0.0;
      if (wait_s > 0) {
        const auto wait_start = std::chrono::steady_clock::now();
        glfwWaitEventsTimeout(wait_s);
        const double waited =
            std::chrono::duration<double>(std::chrono::steady_clock::now() - wait_start).count();
        if (waited < wait_s * 0.9) {
          extra_frames = 3;  // woken by input or a result
        } else if (!worker.busy() && !worker.has_result() && !status_may_expire(app)) {
          // Nothing happened and nothing on screen changes: no frame to draw.
          if (profiler.enabled()) {  // its clock runs on, frame or not
            profiler.on_frame(app, 0, false);
            if (profiler.done()) {
              report_profile(app, profiler, options.json, &exit_code);
              profile_finishing = true;  // one more frame, for the screenshot
            }
          }
          continue;
        }
      } else {
        glfwPollEvents();
        if (extra_frames > 0) --extra_frames;
      }
      const auto frame_start = std::chrono::steady_clock::now();
      if (glfwGetWindowAttrib(window, GLFW_ICONIFIED)) {  // nothing to draw while minimised
        glfwWaitEventsTimeout(0.1);
        continue;
      }
      for (const std::string& path : g_dropped) open_path(app, path);
      g_dropped.clear();
      handle_demo(app);
      open_requested_scene(&app);

      bool upload = false, raced = false;
      ComputeResult result;
      while (worker.poll(&result)) take_result(app, std::move(result), &upload, &raced);
      resolve_group_placeholder(app);
      clear_stale_scene_note(app);
      if (upload || raced) frames_since_result = 0;  // tables auto-size over a few frames
      if (scripted && upload && !scripted_setup_done) {
        // Scripted zoom and race act once the first result (and so the image) is there.
        scripted_setup_done = true;
        if (options.race) app.race_requested = true;
        if (options.zoom > 0) {
          app.fit_view = false;
          app.zoom = options.zoom;
          app.centre_x =
              app.focus.pinned ? app.focus.pin_x + 0.5f : app.image.compute->dim(3) * 0.5f;
          app.centre_y =
              app.focus.pinned ? app.focus.pin_y + 0.5f : app.image.compute->dim(2) * 0.5f;
        }
      }
      if (upload || (app.view_dirty && app.have_result)) {
        upload_result_textures(app);
        app.view_dirty = false;
      } else {
        pump_texture_uploads(app);
      }
      if (app.dirty) {
        app.dirty = false;
        submit(app, false);
      }
      // A race waits until the current computation is done, so it cannot displace it.
      if (app.race_requested && !worker.busy()) {
        app.race_requested = false;
        app.race_running = true;
        app.race_rows.clear();
        submit(app, true);
      }

      // The UI scale applies once the slider is let go, not on every drag step.
      const float wanted_scale = effective_ui_scale(app) * content_scale;
      if (wanted_scale != applied_scale && !ImGui::IsMouseDown(ImGuiMouseButton_Left)) {
        applied_scale = wanted_scale;
        app.big_font = setup_style_and_fonts(applied_scale, true);
      }

      ImGui_ImplOpenGL3_NewFrame();
      ImGui_ImplGlfw_NewFrame();
      ImGui::NewFrame();
      app.focus.hover = app.hover_next;
      app.focus.hover_x = app.hover_next_x;
      app.focus.hover_y = app.hover_next_y;
      app.hover_next = false;
      app.drawn_items.clear();
      handle_shortcuts(app);
      update_step_through(app);
      update_learn(app);
      const float menu_h = draw_main_menu(app);
      const std::vector<PanelRect> rects = draw_layout(app, menu_h);
      draw_demo_overlay(app);
      draw_help_window(app);
      handle_browser(app);
      ImGui::Render();

      int fb_w = 0, fb_h = 0;
      glfwGetFramebufferSize(window, &fb_w, &fb_h);
      glViewport(0, 0, fb_w, fb_h);
      glClearColor(0.05f, 0.05f, 0.06f, 1.0f);
      glClear(GL_COLOR_BUFFER_BIT);
      ImGui_ImplOpenGL3_RenderDrawData(ImGui::GetDrawData());

      if (app.save_session_requested) {
        app.save_session_requested = false;
        const std::string path =
            app.session_path.empty() ? default_session_path() : app.session_path;
        if (save_session(path, app, &error)) {
          app.set_status("saved session " + path);
          app.clear_error("session");
        } else {
          app.set_error(error, "session");
        }
      }
      do_exports(app);
      do_slide_export(app);
      if (app.screenshot_requested) {
        app.screenshot_requested = false;
        std::error_code mk;
        fs::create_directories(export_folder(app), mk);
        save_screenshot(app, window, export_stem(export_folder(app), "window") + ".png");
      }

      if (profile_finishing) {
        finish_profile(app, window, options);
        glfwSwapBuffers(window);
        break;
      }
      if (scripted) {
        if (frames_since_result >= 0) ++frames_since_result;
        // The newest request must have been answered: between a submit and the worker taking
        // it up, the worker is not busy yet.
        bool settled = app.have_result && app.answered_id == app.latest_id && !worker.busy() &&
                       !app.dirty && !app.race_requested && app.upload_queue.empty() &&
                       !app.race_running && app.scene_requested.empty() && !learn_busy(app) &&
                       frames_since_result >= std::max(options.frames, 2);
        if (settled && app.demo.active && demo_shown < options.demo) {
          // Scripted demo: log the scene on screen, then advance until N were shown.
          ++demo_shown;
          if (demo_shown == 1)
            std::printf("kernelscope: demo auto-advance %s\n",
                        app.demo.auto_advance ? "on" : "off");
          std::printf("kernelscope: demo scene %d/%zu \"%s\": %s\n", app.demo.index + 1,
                      app.demo.scenes.size(), app.scene_name.c_str(), app.scene_caption.c_str());
          if (demo_shown < options.demo) {
            app.demo_move = 1;
            frames_since_result = -1;
            settled = false;
          } else if (options.demo_leave) {
            app.demo_requested = true;
            frames_since_result = -1;
            settled = false;
          }
        }
        if (settled && scenes_opened <= options.scene_order.size() &&
            !options.scene_order.empty()) {
          // Scripted scene order: report where the last scene put its pins, open the next.
          if (scenes_opened > 0)
            std::printf("%s\n", scene_line(app, options.scene_order[scenes_opened - 1]).c_str());
          if (scenes_opened < options.scene_order.size()) {
            const auto& scenes = scene_entries(app.assets_dir);
            const int n = options.scene_order[scenes_opened];
            if (n >= 1 && n <= static_cast<int>(scenes.size()))
              app.scene_requested = scenes[static_cast<size_t>(n - 1)].path;
            frames_since_result = -1;
            settled = false;
          }
          ++scenes_opened;
        }
        const double elapsed =
            std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
        if (settled || elapsed > options.timeout_s) {
          if (!settled) {
            std::fprintf(stderr, "kernelscope: no result after %.0f s; saving what is on screen\n",
                         elapsed);
            exit_code = 1;
          }
          if (!options.export_dir.empty()) {
            app.export_input = app.export_kernels = app.export_maps = true;
            do_exports(app);
          }
          double explained = 0;
          float shown = 0;
          if (step_through_total(app, &explained, &shown))
            std::printf(
                "kernelscope: step-through %s channel %d pixel %d %d explained %.9g output "
                "%.9g\n",
                app.step.involution ? (app.result.involution.notebook ? "notebook" : "involution")
                                    : "conv",
                app.step.channel, app.step.i, app.step.j, explained, static_cast<double>(shown));
          for (const std::string& line : learn_report(app)) std::printf("%s\n", line.c_str());
          for (const std::string& line : pin_comparison_report(app))
            std::printf("%s\n", line.c_str());
          if (options.step_export) {
            app.export_slides = true;
            do_slide_export(app);
          }
          report_layout(app, rects);
          std::printf("%s\n", setup_line(app).c_str());
          if (!parameters_note().empty())
            std::printf("kernelscope: control note: %s\n", parameters_note().c_str());
          if (app.show_help)
            std::printf(
                "kernelscope: window \"Help - Guide\" %.0f %.0f %.0f %.0f\n",
                static_cast<double>(app.help_rect[0]), static_cast<double>(app.help_rect[1]),
                static_cast<double>(app.help_rect[2]), static_cast<double>(app.help_rect[3]));
          if (!app.error.empty()) std::printf("kernelscope: shown error: %s\n", app.error.c_str());
          for (const OpResult* op : {&app.result.conv, &app.result.involution})
            if (!op->error.empty()) {
              const char* name = op == &app.result.conv ? "convolution" : "involution";
              std::printf("kernelscope: %s error: %s\n", name, op->error.c_str());
              // As the Parameters panel words it.
              std::printf("kernelscope: shown %s error: %s\n", name,
                          in_app_terms(op->error).c_str());
            }
          saved = save_screenshot(app, window, options.screenshot);
          if (!saved) exit_code = 1;
          glfwSwapBuffers(window);
          break;
        }
      }
      glfwSwapBuffers(window);
      if (profiler.enabled()) {
        const double elapsed =
            std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
        if (elapsed > options.timeout_s) {
          std::fprintf(stderr, "kernelscope: --profile did not finish within %.0f s (--timeout)\n",
                       elapsed);
          exit_code = 1;
          break;
        }
        profiler.on_frame(app,
                          std::chrono::duration<double, std::milli>(
                              std::chrono::steady_clock::now() - frame_start)
                              .count(),
                          worker.busy());
        if (profiler.done() && !profile_finishing) {
          report_profile(app, profiler, options.json, &exit_code);
          profile_finishing = true;  // one more frame, for the screenshot
        }
      }
      if (!scripted && !profiler.enabled()) {
        // Without vsync (some drivers, remote displays) cap the loop near 120 FPS.
        const auto spent = std::chrono::steady_clock::now() - frame_start;
        if (spent < std::chrono::milliseconds(8))
          std::this_thread::sleep_for(std::chrono::milliseconds(8) - spent);
      }
    }
    if (!scripted && !profiler.enabled()) {
      const std::string path = default_session_path();
      if (!path.empty() && !save_session(path, app, &error))
        std::fprintf(stderr, "kernelscope: %s\n", error.c_str());
    }
    app.conv_view.release();
    app.involution_view.release();
    if (app.input_texture) glDeleteTextures(1, &app.input_texture);
    app.worker = nullptr;
  }  // the worker joins here, before the GL context goes away
  colormap.shutdown();
  ImGui_ImplOpenGL3_Shutdown();
  ImGui_ImplGlfw_Shutdown();
  ImGui::DestroyContext();
  glfwDestroyWindow(window);
  glfwTerminate();
  return exit_code;
}

}  // namespace

int run_app(int argc, char** argv) {
  CLI::App cli{"KernelScope desktop app: convolution and involution, live."};
  AppOptions o;
  add_operator_options(cli, o.op, /*input_required=*/false);
  cli.add_option("--screenshot", o.screenshot,
                 "scripted mode: render until the result is shown, save the window as PNG, exit");
  cli.add_option("--frames", o.frames, "frames to render after the result arrives (scripted)")
      ->check(integer_in(1));
  cli.add_option("--session", o.session, "session JSON to load");
  cli.add_option("--ui-scale", o.ui_scale, "UI scale (HiDPI, projectors)")
      ->check(number_in(0.5, 3.0));
  cli.add_option("--width", o.width, "window width")->check(integer_in(320, 8192));
  cli.add_option("--height", o.height, "window height")->check(integer_in(240, 8192));
  cli.add_option("--export-dir", o.export_dir,
                 "export folder; in scripted mode every panel is exported there");
  cli.add_flag("--compare", o.compare, "convolution and involution side by side");
  cli.add_flag("--relu", o.relu, "apply ReLU after the operation");
  cli.add_option("--colormap", o.colormap, "diverging, viridis or grey")
      ->check(CLI::IsMember({"diverging", "viridis", "grey"}));
  cli.add_option("--scale", o.scale, "feature map scaling: map, layer or symmetric")
      ->check(CLI::IsMember({"map", "layer", "symmetric"}));
  cli.add_option("--timeout", o.timeout_s, "scripted mode: give up after this many seconds")
      ->check(number_in(0.1, 86400));
  cli.add_option("--zoom", o.zoom, "scripted mode: input zoom, centred on --pin")
      ->check(number_in(0.05, 256.0));
  cli.add_option("--pin", o.pin,
                 "pin the input pixel at column X, row Y (x first; the app labels it "
                 "\"row Y, col X\")")
      ->expected(2)
      ->check(integer_in(0, 1 << 30));
  cli.add_option("--pin-b", o.pin_b,
                 "a second pin at column X, row Y (with --pin): the Kernels panel compares the two")
      ->expected(2)
      ->check(integer_in(0, 1 << 30));
  cli.add_flag("--race", o.race, "scripted mode: race every backend before the screenshot");
  cli.add_flag("--kernel-field", o.kernel_field, "show the involution kernel field on the input");
  cli.add_option("--variant", o.variant,
                 "involution variant: paper, or notebook (K x K span, no padding)")
      ->check(CLI::IsMember({"paper", "notebook"}));
  cli.add_flag("--step-through", o.step_through, "open the step-through panel (F2)");
  cli.add_flag("--step-compare", o.step_compare,
               "open the step-through on its Compare tab (convolution vs involution)");
  cli.add_flag("--step-export", o.step_export,
               "scripted mode: write the step-through's slides (PNG frames, GIF) to the export "
               "folder");
  cli.add_option("--demo", o.demo,
                 "scripted mode: demo mode over assets/presets, showing N scenes in turn")
      ->check(integer_in(1, 100));
  cli.add_flag("--demo-leave", o.demo_leave,
               "scripted mode: leave demo mode after the --demo scenes (restores the setup)");
  cli.add_option("--scene-order", o.scene_order,
                 "scripted mode: open the scenes of assets/presets in this order (numbers from "
                 "1, comma-separated), logging where each one pins")
      ->delimiter(',')
      ->check(integer_in(1, 1000));
  cli.add_flag("--help-window", o.help_window, "open Help > Guide (F1)");
  cli.add_flag("--present", o.present,
               "start in the presentation view (F11): large text and pictures for a projector");
  cli.add_option("--profile", o.profile,
                 "measure the app: run N recomputes of the given setup (a new seed each), then "
                 "2 s idle; print the job times, the longest frame and the idle CPU use, exit")
      ->check(integer_in(1, 100000));
  cli.add_flag("--json", o.json, "with --profile: print one JSON object");
  cli.add_option("--learn-steps", o.learn_steps,
                 "scripted mode: learn N steps in the Learn panel (a learn scene's target, else "
                 "designed:edge_aware) before the screenshot")
      ->check(integer_in(1, 1000000));
  try {
    cli.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return exit_on_parse_error(cli, e);
  }
  o.op_given = cli.count("--op") > 0;
  o.seed_given = cli.count("--seed") > 0;
  o.backend_given = cli.count("--backend") > 0;
  o.memory_given = cli.count("--max-memory-mb") > 0;
  return run(o);
}

}  // namespace ks::cli
