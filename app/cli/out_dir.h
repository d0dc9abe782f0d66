// The --out directory of "kernelscope run" and "kernelscope learn": an exclusive lock, and a
// manifest (run.json / learn.json) listing the files a command wrote, so the next command into
// the same directory removes those it does not rewrite and never touches anything else.
#pragma once

#include <nlohmann/json.hpp>

#include <filesystem>
#include <optional>
#include <string>
#include <vector>

namespace ks::cli {

// An exclusive flock on <out>/.kernelscope-run.lock; the kernel drops it when the process
// ends, however it ends, so a crashed run never blocks the next one.
class OutputLock {
 public:
  OutputLock(const std::filesystem::path& dir, const std::string& shown);
  ~OutputLock();
  OutputLock(const OutputLock&) = delete;
  OutputLock& operator=(const OutputLock&) = delete;

 private:
  int fd_ = -1;
};

// The file names of those paths that lie directly in dir (never a manifest or the lock).
std::vector<std::string> names_in(const std::filesystem::path& dir,
                                  const std::vector<std::string>& paths);
// The files the previous command listed in manifest_name; nullopt when there is none. A
// manifest that is not ours is reported and left alone (an empty list).
std::optional<std::vector<std::string>> previous_run_files(const std::filesystem::path& dir,
                                                           const std::string& shown,
                                                           const char* manifest_name = "run.json");
// Removes what the previous command wrote and this one did not; regular files only.
void remove_previous_run_files(const std::filesystem::path& dir,
                               const std::vector<std::string>& previous,
                               const std::vector<std::string>& written);
// The manifest, written last: the files of a complete command, or (complete false)
// everything a failed one may have left. best_effort: a failure to write it must not hide
// the error being reported.
void write_manifest(const std::filesystem::path& dir, nlohmann::json manifest,
                    const std::vector<std::string>& files, bool complete, bool best_effort,
                    const char* manifest_name = "run.json");

}  // namespace ks::cli
