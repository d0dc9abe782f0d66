// "kernelscope [app options]": the desktop app (gui/app_main.cpp), or a clear message where
// this build has none (gui/no_app.cpp).
#pragma once

namespace ks::app {

int run_app(int argc, char** argv);

}  // namespace ks::app
