// End-to-end tests of the desktop app: each case runs the real kernelscope binary (under
// xvfb-run where it needs a display) in scripted mode and checks the screenshot's pixels,
// the exported files and the messages. Exit 0 = pass, 1 = fail, 77 = skip (no xvfb-run).
//
//   app_test_driver CASE KERNELSCOPE_BINARY WORK_DIR
#include <sys/wait.h>

#include <algorithm>

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "kernelscope/backend.h"
#include "kernelscope/colormap.h"
#include "kernelscope/io.h"
#include "kernelscope/ops.h"

namespace fs = std::filesystem;

namespace {

std::string g_binary;
fs::path g_work;
int g_failures = 0;

#define CHECK(cond, ...)                                                   \
  do {                                                                     \
    if (!(cond)) {                                                         \
      std::fprintf(stderr, "FAIL %s:%d: %s: ", __FILE__, __LINE__, #cond); \
      std::fprintf(stderr, __VA_ARGS__);                                   \
      std::fprintf(stderr, "\n");                                          \
      ++g_failures;                                                        \
    }                                                                      \
  } while (0)

struct Run {
  int exit_code = -1;
  std::string out, err;
};

std::string read_text(const fs::path& p) {
  std::ifstream in(p);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

bool have_xvfb() { return std::system("command -v xvfb-run >/dev/null 2>&1") == 0; }

// Runs the app with `args` under a fresh virtual X server of the given size.
Run run_app(const std::string& args, int width = 1600, int height = 1000, bool display = true) {
  const fs::path out = g_work / "stdout.txt", err = g_work / "stderr.txt";
  std::string cmd;
  if (display)
    cmd = "xvfb-run -a -s \"-screen 0 " + std::to_string(width) + "x" + std::to_string(height) +
          "x24\" ";
  else
    cmd = "env -u DISPLAY -u WAYLAND_DISPLAY ";
  // The test must not read or write the developer's own session.
  cmd = "XDG_CONFIG_HOME=" + (g_work / "config").string() + " " + cmd + "'" + g_binary + "' " +
        args + " >'" + out.string() + "' 2>'" + err.string() + "'";
  const int status = std::system(cmd.c_str());
  Run r;
  r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  r.out = read_text(out);
  r.err = read_text(err);
  if (r.exit_code != 0)
    std::fprintf(stderr, "command: %s\nexit %d\nstdout:\n%s\nstderr:\n%s\n", cmd.c_str(),
                 r.exit_code, r.out.c_str(), r.err.c_str());
  return r;
}

struct Rect {
  int x = 0, y = 0, w = 0, h = 0;
};

// Panel rectangles from the lines `kernelscope: panel "Name" x y w h`.
std::map<std::string, Rect> panels(const std::string& out) {
  std::map<std::string, Rect> rects;
  std::istringstream in(out);
  std::string line;
  while (std::getline(in, line)) {
    const std::string tag = "kernelscope: panel \"";
    if (line.rfind(tag, 0) != 0) continue;
    const size_t end = line.find('"', tag.size());
    Rect r;
    std::istringstream nums(line.substr(end + 1));
    nums >> r.x >> r.y >> r.w >> r.h;
    rects[line.substr(tag.size(), end - tag.size())] = r;
  }
  return rects;
}

struct Stats {
  double mean = 0, stddev = 0;
  double reddish = 0;    // fraction of clearly red pixels (the error colour)
  double colourful = 0;  // fraction of pixels with a channel spread above 0.25
};

Stats region_stats(const ks::Tensor& img, Rect r) {
  Stats s;
  const int64_t h = img.dim(2), w = img.dim(3);
  double sum = 0, sq = 0;
  int64_t n = 0;
  for (int64_t y = std::max(0, r.y); y < std::min<int64_t>(h, r.y + r.h); ++y)
    for (int64_t x = std::max(0, r.x); x < std::min<int64_t>(w, r.x + r.w); ++x) {
      const float R = img.at(0, 0, y, x), G = img.at(0, 1, y, x), B = img.at(0, 2, y, x);
      const double l = (R + G + B) / 3.0;
      sum += l;
      sq += l * l;
      ++n;
      if (R > 0.8f && G > 0.3f && G < 0.6f && B > 0.25f && B < 0.55f) s.reddish += 1;
      if (std::max({R, G, B}) - std::min({R, G, B}) > 0.25f) s.colourful += 1;
    }
  if (n == 0) return s;
  s.mean = sum / n;
  s.stddev = std::sqrt(std::max(0.0, sq / n - s.mean * s.mean));
  s.reddish /= n;
  s.colourful /= n;
  return s;
}

bool contains(const std::string& text, const std::string& what) {
  return text.find(what) != std::string::npos;
}

// The default scene renders, every panel is where the layout says and is not blank.
void check_scene(int width, int height, const std::string& extra) {
  const fs::path shot = g_work / ("scene-" + std::to_string(width) + ".png");
  const Run r = run_app("--screenshot '" + shot.string() + "' --width " + std::to_string(width) +
                            " --height " + std::to_string(height) + " " + extra,
                        width, height);
  CHECK(r.exit_code == 0, "app exited with %d", r.exit_code);
  CHECK(fs::exists(shot), "no screenshot at %s", shot.c_str());
  if (!fs::exists(shot)) return;
  const ks::Tensor img = ks::load_image(shot.string());
  CHECK(img.dim(3) == width && img.dim(2) == height, "screenshot is %lldx%lld",
        static_cast<long long>(img.dim(3)), static_cast<long long>(img.dim(2)));
  const auto rects = panels(r.out);
  for (const char* name : {"Parameters", "Input", "Kernels", "Feature maps", "Timing"}) {
    CHECK(rects.count(name), "panel %s not reported", name);
    if (!rects.count(name)) continue;
    const Rect p = rects.at(name);
    CHECK(p.x >= 0 && p.y >= 0 && p.x + p.w <= width + 1 && p.y + p.h <= height + 1 && p.w > 200 &&
              p.h > 100,
          "panel %s at %d %d %d %d does not fit %dx%d", name, p.x, p.y, p.w, p.h, width, height);
    const Stats s = region_stats(img, p);
    CHECK(s.stddev > 0.03, "panel %s looks blank (stddev %.4f)", name, s.stddev);
  }
  // The sample image (orange disc, green square) shows in the input panel, and colour-mapped
  // maps (diverging map: blues and oranges) fill the feature-map panel.
  if (rects.count("Input"))
    CHECK(region_stats(img, rects.at("Input")).colourful > 0.15, "input panel shows no image");
  if (rects.count("Feature maps"))
    CHECK(region_stats(img, rects.at("Feature maps")).colourful > 0.15,
          "feature maps panel shows no colour-mapped maps");
  if (rects.count("Parameters"))
    CHECK(region_stats(img, rects.at("Parameters")).colourful < 0.15,
          "parameters panel should be mostly text");
}

// The same app, two parameter sets: the exported feature maps and the screenshot's
// feature-map region must differ.
void check_parameter_change() {
  const fs::path a = g_work / "params-a", b = g_work / "params-b";
  fs::remove_all(a);
  fs::remove_all(b);
  const Run ra = run_app("--op conv --kernel identity --out-channels 3 --screenshot '" +
                         (a / "shot.png").string() + "' --export-dir '" + a.string() + "'");
  const Run rb = run_app("--op conv --kernel sobel_x --out-channels 3 --screenshot '" +
                         (b / "shot.png").string() + "' --export-dir '" + b.string() + "'");
  CHECK(ra.exit_code == 0 && rb.exit_code == 0, "runs failed");
  auto find = [](const fs::path& dir, const std::string& suffix) {
    std::error_code ec;
    for (const auto& e : fs::directory_iterator(dir, ec))
      if (e.path().filename().string().size() > suffix.size() &&
          e.path().filename().string().rfind(suffix) ==
              e.path().filename().string().size() - suffix.size())
        return e.path();
    return fs::path();
  };
  const fs::path npy_a = find(a, "conv-maps.npy"), npy_b = find(b, "conv-maps.npy");
  CHECK(!npy_a.empty() && !npy_b.empty(), "conv-maps.npy missing");
  if (npy_a.empty() || npy_b.empty()) return;
  const ks::Tensor ma = ks::load_npy(npy_a.string()), mb = ks::load_npy(npy_b.string());
  CHECK(ma.shape == mb.shape, "shapes differ");
  // Identity with 3 output channels reproduces the input image exactly.
  const fs::path input_npy = find(a, "input.npy");
  if (!input_npy.empty()) {
    const ks::Tensor in = ks::load_npy(input_npy.string());
    double max_diff = 0;
    for (size_t i = 0; i < in.data.size() && i < ma.data.size(); ++i)
      max_diff = std::max(max_diff, static_cast<double>(std::fabs(in.data[i] - ma.data[i])));
    CHECK(in.shape == ma.shape && max_diff < 1e-5, "identity output != input (max diff %g)",
          max_diff);
  }
  double diff = 0;
  for (size_t i = 0; i < ma.data.size() && i < mb.data.size(); ++i)
    diff += std::fabs(ma.data[i] - mb.data[i]);
  CHECK(diff / ma.data.size() > 0.05, "feature maps did not change (mean |diff| %g)",
        diff / ma.data.size());
  // And on screen.
  const auto rects = panels(ra.out);
  if (rects.count("Feature maps") && fs::exists(a / "shot.png") && fs::exists(b / "shot.png")) {
    const ks::Tensor sa = ks::load_image((a / "shot.png").string());
    const ks::Tensor sb = ks::load_image((b / "shot.png").string());
    const Rect m = rects.at("Feature maps");
    double screen_diff = 0;
    int64_t n = 0;
    for (int y = m.y; y < m.y + m.h; ++y)
      for (int x = m.x; x < m.x + m.w; ++x, ++n)
        for (int c = 0; c < 3; ++c) screen_diff += std::fabs(sa.at(0, c, y, x) - sb.at(0, c, y, x));
    CHECK(screen_diff / n > 0.02, "feature-map region of the screenshots did not change (%g)",
          screen_diff / n);
  }
}

// A missing image: the app still renders (exit 0), shows the error in the window (red text
// in the menu bar) and logs it, and falls back to the bundled sample.
void check_bad_image() {
  const fs::path shot = g_work / "bad-image.png";
  const Run r = run_app("--input /nonexistent/picture.png --screenshot '" + shot.string() + "'");
  CHECK(r.exit_code == 0, "app exited with %d", r.exit_code);
  CHECK(contains(r.err, "nonexistent/picture.png"), "stderr does not name the bad file: %s",
        r.err.c_str());
  CHECK(contains(r.out, "shown error:"), "no error shown in the app: %s", r.out.c_str());
  if (!fs::exists(shot)) {
    CHECK(false, "no screenshot");
    return;
  }
  const ks::Tensor img = ks::load_image(shot.string());
  const auto rects = panels(r.out);
  const int menu_h = rects.count("Parameters") ? rects.at("Parameters").y : 24;
  const Stats bar = region_stats(img, Rect{0, 0, static_cast<int>(img.dim(3)), menu_h});
  CHECK(bar.reddish > 0.002, "no red error text in the menu bar (%.4f)", bar.reddish);
  if (rects.count("Input"))
    CHECK(region_stats(img, rects.at("Input")).colourful > 0.15,
          "the input panel should still show an image");
}

// Export writes what it says: every "wrote" line names an existing, non-empty file, and
// there is a PNG and an .npy for each panel.
void check_export() {
  const fs::path dir = g_work / "export";
  fs::remove_all(dir);
  const Run r = run_app("--compare --screenshot '" + (dir / "window.png").string() +
                        "' --export-dir '" + dir.string() + "'");
  CHECK(r.exit_code == 0, "app exited with %d", r.exit_code);
  std::istringstream in(r.out);
  std::string line;
  int wrote = 0, png = 0, npy = 0;
  while (std::getline(in, line)) {
    const std::string tag = "kernelscope: wrote ";
    if (line.rfind(tag, 0) != 0) continue;
    const fs::path p = line.substr(tag.size());
    ++wrote;
    std::error_code ec;
    CHECK(fs::exists(p) && fs::file_size(p, ec) > 100, "%s missing or empty", p.c_str());
    if (p.extension() == ".png") {
      ++png;
      if (fs::exists(p)) CHECK(ks::load_image(p.string()).numel() > 0, "%s unreadable", p.c_str());
    }
    if (p.extension() == ".npy") {
      ++npy;
      if (fs::exists(p)) CHECK(ks::load_npy(p.string()).numel() > 0, "%s unreadable", p.c_str());
    }
  }
  // input, conv kernels, involution kernels, conv maps, involution maps + the window.
  CHECK(png >= 6 && npy >= 5, "expected >= 6 PNG and >= 5 npy, got %d and %d (%d lines)", png, npy,
        wrote);
}

// Real input through the X server (xdotool): hover, click to pin, wheel to zoom, F12 for a
// screenshot, Ctrl+Q to quit; quitting saves the session under $XDG_CONFIG_HOME.
void check_interactive() {
  const fs::path exports = g_work / "exports", config = g_work / "config";
  fs::remove_all(exports);
  fs::remove_all(config);
  const fs::path script = g_work / "interact.sh";
  std::ofstream(script)
      << "\"$1\" --export-dir \"$2\" --width 1600 --height 1000 &\n"
         "pid=$!\n"
         "sleep 6\n"
         "xdotool mousemove 560 330 click 1\n"
         "for i in 1 2 3 4 5 6; do xdotool click 4; done\n"
         "sleep 1\n"
         "xdotool key F12\n"
         "sleep 2\n"
         "xdotool key ctrl+q\n"
         "for i in $(seq 1 30); do kill -0 $pid 2>/dev/null || break; sleep 0.5; "
         "done\n"
         "if kill -0 $pid 2>/dev/null; then kill $pid; echo 'did not quit'; exit 9; "
         "fi\n"
         "wait $pid\n";
  const std::string cmd = "XDG_CONFIG_HOME='" + config.string() +
                          "' xvfb-run -a -s \"-screen 0 1600x1000x24\" sh '" + script.string() +
                          "' '" + g_binary + "' '" + exports.string() + "' >'" +
                          (g_work / "out.txt").string() + "' 2>&1";
  const int status = std::system(cmd.c_str());
  const int code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  const std::string out = read_text(g_work / "out.txt");
  CHECK(code == 0, "interactive run exited with %d:\n%s", code, out.c_str());
  int shots = 0;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(exports, ec))
    if (e.path().extension() == ".png" && ks::load_image(e.path().string()).numel() > 0) ++shots;
  CHECK(shots >= 1, "F12 wrote no screenshot into %s:\n%s", exports.c_str(), out.c_str());
  const std::string session = read_text(config / "kernelscope" / "session.json");
  CHECK(contains(session, "\"image\"") && contains(session, "\"layout\""),
        "no session saved on quit: '%s'", session.c_str());
}

void check_no_display() {
  const Run r = run_app("", 0, 0, /*display=*/false);
  CHECK(r.exit_code != 0, "no display should fail, got exit 0");
  CHECK(contains(r.err, "kernelscope run"), "message does not point at `kernelscope run`: %s",
        r.err.c_str());
  CHECK(std::count(r.err.begin(), r.err.end(), '\n') == 1, "expected one line, got: %s",
        r.err.c_str());
}

// "kernelscope: step-through conv channel 0 pixel 3 0 explained X output Y": the explained
// total and the feature map's value. Returns false when the line is missing.
bool step_line(const std::string& out, std::string* op, double* explained, double* output) {
  const size_t at = out.find("kernelscope: step-through ");
  if (at == std::string::npos) return false;
  const std::string line = out.substr(at, out.find('\n', at) - at);
  char kind[32] = {0};
  int channel = 0, i = 0, j = 0;
  if (std::sscanf(line.c_str(),
                  "kernelscope: step-through %31s channel %d pixel %d %d explained %lf output %lf",
                  kind, &channel, &i, &j, explained, output) != 6)
    return false;
  *op = kind;
  return true;
}

fs::path find_file(const fs::path& dir, const std::string& suffix) {
  std::error_code ec;
  for (const auto& e : fs::recursive_directory_iterator(dir, ec)) {
    const std::string name = e.path().filename().string();
    if (name.size() >= suffix.size() &&
        name.compare(name.size() - suffix.size(), suffix.size(), suffix) == 0)
      return e.path();
  }
  return {};
}

// The step-through panel is on screen and not blank, and the sum it prints is the value of
// the feature map at that pixel: at a border pixel (padding) for conv, and for involution
// with stride 2 on the reference backend, bit for bit.
void check_step_through() {
  struct Case {
    std::string args;
    std::string op;
    bool exact;
  };
  const Case cases[] = {
      {"--op conv --pin 0 5", "conv", false},
      {"--op involution --kernel-size 5 --stride 2 --backend cpu-ref --pin 100 60", "involution",
       true},
  };
  int n = 0;
  for (const Case& c : cases) {
    const fs::path shot = g_work / ("step-" + std::to_string(n++) + ".png");
    const Run r = run_app("--step-through --screenshot '" + shot.string() + "' " + c.args);
    CHECK(r.exit_code == 0, "app exited with %d", r.exit_code);
    const auto rects = panels(r.out);
    CHECK(rects.count("Step-through"), "no Step-through panel reported:\n%s", r.out.c_str());
    CHECK(!rects.count("Kernels"), "the step-through replaces the Kernels panel");
    std::string op;
    double explained = 0, output = 0;
    CHECK(step_line(r.out, &op, &explained, &output), "no step-through line:\n%s", r.out.c_str());
    CHECK(op == c.op, "explained %s, expected %s", op.c_str(), c.op.c_str());
    if (c.exact)
      CHECK(explained == output, "explained %.9g != output %.9g", explained, output);
    else
      CHECK(std::fabs(explained - output) <= 1e-5 * (1 + std::fabs(output)),
            "explained %.9g != output %.9g", explained, output);
    if (!fs::exists(shot) || !rects.count("Step-through")) continue;
    const ks::Tensor img = ks::load_image(shot.string());
    const Stats s = region_stats(img, rects.at("Step-through"));
    CHECK(s.stddev > 0.05, "step-through panel looks blank (stddev %.4f)", s.stddev);
  }
}

// The notebook variant on a 220 x 220 input gives 218 x 218 maps (K = 3, no padding), and
// its step-through sum equals the output.
void check_notebook_variant() {
  const fs::path input = g_work / "input220.npy", dir = g_work / "exports";
  fs::remove_all(dir);
  ks::Tensor t({1, 3, 220, 220});
  for (size_t i = 0; i < t.data.size(); ++i)
    t.data[i] = static_cast<float>((i * 2654435761u) % 1000) / 1000.0f;
  ks::save_npy(input.string(), t);
  const Run r =
      run_app("--variant notebook --step-through --input '" + input.string() + "' --export-dir '" +
              dir.string() + "' --screenshot '" + (dir / "shot.png").string() + "'");
  CHECK(r.exit_code == 0, "app exited with %d", r.exit_code);
  const fs::path maps = find_file(dir, "involution-maps.npy");
  CHECK(!maps.empty(), "no involution-maps.npy in %s", dir.c_str());
  if (!maps.empty()) {
    const ks::Tensor m = ks::load_npy(maps.string());
    CHECK(m.shape == (ks::Shape{1, 3, 218, 218}), "notebook output is %s, expected [1,3,218,218]",
          ks::shape_to_string(m.shape).c_str());
  }
  std::string op;
  double explained = 0, output = 0;
  CHECK(step_line(r.out, &op, &explained, &output), "no step-through line:\n%s", r.out.c_str());
  CHECK(op == "notebook", "explained %s, expected the notebook variant", op.c_str());
  CHECK(explained == output, "explained %.9g != output %.9g", explained, output);
  CHECK(!contains(r.out, "shown error:"), "an error was shown:\n%s", r.out.c_str());
}

// Demo mode opens the first scene and advances: three different scenes, in order, each with
// its caption, and the caption bar is drawn.
void check_demo_mode() {
  const fs::path shot = g_work / "demo.png";
  const Run r = run_app("--demo 3 --screenshot '" + shot.string() + "'");
  CHECK(r.exit_code == 0, "app exited with %d", r.exit_code);
  std::vector<std::string> names;
  std::istringstream in(r.out);
  std::string line;
  while (std::getline(in, line)) {
    const std::string tag = "kernelscope: demo scene ";
    if (line.rfind(tag, 0) != 0) continue;
    const size_t q = line.find('"');
    names.push_back(line.substr(q + 1, line.find('"', q + 1) - q - 1));
    CHECK(contains(line, std::to_string(names.size()) + "/"), "scene %zu out of order: %s",
          names.size(), line.c_str());
    CHECK(line.size() > line.find("\": ") + 20, "scene without a caption: %s", line.c_str());
  }
  CHECK(names.size() == 3, "expected 3 demo scenes, got %zu:\n%s", names.size(), r.out.c_str());
  if (names.size() == 3)
    CHECK(names[0] != names[1] && names[1] != names[2], "the demo did not advance: %s, %s, %s",
          names[0].c_str(), names[1].c_str(), names[2].c_str());
  if (fs::exists(shot)) {
    const ks::Tensor img = ks::load_image(shot.string());
    const int w = static_cast<int>(img.dim(3)), h = static_cast<int>(img.dim(2));
    // The caption bar spans the bottom centre of the window.
    const Stats bar = region_stats(img, Rect{w / 4, h - h / 6, w / 2, h / 8});
    CHECK(bar.stddev > 0.05, "no demo caption bar (stddev %.4f)", bar.stddev);
  }
}

// The scenes of assets/presets in demo order, with what a scene says about itself: its
// pixel [row, column], stride, operation and kernel size (absent fields: the defaults).
struct SceneFacts {
  std::string file;
  int row = -1, col = -1, stride = 1, kernel = 3;
  std::string op = "conv";
};

int json_int_after(const std::string& text, const std::string& key, int fallback) {
  const size_t at = text.find("\"" + key + "\"");
  if (at == std::string::npos) return fallback;
  const size_t digits = text.find_first_of("0123456789", at + key.size() + 2);
  return digits == std::string::npos ? fallback : std::atoi(text.c_str() + digits);
}

std::vector<SceneFacts> scene_facts() {
  std::vector<fs::path> files;
  for (const auto& e : fs::directory_iterator(fs::path(KS_ASSET_DIR) / "presets"))
    if (e.path().extension() == ".json") files.push_back(e.path());
  std::sort(files.begin(), files.end());
  std::vector<SceneFacts> scenes;
  for (const fs::path& f : files) {
    const std::string text = read_text(f);
    SceneFacts s;
    s.file = f.filename().string();
    const size_t pixel = text.find("\"pixel\"");
    if (pixel != std::string::npos)
      std::sscanf(text.c_str() + text.find('[', pixel), "[%d , %d]", &s.row, &s.col);
    s.stride = json_int_after(text, "stride", 1);
    s.kernel = json_int_after(text, "kernel_size", 3);
    if (contains(text, "\"op\": \"involution\"") || contains(text, "designed:"))
      s.op = "involution";
    scenes.push_back(s);
  }
  return scenes;
}

// A walk through every scene after every other scene (each ordered pair once: an Euler
// circuit of the complete directed graph), as numbers from 1.
std::vector<int> every_scene_after_every_other(int n) {
  std::vector<std::vector<int>> next(static_cast<size_t>(n));
  for (int a = 0; a < n; ++a)
    for (int b = n - 1; b >= 0; --b)
      if (a != b) next[static_cast<size_t>(a)].push_back(b);
  std::vector<int> stack = {0}, circuit;
  while (!stack.empty()) {  // Hierholzer
    auto& out = next[static_cast<size_t>(stack.back())];
    if (out.empty()) {
      circuit.push_back(stack.back() + 1);
      stack.pop_back();
    } else {
      stack.push_back(out.back());
      out.pop_back();
    }
  }
  std::reverse(circuit.begin(), circuit.end());
  return circuit;
}

struct SceneReport {
  int number = 0;
  int pin_row = -1, pin_col = -1;
  std::string step_op;
  int step_row = -1, step_col = -1;
};

// `kernelscope: scene N "title" pin row R col C [step OP row I col J]`
std::vector<SceneReport> scene_reports(const std::string& out) {
  std::vector<SceneReport> reports;
  std::istringstream in(out);
  for (std::string line; std::getline(in, line);) {
    if (line.rfind("kernelscope: scene ", 0) != 0) continue;
    SceneReport r;
    r.number = std::atoi(line.c_str() + std::strlen("kernelscope: scene "));
    const std::string rest = line.substr(line.rfind('"') + 1);
    char op[32] = {0};
    std::sscanf(rest.c_str(), " pin row %d col %d step %31s row %d col %d", &r.pin_row, &r.pin_col,
                op, &r.step_row, &r.step_col);
    r.step_op = op;
    reports.push_back(r);
  }
  return reports;
}

// Every scene opened after every other one puts its pin and the step-through's pixel where
// the scene says, on the scene's own image (not clamped to the previous scene's), and the
// step-through shows the tab of the scene's operation. Without the step-through the pin is
// exactly the scene's pixel times its stride.
void check_scene_after_scene() {
  const std::vector<SceneFacts> scenes = scene_facts();
  CHECK(scenes.size() >= 2, "fewer than 2 scenes in %s/presets", KS_ASSET_DIR);
  if (scenes.size() < 2) return;
  const std::vector<int> order = every_scene_after_every_other(static_cast<int>(scenes.size()));
  CHECK(order.size() == scenes.size() * (scenes.size() - 1) + 1, "the walk has %zu scenes",
        order.size());
  const auto joined = [](const std::vector<int>& v) {
    std::string list;
    for (int n : v) list += (list.empty() ? "" : ",") + std::to_string(n);
    return list;
  };
  struct Pass {
    std::vector<int> order;
    bool step;
  };
  const Pass passes[] = {{order, true}, {{4, 6, 8, 6, 1, 11, 4}, false}};
  for (const Pass& pass : passes) {
    const Run r =
        run_app(std::string(pass.step ? "--step-through " : "") + "--timeout 280 --scene-order " +
                joined(pass.order) + " --screenshot '" + (g_work / "scenes.png").string() + "'");
    CHECK(r.exit_code == 0, "app exited with %d", r.exit_code);
    const std::vector<SceneReport> reports = scene_reports(r.out);
    CHECK(reports.size() == pass.order.size(), "%zu scene lines for %zu scenes:\n%s",
          reports.size(), pass.order.size(), r.out.c_str());
    for (size_t i = 0; i < reports.size() && i < pass.order.size(); ++i) {
      const SceneReport& got = reports[i];
      CHECK(got.number == pass.order[i], "line %zu is scene %d, expected %d", i, got.number,
            pass.order[i]);
      const SceneFacts& want = scenes[static_cast<size_t>(got.number - 1)];
      const std::string after =
          i ? scenes[static_cast<size_t>(pass.order[i - 1] - 1)].file : std::string("start");
      const int row = want.row * want.stride, col = want.col * want.stride;
      if (pass.step) {
        CHECK(got.step_row == want.row && got.step_col == want.col,
              "%s after %s: step-through at row %d, col %d; the scene says row %d, col %d",
              want.file.c_str(), after.c_str(), got.step_row, got.step_col, want.row, want.col);
        CHECK(got.step_op == want.op, "%s after %s: step-through on the %s tab, expected %s",
              want.file.c_str(), after.c_str(), got.step_op.c_str(), want.op.c_str());
        // The pin follows the step-through's receptive field: its centre, within K.
        CHECK(std::abs(got.pin_row - row) <= want.kernel &&
                  std::abs(got.pin_col - col) <= want.kernel,
              "%s after %s: pin at row %d, col %d, expected near row %d, col %d", want.file.c_str(),
              after.c_str(), got.pin_row, got.pin_col, row, col);
      } else {
        CHECK(got.pin_row == row && got.pin_col == col,
              "%s after %s: pin at row %d, col %d, expected row %d, col %d", want.file.c_str(),
              after.c_str(), got.pin_row, got.pin_col, row, col);
      }
    }
  }
}

// `kernelscope: setup ...`: the operation, image and pins on screen at the end.
std::string setup_of(const std::string& out) {
  const size_t at = out.find("kernelscope: setup ");
  return at == std::string::npos ? "" : out.substr(at, out.find('\n', at) - at);
}

// Demo mode, entered and left, gives the user's setup back: operation, weights, image, pins
// and the step-through's pixel are what they were before (and auto-advance starts off).
void check_demo_restore() {
  const std::string setup =
      "--op conv --kernel sobel_x --kernel-size 5 --out-channels 4 --input '" +
      std::string(KS_ASSET_DIR) +
      "/samples/landscape.png' --pin 40 30 --pin-b 200 150 --step-through";
  const Run before = run_app(setup + " --screenshot '" + (g_work / "before.png").string() + "'");
  const Run after = run_app(setup + " --demo 2 --demo-leave --screenshot '" +
                            (g_work / "after.png").string() + "'");
  CHECK(before.exit_code == 0 && after.exit_code == 0, "runs failed");
  CHECK(std::count(after.out.begin(), after.out.end(), '\n') > 0 &&
            contains(after.out, "kernelscope: demo scene 2/"),
        "the demo did not show 2 scenes:\n%s", after.out.c_str());
  const std::string a = setup_of(before.out), b = setup_of(after.out);
  CHECK(!a.empty() && contains(a, "pin A row 30 col 40") && contains(a, "weights sobel"),
        "unexpected setup: %s", a.c_str());
  CHECK(a == b, "leaving demo mode did not restore the setup:\nbefore %s\nafter  %s", a.c_str(),
        b.c_str());
  CHECK(contains(after.out, "kernelscope: demo auto-advance off"),
        "auto-advance is not off by default:\n%s", after.out.c_str());
}

// The kernel size for involution is always odd: an even K from the command line (or typed)
// becomes the next odd one with a note saying so, never the involution's error.
void check_odd_kernel() {
  struct Case {
    std::string args;
    int expected_k;
  };
  const Case cases[] = {{"--op involution --kernel-size 4", 5},
                        {"--compare --kernel-size 6", 7},
                        {"--op involution --kernel-size 14", 15},
                        {"--op conv --kernel-size 4", 4}};  // convolution takes any K
  int n = 0;
  for (const Case& c : cases) {
    const Run r = run_app(c.args + " --screenshot '" +
                          (g_work / ("k" + std::to_string(n++) + ".png")).string() + "'");
    CHECK(r.exit_code == 0, "%s: app exited with %d", c.args.c_str(), r.exit_code);
    const std::string setup = setup_of(r.out);
    CHECK(contains(setup, " K " + std::to_string(c.expected_k) + " "), "%s: expected K %d: %s",
          c.args.c_str(), c.expected_k, setup.c_str());
    CHECK(!contains(r.out, "involution error") && !contains(r.out, "shown error"),
          "%s: an error was shown:\n%s", c.args.c_str(), r.out.c_str());
    if (c.expected_k % 2 == 1 && !contains(c.args, std::to_string(c.expected_k)))
      CHECK(contains(r.out, "kernelscope: control note: kernel size: involution needs an odd K"),
            "%s: the change of K is not explained:\n%s", c.args.c_str(), r.out.c_str());
  }
}

// An error line goes once its cause has: a missing image's message is shown, and cleared
// when a scene opens its own image.
void check_error_clears() {
  const std::string missing = "--input /nonexistent/picture.png";
  const Run shown = run_app(missing + " --screenshot '" + (g_work / "shown.png").string() + "'");
  CHECK(contains(shown.out, "kernelscope: shown error: ") &&
            contains(shown.out, "nonexistent/picture.png"),
        "the missing image's error is not shown:\n%s", shown.out.c_str());
  const Run cleared = run_app(missing + " --scene-order 6 --screenshot '" +
                              (g_work / "cleared.png").string() + "'");
  CHECK(cleared.exit_code == 0, "app exited with %d", cleared.exit_code);
  CHECK(contains(cleared.out, "kernelscope: scene 6 "), "scene 6 not opened:\n%s",
        cleared.out.c_str());
  CHECK(!contains(cleared.out, "shown error"),
        "the image error stayed after another image loaded:\n%s", cleared.out.c_str());
  // Messages name the app's controls, not command-line flags.
  const Run capped =
      run_app("--op involution --kernel-size 100001 --max-memory-mb 64 --screenshot '" +
              (g_work / "capped.png").string() + "'");
  CHECK(contains(capped.out, "kernelscope: shown involution error: ") &&
            contains(capped.out, "memory cap MiB") &&
            !contains(capped.out, "shown involution error: --"),
        "the memory cap message does not name the app's control:\n%s", capped.out.c_str());
}

// The step-through's slide export writes 1280 x 720 PNG frames and a GIF, and says where.
void check_slide_export() {
  const fs::path dir = g_work / "slides";
  fs::remove_all(dir);
  const Run r = run_app("--op involution --step-through --step-export --export-dir '" +
                        dir.string() + "' --screenshot '" + (dir / "shot.png").string() + "'");
  CHECK(r.exit_code == 0, "app exited with %d", r.exit_code);
  int frames = 0;
  bool gif = false;
  std::istringstream in(r.out);
  std::string line;
  while (std::getline(in, line)) {
    const std::string tag = "kernelscope: wrote ";
    if (line.rfind(tag, 0) != 0) continue;
    const fs::path p = line.substr(tag.size());
    if (p.filename().string().rfind("frame_", 0) == 0) {
      ++frames;
      CHECK(fs::exists(p), "%s missing", p.c_str());
      if (frames == 1 && fs::exists(p)) {
        const ks::Tensor f = ks::load_image(p.string());
        CHECK(f.dim(3) == 1280 && f.dim(2) == 720, "frame is %lldx%lld",
              static_cast<long long>(f.dim(3)), static_cast<long long>(f.dim(2)));
        CHECK(region_stats(f, Rect{0, 0, 1280, 720}).stddev > 0.05, "frame looks blank");
      }
    }
    if (p.extension() == ".gif") {
      gif = true;
      const std::string head = read_text(p).substr(0, 6);
      CHECK(head == "GIF89a", "%s is not a GIF (%s)", p.c_str(), head.c_str());
    }
  }
  CHECK(frames == 12, "expected 12 frames, got %d:\n%s", frames, r.out.c_str());
  CHECK(gif, "no GIF written:\n%s", r.out.c_str());
  CHECK(contains(r.err, "frames to"), "the app does not say where it wrote: %s", r.err.c_str());
}

// Help > Guide opens over the panels.
void check_help_window() {
  const fs::path a = g_work / "plain.png", b = g_work / "help.png";
  const Run ra = run_app("--screenshot '" + a.string() + "'");
  const Run rb = run_app("--help-window --screenshot '" + b.string() + "'");
  CHECK(ra.exit_code == 0 && rb.exit_code == 0, "runs failed");
  CHECK(contains(rb.out, "kernelscope: window \"Help - Guide\""), "no help window reported:\n%s",
        rb.out.c_str());
  if (!fs::exists(a) || !fs::exists(b)) return;
  const ks::Tensor ia = ks::load_image(a.string()), ib = ks::load_image(b.string());
  double diff = 0;
  int64_t n = 0;
  for (int64_t y = 300; y < 700; ++y)
    for (int64_t x = 500; x < 1100; ++x, ++n)
      diff += std::fabs(ia.at(0, 0, y, x) - ib.at(0, 0, y, x));
  CHECK(diff / n > 0.02, "the help window does not show (mean diff %g)", diff / n);
}

// The memory cap refuses a problem with its one-line message before anything big is
// allocated: weights of hundreds of GB (huge K or channel counts) would otherwise throw
// bad_alloc first. The notebook variant is capped too, also where only its maps exceed the cap.
void check_memory_cap() {
  struct Case {
    std::string args;
    std::string expected;  // the operation's error line
  };
  const std::string landscape = std::string(KS_ASSET_DIR) + "/samples/landscape.png";
  const Case cases[] = {
      {"--op conv --out-channels 2000000000 --kernel-size 201 --padding 100 --max-memory-mb 64",
       "kernelscope: convolution error: this convolution needs"},
      {"--op involution --kernel-size 100001 --max-memory-mb 64",
       "kernelscope: involution error: this involution needs"},
      {"--variant notebook --kernel-size 301 --padding 150 --max-memory-mb 64",
       "kernelscope: involution error: the notebook variant needs"},
      {"--variant notebook --max-memory-mb 16 --input '" + landscape + "'",
       "kernelscope: involution error: the notebook variant needs"},
  };
  int n = 0;
  for (const Case& c : cases) {
    const fs::path shot = g_work / ("cap-" + std::to_string(n++) + ".png");
    const Run r = run_app("--screenshot '" + shot.string() + "' " + c.args);
    CHECK(r.exit_code == 0, "app exited with %d", r.exit_code);
    CHECK(contains(r.out, c.expected) && contains(r.out, "more than the memory cap"),
          "%s: expected '%s ... more than the memory cap':\n%s", c.args.c_str(), c.expected.c_str(),
          r.out.c_str());
  }
  // A weights file is read under the user's cap, not the default 4 GiB: this one's 9 MiB of
  // tensors (an extra, ignored one) exceed 8 MiB although the convolution itself fits.
  ks::ConvParams cp;
  cp.in_channels = 3;
  cp.out_channels = 8;
  cp.kernel_size = 3;
  cp.has_bias = true;
  ks::TensorMap tensors = ks::conv_weights_to_tensors(ks::random_conv_weights(cp, 1));
  tensors["extra"] = ks::Tensor({9 << 18});
  const fs::path weights = g_work / "big.safetensors";
  ks::save_safetensors(weights.string(), tensors);
  const std::string args = "--op conv --input '" + landscape + "' --weights '" + weights.string() +
                           "' --max-memory-mb 8";
  // Given on the command line, it is refused at start-up with the line `run` prints.
  const Run r = run_app("--screenshot '" + (g_work / "cap-weights.png").string() + "' " + args);
  CHECK(r.exit_code == 2, "app exited with %d", r.exit_code);
  CHECK(contains(r.err, "kernelscope: error: ") && contains(r.err, "big.safetensors") &&
            contains(r.err, "memory cap of 8 MiB") &&
            std::count(r.err.begin(), r.err.end(), '\n') == 1,
        "%s: expected the weights file refused under the 8 MiB cap:\n%s", args.c_str(),
        r.err.c_str());
  // Chosen in a session (the file menu's), it is refused where the result would show.
  const fs::path session = g_work / "cap-session.json";
  std::ofstream(session) << R"({"operation": "convolution", "params": {"weights": "file",
      "weights_file": ")" << weights.string()
                         << R"(", "max_memory_mb": 8}})";
  const Run in_app = run_app("--screenshot '" + (g_work / "cap-weights-session.png").string() +
                             "' --input '" + landscape + "' --session '" + session.string() + "'");
  CHECK(in_app.exit_code == 0, "app exited with %d", in_app.exit_code);
  CHECK(contains(in_app.out, "kernelscope: convolution error: ") &&
            contains(in_app.out, "big.safetensors") && contains(in_app.out, "memory cap of 8 MiB"),
        "a session's weights file over the cap: expected the error in place of the result:\n%s",
        in_app.out.c_str());
}

