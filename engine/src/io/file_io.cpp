// Whole-file reads with a size cap, and atomic writes (temporary file + rename) so that a
// failed save never leaves a half-written file where the user expects a good one.
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <memory>
#include <system_error>

#include "kernelscope/error.h"
#include "kernelscope/io.h"

namespace ks {
namespace {

std::string errno_text() { return std::strerror(errno); }

struct FileCloser {
  void operator()(std::FILE* f) const {
    if (f) std::fclose(f);
  }
};

}  // namespace

std::vector<uint8_t> read_file_bytes(const std::string& path, int64_t max_bytes) {
  namespace fs = std::filesystem;
  std::error_code ec;
  const fs::file_status status = fs::status(path, ec);
  if (status.type() == fs::file_type::not_found) throw Error(path + ": no such file");
  if (status.type() == fs::file_type::directory) throw Error(path + ": is a directory");
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

void write_file_atomically(const std::string& path, const void* data, size_t size) {
  const std::string tmp = path + ".tmp";
  auto fail = [&](const std::string& what) {
    const std::string reason = errno_text();
    std::remove(tmp.c_str());
    throw Error(path + ": " + what + ": " + reason);
  };
  std::FILE* file = std::fopen(tmp.c_str(), "wb");
  if (!file) throw Error(path + ": cannot create " + tmp + ": " + errno_text());
  const bool written = size == 0 || std::fwrite(data, 1, size, file) == size;
  const bool flushed = std::fflush(file) == 0;
  const bool closed = std::fclose(file) == 0;
  if (!written || !flushed || !closed) fail("write failed");
  if (std::rename(tmp.c_str(), path.c_str()) != 0) fail("cannot rename " + tmp + " into place");
}

}  // namespace ks
