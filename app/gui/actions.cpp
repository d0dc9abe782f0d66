// Exports, screenshots, session saving and the file browser's answers (actions.h).
#include "gui/actions.h"

#include <epoxy/gl.h>
#define GLFW_INCLUDE_NONE
#include <GLFW/glfw3.h>

#include <cstdio>
#include <filesystem>
#include <utility>

#include "gui/export.h"
#include "gui/file_browser.h"
#include "gui/menu.h"
#include "gui/session.h"
#include "kernelscope/io.h"
#include "panels/panels.h"

namespace ks::app {

namespace fs = std::filesystem;

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

void save_current_session(AppState& app) {
  std::string error;
  const std::string path = app.session_path.empty() ? default_session_path() : app.session_path;
  if (save_session(path, app, &error)) {
    app.set_status("saved session " + path);
    app.clear_error("session");
  } else {
    app.set_error(error, "session");
  }
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

}  // namespace ks::app