// Flag values the app cannot hold (its settings are int) or that would read as "not given"
// (an empty path) are refused with one line before anything opens, not wrapped or ignored.
void check_flag_values() {
  struct Case {
    std::string args;
    std::string expected;
  };
  const std::string scene = std::string(KS_ASSET_DIR) + "/presets/02_sobel_x_shapes.json";
  const Case cases[] = {
      {"--kernel-size 4294967299", "--kernel-size 4294967299 is too large for the app"},
      {"--op involution --groups 2147483648", "--groups 2147483648 is too large for the app"},
      {"--out-channels 3000000000", "--out-channels 3000000000 is too large for the app"},
      {"--stride 2147483648", "--stride 2147483648 is too large for the app"},
      {"--padding 9000000000 --dilation 3", "--padding 9000000000 is too large for the app"},
      {"--kernel-size 100001 --dilation 100000", "the padding d(K-1)/2 5000000000 is too large"},
      {"--preset '" + scene + "' --input ''", "--input needs a file path"},
      {"--preset '" + scene + "' --kernel ''", "--kernel needs a kernel name"},
      {"--weights ''", "--weights needs a file path"},
  };
  int n = 0;
  for (const Case& c : cases) {
    const fs::path shot = g_work / ("flag-" + std::to_string(n++) + ".png");
    fs::remove(shot);  // the work folder outlives earlier runs
    const Run r = run_app("--screenshot '" + shot.string() + "' " + c.args);
    CHECK(r.exit_code == 2, "%s: app exited with %d, expected 2", c.args.c_str(), r.exit_code);
    CHECK(contains(r.err, "kernelscope: error: " + c.expected) &&
              std::count(r.err.begin(), r.err.end(), '\n') == 1,
          "%s: expected one line 'kernelscope: error: %s':\n%s", c.args.c_str(), c.expected.c_str(),
          r.err.c_str());
    CHECK(!fs::exists(shot), "%s: a screenshot was written", c.args.c_str());
  }
}

