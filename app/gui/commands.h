// What menus, keys, panels and scripted runs ask the app to do, as typed commands posted to
// one queue. The frame loop takes the queue at the start of each frame and carries the
// commands out in the order they were posted (actions.h); screenshots, exports and session
// saves wait for that frame to be drawn. Nothing drains a flag on the state.
#pragma once

#include <string>
#include <utility>
#include <variant>
#include <vector>

#include "gui/file_browser.h"

namespace ks::app {

enum class ExportPanel { Input, Kernels, FeatureMaps };

namespace cmd {

struct Recompute {};  // the operation's settings changed: compute again
struct Redraw {};     // the view changed: redraw the textures from the result on screen
struct FitView {};    // fit the whole image into the Input panel
struct OpenPath {     // an image, .safetensors weights or a session .json ("" test pattern)
  std::string path;
};
struct OpenScene {  // a scene of assets/presets, replacing the operation as --preset would
  std::string path;
};
struct ToggleDemo {};  // demo mode on (the scenes in turn) or off (the user's setup back)
struct MoveDemo {      // the demo's next (+1) or previous (-1) scene
  int by = 1;
};
struct Race {};  // race every backend on the current setup, once the worker is idle
struct Browse {  // the file browser, for this purpose, starting at start
  BrowsePurpose purpose;
  std::string start;
};
struct SaveSession {};  // to the session file in use (Ctrl+S)
struct Screenshot {};   // the window as a PNG in the export folder (F12)
struct Export {         // a panel's PNG figure and .npy array into the export folder
  ExportPanel panel;
};
struct ExportSlides {};  // the step-through's PNG frames and GIF
struct Quit {};

}  // namespace cmd

using Command =
    std::variant<cmd::Recompute, cmd::Redraw, cmd::FitView, cmd::OpenPath, cmd::OpenScene,
                 cmd::ToggleDemo, cmd::MoveDemo, cmd::Race, cmd::Browse, cmd::SaveSession,
                 cmd::Screenshot, cmd::Export, cmd::ExportSlides, cmd::Quit>;

class CommandQueue {
 public:
  void post(Command command) { queue_.push_back(std::move(command)); }
  bool empty() const { return queue_.empty(); }
  // Whether a command of this kind waits.
  template <class C>
  bool has() const {
    for (const Command& c : queue_)
      if (std::holds_alternative<C>(c)) return true;
    return false;
  }
  // Everything posted so far, oldest first; the queue is then empty.
  std::vector<Command> take() { return std::exchange(queue_, {}); }

 private:
  std::vector<Command> queue_;
};

}  // namespace ks::app
