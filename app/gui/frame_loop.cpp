// The frame loop (frame_loop.h). One frame: wait for events (or not), take the worker's
// results, submit changed settings, draw the menu and panels, render, carry out the
// exports and screenshots asked for, and in scripted runs check whether the run is over.
#include "gui/frame_loop.h"

#include <epoxy/gl.h>
#define GLFW_INCLUDE_NONE
#include <GLFW/glfw3.h>
#include <backends/imgui_impl_glfw.h>
#include <backends/imgui_impl_opengl3.h>
#include <imgui.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <string>
#include <thread>
#include <vector>

#include "gui/actions.h"
#include "gui/app_state.h"
#include "gui/demo.h"
#include "gui/layout.h"
#include "gui/menu.h"
#include "gui/platform.h"
#include "gui/presentation_layout.h"
#include "gui/profiler.h"
#include "gui/scripted.h"
#include "gui/session.h"
#include "gui/shortcuts.h"
#include "panels/learn_panel.h"
#include "panels/panels.h"

namespace ks::app {

namespace {

namespace fs = std::filesystem;

// Applies one worker result to the state; stale results only bring their image news.
void take_result(AppState& app, ComputeResult&& r, bool* upload, bool* raced) {
  if (r.cancelled) {
    // A newer request stopped it between tiles; that request's result follows.
    ++app.doc.cancelled_jobs;
    app.set_status("cancelled a stale job (the parameters changed)");
    app.worker->recycle(std::move(r));
    return;
  }
  if (!r.race && r.id == app.doc.latest_id) app.doc.answered_id = r.id;
  if (!r.load_error.empty()) {
    app.set_error(r.load_error, "image");
    if (r.image.full) app.doc.image_path = r.image.path;  // keep showing what is loaded
    // Nothing was computed: the old image and its result stay on screen as they are.
    if (app.doc.have_result && !r.race && !r.conv.ran && !r.involution.ran) return;
  }
  if (r.race) {
    app.doc.race_rows = std::move(r.race_rows);
    app.doc.race_notice = r.notice;
    app.doc.race_running = false;
    *raced = true;
    return;
  }
  if (r.id != app.doc.latest_id) {  // a newer request is on its way
    app.worker->recycle(std::move(r));
    return;
  }
  if (!r.image.compute) return;  // the job failed before it had an image
  const bool new_image = !app.doc.image.full || app.doc.image.full != r.image.full;
  if (new_image) {
    // A new image loaded: an earlier image's load error is about a file no longer involved.
    if (r.load_error.empty()) app.clear_error("image");
    app.view.fit_view = true;
    if (app.doc.image.full) app.view.focus.pinned = false;  // a pin from the command line survives
    app.view.enlarged_map = -1;
  }
  app.doc.image = r.image;
  app.view.upload_queue.clear();  // it points into the result being replaced
  if (app.doc.have_result) app.worker->recycle(std::move(app.doc.result));
  app.doc.result = std::move(r);
  app.doc.have_result = true;
  app.doc.history_ms.push_back(static_cast<float>(app.doc.result.job_ms));
  while (app.doc.history_ms.size() > 120) app.doc.history_ms.pop_front();
  *upload = true;
  apply_pending_pins(app, app.doc.result.id);
}

// --groups G for involution needs the channel count: the compute used group channels C / G
// (or reported that G does not divide C); the settings now say so, and the slider shows it.
// Nothing to recompute.
void resolve_pending_involution_groups(AppState& app) {
  OpSettings& s = app.doc.settings;
  if (s.involution_groups <= 0 || !app.doc.image.compute) return;
  const int c = static_cast<int>(app.doc.image.compute->dim(1));
  if (c % s.involution_groups == 0) s.group_channels = c / s.involution_groups;
  s.involution_groups = 0;
}

// Weights that decide the shape (a file, learned weights) are not overruled by the sliders
// (core/op_settings.h spec_from_settings); once they have run, the sliders show the shape
// they decided (designed generators: apply_designed_shape). Nothing to recompute.
void show_the_shape_the_weights_decided(AppState& app) {
  OpSettings& s = app.doc.settings;
  const ComputeResult& r = app.doc.result;
  if ((s.weights != WeightSource::File && s.weights != WeightSource::Learned) ||
      r.id != app.doc.latest_id)
    return;
  if (r.conv.ran) {
    s.kernel_size = static_cast<int>(r.conv.conv.kernel_size);
    s.out_channels = static_cast<int>(r.conv.conv.out_channels);
  }
  if (r.involution.ran && !r.involution.notebook) {
    s.kernel_size = static_cast<int>(r.involution.involution.kernel_size);
    s.group_channels = static_cast<int>(r.involution.involution.group_channels);
    s.reduction = static_cast<int>(r.involution.involution.reduction);
  }
}

void submit(AppState& app, bool race) {
  ComputeRequest req;
  req.id = app.doc.next_id++;
  req.settings = app.doc.settings;
  req.image_path = app.doc.image_path;
  req.fallback_path = app.doc.default_image;
  req.race = race;
  if (!race) app.doc.latest_id = req.id;
  app.worker->submit(std::move(req));
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
double event_wait_seconds(const AppState& app, const FrameWork& work, bool worker_busy,
                          int extra_frames) {
  if (app.worker->has_result()) return 0;  // its wake-up event may already be spent
  if (!app.view.upload_queue.empty() || app.view.step.playing || app.demo.active ||
      !app.commands.empty() || work.race)
    return 0;
  // ImGui settles over a couple of frames after an event. While a job runs they wait for the
  // progress tick or the result (which brings its own): drawn at once, back to back, they
  // took the worker's cores (under software OpenGL a frame costs 25-40 ms of both cores).
  if (extra_frames > 0 && !worker_busy) return 0;
  if (worker_busy) return 0.1;
  return 0.5;  // a finished job's wake-up event ends the wait at once
}

// The worker's results onto the state, then the texture uploads, the compute request the
// commands asked for, and a race once the worker is idle.
void take_results_and_submit(AppState& app, Worker& worker, FrameWork* work,
                             ScriptedRun* scripted) {
  bool upload = false, raced = false;
  ComputeResult result;
  while (worker.poll(&result)) take_result(app, std::move(result), &upload, &raced);
  resolve_pending_involution_groups(app);
  show_the_shape_the_weights_decided(app);
  clear_stale_scene_note(app);
  scripted->on_results(app, upload, raced);
  if (upload || (work->redraw && app.doc.have_result)) {
    upload_result_textures(app);
    work->redraw = false;
  } else {
    pump_texture_uploads(app);
  }
  if (work->recompute) {
    work->recompute = false;
    submit(app, false);
  }
  // A race waits until the current computation is done, so it cannot displace it.
  if (work->race && !worker.busy()) {
    work->race = false;
    app.doc.race_running = true;
    app.doc.race_rows.clear();
    submit(app, true);
  }
}

// The menu, the panels and the windows over them, rendered into the back buffer. Returns
// where the panels went (for scripted runs).
std::vector<PanelRect> draw_frame(AppState& app, GLFWwindow* window) {
  if (app.view.colormap_pass) app.view.colormap_pass->begin_frame();
  ImGui_ImplOpenGL3_NewFrame();
  ImGui_ImplGlfw_NewFrame();
  ImGui::NewFrame();
  app.view.focus.hover = app.view.hover_next;
  app.view.focus.hover_x = app.view.hover_next_x;
  app.view.focus.hover_y = app.view.hover_next_y;
  app.view.hover_next = false;
  app.view.drawn_items.clear();
  handle_shortcuts(app, take_key_presses());
  update_step_through(app);
  update_learn(app);
  const float menu_h = draw_main_menu(app);
  std::vector<PanelRect> rects = draw_layout(app, menu_h);
  draw_demo_overlay(app);
  draw_help_window(app);
  handle_browser(app);
  ImGui::Render();

  int fb_w = 0, fb_h = 0;
  glfwGetFramebufferSize(window, &fb_w, &fb_h);
  glViewport(0, 0, fb_w, fb_h);
  const ImVec4 panel_bg = ImGui::GetStyle().Colors[ImGuiCol_WindowBg];  // panels draw none
  glClearColor(panel_bg.x, panel_bg.y, panel_bg.z, 1.0f);
  glClear(GL_COLOR_BUFFER_BIT);
  ImGui_ImplOpenGL3_RenderDrawData(ImGui::GetDrawData());
  return rects;
}

// The state at start-up: the bundled sample, the last session (interactive runs) or the
// one given, then the flags. False (and a message on stderr) when the flags are bad.
bool set_up_state(AppState& app, const cli::AppOptions& options, bool fresh) {
  app.assets_dir = find_assets_dir();
  if (!app.assets_dir.empty()) app.doc.default_image = app.assets_dir + "/samples/shapes.png";
  app.doc.image_path = app.doc.default_image;
  // Interactive runs continue the last session; scripted runs start clean unless asked.
  std::string error;
  const std::string session =
      options.session.empty() && !fresh ? default_session_path() : options.session;
  std::error_code ec;
  if (!session.empty() && (fs::exists(session, ec) || !options.session.empty())) {
    // The app's own session names whatever the user opened; a given one says where it reads.
    std::vector<std::string> notes;
    if (load_session(session, &app, &error, options.session.empty() ? nullptr : &notes))
      app.doc.session_path = session;
    else
      app.set_error(error, "session");
    for (const std::string& note : notes) app.set_status(note);
  }
  try {
    apply_options(options, &app);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "kernelscope: error: %s\n", e.what());
    return false;
  }
  return true;
}

}  // namespace

int run_desktop_app(const cli::AppOptions& options) {
  ScriptedRun scripted(options);
  AppProfiler profiler(options.profile);
  // Scripted and profiled runs: the exact window size, no vsync, no mouse, no session.
  const bool exact = scripted.active() || profiler.enabled();
  GLFWwindow* window = open_window(options.width, options.height, exact);
  if (!window) return 1;

  AppState app;
  if (!set_up_state(app, options, exact)) {
    close_window(window, false);
    return 2;
  }
  app.commands.post(cmd::Recompute{});  // the first result
  int exit_code = 0;
  const float content_scale = window_content_scale(window);
  float applied_scale = effective_ui_scale(app) * content_scale;
  app.view.big_font = start_imgui(window, exact, applied_scale);

  std::string error;
  ColormapPass colormap;
  if (!colormap.init(&error)) {
    std::fprintf(stderr, "kernelscope: %s\n", error.c_str());
    exit_code = 1;
  }
  {
    Worker worker;
    app.worker = &worker;
    app.view.colormap_pass = &colormap;
    // A finished job wakes the loop at once, however long it was waiting for events.
    worker.set_on_result([] { glfwPostEmptyEvent(); });
    FrameWork work;
    int extra_frames = 3;            // ImGui settles over a couple of frames after each event
    bool profile_finishing = false;  // --profile has reported: exports, screenshot, exit

    const auto start = std::chrono::steady_clock::now();
    scripted.begin(app);
    while (!glfwWindowShouldClose(window) && exit_code == 0) {
      // --profile waits for events as a user's session does (a job in flight draws a frame
      // every 100 ms, not as many as it can, which would take the worker's cores).
      const bool interactive = !scripted.active() && !profile_finishing;
      const double wait_s =
          interactive ? event_wait_seconds(app, work, worker.busy(), extra_frames) : 0.0;
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
      for (std::string& path : take_dropped_paths())
        app.commands.post(cmd::OpenPath{std::move(path)});
      advance_demo_on_timer(app);
      carry_out_commands(app, &work);
      if (work.quit) break;

      take_results_and_submit(app, worker, &work, &scripted);

      // The UI scale applies once the slider is let go, not on every drag step.
      const float wanted_scale = effective_ui_scale(app) * content_scale;
      if (wanted_scale != applied_scale && !ImGui::IsMouseDown(ImGuiMouseButton_Left)) {
        applied_scale = wanted_scale;
        app.view.big_font = setup_style_and_fonts(applied_scale, true);
      }

      const std::vector<PanelRect> rects = draw_frame(app, window);

      carry_out_after_render(app, window, &work);

      if (profile_finishing) {
        finish_profile(app, window, options);
        glfwSwapBuffers(window);
        break;
      }
      if (scripted.after_frame(app, window, rects, worker.busy() || work.race, &exit_code)) {
        glfwSwapBuffers(window);
        break;
      }
      glfwSwapBuffers(window);
      app.view.render_ms =
          std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - frame_start)
              .count() -
          app.view.frame_upload_ms;
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
      if (!scripted.active() && !profiler.enabled()) {
        // Without vsync (some drivers, remote displays) cap the loop near 120 FPS.
        const auto spent = std::chrono::steady_clock::now() - frame_start;
        if (spent < std::chrono::milliseconds(8))
          std::this_thread::sleep_for(std::chrono::milliseconds(8) - spent);
      }
    }
    if (!scripted.active() && !profiler.enabled()) {
      const std::string path = default_session_path();
      if (!path.empty() && !save_session(path, app, &error))
        std::fprintf(stderr, "kernelscope: %s\n", error.c_str());
    }
    app.view.conv_view.release();
    app.view.involution_view.release();
    if (app.view.input_texture) glDeleteTextures(1, &app.view.input_texture);
    app.worker = nullptr;
  }  // the worker joins here, before the GL context goes away
  colormap.shutdown();
  close_window(window, true);
  return exit_code;
}

}  // namespace ks::app