// What the app computed, from its exported maps ("involution-maps.npy" or "conv-maps.npy").
ks::Tensor exported_maps(const std::string& args, const std::string& name, const char* file) {
  const fs::path dir = g_work / name;
  fs::remove_all(dir);
  const Run r = run_app(args + " --backend cpu-ref --export-dir '" + dir.string() +
                        "' --screenshot '" + (dir / "shot.png").string() + "'");
  CHECK(r.exit_code == 0, "app exited with %d", r.exit_code);
  const fs::path maps = find_file(dir, file);
  CHECK(!maps.empty(), "no %s in %s:\n%s", file, dir.c_str(), r.out.c_str());
  return maps.empty() ? ks::Tensor() : ks::load_npy(maps.string());
}

ks::Tensor exported_involution_maps(const std::string& args, const std::string& name) {
  return exported_maps(args, name, "involution-maps.npy");
}

bool same_maps(const ks::Tensor& a, const ks::Tensor& b) {
  if (a.shape != b.shape) return false;
  for (size_t i = 0; i < a.data.size(); ++i)
    if (std::fabs(a.data[i] - b.data[i]) > 1e-5f * (1 + std::fabs(b.data[i]))) return false;
  return true;
}

// A scene opened with --preset: flags beat it, --seed 0 included, and nothing of the saved
// session's operation (weights, notebook variant, variation) survives it.
void check_preset_override() {
  const std::string scene =
      std::string(KS_ASSET_DIR) + "/presets/06_involution_k7_landscape.json";  // seed 2
  const ks::Tensor x = ks::load_input(std::string(KS_ASSET_DIR) + "/samples/landscape.png");
  ks::InvolutionParams p;
  p.channels = x.dim(1);
  p.kernel_size = 7;
  p.group_channels = 1;
  p.reduction = 1;
  auto expected = [&](uint64_t seed) {
    return ks::find_backend("cpu-ref")
        ->involution2d(x, p, ks::random_involution_weights(p, seed), nullptr)
        .output;
  };
  const ks::Tensor seed0 = expected(0), seed2 = expected(2);
  CHECK(same_maps(exported_involution_maps("--preset '" + scene + "'", "scene"), seed2),
        "--preset: not the scene's weights (seed 2)");
  CHECK(same_maps(exported_involution_maps("--preset '" + scene + "' --seed 0", "seed0"), seed0),
        "--preset --seed 0: not the weights of seed 0");
  const fs::path session = g_work / "session.json";
  std::ofstream(session) << R"({"params": {"weights": "sobel_x", "notebook_variant": true,
                                           "variation": 0.5, "seed": 9}})";
  CHECK(same_maps(exported_involution_maps(
                      "--session '" + session.string() + "' --preset '" + scene + "'", "session"),
                  seed2),
        "--preset over a saved session: not the scene's weights (seed 2, paper involution)");
  // The notebook scene pads by 0 (320x240 -> 318x238); --padding 1 keeps the size.
  const std::string notebook = std::string(KS_ASSET_DIR) + "/presets/08_notebook_variant.json";
  const ks::Tensor padded =
      exported_involution_maps("--preset '" + notebook + "' --padding 1", "notebook");
  CHECK(padded.shape == (ks::Shape{1, 3, 240, 320}),
        "--padding 1 on the notebook scene: maps are %s, expected [1, 3, 240, 320]",
        ks::shape_to_string(padded.shape).c_str());
  // --groups G for involution is G kernels per pixel: C / G group channels, as in
  // `kernelscope run`, from the first compute on.
  p.group_channels = 3;
  const std::string involution = "--op involution --kernel-size 7 --seed 2 --input '" +
                                 std::string(KS_ASSET_DIR) + "/samples/landscape.png'";
  CHECK(same_maps(exported_involution_maps(involution + " --groups 1", "groups1"), expected(2)),
        "--groups 1 on a 3-channel involution: not the maps of 3 group channels");
  const fs::path bad = g_work / "groups2";
  fs::remove_all(bad);
  const Run r =
      run_app(involution + " --groups 2 --screenshot '" + (bad / "shot.png").string() + "'");
  CHECK(r.exit_code == 0, "--groups 2: app exited with %d", r.exit_code);
  CHECK(contains(r.out, "--groups 2 must divide the input's 3 channels"),
        "--groups 2 on 3 channels: expected the error `kernelscope run` gives:\n%s", r.out.c_str());
}

