// Everything the panels share, in three parts: the document (the settings and their
// results), the view (textures, zoom, pins) and the command queue (commands.h).
#pragma once

#include <chrono>
#include <deque>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "core/compute.h"
#include "core/worker.h"
#include "gui/commands.h"
#include "gui/gl_util.h"
#include "gui/settings.h"

struct ImFont;

namespace ks::app {

struct LearnPanelState;  // panels/learn_panel.h

// One operation's output as shown: a texture per output channel, plus the involution
// kernel-sum heatmap.
struct LayerView {
  std::vector<MapTexture> maps;
  std::vector<ValueRange> ranges;  // the range each map is drawn with
  ValueRange layer_range;
  GLuint composite = 0;  // RGB composite when there are 3 channels
  int composite_w = 0, composite_h = 0;
  MapTexture kernel_sum;
  ValueRange kernel_sum_range;
  Colormap kernel_sum_map = Colormap::Diverging;
  const char* kernel_sum_label = "kernel sum";
  void release();
};

// Where the user is looking, in input-image pixel coordinates: the centre of the receptive
// field of the hovered output pixel, or the pixel under the cursor on the input.
struct Focus {
  bool hover = false;
  int hover_x = 0, hover_y = 0;
  bool pinned = false;
  int pin_x = 0, pin_y = 0;
  // A second pin (shift-click): the Kernels panel then compares A and B side by side.
  bool pinned_b = false;
  int pin_b_x = 0, pin_b_y = 0;
  // The point kernels and receptive fields are shown for: hover, else pin, else centre.
  bool current(int* x, int* y) const;
};

// Which tab of the step-through to bring to the front on the next frame.
enum class StepTab { Keep, Convolution, Involution, Compare };

// The step-through: one output pixel of one channel taken apart (explain.h). Playing moves
// the pixel in raster order (row by row); the pixel is mirrored into the pin so the Input
// panel outlines its receptive field.
struct StepThrough {
  bool active = false;
  bool involution = false;  // which operation the panel explains ("both" shows a tab each)
  bool compare = false;     // the "Compare" tab is open
  StepTab select_tab = StepTab::Keep;  // a scene or --step-compare picks the tab
  int channel = 0;
  int i = 0, j = 0;  // output row and column
  bool playing = false;
  float speed = 6.0f;          // output pixels per second while playing
  double carry = 0;            // fraction of a step accumulated between frames
  bool synced = false;         // i, j follow the pin until the first step
  int pin_x = -1, pin_y = -1;  // the pin as the step-through last set it
  int export_frames = 12;
};

// Pins and the step-through's pixel waiting for the result they belong to. A scene's pixel,
// or the setup demo mode restores, is in the coordinates of an image still being loaded:
// applied against the image on screen it would be clamped to that image's size.
struct PendingPins {
  bool active = false;
  uint64_t first_id = 0;    // results of requests from this id on show the new image
  Focus focus;              // the pins to set
  bool step_given = false;  // the step-through goes to (step_i, step_j), else follows the pin
  int step_i = 0, step_j = 0;
  int step_pin_x = -1, step_pin_y = -1;
  int step_channel = -1;  // -1: keep
};

// What the user had before demo mode replaced it with scenes; leaving demo mode restores it.
struct SavedSetup {
  OpSettings settings;
  Colormap colormap = Colormap::Diverging;
  std::string image_path, scene_caption, scene_name;
  OpSettings scene_settings;
  std::string scene_image;
  Focus focus;
  int step_i = 0, step_j = 0, step_channel = 0, step_pin_x = -1, step_pin_y = -1;
  bool step_synced = false, step_involution = false;
};

// Demo mode: the scenes of assets/presets one after another, caption shown large.
struct DemoMode {
  bool active = false;
  std::vector<std::string> scenes;
  int index = 0;
  // Off by default: a lecturer talking over a scene should not lose it to a timer.
  bool auto_advance = false;
  float seconds = 12.0f;  // per scene when auto-advancing
  double shown_at = 0;    // ImGui time the current scene appeared
  SavedSetup saved;       // the user's setup from before demo mode
};

// The document: what is computed. The operation's settings and image, the requests sent to
// the worker and the result on screen, the race and the open scene. Saved in the session
// (with the view's settings).
struct Document {
  OpSettings settings;
  std::string image_path;     // what is shown (or being loaded); "" = built-in test pattern
  std::string default_image;  // the bundled sample shown first, and the fallback
  std::string session_path;

  uint64_t next_id = 1;
  uint64_t latest_id = 0;    // newest compute request; older results are stale
  uint64_t answered_id = 0;  // the newest request whose result (or failure) has arrived
  int cancelled_jobs = 0;    // jobs a newer request stopped before they finished

  bool have_result = false;
  ComputeResult result;  // the result on screen
  ImageSlot image;
  std::deque<float> history_ms;  // compute time of recent results

  std::vector<RaceRow> race_rows;
  bool race_running = false;
  std::string race_notice;

  std::string scene_caption;  // what the open scene teaches, shown above the parameters
  std::string scene_name;     // the open scene's title
  // The settings and image the open scene set up: once a parameter differs, its caption no
  // longer describes the screen and is cleared (demo.h).
  OpSettings scene_settings;
  std::string scene_image;
};

// The view: how the document is shown. The saved view settings (colour map, scaling,
// layout), the textures, zoom and pins, the step-through and the window's modes.
struct ViewState {
  ViewSettings settings;
  ColormapPass* colormap_pass = nullptr;

