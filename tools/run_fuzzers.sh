#!/usr/bin/env bash
# Builds the libFuzzer targets with clang (ASan + UBSan) in build-fuzz and runs each for N
# seconds (default 30). Exits nonzero if any target crashes; the crashing input is kept in
# build-fuzz/artifacts/<target>/. New corpus entries go to build-fuzz/corpus/, so the seed
# corpora in fuzz/corpus/ stay small.
#   tools/run_fuzzers.sh [seconds]
set -euo pipefail

seconds="${1:-30}"
root="$(cd "$(dirname "$0")/.." && pwd)"
build="$root/build-fuzz"

cmake -S "$root" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DCMAKE_C_COMPILER=clang -DCMAKE_CXX_COMPILER=clang++ -DKS_BUILD_FUZZERS=ON \
  -DKS_ENABLE_CUDA=OFF -DKS_BUILD_APP=OFF -DKS_BUILD_TESTS=OFF -DKS_BUILD_BENCH=OFF >/dev/null
ninja -C "$build" -j2 fuzz_npy fuzz_safetensors

failed=()
for target in fuzz_npy fuzz_safetensors; do
  corpus="$build/corpus/$target"
  artifacts="$build/artifacts/$target/"
  mkdir -p "$corpus" "$artifacts"
  dict="$root/fuzz/${target#fuzz_}.dict"
  echo "== $target for ${seconds}s"
  # -malloc_limit_mb turns an allocation that ignored the 64 MiB cap into a reported crash.
  if ! "$build/fuzz/$target" -max_total_time="$seconds" -max_len=4096 -malloc_limit_mb=512 \
      -rss_limit_mb=2048 -print_final_stats=1 -artifact_prefix="$artifacts" -dict="$dict" \
      "$corpus" "$root/fuzz/corpus/$target"; then
    failed+=("$target")
  fi
done

if ((${#failed[@]})); then
  echo "FAILED: ${failed[*]} (inputs in $build/artifacts/)" >&2
  exit 1
fi
echo "all fuzzers ran ${seconds}s without a crash"