// A 1920 x 1080 photo-sized image runs at full resolution (no downscaled preview), and after
// recomputes (--profile changes the seed each job) the feature maps show the newest result:
// the exported maps equal `kernelscope run` with the last job's seed, and the screenshot's
// feature-map panel is drawn.
void check_full_resolution() {
  const fs::path dir = g_work / "full-res";
  fs::remove_all(dir);
  fs::create_directories(dir);
  const int w = 1920, h = 1080;
  std::vector<uint8_t> rgb(static_cast<size_t>(w * h * 3));
  for (int y = 0; y < h; ++y)
    for (int x = 0; x < w; ++x) {
      uint8_t* p = &rgb[static_cast<size_t>((y * w + x) * 3)];
      p[0] = static_cast<uint8_t>(x * 255 / w);
      p[1] = static_cast<uint8_t>(y * 255 / h);
      p[2] = ((x / 64 + y / 64) % 2) ? 220 : 30;
    }
  const fs::path image = dir / "photo.png";
  ks::save_png_rgb(image.string(), w, h, rgb);
  const std::string op = "--op involution --kernel-size 7 --group-channels 1 --seed 5";
  const Run r = run_app(op + " --input '" + image.string() + "' --profile 2 --json --screenshot '" +
                        (dir / "shot.png").string() + "' --export-dir '" + dir.string() + "'");
  CHECK(r.exit_code == 0, "profile run failed");
  CHECK(contains(r.out, "\"input\":[1,3,1080,1920]"), "not computed at full size: %s",
        r.out.c_str());
  fs::path maps;
  for (const auto& e : fs::directory_iterator(dir))
    if (contains(e.path().filename().string(), "involution-maps.npy")) maps = e.path();
  CHECK(!maps.empty(), "no involution-maps.npy exported");
  if (maps.empty()) return;
  const ks::Tensor shown = ks::load_npy(maps.string());
  CHECK((shown.shape == ks::Shape{1, 3, 1080, 1920}), "maps are %s",
        ks::shape_to_string(shown.shape).c_str());
  // Two jobs after the first result: seeds 6 and 7.
  const std::string cmd = "'" + g_binary + "' run " + op.substr(0, op.find("--seed")) +
                          "--seed 7 --kernels none --no-png --input '" + image.string() +
                          "' --out '" + (dir / "cli").string() + "' >/dev/null";
  CHECK(std::system(cmd.c_str()) == 0, "kernelscope run failed: %s", cmd.c_str());
  const ks::Tensor expected = ks::load_npy((dir / "cli" / "output.npy").string());
  double max_diff = 0;
  for (size_t i = 0; i < expected.data.size() && i < shown.data.size(); ++i)
    max_diff = std::max(max_diff, static_cast<double>(std::fabs(expected.data[i] - shown.data[i])));
  CHECK(expected.shape == shown.shape && max_diff < 1e-4,
        "the maps on screen are not the last job's result (max diff %g)", max_diff);
  if (!fs::exists(dir / "shot.png")) {
    CHECK(false, "no screenshot");
    return;
  }
  const ks::Tensor shot = ks::load_image((dir / "shot.png").string());
  // --profile does not log panel rectangles; the feature maps sit in the window's right half.
  const Rect right{static_cast<int>(shot.dim(3)) / 2 + 10, 80,
                   static_cast<int>(shot.dim(3)) / 2 - 20, static_cast<int>(shot.dim(2)) / 3};
  CHECK(region_stats(shot, right).colourful > 0.15, "the feature-map panel looks empty");
}