  GLuint input_texture = 0;
  const void* input_rgb_uploaded = nullptr;  // the ImageSlot::rgb the texture holds
  int input_tex_w = 0, input_tex_h = 0;
  LayerView conv_view, involution_view;
  // Texture uploads of the result on screen still to do, a few per frame (display.cpp).
  std::vector<std::function<void()>> upload_queue;
  double draw_ms = 0;    // texture upload + colour-map pass of the last result
  double upload_ms = 0;  // of the uploads so far (they are spread over frames)
  // The last frame's own cost without its uploads, and this frame's uploads: they decide how
  // much of the queue the next frame takes (upload_budget_ms).
  double render_ms = 0;
  double frame_upload_ms = 0;

  Focus focus;
  // Panels report hover here while drawing; it becomes focus.hover at the next frame, so
  // every panel draws the same focus within a frame whatever their order.
  bool hover_next = false;
  int hover_next_x = 0, hover_next_y = 0;
  // Pins waiting for the result of the image they belong to.
  PendingPins pending_pins;
  // Input view: screen pixels per image pixel and the image point at the view's centre.
  float zoom = 1.0f;
  float centre_x = 0, centre_y = 0;
  bool fit_view = true;   // the Input panel fits the image when it next draws
  int kernel_group = 0;   // involution group whose kernels the field/heatmap shows
  int enlarged_map = -1;  // feature map shown large, -1 none
  bool enlarged_involution = false;

  StepThrough step;
  ImFont* big_font = nullptr;         // twice the UI font: demo captions for projectors
  bool show_help = false;             // Help > Guide (F1)
  float help_rect[4] = {0, 0, 0, 0};  // where the guide was drawn (x y w h), for scripted runs
  // The presentation view (F11, View menu, --present): presentation_layout.h. Not saved in
  // the session: a lecture turns it on, the next desktop session starts in the normal grid.
  bool presentation = false;
  // Presentation view in demo mode: the band (x y w h) the demo caption fills, so it never
  // covers a panel.
  float caption_band[4] = {0, 0, 0, 0};
  // Where marked items were drawn this frame (the step-through's result line, its
  // generation chain, its visible body), for scripted runs to check nothing needs scrolling.
  struct DrawnItem {
    std::string name;
    float x, y, w, h;
  };
  std::vector<DrawnItem> drawn_items;
};

// The app: the document, its view and the commands that change them, plus what runs beside
// them (the worker, demo mode, the Learn panel) and the messages shown to the user. Owned by
// run_desktop_app, used on the UI thread only.
struct AppState {
  Document doc;
  ViewState view;
  // Requests from menus, keys and panels, carried out by the frame loop in order.
  CommandQueue commands;

  Worker* worker = nullptr;
  DemoMode demo;
  std::string assets_dir;  // where the bundled samples live ("" when not found)
  // The Learn panel and its training thread (panels/learn_panel.h), made when first opened.
  std::shared_ptr<LearnPanelState> learn;

  // Messages: the last error (red) and the last "wrote ..." or notice line.
  // An error names its cause ("image", "export", "session", "scene"), and is cleared when
  // that kind of action next succeeds: a message about a file that is no longer open does
  // not stay next to unrelated ones.
  std::string error;
  std::string error_cause;
  std::string status;
  std::chrono::steady_clock::time_point status_time;
  void set_status(const std::string& text);
  void set_error(const std::string& text, const std::string& cause = "");
  void clear_error(const std::string& cause);
};

// An engine or preset message in the app's words: a command-line flag it names becomes the
// app's control ("raise it with --max-memory-mb" -> "raise memory cap MiB, under compute").
std::string in_app_terms(std::string message);

// Display helpers shared by the panels.
std::string operation_label(Operation op);
// The output pixel whose receptive field is centred nearest to input pixel (x, y), or false
// when the parameters are invalid. For convolution (involution=false) and involution.
bool output_pixel_for(const AppState& app, bool involution, int x, int y, int* ox, int* oy);
// Receptive field of output pixel (ox, oy) in input coordinates: top-left and extent.
void receptive_field(const AppState& app, bool involution, int ox, int oy, int* x0, int* y0,
                     int* extent, int* step);
// Queues the current result's image and maps for upload into textures (after a result or
// view change) and does the first of them; pump_texture_uploads does the rest, a frame's
// budget at a time, and returns true while some remain.
void upload_result_textures(AppState& app);
bool pump_texture_uploads(AppState& app);
// How many milliseconds of uploads a frame takes when drawing it costs render_ms: what keeps
// the frame near kFrameTargetMs, at least kUploadBudgetMs. Where drawing alone already takes
// longer (a software renderer), the target is out of reach and spreading the uploads thinly
// would only add slow frames before the result is complete: a frame then takes as much
// upload work as it costs to draw, at most doubling it.
constexpr double kFrameTargetMs = 33;
constexpr double kUploadBudgetMs = 12;
double upload_budget_ms(double render_ms);

}  // namespace ks::app
