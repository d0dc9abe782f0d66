// Whole-file reads with a size cap, and the one writer every output goes through: a temporary
// file with an unpredictable name beside the target, created exclusively, fsynced and renamed
// into place, so a failed or interrupted save never leaves a half-written file where the user
// expects a good one, and a symlink planted at a temporary name cannot redirect the write.
#include <fcntl.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <memory>
#include <mutex>
#include <set>
#include <system_error>

#include "kernelscope/error.h"
#include "kernelscope/io.h"

namespace ks {
namespace {

namespace fs = std::filesystem;

std::string errno_text() { return std::strerror(errno); }

struct FileCloser {
  void operator()(std::FILE* f) const {
    if (f) std::fclose(f);
  }
};

// "a FIFO", "a directory"... for messages about a path that is not a regular file.
std::string kind_of(mode_t mode) {
  if (S_ISDIR(mode)) return "a directory";
  if (S_ISFIFO(mode)) return "a FIFO";
  if (S_ISCHR(mode)) return "a character device";
  if (S_ISBLK(mode)) return "a block device";
  if (S_ISSOCK(mode)) return "a socket";
  return "not a regular file";
}

// ---- Temporary files an interrupted run must remove -------------------------------------
// A fixed table the signal handler can walk without locks or allocation: a slot is free (0),
// being filled (1) or holds a live temporary path (2).
constexpr int kSlots = 64;
constexpr size_t kSlotPath = 4096;
struct Slot {
  std::atomic<int> state{0};
  char path[kSlotPath];
};
Slot g_slots[kSlots];

extern "C" void remove_temporaries_and_die(int sig) {
  for (Slot& slot : g_slots)
    if (slot.state.load() == 2) ::unlink(slot.path);
  std::signal(sig, SIG_DFL);  // async-signal-safe, as are unlink and raise
  std::raise(sig);
}

// Only where the default action (terminate) is in place: a host program's own handlers win.
void install_signal_handlers() {
  static std::once_flag once;
  std::call_once(once, [] {
    for (int sig : {SIGINT, SIGTERM, SIGHUP}) {
      struct sigaction old = {};
      if (sigaction(sig, nullptr, &old) != 0 || old.sa_handler != SIG_DFL) continue;
      struct sigaction action = {};
      action.sa_handler = remove_temporaries_and_die;
      sigemptyset(&action.sa_mask);
      sigaction(sig, &action, nullptr);
    }
  });
}

// Returns the slot index, or -1 when the table is full or the path too long (the file is then
// left to the stale-temporary sweep of a later run).
int register_temporary(const std::string& path) {
  if (path.size() >= kSlotPath) return -1;
  for (int i = 0; i < kSlots; ++i) {
    int expected = 0;
    if (!g_slots[i].state.compare_exchange_strong(expected, 1)) continue;
    std::memcpy(g_slots[i].path, path.c_str(), path.size() + 1);
    g_slots[i].state.store(2);
    return i;
  }
  return -1;
}

void unregister_temporary(int slot) {
  if (slot >= 0) g_slots[slot].state.store(0);
}

// ---- The active write journal --------------------------------------------------------------
std::mutex g_journal_mutex;
WriteJournal* g_journal = nullptr;

void record_write(const std::string& path) {
  std::lock_guard<std::mutex> lock(g_journal_mutex);
  if (g_journal) g_journal->add(path);
}

// ---- Temporary names ----------------------------------------------------------------------
// ".NAME.kstmp-PID-RANDOM": hidden, recognisably ours, and carrying the writer's process id so
// a later run can tell an abandoned one from one being written.
constexpr const char* kTempMarker = ".kstmp-";

std::string random_suffix() {
  static const char kAlphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
  unsigned char bytes[12];
  if (getrandom(bytes, sizeof bytes, 0) != static_cast<ssize_t>(sizeof bytes)) {
    // getrandom is missing or was interrupted: /dev/urandom, else the clock (the name also
    // carries the PID, and the file is created exclusively). Not std::random_device: a
    // static libstdc++ implements it with glibc 2.36's arc4random, which would keep the GPU
    // bundle of tools/gpu_check.sh from running on Ubuntu 22.04 (glibc 2.35).
    const int fd = ::open("/dev/urandom", O_RDONLY | O_CLOEXEC);
    const bool read_all =
        fd >= 0 && ::read(fd, bytes, sizeof bytes) == static_cast<ssize_t>(sizeof bytes);
    if (fd >= 0) ::close(fd);
    if (!read_all) {
      uint64_t x =
          static_cast<uint64_t>(std::chrono::steady_clock::now().time_since_epoch().count());
      for (auto& b : bytes) {
        x = x * 6364136223846793005ull + 1442695040888963407ull;  // an LCG step
        b = static_cast<unsigned char>(x >> 56);
      }
    }
  }
  std::string suffix;
  for (unsigned char b : bytes) suffix += kAlphabet[b % (sizeof kAlphabet - 1)];
  return suffix;
}

std::string temporary_name(const std::string& target_name) {
  // Names are limited to 255 bytes; the marker and suffix need about 40.
  return "." + target_name.substr(0, 200) + kTempMarker + std::to_string(::getpid()) + "-" +
         random_suffix();
}

// The writer's pid if `name` is one of our temporary names, otherwise 0.
pid_t temporary_owner(const std::string& name) {
  const size_t marker = name.rfind(kTempMarker);
  if (name.empty() || name[0] != '.' || marker == std::string::npos) return 0;
  const char* digits = name.c_str() + marker + std::strlen(kTempMarker);
  char* end = nullptr;
  const long pid = std::strtol(digits, &end, 10);
  return end != digits && *end == '-' && pid > 0 ? static_cast<pid_t>(pid) : 0;
}

// Removes temporaries in `dir` whose writer has exited (killed before it could clean up) and
// that nobody has touched for a minute, once per directory per process.
void sweep_stale_temporaries(const fs::path& dir) {
  static std::mutex mutex;
  static std::set<std::string> swept;
  {
    std::lock_guard<std::mutex> lock(mutex);
    if (!swept.insert(dir.string()).second) return;
  }
  remove_stale_temporaries(dir.string());
}

// Refuses to replace anything but a regular file (or a symlink to one, or nothing): renaming
// over a device node or FIFO would replace the node, and a directory cannot be replaced.
void check_target(const std::string& path) {
  struct stat st = {};
  if (::lstat(path.c_str(), &st) != 0) return;  // nothing there yet (or rename will say why)
  if (S_ISREG(st.st_mode)) return;
  if (S_ISLNK(st.st_mode)) {
    if (::stat(path.c_str(), &st) != 0 || S_ISREG(st.st_mode)) return;  // dangling or a file
    throw Error(path + ": is a symlink to " + kind_of(st.st_mode) +
                ", not a regular file; refusing to replace it");
  }
  throw Error(path + ": is " + kind_of(st.st_mode) +
              ", not a regular file; refusing to replace it");
}

// One open temporary file; removes it (and its registry slot) unless committed.
class Temporary {
 public:
  explicit Temporary(const std::string& target) : target_(target) {
    const fs::path target_path(target);
    const fs::path dir = target_path.has_parent_path() ? target_path.parent_path() : fs::path(".");
    install_signal_handlers();
    sweep_stale_temporaries(dir);
    for (int attempt = 0; attempt < 100 && fd_ < 0; ++attempt) {
      path_ = (dir / temporary_name(target_path.filename().string())).string();
      // Registered before it exists, so no signal can come between creation and registry.
      slot_ = register_temporary(path_);
      // O_EXCL: never an existing file or a planted symlink; 0666 less the umask, as fopen.
      fd_ = ::open(path_.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0666);
      if (fd_ >= 0) break;
      const int error = errno;
      unregister_temporary(slot_);
      slot_ = -1;
      if (error != EEXIST) {
        throw Error(target + ": cannot create a temporary file in " + dir.string() + ": " +
                    std::strerror(error));
      }
    }
    if (fd_ < 0) throw Error(target + ": cannot create a temporary file in " + dir.string());
  }
  ~Temporary() {
    if (fd_ >= 0) ::close(fd_);
    if (!committed_) ::unlink(path_.c_str());
    unregister_temporary(slot_);
  }
  Temporary(const Temporary&) = delete;
  Temporary& operator=(const Temporary&) = delete;

