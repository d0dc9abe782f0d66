// arc4random for binaries that must run on glibc 2.35 (Ubuntu 22.04) though built on a newer
// one (tools/gpu_check.sh --build-only, KS_GLIBC235_BUNDLE=ON). Debian 12's static libstdc++
// calls arc4random in std::random_device, and its string shims pull that in whether or not we
// use it; glibc added arc4random in 2.36. Defined here, the call binds to this definition and
// the binary imports nothing newer than 2.35. getrandom (glibc 2.25) reads the same kernel
// source glibc's arc4random does.
#include <sys/random.h>

#include <cerrno>
#include <cstdint>
#include <cstdlib>

extern "C" uint32_t arc4random(void) {
  uint32_t value = 0;
  auto* bytes = reinterpret_cast<unsigned char*>(&value);
  size_t filled = 0;
  while (filled < sizeof value) {
    const ssize_t got = getrandom(bytes + filled, sizeof value - filled, 0);
    if (got > 0) {
      filled += static_cast<size_t>(got);
    } else if (errno != EINTR) {
      std::abort();  // glibc's arc4random also terminates when the kernel gives no randomness
    }
  }
  return value;
}
