// Saving what the panels show at full resolution: PNG figures with a caption of the
// parameters and a legend, and the raw tensors as .npy, under timestamped names.
#pragma once

#include <string>
#include <vector>

#include "gui/app_state.h"

namespace ks::app {

// The folder exports go to: the chosen one, else ~/kernelscope-exports (or ./ without HOME).
std::string export_folder(const AppState& app);
// "kernelscope-20261126-001530" plus "-2", "-3"... when that name is taken in dir.
std::string export_stem(const std::string& dir, const std::string& suffix);
// Writes the files and returns their paths. Throws ks::Error (or std::exception) on failure.
std::vector<std::string> export_panel(const AppState& app, ExportPanel panel,
                                      const std::string& dir);
// One line describing the operation: "convolution K=3 stride 1 padding 1 ...".
std::string parameters_caption(const AppState& app, bool involution);

}  // namespace ks::app
