// The --out directory's lock and manifest (out_dir.h).
#include "cli/out_dir.h"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>

#include "kernelscope/error.h"
#include "kernelscope/io.h"

namespace ks::cli {

constexpr const char* kLockName = ".kernelscope-run.lock";

// run.json (learn.json) lists the files a run wrote; the next run into the same directory removes
// those it does not rewrite (a kernels.npy from a full run next to a --kernels none output would
// read as this run's kernels) and never touches anything else the user keeps there.

OutputLock::OutputLock(const std::filesystem::path& dir, const std::string& shown) {
  const std::string path = (dir / kLockName).string();
  fd_ = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0666);
  if (fd_ < 0) throw Error(shown + ": cannot create " + kLockName + ": " + std::strerror(errno));
  if (::flock(fd_, LOCK_EX | LOCK_NB) != 0) {
    ::close(fd_);
    throw Error(shown +
                ": another kernelscope run is writing into this directory; wait for it or "
                "choose another --out");
  }
}

OutputLock::~OutputLock() { ::close(fd_); }

namespace {

// A name a manifest may list: a plain file name in the directory, never a path out of it.
// Neither manifest is ever listed: run and learn may share a directory.
bool is_listable(const std::string& name) {
  return !name.empty() && name != "." && name != ".." && name.find('/') == std::string::npos &&
         name != "run.json" && name != "learn.json" && name != kLockName;
}

}  // namespace

std::vector<std::string> names_in(const std::filesystem::path& dir,
                                  const std::vector<std::string>& paths) {
  std::vector<std::string> names;
  for (const auto& p : paths) {
    const std::filesystem::path path(p);
    const std::string name = path.filename().string();
    if (path.parent_path() == dir && is_listable(name) &&
        !std::count(names.begin(), names.end(), name))
      names.push_back(name);
  }
  return names;
}

// The files the previous run listed; nullopt when there is no manifest (a new directory or
// one from before manifests). A manifest that is not ours is reported and left alone.
std::optional<std::vector<std::string>> previous_run_files(const std::filesystem::path& dir,
                                                           const std::string& shown,
                                                           const char* manifest_name) {
  const std::filesystem::path path = dir / manifest_name;
  std::error_code ec;
  if (!std::filesystem::exists(std::filesystem::symlink_status(path, ec))) return std::nullopt;
  std::vector<std::string> files;
  try {
    const std::vector<uint8_t> bytes = read_file_bytes(path.string(), int64_t{16} << 20);
    const nlohmann::json j = nlohmann::json::parse(bytes.begin(), bytes.end());
    for (const auto& name : j.at("files"))
      if (is_listable(name.get<std::string>())) files.push_back(name.get<std::string>());
  } catch (const std::exception&) {
    std::fprintf(stderr,
                 "kernelscope: warning: %s/%s is not a kernelscope manifest; files of an "
                 "earlier run there are left alone\n",
                 shown.c_str(), manifest_name);
    return std::vector<std::string>{};
  }
  return files;
}

// Removes what the previous run wrote and this one did not; only regular files (a name the
// user has since replaced by a directory or link is left alone).
void remove_previous_run_files(const std::filesystem::path& dir,
                               const std::vector<std::string>& previous,
                               const std::vector<std::string>& written) {
  for (const auto& name : previous) {
    if (std::count(written.begin(), written.end(), name)) continue;
    const std::filesystem::path path = dir / name;
    std::error_code ec;
    if (!std::filesystem::is_regular_file(std::filesystem::symlink_status(path, ec))) continue;
    std::filesystem::remove(path, ec);
    if (ec) throw Error("cannot remove " + path.string() + " of an earlier run: " + ec.message());
  }
}

// run.json, written last: the files of a complete run, or (complete false) everything a failed
// run may have left, for the next run to clean up. best_effort: failing to write it must not
// hide the error that is being reported.
void write_manifest(const std::filesystem::path& dir, nlohmann::json manifest,
                    const std::vector<std::string>& files, bool complete, bool best_effort,
                    const char* manifest_name) {
  manifest["files"] = files;
  manifest["complete"] = complete;
  // Names that are not UTF-8 become U+FFFD instead of making dump() throw.
  const std::string text =
      manifest.dump(2, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
  try {
    write_file_atomically((dir / manifest_name).string(), text.data(), text.size());
  } catch (const Error&) {
    if (!best_effort) throw;
  }
}

}  // namespace ks::cli
