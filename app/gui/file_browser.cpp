// The in-app file browser (see file_browser.h).
#include "gui/file_browser.h"

#include <imgui.h>

#include <algorithm>
#include <cstring>
#include <filesystem>
#include <system_error>
#include <vector>

namespace ks::app {

namespace {

namespace fs = std::filesystem;

struct Browser {
  bool open = false;
  BrowsePurpose purpose = BrowsePurpose::OpenImage;
  fs::path dir;
  char name[256] = {};
  // The path field: the folder shown, editable; typing a folder or file and Enter goes there.
  char typed[1024] = {};
  fs::path typed_for;  // the folder the field was last filled from
  std::string error;
};

Browser& browser() {
  static Browser b;
  return b;
}

const char* title(BrowsePurpose p) {
  switch (p) {
    case BrowsePurpose::OpenImage:
      return "Open image";
    case BrowsePurpose::OpenWeights:
      return "Open weights (.safetensors)";
    case BrowsePurpose::LoadSession:
      return "Load session";
    case BrowsePurpose::SaveSession:
      return "Save session as";
    default:
      return "Choose export folder";
  }
}

bool wanted(BrowsePurpose p, const fs::path& file) {
  std::string ext = file.extension().string();
  std::transform(ext.begin(), ext.end(), ext.begin(),
                 [](unsigned char c) { return std::tolower(c); });
  switch (p) {
    case BrowsePurpose::OpenImage:
      for (const char* e :
           {".png", ".jpg", ".jpeg", ".bmp", ".tga", ".gif", ".pgm", ".ppm", ".npy"})
        if (ext == e) return true;
      return false;
    case BrowsePurpose::OpenWeights:
      return ext == ".safetensors";
    case BrowsePurpose::LoadSession:
    case BrowsePurpose::SaveSession:
      return ext == ".json";
    default:
      return false;
  }
}

}  // namespace

void open_file_browser(BrowsePurpose purpose, const std::string& start) {
  Browser& b = browser();
  b.open = true;
  b.purpose = purpose;
  b.error.clear();
  std::error_code ec;
  fs::path p = start.empty() ? fs::current_path(ec) : fs::path(start);
  if (!fs::is_directory(p, ec)) p = p.parent_path();
  if (p.empty() || !fs::is_directory(p, ec)) p = fs::current_path(ec);
  b.dir = fs::absolute(p, ec);
  std::snprintf(b.name, sizeof b.name, "%s",
                purpose == BrowsePurpose::SaveSession ? "session.json" : "");
}

bool draw_file_browser(std::string* path, BrowsePurpose* purpose) {
  Browser& b = browser();
  if (!b.open) return false;
  const ImGuiIO& io = ImGui::GetIO();
  ImGui::SetNextWindowSize(ImVec2(io.DisplaySize.x * 0.5f, io.DisplaySize.y * 0.6f),
                           ImGuiCond_Appearing);
  ImGui::SetNextWindowPos(ImVec2(io.DisplaySize.x * 0.5f, io.DisplaySize.y * 0.5f),
                          ImGuiCond_Appearing, ImVec2(0.5f, 0.5f));
  ImGui::SetNextWindowFocus();
  bool picked = false;
  if (ImGui::Begin(title(b.purpose), &b.open, ImGuiWindowFlags_NoCollapse)) {
    const bool wants_name = b.purpose == BrowsePurpose::SaveSession;
    if (ImGui::Button("Up") && b.dir.has_parent_path()) b.dir = b.dir.parent_path();
    if (ImGui::IsItemHovered()) ImGui::SetTooltip("Go to the parent folder.");
    ImGui::SameLine();
    // One line whatever the path's length: a wrapped path would move the list below it
    // under the cursor.
    if (b.typed_for != b.dir) {
      std::snprintf(b.typed, sizeof b.typed, "%s", b.dir.string().c_str());
      b.typed_for = b.dir;
    }
    ImGui::SetNextItemWidth(-1.0f);
    if (ImGui::InputText("##path", b.typed, sizeof b.typed, ImGuiInputTextFlags_EnterReturnsTrue)) {
      std::error_code ec;
      const fs::path typed(b.typed);
      b.error.clear();
      if (fs::is_directory(typed, ec)) {
        b.dir = typed;
      } else if (fs::is_directory(typed.parent_path(), ec) &&
                 (wants_name || fs::is_regular_file(typed, ec))) {
        b.dir = typed.parent_path();
        std::snprintf(b.name, sizeof b.name, "%s", typed.filename().string().c_str());
        if (!wants_name && b.purpose != BrowsePurpose::ExportDir) {
          *path = typed.string();
          picked = true;
        }
      } else {
        b.error = "no such folder or file: " + typed.string();
      }
    }
    if (ImGui::IsItemHovered())
      ImGui::SetTooltip("The folder shown. Type or paste a folder or a file and press Enter.");
    const float footer = ImGui::GetFrameHeightWithSpacing() * (wants_name ? 2.2f : 1.2f);
    ImGui::BeginChild("entries", ImVec2(0, -footer), true);
    std::vector<fs::directory_entry> dirs, files;
    std::error_code ec;
    for (fs::directory_iterator it(b.dir, fs::directory_options::skip_permission_denied, ec), end;
         !ec && it != end; it.increment(ec)) {
      std::error_code e2;
      if (it->is_directory(e2))
        dirs.push_back(*it);
      else if (wanted(b.purpose, it->path()))
        files.push_back(*it);
    }
    if (ec) ImGui::TextColored(ImVec4(1, 0.45f, 0.4f, 1), "%s", ec.message().c_str());
    auto by_name = [](const fs::directory_entry& x, const fs::directory_entry& y) {
      return x.path().filename() < y.path().filename();
    };
    std::sort(dirs.begin(), dirs.end(), by_name);
    std::sort(files.begin(), files.end(), by_name);
    fs::path next_dir;
    for (const auto& d : dirs) {
      const std::string label = "[dir] " + d.path().filename().string();
      if (ImGui::Selectable(label.c_str(), false, ImGuiSelectableFlags_AllowDoubleClick) &&
          ImGui::IsMouseDoubleClicked(0))
        next_dir = d.path();
    }
    for (const auto& f : files) {
      const std::string label = f.path().filename().string();
      if (ImGui::Selectable(label.c_str(), label == b.name,
                            ImGuiSelectableFlags_AllowDoubleClick)) {
        std::snprintf(b.name, sizeof b.name, "%s", label.c_str());
        if (ImGui::IsMouseDoubleClicked(0) && !wants_name) {
          *path = f.path().string();
          picked = true;
        }
      }
    }
    ImGui::EndChild();
    if (!next_dir.empty()) b.dir = next_dir;
    if (wants_name) {
      ImGui::InputText("file name", b.name, sizeof b.name);
      if (ImGui::IsItemHovered()) ImGui::SetTooltip("Name of the file to write in this folder.");
    }
    const char* action = b.purpose == BrowsePurpose::ExportDir ? "Use this folder"
                         : wants_name                          ? "Save"
                                                               : "Open";
    if (ImGui::Button(action)) {
      if (b.purpose == BrowsePurpose::ExportDir) {
        *path = b.dir.string();
        picked = true;
      } else if (std::strlen(b.name) > 0) {
        *path = (b.dir / b.name).string();
        picked = true;
      }
    }
    if (ImGui::IsItemHovered())
      ImGui::SetTooltip("%s",
                        b.purpose == BrowsePurpose::ExportDir
                            ? "Write exports into the folder shown above."
                            : "Use the selected file (double-clicking a file does the same).");
    ImGui::SameLine();
    if (ImGui::Button("Cancel")) b.open = false;
    if (ImGui::IsItemHovered()) ImGui::SetTooltip("Close without opening or saving anything.");
    if (!b.error.empty()) {  // beside the buttons, so the list does not move
      ImGui::SameLine();
      ImGui::TextColored(ImVec4(1, 0.45f, 0.4f, 1), "%s", b.error.c_str());
    }
  }
  ImGui::End();
  if (picked) {
    *purpose = b.purpose;
    b.open = false;
  }
  return picked;
}

}  // namespace ks::app