  void write(const void* data, size_t size) {
    const auto* p = static_cast<const uint8_t*>(data);
    while (size > 0) {
      const ssize_t n = ::write(fd_, p, size);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) fail("write failed");
      p += n;
      size -= static_cast<size_t>(n);
    }
  }

  // fsync before rename: after a crash the target holds either the old or the new contents.
  void commit() {
    if (::fsync(fd_) != 0) fail("write failed (fsync)");
    const int fd = fd_;
    fd_ = -1;
    if (::close(fd) != 0) fail("write failed (close)");
    if (std::rename(path_.c_str(), target_.c_str()) != 0)
      fail("cannot rename the temporary file into place");
    committed_ = true;
    record_write(target_);
  }

 private:
  [[noreturn]] void fail(const std::string& what) const {
    const std::string reason = errno_text();  // before anything else can change errno
    throw Error(target_ + ": " + what + ": " + reason);
  }

  std::string target_, path_;
  int fd_ = -1;
  int slot_ = -1;
  bool committed_ = false;
};

}  // namespace

std::vector<uint8_t> read_file_bytes(const std::string& path, int64_t max_bytes) {
  std::error_code ec;
  const fs::file_status status = fs::status(path, ec);
  if (status.type() == fs::file_type::not_found) throw Error(path + ": no such file");
  if (status.type() == fs::file_type::directory) throw Error(path + ": is a directory");
  // A device has no end (/dev/zero, /dev/urandom) or is a terminal; pipes (--input /dev/stdin)
  // are read as a stream under the same limit as files.
  if (status.type() == fs::file_type::character || status.type() == fs::file_type::block)
    throw Error(path + ": is a device, not a file (pipe it through stdin or a file instead)");
  if (ec) throw Error(path + ": cannot open: " + ec.message());

  std::unique_ptr<std::FILE, FileCloser> file(std::fopen(path.c_str(), "rb"));
  if (!file) throw Error(path + ": cannot open: " + errno_text());
  // The size from fstat-like queries can be wrong for pipes and /proc files, so read in
  // chunks and enforce the cap on what actually arrives.
  std::vector<uint8_t> bytes;
  const uintmax_t size_hint = status.type() == fs::file_type::regular ? fs::file_size(path, ec) : 0;
  if (!ec && size_hint > static_cast<uintmax_t>(max_bytes))
    throw Error(path + ": file is " + std::to_string(size_hint) +
                " bytes, more than the limit of " + std::to_string(max_bytes) + " bytes");
  if (!ec) bytes.reserve(static_cast<size_t>(size_hint));
  uint8_t chunk[1 << 16];
  while (true) {
    const size_t got = std::fread(chunk, 1, sizeof chunk, file.get());
    if (got > 0) {
      if (static_cast<int64_t>(bytes.size() + got) > max_bytes)
        throw Error(path + ": file is larger than the limit of " + std::to_string(max_bytes) +
                    " bytes");
      bytes.insert(bytes.end(), chunk, chunk + got);
    }
    if (got < sizeof chunk) {
      if (std::ferror(file.get())) throw Error(path + ": read error: " + errno_text());
      break;
    }
  }
  return bytes;
}

