#!/usr/bin/env bash
# Every GPU check of the project in one command, for a machine with an NVIDIA GPU. Nothing in
# this project has run on a GPU yet: this script is how the first run happens. It passes on a
# working GPU machine and fails on a broken one:
#   - GPU unit tests (grid + PyTorch fixtures for cuda, cuda-naive and cudnn). Failures fail
#     the check. Skips are judged by tools/gpu_check_results.py: the skips expected on a
#     healthy GPU (cuDNN has no involution; two tests of the no-GPU fallback) are listed by
#     name with their reason and pass; any other skip means a GPU test did not run: failure.
#   - `kernelscope selftest` on the three GPU backends, and the benchmark against PyTorch.
# Everything goes to ONE results file, $OUT (default ./gpu-check-results.txt).
#
#   bash tools/gpu_check.sh                  # build here (needs nvcc, tools/setup.sh --tests)
#   bash tools/gpu_check.sh --build-only DIR # on any machine with nvcc: a self-contained bundle
#   bash tools/gpu_check.sh --prebuilt DIR   # on the GPU machine: run the bundle (< 5 min)
#
# The bundle (DIR/bin): engine_tests, kernelscope, ks_gpu_bench, linked with a static
# libstdc++ and libgcc (plus engine/portable/arc4random_shim.cpp, as Debian 12's static
# libstdc++ would otherwise import glibc 2.36's arc4random) and the CUDA runtime static, RPATH $ORIGIN, any other non-system
# library copied alongside, and DIR/bundle.txt with its size and the newest glibc symbol
# each file needs. --build-only fails if a file needs glibc newer than 2.35 (Ubuntu 22.04),
# a dynamic libstdc++, or the bundle exceeds 64 MiB. KS_CUDA_ARCH (default 90 = H100/H200)
# picks the GPU architecture, KS_GPU_BUILD_DIR (build-gpu) the build directory, KS_JOBS the
# build's parallelism.
#
# --prebuilt: each step has its own time limit (the whole run stays under 5 minutes) and runs
# under `timeout`, which kills the step's whole process group, so nothing is left running.
# cuDNN is found on the system, or else in PyTorch's wheels when PyTorch is installed.
# Without a usable GPU it says so ("no GPU: <why>") and exits 3; any failed step exits 1.
set -uo pipefail
repo="$(cd "$(dirname "$0")/.." && pwd)"

arch="${KS_CUDA_ARCH:-90}"
build_dir="${KS_GPU_BUILD_DIR:-build-gpu}"
jobs="${KS_JOBS:-$(nproc)}"
max_glibc="2.35"
max_bundle_bytes=$((64 << 20))

build() {
  cmake -S "$repo" -B "$build_dir" -DCMAKE_BUILD_TYPE=Release -DKS_BUILD_APP=OFF \
    -DKS_BUILD_TESTS=ON -DKS_BUILD_BENCH=ON -DCMAKE_CUDA_ARCHITECTURES="$arch" \
    -DCMAKE_EXE_LINKER_FLAGS="-static-libstdc++ -static-libgcc" -DKS_GLIBC235_BUNDLE=ON \
    -DCMAKE_BUILD_RPATH='$ORIGIN' >"$build_dir-configure.log" 2>&1 ||
    { tail -20 "$build_dir-configure.log"; return 1; }
  grep -q "CUDA backends   ON" "$build_dir-configure.log" ||
    { echo "gpu_check: nvcc not found, the CUDA backends would not be built"; return 1; }
  cmake --build "$build_dir" -j "$jobs" --target engine_tests kernelscope ks_gpu_bench
}

# Libraries every Linux with glibc has; anything else a binary needs is carried.
is_system_library() {
  [[ "$1" =~ ^(linux-vdso|ld-linux|libc|libm|libdl|libpthread|librt|libresolv)[.-] ]]
}