// Two pins: the comparison's involution kernels at A and B are the engine's per-pixel
// kernels (`kernelscope run --kernels-at` at the same output pixels), and they differ.
void check_two_pins() {
  const fs::path dir = g_work / "two-pins";
  fs::remove_all(dir);
  fs::create_directories(dir);
  const std::string sample = std::string(KS_ASSET_DIR) + "/samples/shapes.png";
  const std::string op = "--op involution --kernel-size 5 --seed 3";
  const Run r =
      run_app(op + " --input '" + sample + "' --pin 60 60 --pin-b 200 150 --screenshot '" +
              (dir / "shot.png").string() + "'");
  CHECK(r.exit_code == 0, "app run failed");
  struct Pin {
    int oy = -1, ox = -1;
    std::vector<double> kernels;
  } pins[2];
  for (int i = 0; i < 2; ++i) {
    const std::string tag = std::string("kernelscope: pin ") + (i ? "B" : "A") + " output ";
    const size_t at = r.out.find(tag);
    CHECK(at != std::string::npos, "no %s line in: %s", tag.c_str(), r.out.c_str());
    if (at == std::string::npos) return;
    std::istringstream line(r.out.substr(at + tag.size(), r.out.find('\n', at) - at - tag.size()));
    std::string word;
    line >> pins[i].oy >> pins[i].ox >> word;
    for (double v; line >> v;) pins[i].kernels.push_back(v);
  }
  const std::string at_list = std::to_string(pins[0].oy) + "," + std::to_string(pins[0].ox) + ";" +
                              std::to_string(pins[1].oy) + "," + std::to_string(pins[1].ox);
  const std::string cmd = "'" + g_binary + "' run " + op + " --input '" + sample +
                          "' --kernels none --no-png --kernels-at '" + at_list + "' --out '" +
                          (dir / "cli").string() + "' >/dev/null";
  CHECK(std::system(cmd.c_str()) == 0, "kernelscope run failed: %s", cmd.c_str());
  const ks::Tensor expected = ks::load_npy((dir / "cli" / "kernels_at.npy").string());
  const size_t per_pin = static_cast<size_t>(expected.numel() / 2);
  double diff_ab = 0;
  for (int i = 0; i < 2; ++i) {
    CHECK(pins[i].kernels.size() == per_pin, "pin %d: %zu kernel values, expected %zu", i,
          pins[i].kernels.size(), per_pin);
    if (pins[i].kernels.size() != per_pin) return;
    double max_diff = 0;
    for (size_t t = 0; t < per_pin; ++t)
      max_diff = std::max(max_diff, std::fabs(pins[i].kernels[t] - expected.data[i * per_pin + t]));
    CHECK(max_diff < 1e-5, "pin %d kernels differ from kernelscope run by %g", i, max_diff);
  }
  for (size_t t = 0; t < per_pin; ++t)
    diff_ab += std::fabs(pins[0].kernels[t] - pins[1].kernels[t]);
  CHECK(diff_ab > 1e-3, "the kernels at A and B are the same (%g): involution should differ",
        diff_ab);
}

