// Main menu bar and the status line at its right end.
#include "gui/menu.h"

#include <imgui.h>

#include <algorithm>
#include <filesystem>
#include <vector>

#include "gui/demo.h"
#include "gui/export.h"
#include "gui/file_browser.h"
#include "gui/session.h"
#include "panels/learn_panel.h"

namespace ks::app {

namespace {

namespace fs = std::filesystem;

std::vector<fs::path> sample_files(const std::string& assets) {
  std::vector<fs::path> files;
  std::error_code ec;
  if (assets.empty()) return files;
  for (fs::directory_iterator it(fs::path(assets) / "samples", ec), end; !ec && it != end;
       it.increment(ec))
    if (it->is_regular_file()) files.push_back(it->path());
  std::sort(files.begin(), files.end());
  return files;
}

void browse(AppState& app, BrowsePurpose purpose) {
  std::string start = app.doc.image_path;
  if (purpose == BrowsePurpose::ExportDir) start = export_folder(app);
  if (purpose == BrowsePurpose::LoadSession || purpose == BrowsePurpose::SaveSession)
    start = app.doc.session_path.empty() ? default_session_path() : app.doc.session_path;
  app.commands.post(cmd::Browse{purpose, start});
}

std::string lowercase_extension(const std::string& path) {
  std::string ext = fs::path(path).extension().string();
  std::transform(ext.begin(), ext.end(), ext.begin(),
                 [](unsigned char c) { return std::tolower(c); });
  return ext;
}

}  // namespace

void open_path(AppState& app, const std::string& path) {
  const std::string ext = lowercase_extension(path);
  if (ext == ".safetensors") {
    app.doc.settings.weights = WeightSource::File;
    app.doc.settings.weights_file = path;
    app.commands.post(cmd::Recompute{});
    app.set_status("weights from " + path);
  } else if (ext == ".json") {
    std::string error;
    std::vector<std::string> notes;
    if (load_session(path, &app, &error, &notes)) {
      app.doc.session_path = path;
      app.commands.post(cmd::Recompute{});
      app.commands.post(cmd::Redraw{});
      app.set_status("loaded session " + path);
      for (const std::string& note : notes) app.set_status(note);
      app.clear_error("session");
    } else {
      app.set_error(error, "session");
    }
  } else {
    app.doc.image_path = path;
    app.commands.post(cmd::Recompute{});
  }
}

float draw_main_menu(AppState& app) {
  float height = 0;
  if (!ImGui::BeginMainMenuBar()) return height;
  height = ImGui::GetWindowSize().y;
  if (ImGui::BeginMenu("File")) {
    if (ImGui::MenuItem("Open image...", "Ctrl+O")) browse(app, BrowsePurpose::OpenImage);
    if (ImGui::IsItemHovered()) ImGui::SetTooltip("Open a PNG, JPEG, BMP, TGA, GIF or .npy image.");
    if (ImGui::BeginMenu("Samples")) {
      const auto files = sample_files(app.assets_dir);
      if (files.empty()) ImGui::TextDisabled("no samples found");
      for (const auto& f : files)
        if (ImGui::MenuItem(f.filename().string().c_str())) open_path(app, f.string());
      if (ImGui::MenuItem("built-in test pattern")) open_path(app, "");
      ImGui::EndMenu();
    }
    if (ImGui::BeginMenu("Scenes")) {
      // The teaching scenes of assets/presets/, shared with `kernelscope run --preset`, by
      // title: a lecturer looks for "Sobel x on shapes", not "02_sobel_x_shapes".
      const auto& scenes = scene_entries(app.assets_dir);
      if (scenes.empty()) ImGui::TextDisabled("no scenes found");
      for (const SceneEntry& scene : scenes) {
        if (ImGui::MenuItem(scene.title.c_str(), nullptr, scene.title == app.doc.scene_name))
          app.commands.post(cmd::OpenScene{scene.path});
        if (ImGui::IsItemHovered())
          ImGui::SetTooltip("%s", fs::path(scene.path).filename().string().c_str());
      }
      ImGui::EndMenu();
    }
    if (ImGui::MenuItem("Open weights (.safetensors)...")) browse(app, BrowsePurpose::OpenWeights);
    if (ImGui::IsItemHovered())
      ImGui::SetTooltip("Load layer weights saved by PyTorch (safetensors).");
    ImGui::Separator();
    if (ImGui::MenuItem("Save session", "Ctrl+S")) app.commands.post(cmd::SaveSession{});
    if (ImGui::IsItemHovered())
      ImGui::SetTooltip("Save the image, parameters, view and layout to the current session file.");
    if (ImGui::MenuItem("Save session as...")) browse(app, BrowsePurpose::SaveSession);
    if (ImGui::IsItemHovered()) ImGui::SetTooltip("Save the session to a file of your choice.");
    if (ImGui::MenuItem("Load session...")) browse(app, BrowsePurpose::LoadSession);
    if (ImGui::IsItemHovered()) ImGui::SetTooltip("Restore a saved session.");
    ImGui::Separator();
    if (ImGui::MenuItem("Save window screenshot", "F12")) app.commands.post(cmd::Screenshot{});
    if (ImGui::IsItemHovered())
      ImGui::SetTooltip("Save the whole window as a PNG in the export folder.");
    if (ImGui::MenuItem("Export input (PNG + npy)"))
      app.commands.post(cmd::Export{ExportPanel::Input});
    if (ImGui::IsItemHovered())
      ImGui::SetTooltip(
          "The input at full resolution: PNG with a caption, and the raw .npy array.");
    if (ImGui::MenuItem("Export kernels (PNG + npy)"))
      app.commands.post(cmd::Export{ExportPanel::Kernels});
    if (ImGui::IsItemHovered())
      ImGui::SetTooltip("The kernels: PNG figure with a legend, and the raw .npy array.");
    if (ImGui::MenuItem("Export feature maps (PNG + npy)"))
      app.commands.post(cmd::Export{ExportPanel::FeatureMaps});
    if (ImGui::IsItemHovered())
      ImGui::SetTooltip("The feature maps: PNG figure with a legend, and the raw .npy array.");
    if (ImGui::MenuItem("Export folder...")) browse(app, BrowsePurpose::ExportDir);
    if (ImGui::IsItemHovered())
      ImGui::SetTooltip("Choose where screenshots and exports are written.");
    ImGui::TextDisabled("exports go to %s", export_folder(app).c_str());
    ImGui::Separator();
    if (ImGui::MenuItem("Quit", "Ctrl+Q")) app.commands.post(cmd::Quit{});
    if (ImGui::IsItemHovered()) ImGui::SetTooltip("Close the app (the session is saved).");
    ImGui::EndMenu();
  }
  if (ImGui::BeginMenu("View")) {
    ImGui::SetNextItemWidth(ImGui::GetFontSize() * 8);
    ImGui::SliderFloat("UI scale", &app.view.settings.ui_scale, 0.6f, 2.5f, "%.2f");
    if (ImGui::IsItemHovered())
      ImGui::SetTooltip("For projectors and HiDPI screens; applied on release.");
    if (ImGui::MenuItem("Reset layout")) {
      const ViewSettings defaults;
      app.view.settings.left_fraction = defaults.left_fraction;
      app.view.settings.middle_fraction = defaults.middle_fraction;
      app.view.settings.input_fraction = defaults.input_fraction;
      app.view.settings.maps_fraction = defaults.maps_fraction;
      app.view.settings.step_fraction = defaults.step_fraction;
    }
    if (ImGui::IsItemHovered()) ImGui::SetTooltip("Put the panel gaps back where they started.");
    if (ImGui::MenuItem("Fit image", "F")) app.commands.post(cmd::FitView{});
    if (ImGui::IsItemHovered()) ImGui::SetTooltip("Fit the whole image into the Input panel.");
    if (ImGui::MenuItem("Kernel field overlay", nullptr, &app.view.settings.kernel_field)) {
    }
    if (ImGui::IsItemHovered())
      ImGui::SetTooltip("Small glyphs of the generated involution kernels over the image.");
    ImGui::Separator();
    ImGui::MenuItem("Step-through", "F2", &app.view.step.active);
    if (ImGui::IsItemHovered())
      ImGui::SetTooltip("Take one output pixel apart: patch, kernel, products and their sum.");
    if (ImGui::MenuItem("Learn", nullptr, learn_panel_open(app))) toggle_learn_panel(app);
    if (ImGui::IsItemHovered())
      ImGui::SetTooltip(
          "Fit a convolution and/or an involution to a target, live (in place of the\n"
          "Timing panel).");
    ImGui::MenuItem("Presentation", "F11", &app.view.presentation);
    if (ImGui::IsItemHovered())
      ImGui::SetTooltip(
          "Projector layout: large pictures and text, fixed panels. F11 again returns to\n"
          "the normal layout.");
    if (ImGui::MenuItem("Demo mode", "F5", app.demo.active)) app.commands.post(cmd::ToggleDemo{});
    if (ImGui::IsItemHovered())
      ImGui::SetTooltip("Step through the teaching scenes with large captions (projectors).");
    ImGui::EndMenu();
  }
  if (ImGui::BeginMenu("Help")) {
    if (ImGui::MenuItem("Guide", "F1", app.view.show_help))
      app.view.show_help = !app.view.show_help;
    ImGui::Separator();
    ImGui::TextUnformatted(
        "Input: wheel zooms around the cursor, drag pans, click pins a pixel,\n"
        "right-click unpins. Hover a feature map to see its receptive field.\n"
        "Drop an image, .safetensors or session .json onto the window to open it.\n"
        "F12 saves a screenshot; F fits the image; Ctrl+O opens, Ctrl+S saves the session.\n"
        "F1 guide, F2 step-through, F5 demo mode, F11 presentation view.\n"
        "docs/app.md has the full guide.");
    ImGui::EndMenu();
  }

  // Status at the right: busy indicator, then the latest error or message.
  ImGui::Separator();
  if (app.worker && app.worker->busy()) {
    const char spinner[] = "|/-\\";
    ImGui::TextColored(ImVec4(1, 0.8f, 0.3f, 1), "%c computing %.1f s",
                       spinner[static_cast<int>(ImGui::GetTime() * 8) % 4],
                       app.worker->busy_seconds());
  } else {
    ImGui::TextDisabled("ready");
  }
  if (!app.error.empty()) {
    ImGui::TextColored(ImVec4(1, 0.45f, 0.4f, 1), "error: %s", app.error.c_str());
    if (ImGui::SmallButton("x")) app.error.clear();
    if (ImGui::IsItemHovered()) ImGui::SetTooltip("Dismiss this message.");
  } else if (!app.status.empty() &&
             std::chrono::steady_clock::now() - app.status_time < std::chrono::seconds(12)) {
    ImGui::TextColored(ImVec4(0.6f, 0.9f, 0.6f, 1), "%s", app.status.c_str());
  }
  ImGui::EndMainMenuBar();
  return height;
}

}  // namespace ks::app
