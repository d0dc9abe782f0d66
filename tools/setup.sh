#!/usr/bin/env bash
# Installs the Debian 12 packages KernelScope needs to build, run and test. Idempotent:
# packages already present are skipped, so a second run takes a second. Run as root.
set -euo pipefail

packages=(
  build-essential cmake ninja-build pkg-config git
  libcli11-dev nlohmann-json3-dev libstb-dev            # engine and CLI
  libglfw3-dev libimgui-dev libepoxy-dev fonts-dejavu-core  # desktop app
  libgl1-mesa-dri                                       # software OpenGL for Xvfb
)
if [[ "${1:-}" == "--tests" ]]; then
  packages+=(libgtest-dev libbenchmark-dev xvfb xauth xdotool clang libclang-rt-14-dev clang-format
             python3 python3-numpy)
fi

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  if [[ $(id -u) -ne 0 ]]; then
    echo "setup: missing packages: ${missing[*]}; run this script as root (or with sudo)" >&2
    exit 1
  fi
  echo "setup: installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -q
  apt-get install -y -q --no-install-recommends "${missing[@]}"
fi