// Marked items, `kernelscope: item "Name" x y w h` (the step-through's result line, ...).
std::map<std::string, Rect> items(const std::string& out) {
  std::string tagged;
  std::istringstream in(out);
  for (std::string line; std::getline(in, line);)
    if (line.rfind("kernelscope: item \"", 0) == 0)
      tagged +=
          "kernelscope: panel \"" + line.substr(std::string("kernelscope: item \"").size()) + "\n";
  return panels(tagged);
}

bool inside(Rect inner, Rect outer) {
  return inner.x >= outer.x - 1 && inner.y >= outer.y - 1 &&
         inner.x + inner.w <= outer.x + outer.w + 1 && inner.y + inner.h <= outer.y + outer.h + 1;
}

// Pixels two rectangles share (0 when they only touch).
long overlap(Rect a, Rect b) {
  const long w = std::min(a.x + a.w, b.x + b.w) - std::max(a.x, b.x);
  const long h = std::min(a.y + a.h, b.y + b.h) - std::max(a.y, b.y);
  return w > 1 && h > 1 ? w * h : 0;
}

// The presentation view at 1920 x 1080, as on a projector: body text of 20 px or more,
// every panel inside the window and none over another (the demo caption has a band of its
// own), large input and feature maps, and the step-through's result line and generation
// chain inside the part of its panel that shows without scrolling (the K7 landscape scene,
// the tallest of the scenes, and larger kernels).
void check_presentation() {
  const int W = 1920, H = 1080;
  const std::string scene = std::string(KS_ASSET_DIR) + "/presets/06_involution_k7_landscape.json";
  struct Case {
    std::string args;
    std::vector<std::string> expected;
  };
  const Case cases[] = {
      {"--preset '" + scene + "' --step-through", {"Input", "Feature maps", "Step-through"}},
      // Large kernels: their tables alone are taller than the panel, and the result line and
      // the chain must still be in view.
      {"--op involution --kernel-size 11 --step-through",
       {"Input", "Feature maps", "Step-through"}},
      {"--op conv --kernel-size 9 --step-through", {"Input", "Feature maps", "Step-through"}},
      {"--demo 1", {"Parameters", "Input", "Feature maps", "Kernels", "Caption"}},
  };
  int n = 0;
  for (const Case& c : cases) {
    const fs::path shot = g_work / ("present-" + std::to_string(n++) + ".png");
    const Run r = run_app(
        "--present --width 1920 --height 1080 --screenshot '" + shot.string() + "' " + c.args, W,
        H);
    CHECK(r.exit_code == 0, "app exited with %d", r.exit_code);
    float font = 0;
    const size_t at = r.out.find("kernelscope: layout presentation font ");
    CHECK(at != std::string::npos, "no presentation layout line:\n%s", r.out.c_str());
    if (at != std::string::npos)
      font = std::strtof(r.out.c_str() + at + std::strlen("kernelscope: layout presentation font "),
                         nullptr);
    CHECK(font >= 20, "body text is %.1f px, want at least 20", static_cast<double>(font));
    const auto rects = panels(r.out);
    CHECK(rects.size() == c.expected.size(), "%zu panels reported, expected %zu:\n%s", rects.size(),
          c.expected.size(), r.out.c_str());
    for (const std::string& name : c.expected) {
      CHECK(rects.count(name), "panel %s not reported", name.c_str());
      if (rects.count(name))
        CHECK(inside(rects.at(name), Rect{0, 0, W, H}), "panel %s is not inside the window",
              name.c_str());
    }
    for (auto a = rects.begin(); a != rects.end(); ++a)
      for (auto b = std::next(a); b != rects.end(); ++b)
        CHECK(overlap(a->second, b->second) == 0, "panels %s and %s overlap", a->first.c_str(),
              b->first.c_str());
    for (const char* big : {"Input", "Feature maps"})
      if (rects.count(big))
        CHECK(rects.at(big).w >= W * 0.3 && rects.at(big).h >= H * 0.4, "panel %s is small: %dx%d",
              big, rects.at(big).w, rects.at(big).h);
    if (!rects.count("Step-through")) continue;
    const auto marked = items(r.out);
    const Rect panel = rects.at("Step-through");
    CHECK(marked.count("step body"), "no step body reported:\n%s", r.out.c_str());
    CHECK(marked.count("step result"), "no step result reported:\n%s", r.out.c_str());
    if (!marked.count("step body") || !marked.count("step result")) continue;
    const Rect body = marked.at("step body");
    CHECK(inside(body, panel), "the step body leaves its panel");
    std::vector<std::string> needed = {"step result"};
    if (contains(c.args, "involution")) needed.push_back("generation chain");
    for (const std::string& name : needed) {
      CHECK(marked.count(name), "no %s reported", name.c_str());
      if (!marked.count(name)) continue;
      const Rect item = marked.at(name);
      CHECK(item.h > 0 && inside(item, body),
            "%s at %d %d %d %d needs scrolling (visible %d %d %d %d)", name.c_str(), item.x, item.y,
            item.w, item.h, body.x, body.y, body.w, body.h);
    }
  }
  // Without --present the normal grid and font come back.
  const Run normal = run_app("--screenshot '" + (g_work / "normal.png").string() + "'");
  CHECK(contains(normal.out, "kernelscope: layout normal font 15"),
        "normal layout not reported:\n%s", normal.out.c_str());
}

