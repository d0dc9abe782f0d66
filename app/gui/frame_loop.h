// The desktop app's run: open the window, set the state up from the session and the flags,
// then the frame loop (drain the worker's results, submit changed settings, draw the
// panels, carry out what was asked) until the window closes or a scripted run is done.
#pragma once

#include "gui/app_options.h"

namespace ks::app {

// Returns the process exit code: 0, 1 (no display, a failed scripted run), 2 (bad flags).
int run_desktop_app(const cli::AppOptions& options);

}  // namespace ks::app
