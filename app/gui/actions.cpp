// Carrying out the app's commands (actions.h).
#include "gui/actions.h"

#include <epoxy/gl.h>
#define GLFW_INCLUDE_NONE
#include <GLFW/glfw3.h>

#include <cstdio>
#include <filesystem>
#include <utility>

#include "gui/app_options.h"
#include "gui/demo.h"
#include "gui/export.h"
#include "gui/file_browser.h"
#include "gui/menu.h"
#include "gui/session.h"
#include "kernelscope/io.h"
#include "panels/panels.h"

namespace ks::app {

namespace {

namespace fs = std::filesystem;

template <class... F>
struct Overloaded : F... {
  using F::operator()...;
};
template <class... F>
Overloaded(F...) -> Overloaded<F...>;

void save_current_session(AppState& app) {
  std::string error;
  const std::string path =
      app.doc.session_path.empty() ? default_session_path() : app.doc.session_path;
  if (save_session(path, app, &error)) {
    app.set_status("saved session " + path);
    app.clear_error("session");
  } else {
    app.set_error(error, "session");
  }
}

void save_window_to_export_folder(AppState& app, GLFWwindow* window) {
  std::error_code mk;
  fs::create_directories(export_folder(app), mk);
  save_screenshot(app, window, export_stem(export_folder(app), "window") + ".png");
}

}  // namespace

void carry_out_commands(AppState& app, FrameWork* work) {
  // A command may post others (demo mode opens a scene, a scene asks for a recompute): they
  // are carried out in the same frame, as their cause was.
  for (std::vector<Command> batch = app.commands.take(); !batch.empty();
       batch = app.commands.take()) {
    for (Command& command : batch)
      std::visit(Overloaded{
                     [&](cmd::Recompute&) { work->recompute = true; },
                     [&](cmd::Redraw&) { work->redraw = true; },
                     [&](cmd::FitView&) { app.view.fit_view = true; },
                     [&](cmd::OpenPath& c) { open_path(app, c.path); },
                     [&](cmd::OpenScene& c) { cli::open_scene(&app, c.path); },
                     [&](cmd::ToggleDemo&) { toggle_demo(app); },
                     [&](cmd::MoveDemo& c) { move_demo(app, c.by); },
                     [&](cmd::Race&) { work->race = true; },
                     [&](cmd::Browse& c) { open_file_browser(c.purpose, c.start); },
                     [&](cmd::Quit&) { work->quit = true; },
                     [&](auto&) { work->after_render.push_back(std::move(command)); },
                 },
                 command);
  }
}

void carry_out_after_render(AppState& app, GLFWwindow* window, FrameWork* work) {
  for (Command& command : std::exchange(work->after_render, {}))
    std::visit(Overloaded{
                   [&](cmd::SaveSession&) { save_current_session(app); },
                   [&](cmd::Export& c) { export_one_panel(app, c.panel); },
                   [&](cmd::ExportSlides&) { export_slides(app); },
                   [&](cmd::Screenshot&) { save_window_to_export_folder(app, window); },
                   [&](auto&) {},  // carried out at the frame's start
               },
               command);
}

void export_one_panel(AppState& app, ExportPanel panel) {
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

void export_slides(AppState& app) {
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

void handle_browser(AppState& app) {
  std::string path;
  BrowsePurpose purpose;
  if (!draw_file_browser(&path, &purpose)) return;
  std::string error;
  switch (purpose) {
    case BrowsePurpose::SaveSession:
      if (save_session(path, app, &error)) {
        app.doc.session_path = path;
        app.set_status("saved session " + path);
        app.clear_error("session");
      } else {
        app.set_error(error, "session");
      }
      break;
    case BrowsePurpose::ExportDir:
      app.view.settings.export_dir = path;
      app.set_status("exports go to " + path);
      break;
    default:
      open_path(app, path);
  }
}

}  // namespace ks::app
