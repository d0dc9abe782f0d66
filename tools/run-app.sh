#!/usr/bin/env bash
# One command from a fresh Debian 12 machine (as root) to the running app on the bundled
# sample: installs packages, builds (Release), starts `kernelscope`. Extra arguments go to
# the app. Without a display it runs the CLI on the sample instead and says so.
set -euo pipefail
cd "$(dirname "$0")/.."
bash tools/setup.sh
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=Release -DKS_BUILD_TESTS=OFF -DKS_BUILD_BENCH=OFF >/dev/null
cmake --build build --target kernelscope
if [[ -z "${DISPLAY:-}" && -z "${WAYLAND_DISPLAY:-}" ]]; then
  echo "run-app: no display found; running the command-line front end on the sample instead"
  ./build/app/kernelscope run --op involution --input assets/samples/shapes.png --out out/sample \
    --kernel-size 7
  echo "run-app: feature maps written to out/sample/ (start the app from a desktop session)"
  exit 0
fi
exec ./build/app/kernelscope "$@"