void check_output_target(const std::string& path) { check_target(path); }

void write_file_atomically(const std::string& path, const void* data, size_t size) {
  check_target(path);
  Temporary temporary(path);
  temporary.write(data, size);
  temporary.commit();
}

WriteJournal::WriteJournal() {
  std::lock_guard<std::mutex> lock(g_journal_mutex);
  if (g_journal) throw Error("internal: a write journal is already active");
  g_journal = this;
}

WriteJournal::~WriteJournal() {
  std::lock_guard<std::mutex> lock(g_journal_mutex);
  g_journal = nullptr;
}

std::vector<std::string> WriteJournal::paths() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return paths_;
}

void WriteJournal::add(const std::string& path) {
  std::lock_guard<std::mutex> lock(mutex_);
  paths_.push_back(path);
}

int remove_stale_temporaries(const std::string& dir) {
  std::error_code ec;
  int removed = 0;
  const auto now = fs::file_time_type::clock::now();
  for (const auto& entry : fs::directory_iterator(dir, ec)) {
    const std::string name = entry.path().filename().string();
    const pid_t owner = temporary_owner(name);
    if (owner == 0 || owner == ::getpid()) continue;
    if (::kill(owner, 0) == 0 || errno != ESRCH) continue;  // its writer is still running
    std::error_code entry_ec;
    if (!entry.is_regular_file(entry_ec) || entry.is_symlink(entry_ec)) continue;
    const auto modified = fs::last_write_time(entry.path(), entry_ec);
    if (entry_ec || now - modified < std::chrono::minutes(1)) continue;
    if (fs::remove(entry.path(), entry_ec)) ++removed;
  }
  return removed;
}

}  // namespace ks
