// write_file_atomically (issue 15): unpredictable exclusive temporaries, refusal of targets
// that are not regular files, no temporaries left after a failure, an interrupt or a crash.
#include <signal.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <string>
#include <thread>

#include "kernelscope/error.h"
#include "kernelscope/io.h"
#include "test_util.h"

namespace ks {
namespace {

namespace fs = std::filesystem;
using test::TempDir;
using test::throws_with;

std::string slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string((std::istreambuf_iterator<char>(in)), {});
}

// Temporary files of the writer, old style ("NAME.tmp") or new (".NAME.kstmp-PID-RANDOM").
int count_temporaries(const std::string& dir) {
  int n = 0;
  for (const auto& e : fs::directory_iterator(dir)) {
    const std::string name = e.path().filename().string();
    n += name.find(".kstmp-") != std::string::npos ||
         (name.size() > 4 && name.compare(name.size() - 4, 4, ".tmp") == 0);
  }
  return n;
}

class SafeWrite : public ::testing::Test {
 protected:
  TempDir temp_{"safe_write"};
  const std::string& dir_ = temp_.path;
};

// A symlink planted at the old predictable name ("NAME.tmp") redirected the write to its
// target; the temporary is now created exclusively under a random name, so no link is used.
TEST_F(SafeWrite, PlantedSymlinksAreNotFollowed) {
  fs::create_directories(dir_ + "/outside");
  std::ofstream(dir_ + "/outside/victim") << "keep me";
  fs::create_symlink(dir_ + "/outside/victim", dir_ + "/a.npy.tmp");
  save_npy(dir_ + "/a.npy", test::random_tensor({2, 2}, 1));
  EXPECT_EQ(slurp(dir_ + "/outside/victim"), "keep me");
  EXPECT_EQ(load_npy(dir_ + "/a.npy").shape, (Shape{2, 2}));
  EXPECT_TRUE(fs::is_symlink(dir_ + "/a.npy.tmp"));
}

// Renaming over a device or FIFO replaced the node with a regular file.
TEST_F(SafeWrite, TargetsThatAreNotRegularFilesAreRefused) {
  const std::string fifo = dir_ + "/fifo";
  ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0);
  const std::string data = "x";
  EXPECT_TRUE(throws_with([&] { write_file_atomically(fifo, data.data(), data.size()); },
                          fifo + ": is a FIFO, not a regular file"));
  EXPECT_TRUE(fs::is_fifo(fifo));

  fs::create_symlink("/dev/null", dir_ + "/null");
  EXPECT_TRUE(throws_with([&] { save_png_rgb(dir_ + "/null", 1, 1, std::vector<uint8_t>(3)); },
                          dir_ + "/null: is a symlink to a character device, not a regular file"));
  EXPECT_TRUE(fs::is_symlink(dir_ + "/null"));
  EXPECT_TRUE(fs::is_character_file("/dev/null"));

  fs::create_directories(dir_ + "/sub");
  EXPECT_TRUE(throws_with([&] { write_file_atomically(dir_ + "/sub", data.data(), data.size()); },
                          "is a directory, not a regular file"));
  EXPECT_EQ(count_temporaries(dir_), 0);
}

// A write that fails half way (here: the file size limit) removes its temporary.
TEST_F(SafeWrite, FailedWriteLeavesNoTemporary) {
  std::ofstream(dir_ + "/a.npy") << "old";
  const pid_t child = ::fork();
  if (child == 0) {
    ::signal(SIGXFSZ, SIG_IGN);  // EFBIG instead of a signal
    const rlimit limit = {4096, 4096};
    ::setrlimit(RLIMIT_FSIZE, &limit);
    try {
      save_npy(dir_ + "/a.npy", test::random_tensor({64, 64}, 2));
    } catch (const Error& e) {
      ::_exit(std::string(e.what()).find("write failed") != std::string::npos ? 0 : 2);
    }
    ::_exit(1);
  }
  int status = 0;
  ::waitpid(child, &status, 0);
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 0) << "1: no error, 2: another error";
  EXPECT_EQ(count_temporaries(dir_), 0);
  EXPECT_EQ(slurp(dir_ + "/a.npy"), "old");
}

// SIGTERM in the middle of a write: the handler removes the temporary before the process
// dies. The child writes one 32 MiB file after another; the signal comes once a temporary
// exists.
TEST_F(SafeWrite, InterruptedWriteRemovesItsTemporary) {
  const pid_t child = ::fork();
  if (child == 0) {
    const std::string big(32 << 20, 'x');
    for (;;) write_file_atomically(dir_ + "/big.bin", big.data(), big.size());
  }
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  while (count_temporaries(dir_) == 0 && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(std::chrono::microseconds(200));
  ::kill(child, SIGTERM);
  int status = 0;
  ::waitpid(child, &status, 0);
  EXPECT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGTERM);
  EXPECT_EQ(count_temporaries(dir_), 0);
}

// A temporary of a process that no longer exists (killed with SIGKILL) is removed by the
// next write into the directory; one of a live writer, a fresh one and look-alikes stay.
TEST_F(SafeWrite, StaleTemporariesOfDeadProcessesAreRemoved) {
  const pid_t dead = ::fork();
  if (dead == 0) ::_exit(0);
  ::waitpid(dead, nullptr, 0);
  const std::string stale = dir_ + "/.a.npy.kstmp-" + std::to_string(dead) + "-AbCdEfGhIjKl";
  const std::string fresh = dir_ + "/.b.npy.kstmp-" + std::to_string(dead) + "-AbCdEfGhIjKm";
  const std::string live = dir_ + "/.c.npy.kstmp-1-AbCdEfGhIjKl";  // pid 1 always runs
  const std::string mine = dir_ + "/.notes.kstmp-draft";
  for (const auto& p : {stale, fresh, live, mine}) std::ofstream(p) << "x";
  const auto old = fs::file_time_type::clock::now() - std::chrono::hours(1);
  for (const auto& p : {stale, live, mine}) fs::last_write_time(p, old);

  save_npy(dir_ + "/a.npy", test::random_tensor({2}, 3));
  EXPECT_FALSE(fs::exists(stale));
  EXPECT_TRUE(fs::exists(fresh));
  EXPECT_TRUE(fs::exists(live));
  EXPECT_TRUE(fs::exists(mine));
}

// The temporary gets the usual permissions (0666 less the umask), not mkstemp's 0600.
TEST_F(SafeWrite, WrittenFilesHaveTheUsualPermissions) {
  const mode_t old_mask = ::umask(022);
  save_npy(dir_ + "/a.npy", test::random_tensor({2}, 3));
  ::umask(old_mask);
  EXPECT_EQ(fs::status(dir_ + "/a.npy").permissions() & fs::perms::all,
            fs::perms::owner_read | fs::perms::owner_write | fs::perms::group_read |
                fs::perms::others_read);
}

}  // namespace
}  // namespace ks
