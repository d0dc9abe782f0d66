// An in-app file browser: an ImGui list of one directory (std::filesystem), filtered by
// extension, for opening images, weights and sessions, saving sessions and picking the
// export folder.
#pragma once

#include <string>

namespace ks::app {

enum class BrowsePurpose {
  OpenImage = 0,
  OpenWeights = 1,
  LoadSession = 2,
  SaveSession = 3,
  ExportDir = 4
};

void open_file_browser(BrowsePurpose purpose, const std::string& start);
// Draws the browser while it is open. Returns true once, when the user picked a path.
bool draw_file_browser(std::string* path, BrowsePurpose* purpose);

}  // namespace ks::app
