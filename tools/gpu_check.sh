#!/usr/bin/env bash
# Every GPU check of the project in one command, for a machine with an NVIDIA GPU: the GPU
# unit tests (grid + PyTorch fixtures for cuda, cuda-naive and cudnn), `kernelscope
# selftest`, and the GPU benchmark against PyTorch. Results go to $OUT (default
# ./gpu-check): device.txt, tests.txt, selftest.txt, bench.txt and bench.json, summary.txt.
#
#   bash tools/gpu_check.sh                 # builds build-gpu here first (needs nvcc and the
#                                           # packages of tools/setup.sh --tests)
#   bash tools/gpu_check.sh --prebuilt DIR  # uses binaries made by --build-only
#   bash tools/gpu_check.sh --build-only DIR
#       # on a machine without a GPU: builds the three binaries for the GPU's architecture
#       # (KS_CUDA_ARCH, default 90 = H100) and copies them with libstb into DIR, so a GPU
#       # machine without the -dev packages (or with little time) only runs them.
#
# Each step has a time limit (KS_STEP_TIMEOUT seconds, default 240) and a failing step does
# not stop the others; the exit status is nonzero if any step failed.
set -uo pipefail
cd "$(dirname "$0")/.."

arch="${KS_CUDA_ARCH:-90}"
step_timeout="${KS_STEP_TIMEOUT:-240}"

build() {
  local dir="$1"
  cmake -S . -B "$dir" -DCMAKE_BUILD_TYPE=Release -DKS_BUILD_APP=OFF \
    -DCMAKE_CUDA_ARCHITECTURES="$arch" >"$dir-configure.log" 2>&1 ||
    { tail -20 "$dir-configure.log"; return 1; }
  grep -q "CUDA backends   ON" "$dir-configure.log" ||
    { echo "gpu_check: nvcc not found, the CUDA backends would not be built"; return 1; }
  cmake --build "$dir" -j "$(nproc)" --target engine_tests kernelscope ks_gpu_bench
}

if [[ "${1:-}" == "--build-only" ]]; then
  dest="${2:?usage: tools/gpu_check.sh --build-only DIR}"
  build build-gpu || exit 1
  mkdir -p "$dest/bin"
  cp build-gpu/tests/engine_tests build-gpu/app/kernelscope build-gpu/bench/ks_gpu_bench \
    "$dest/bin/"
  # The one shared library the binaries need that a CUDA machine may lack (Debian's stb).
  stb="$(ldd build-gpu/app/kernelscope | awk '/libstb/ {print $3}')"
  [[ -n "$stb" ]] && cp -L "$stb" "$dest/bin/"
  echo "gpu_check: binaries for sm_$arch in $dest/bin"
  exit 0
fi

if [[ "${1:-}" == "--prebuilt" ]]; then
  bin="$(cd "${2:?usage: tools/gpu_check.sh --prebuilt DIR}" && pwd)/bin"
  export LD_LIBRARY_PATH="$bin${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
  tests="$bin/engine_tests" cli="$bin/kernelscope" bench="$bin/ks_gpu_bench"
else
  build build-gpu || exit 1
  tests=build-gpu/tests/engine_tests cli=build-gpu/app/kernelscope
  bench=build-gpu/bench/ks_gpu_bench
fi

out="${OUT:-gpu-check}"
mkdir -p "$out"
export KS_FIXTURE_DIR="$PWD/tests/fixtures"
status=0
summary=()

run_step() {  # name, log file, command...
  local name="$1" log="$2"
  shift 2
  local start=$SECONDS
  timeout "$step_timeout" "$@" >"$out/$log" 2>&1
  local rc=$?
  summary+=("$(printf '%-10s rc=%-3s %4ss  %s' "$name" "$rc" "$((SECONDS - start))" "$out/$log")")
  [[ $rc -eq 0 ]] || status=1
}

run_step device device.txt bash -c "nvidia-smi; '$bench' --device-info"
run_step tests tests.txt "$tests" \
  --gtest_filter='Cuda*:Registered/BackendGrid.*cuda*:Registered/BackendGrid.*cudnn*:Registered/BackendFixtures.*'
run_step selftest selftest.txt "$cli" selftest --cases 200 --backend cuda --backend cuda-naive \
  --backend cudnn
bench_args=(--exe "$bench" --json "$out/bench.json")
/usr/bin/env python3 -c "import torch; assert torch.cuda.is_available()" 2>/dev/null ||
  bench_args+=(--no-torch)
run_step bench bench.txt python3 bench/gpu_bench.py "${bench_args[@]}"

# A skipped GPU test means the GPU was not used: that is a failure here, not a pass.
if grep -q "SKIPPED" "$out/tests.txt"; then
  summary+=("tests: some GPU tests skipped (see the reason in $out/tests.txt)")
  status=1
fi
printf '%s\n' "${summary[@]}" | tee "$out/summary.txt"
tail -n 3 "$out/tests.txt"
cat "$out/selftest.txt"
cat "$out/bench.txt" 2>/dev/null
exit $status