// --profile prints its one JSON object (numbers only checked for being there: no timed
// assertions in tests).
void check_profile() {
  const Run r = run_app("--op involution --kernel-size 5 --profile 3 --json");
  CHECK(r.exit_code == 0, "profile run failed");
  for (const char* key : {"\"jobs\":3", "\"input\":[1,3,", "\"median_job_ms\":", "\"p95_job_ms\":",
                          "\"max_frame_ms\":", "\"idle_cpu_percent\":"})
    CHECK(contains(r.out, key), "no %s in: %s", key, r.out.c_str());
  const Run bad = run_app("--profile 0");
  CHECK(bad.exit_code != 0, "--profile 0 accepted");
}

}  // namespace

// One `kernelscope: learn op=OP target=T step=N points=P loss_initial=A loss_final=B` line.
struct LearnLine {
  long step = -1;
  size_t points = 0;
  double initial = 0, final_loss = 0;
};

std::map<std::string, LearnLine> learn_lines(const std::string& out) {
  std::map<std::string, LearnLine> lines;
  std::istringstream in(out);
  std::string line;
  while (std::getline(in, line)) {
    char op[32] = {0}, target[96] = {0};
    LearnLine l;
    if (std::sscanf(line.c_str(),
                    "kernelscope: learn op=%31s target=%95s step=%ld points=%zu loss_initial=%lf "
                    "loss_final=%lf",
                    op, target, &l.step, &l.points, &l.initial, &l.final_loss) == 6)
      lines[op] = l;
  }
  return lines;
}

// A learn scene ("both") on a small image: --learn-steps trains convolution and involution
// side by side, both losses fall, the Learn panel is drawn, and the learned weights feed the
// feature maps without an error.
void check_learn() {
  const fs::path input = g_work / "learn-input.npy", dir = g_work / "exports";
  fs::remove_all(dir);
  ks::Tensor t({1, 3, 80, 96});
  for (int64_t y = 0; y < 80; ++y)
    for (int64_t x = 0; x < 96; ++x) {
      const bool red = ((x / 24) + (y / 20)) % 2 == 0;  // red and blue patches, some grey
      const float grey = (x * 7 + y * 13) % 17 / 17.0f;
      t.at(0, 0, y, x) = red ? 0.9f : 0.2f * grey;
      t.at(0, 1, y, x) = 0.3f * grey;
      t.at(0, 2, y, x) = red ? 0.1f : 0.8f + 0.1f * grey;
    }
  ks::save_npy(input.string(), t);
  const std::string scene =
      std::string(KS_ASSET_DIR) + "/presets/12_learn_colour_dependent_filter.json";
  const fs::path shot = dir / "learn.png";
  const Run r = run_app("--preset '" + scene + "' --input '" + input.string() +
                        "' --learn-steps 30 --export-dir '" + dir.string() + "' --screenshot '" +
                        shot.string() + "'");
  CHECK(r.exit_code == 0, "app exited with %d:\n%s", r.exit_code, r.err.c_str());
  const auto lines = learn_lines(r.out);
  for (const char* op : {"conv", "involution"}) {
    CHECK(lines.count(op), "no learn line for %s (both curves expected):\n%s", op, r.out.c_str());
    if (!lines.count(op)) continue;
    const LearnLine& l = lines.at(op);
    CHECK(l.step == 30 && l.points == 31, "%s: step %ld, %zu points; expected 30 and 31", op,
          l.step, l.points);
    CHECK(l.final_loss < 0.9 * l.initial, "%s: the loss did not fall: %.6g -> %.6g", op, l.initial,
          l.final_loss);
  }
  CHECK(!contains(r.out, "shown error:") && !contains(r.out, " error: "), "an error was shown:\n%s",
        r.out.c_str());
  const auto rects = panels(r.out);
  CHECK(rects.count("Learn"), "no Learn panel:\n%s", r.out.c_str());
  CHECK(!find_file(dir, "involution-maps.npy").empty() && !find_file(dir, "conv-maps.npy").empty(),
        "the learned layers' maps were not exported to %s", dir.c_str());
  if (fs::exists(shot) && rects.count("Learn")) {
    const Stats s = region_stats(ks::load_image(shot.string()), rects.at("Learn"));
    CHECK(s.stddev > 0.03, "the Learn panel looks blank (stddev %.4f)", s.stddev);
  }
}

// One operation model (app/core): the same flags give the same layer in the app and in
// `kernelscope run`, the variation and the activation included; a flag that contradicts a
// weights file is the same one-line error in both (the app used to let the file win).
void check_one_spec() {
  const std::string shapes = std::string(KS_ASSET_DIR) + "/samples/shapes.png";
  const std::string flags = "--op involution --input '" + shapes +
                            "' --kernel gaussian --variation 0.8 --seed 2 --kernel-size 5 "
                            "--activation relu";
  const fs::path out = g_work / "run";
  fs::remove_all(out);
  const Run cli = run_app(
      "run " + flags + " --backend cpu-ref --no-png --kernels none --out '" + out.string() + "'", 0,
      0, /*display=*/false);
  CHECK(cli.exit_code == 0, "kernelscope run exited with %d", cli.exit_code);
  const ks::Tensor from_cli = ks::load_npy((out / "output.npy").string());
  const ks::Tensor from_app = exported_involution_maps(flags, "app");
  CHECK(same_maps(from_app, from_cli), "the app and run computed different involutions");
  float lowest = 0, highest = 0;
  for (float v : from_cli.data) {
    lowest = std::min(lowest, v);
    highest = std::max(highest, v);
  }
  CHECK(lowest == 0 && highest > 0, "relu: the output spans [%g, %g]", lowest, highest);

  // A weights file of reduction 1; --reduction 3 contradicts it.
  ks::InvolutionParams p;
  p.channels = 3;
  p.kernel_size = 3;
  p.group_channels = 1;
  p.reduction = 1;
  const fs::path weights = g_work / "k3.safetensors";
  ks::save_safetensors(weights.string(),
                       ks::involution_weights_to_tensors(p, ks::random_involution_weights(p, 1)));
  const std::string contradiction =
      "--op involution --input '" + shapes + "' --weights '" + weights.string() + "' --reduction 3";
  const std::string expected = "--reduction 3 contradicts the weights file (reduction 1)";
  const Run bad_cli = run_app("run " + contradiction + " --out '" + (g_work / "bad").string() + "'",
                              0, 0, /*display=*/false);
  const fs::path shot = g_work / "contradiction.png";
  fs::remove(shot);
  const Run bad_app = run_app("--screenshot '" + shot.string() + "' " + contradiction);
  for (const Run* r : {&bad_cli, &bad_app})
    CHECK(r->exit_code != 0 && contains(r->err, expected) &&
              std::count(r->err.begin(), r->err.end(), '\n') == 1,
          "expected one line '%s':\n%s", expected.c_str(), r->err.c_str());
  CHECK(!fs::exists(shot), "the app wrote a screenshot of a contradiction");
  // What `run` refuses, the app refuses at start-up with the same line, instead of computing
  // something else (it used to drop the variation, or switch the operator).
  struct Refused {
    std::string args, expected;
  };
  const std::string input = "--input '" + shapes + "' ";
  const Refused refused[] = {
      {"--op conv --kernel sobel_x --variation 1", "variation applies to"},
      {"--op involution --variation 1", "variation applies to"},
      {"--op involution --kernel grid", "weights from a grid need the grid's values"},
      {"--op conv --kernel designed:edge_aware", "generates involution kernels"},
      {"--op involution --weights '" + (g_work / "missing.safetensors").string() + "'",
       "missing.safetensors"},
      {"--relu --activation none", "--relu and --activation none disagree"},
  };
  int n = 0;
  for (const Refused& c : refused) {
    const fs::path refused_shot = g_work / ("refused-" + std::to_string(n++) + ".png");
    fs::remove(refused_shot);
    const Run app = run_app("--screenshot '" + refused_shot.string() + "' " + input + c.args);
    CHECK(app.exit_code == 2 && contains(app.err, "kernelscope: error: ") &&
              contains(app.err, c.expected) &&
              std::count(app.err.begin(), app.err.end(), '\n') == 1,
          "%s: expected one line with '%s':\n%s", c.args.c_str(), c.expected.c_str(),
          app.err.c_str());
    CHECK(!fs::exists(refused_shot), "%s: a screenshot was written", c.args.c_str());
  }
  // A scene is a whole spec: an involution scene computed as a convolution pads 0 (PyTorch's
  // default, no padding field) in the app as in `run`.
  const std::string scene =
      std::string(KS_ASSET_DIR) + "/presets/07_involution_equals_depthwise.json";
  const fs::path conv_out = g_work / "scene-conv";
  fs::remove_all(conv_out);
  const Run scene_cli =
      run_app("run --preset '" + scene + "' --op conv --backend cpu-ref --no-png --out '" +
                  conv_out.string() + "'",
              0, 0, /*display=*/false);
  CHECK(scene_cli.exit_code == 0, "run --preset --op conv exited with %d", scene_cli.exit_code);
  const ks::Tensor conv_cli = ks::load_npy((conv_out / "output.npy").string());
  const ks::Tensor conv_app =
      exported_maps("--preset '" + scene + "' --op conv", "scene-conv-app", "conv-maps.npy");
  CHECK(same_maps(conv_app, conv_cli), "scene 07 as a convolution: the app and run differ");

  // The file alone decides K in both.
  const Run file_app = run_app("--screenshot '" + shot.string() + "' --op involution --input '" +
                               shapes + "' --weights '" + weights.string() + "'");
  CHECK(file_app.exit_code == 0 && fs::exists(shot), "the app refused the weights file alone");
}