# Checks the bundle's files against Ubuntu 22.04 and writes DIR/bundle.txt.
check_bundle() {
  local dir="$1" ok=0 file newest
  {
    echo "bundle $dir: $(du -sb "$dir" | cut -f1) bytes (limit $max_bundle_bytes)"
    for file in "$dir"/bin/*; do
      newest="$(objdump -T "$file" | grep -o 'GLIBC_[0-9.]*' | sort -uV | tail -1)"
      echo "$(basename "$file"): newest symbol version ${newest:-none}"
      if objdump -T "$file" | grep -o 'GLIBC_[0-9.]*' | sort -u |
        awk -F_ -v max="$max_glibc" '{ split($2, v, "."); split(max, m, ".");
          if (v[1] > m[1] || (v[1] == m[1] && v[2] > m[2])) { print; found = 1 } }
          END { exit !found }'; then
        echo "  ^ needs glibc newer than $max_glibc"
        ok=1
      fi
      if objdump -p "$file" | grep -q 'NEEDED.*libstdc++'; then
        echo "  ^ needs the system libstdc++ (link it statically)"
        ok=1
      fi
    done
  } | tee "$dir/bundle.txt"
  (($(du -sb "$dir" | cut -f1) <= max_bundle_bytes)) || { echo "bundle over 64 MiB"; ok=1; }
  grep -q "^  ^" "$dir/bundle.txt" && ok=1
  return $ok
}

if [[ "${1:-}" == "--build-only" ]]; then
  dest="${2:?usage: tools/gpu_check.sh --build-only DIR}"
  build || exit 1
  rm -rf "$dest" && mkdir -p "$dest/bin" "$dest/fixtures"
  for target in tests/engine_tests app/kernelscope bench/ks_gpu_bench; do
    cp "$build_dir/$target" "$dest/bin/" || exit 1
  done
  cp "$repo/bench/gpu_bench.py" "$repo/tools/gpu_check.sh" "$repo/tools/gpu_check_results.py" \
    "$dest/"
  cp -r "$repo/tests/fixtures/." "$dest/fixtures/"
  # Non-system shared libraries (Debian's libstb, say) go next to the binaries ($ORIGIN).
  for file in "$dest"/bin/*; do
    ldd "$file" | awk '$3 ~ /^\// {print $1, $3}' | while read -r name path; do
      is_system_library "$name" || cp -Ln "$path" "$dest/bin/"
    done
  done
  strip --strip-unneeded "$dest"/bin/* 2>/dev/null
  check_bundle "$dest" || { echo "gpu_check: the bundle would not run on Ubuntu 22.04"; exit 1; }
  echo "gpu_check: bundle for sm_$arch in $dest (run: bash $dest/gpu_check.sh --prebuilt $dest)"
  exit 0
fi

if [[ "${1:-}" == "--prebuilt" ]]; then
  bundle="$(cd "${2:?usage: tools/gpu_check.sh --prebuilt DIR}" && pwd)"
  bin="$bundle/bin" fixtures="$bundle/fixtures" bench_py="$bundle/gpu_bench.py"
  judge="$bundle/gpu_check_results.py"
else
  build || exit 1
  bin="$PWD/$build_dir/bin-links" && mkdir -p "$bin"
  ln -sf "$PWD/$build_dir/tests/engine_tests" "$PWD/$build_dir/app/kernelscope" \
    "$PWD/$build_dir/bench/ks_gpu_bench" "$bin/"
  fixtures="$repo/tests/fixtures" bench_py="$repo/bench/gpu_bench.py"
  judge="$repo/tools/gpu_check_results.py"
fi

results="$(realpath -m "${OUT:-gpu-check-results.txt}")"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
export KS_FIXTURE_DIR="$fixtures"
: >"$results"
status=0
summary=()
deadline=$((SECONDS + 290))  # the whole run, under 5 minutes

section() { printf '\n===== %s =====\n' "$1" >>"$results"; }

run_step() {  # name, time limit (s), command...: output into the results file
  local name="$1" limit="$2"
  shift 2
  local left=$((deadline - SECONDS))
  ((limit > left)) && limit=$left
  if ((limit < 5)); then
    summary+=("$(printf '%-9s not run: out of time' "$name")")
    status=1
    return 1
  fi
  section "$name"
  local start=$SECONDS
  # timeout signals its whole process group: a step's children die with it.
  timeout -k 5 "$limit" "$@" >>"$work/$name.log" 2>&1
  local rc=$?
  cat "$work/$name.log" >>"$results"
  local note=""
  ((rc == 124 || rc == 137)) && note=" (timed out after ${limit}s)"
  summary+=("$(printf '%-9s rc=%-3s %4ss%s' "$name" "$rc" "$((SECONDS - start))" "$note")")
  ((rc == 0)) || status=1
  return $rc
}

# cuDNN: the system's, else PyTorch's (pip's nvidia-cudnn wheel, or torch/lib).
cudnn_note="system cuDNN"
if ! ldconfig -p 2>/dev/null | grep -q 'libcudnn\.so\.9'; then
  torch_cudnn="$(timeout 30 python3 -c '
import glob, os
try:
    import nvidia.cudnn as c
    print(os.path.join(list(c.__path__)[0], "lib"))
except Exception:
    import torch
    print(os.path.join(os.path.dirname(torch.__file__), "lib"))' 2>/dev/null)"
  if [[ -n "$torch_cudnn" ]] && compgen -G "$torch_cudnn/libcudnn.so.9*" >/dev/null; then
    export LD_LIBRARY_PATH="$torch_cudnn${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
    cudnn_note="PyTorch's cuDNN in $torch_cudnn"
  else
    cudnn_note="no cuDNN found (the cudnn tests will skip, and fail the check)"
  fi
fi

run_step device 30 bash -c "nvidia-smi || true; '$bin/ks_gpu_bench' --device-info"
if ! "$bin/kernelscope" selftest --cases 1 --backend cuda >"$work/probe.log" 2>&1; then
  section "no GPU"
  cat "$work/probe.log" >>"$results"
  why="$(sed -n 's/^  cuda: //p' "$work/probe.log" | head -1)"
  summary+=("no GPU: ${why:-see the selftest output above}")
  printf '%s\n' "${summary[@]}" | tee -a "$results"
  echo "gpu_check: no usable GPU, nothing else run; results in $results"
  exit 3
fi

run_step tests 120 "$bin/engine_tests" \
  --gtest_filter='Cuda*:Registered/BackendGrid.*cuda*:Registered/BackendGrid.*cudnn*:Registered/KernelsModeGrid.*cuda*:Registered/KernelsModeGrid.*cudnn*:Registered/BackendFixtures.*'
section "test verdict ($cudnn_note)"
python3 "$judge" "$work/tests.log" >"$work/verdict.log" 2>&1
verdict=$?
cat "$work/verdict.log" >>"$results"
summary+=("$(tail -n 1 "$work/verdict.log")")
((verdict == 0)) || status=1
run_step selftest 45 "$bin/kernelscope" selftest --cases 100 --backend cuda \
  --backend cuda-naive --backend cudnn
bench_args=(--exe "$bin/ks_gpu_bench" --json "$work/bench.json")
timeout 30 python3 -c "import torch; assert torch.cuda.is_available()" 2>/dev/null ||
  bench_args+=(--no-torch)
run_step bench 90 python3 "$bench_py" "${bench_args[@]}" &&
  { section bench.json; cat "$work/bench.json" >>"$results"; }

section summary
printf '%s\n' "${summary[@]}" | tee -a "$results"
echo "gpu_check: $([[ $status == 0 ]] && echo PASSED || echo FAILED); results in $results"
exit $status