// Hundreds of maps: the smallest tiles, as many across as the panel is wide (the panel
// scrolls down). Tiles once ran past the panel's right edge, out of reach.
void check_many_maps() {
  const fs::path shot = g_work / "many-maps.png";
  const Run r = run_app(
      "--op conv --out-channels 256 --width 1280 --height 720 --screenshot '" + shot.string() + "'",
      1280, 720);
  CHECK(r.exit_code == 0, "run failed");
  const auto rects = panels(r.out);
  const auto tiles = items(r.out);
  CHECK(rects.count("Feature maps") == 1, "no feature maps panel");
  if (!rects.count("Feature maps")) return;
  const Rect panel = rects.at("Feature maps");
  int logged = 0;
  for (int c = 0; c < 256; ++c) {
    const auto it = tiles.find("conv map " + std::to_string(c));
    if (it == tiles.end()) continue;
    ++logged;
    CHECK(it->second.x >= panel.x && it->second.x + it->second.w <= panel.x + panel.w,
          "map %d at x %d..%d lies outside the panel's %d..%d", c, it->second.x,
          it->second.x + it->second.w, panel.x, panel.x + panel.w);
  }
  CHECK(logged == 256, "%d of 256 maps were drawn", logged);
}

// The maps are coloured as they are drawn (a shader over float textures): what the screen
// shows is each map's data through the chosen colormap over its own range, the right way
// up. Each tile is cut into blocks; a block's mean colour must match the mean LUT colour of
// the map pixels it covers (the GPU interpolates values before colouring, so not exactly:
// passing runs differ by 0.005 on average, a flipped or wrongly coloured map by 0.13-0.3).
void check_map_colours() {
  const fs::path dir = g_work / "map-colours";
  fs::remove_all(dir);
  const Run r = run_app(
      "--op conv --kernel identity --out-channels 3 --colormap viridis --scale map "
      "--screenshot '" +
      (dir / "shot.png").string() + "' --export-dir '" + dir.string() + "'");
  CHECK(r.exit_code == 0, "run failed");
  fs::path maps_npy;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(dir, ec))
    if (contains(e.path().filename().string(), "conv-maps.npy")) maps_npy = e.path();
  CHECK(!maps_npy.empty() && fs::exists(dir / "shot.png"), "no maps export or screenshot");
  if (maps_npy.empty() || !fs::exists(dir / "shot.png")) return;
  const ks::Tensor maps = ks::load_npy(maps_npy.string());
  const ks::Tensor shot = ks::load_image((dir / "shot.png").string());
  const std::vector<uint8_t> lut = ks::colormap_lut(ks::Colormap::Viridis);
  const auto tiles = items(r.out);
  const int64_t H = maps.dim(2), W = maps.dim(3);
  for (int64_t c = 0; c < maps.dim(1); ++c) {
    const std::string name = "conv map " + std::to_string(c);
    CHECK(tiles.count(name) == 1, "%s was not drawn", name.c_str());
    if (!tiles.count(name)) continue;
    const Rect t = tiles.at(name);
    const float* plane = maps.ptr() + c * H * W;
    const auto [lo, hi] = std::minmax_element(plane, plane + H * W);
    constexpr int kBlocks = 6;
    double worst = 0, total = 0;
    for (int by = 0; by < kBlocks; ++by)
      for (int bx = 0; bx < kBlocks; ++bx) {
        // Screen block, inset by 2 px from the tile's rounded edges.
        const int sx0 = t.x + 2 + (t.w - 4) * bx / kBlocks,
                  sx1 = t.x + 2 + (t.w - 4) * (bx + 1) / kBlocks;
        const int sy0 = t.y + 2 + (t.h - 4) * by / kBlocks,
                  sy1 = t.y + 2 + (t.h - 4) * (by + 1) / kBlocks;
        double screen[3] = {0, 0, 0}, expected[3] = {0, 0, 0};
        int64_t ns = 0, ne = 0;
        for (int y = sy0; y < sy1; ++y)
          for (int x = sx0; x < sx1; ++x, ++ns)
            for (int k = 0; k < 3; ++k) screen[k] += shot.at(0, k, y, x);
        const int64_t u0 = (sx0 - t.x) * W / t.w, u1 = (sx1 - t.x) * W / t.w;
        const int64_t v0 = (sy0 - t.y) * H / t.h, v1 = (sy1 - t.y) * H / t.h;
        for (int64_t v = v0; v < v1; ++v)
          for (int64_t u = u0; u < u1; ++u, ++ne) {
            const float f = (plane[v * W + u] - *lo) / std::max(*hi - *lo, 1e-30f);
            const int i = std::clamp(static_cast<int>(std::lround(f * 255)), 0, 255);
            for (int k = 0; k < 3; ++k) expected[k] += lut[static_cast<size_t>(i * 3 + k)] / 255.0;
          }
        if (ns == 0 || ne == 0) continue;
        double diff = 0;
        for (int k = 0; k < 3; ++k)
          diff = std::max(diff, std::fabs(screen[k] / ns - expected[k] / ne));
        worst = std::max(worst, diff);
        total += diff;
      }
    const double mean = total / (kBlocks * kBlocks);
    CHECK(mean < 0.02 && worst < 0.08,
          "%s on screen is not its data through viridis (block colour difference mean %.3f, "
          "worst %.3f)",
          name.c_str(), mean, worst);
  }
}

int main(int argc, char** argv) {
  if (argc != 4) {
    std::fprintf(stderr, "usage: app_test_driver CASE KERNELSCOPE WORK_DIR\n");
    return 2;
  }
  const std::string which = argv[1];
  g_binary = argv[2];
  g_work = fs::path(argv[3]) / which;
  fs::create_directories(g_work);
  if (which != "no_display" && !have_xvfb()) {
    std::printf("SKIP: xvfb-run not found (install Debian's xvfb)\n");
    return 77;
  }
  if (which == "default_scene")
    check_scene(1600, 1000, "");
  else if (which == "small_window")
    check_scene(1280, 720, "--compare");
  else if (which == "involution_scene")
    check_scene(1600, 1000, "--op involution --kernel-size 5 --kernel-field");
  else if (which == "parameter_change")
    check_parameter_change();
  else if (which == "bad_image")
    check_bad_image();
  else if (which == "export")
    check_export();
  else if (which == "no_display")
    check_no_display();
  else if (which == "step_through")
    check_step_through();
  else if (which == "notebook_variant")
    check_notebook_variant();
  else if (which == "demo_mode")
    check_demo_mode();
  else if (which == "scene_after_scene")
    check_scene_after_scene();
  else if (which == "demo_restore")
    check_demo_restore();
  else if (which == "odd_kernel")
    check_odd_kernel();
  else if (which == "error_clears")
    check_error_clears();
  else if (which == "slide_export")
    check_slide_export();
  else if (which == "help_window")
    check_help_window();
  else if (which == "memory_cap")
    check_memory_cap();
  else if (which == "flag_values")
    check_flag_values();
  else if (which == "preset_override")
    check_preset_override();
  else if (which == "full_resolution")
    check_full_resolution();
  else if (which == "profile")
    check_profile();
  else if (which == "two_pins")
    check_two_pins();
  else if (which == "presentation")
    check_presentation();
  else if (which == "learn")
    check_learn();
  else if (which == "one_spec")
    check_one_spec();
  else if (which == "map_colours")
    check_map_colours();
  else if (which == "many_maps")
    check_many_maps();
  else if (which == "interactive") {
    if (std::system("command -v xdotool >/dev/null 2>&1") != 0) {
      std::printf("SKIP: xdotool not found\n");
      return 77;
    }
    check_interactive();
  } else {
    std::fprintf(stderr, "unknown case %s\n", which.c_str());
    return 2;
  }
  if (g_failures == 0) std::printf("PASS %s\n", which.c_str());
  return g_failures == 0 ? 0 : 1;
}
