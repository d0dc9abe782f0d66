#!/usr/bin/env bash
# Builds the libFuzzer targets with clang (ASan + UBSan) in build-fuzz and shares 2*N seconds
# (N defaults to 30) among them. Exits nonzero if any target crashes, or hangs: an input that
# runs longer than 10 s (a decoder loop) is a failure. The offending input is kept in
# build-fuzz/artifacts/<target>/. New corpus entries go to build-fuzz/corpus/, so the seed
# corpora in fuzz/corpus/ stay small.
#   tools/run_fuzzers.sh [seconds]
set -euo pipefail

seconds="${1:-30}"
targets=(fuzz_npy fuzz_safetensors fuzz_image fuzz_params)
# The budget the two original targets had, split among all of them.
per_target=$((2 * seconds / ${#targets[@]}))
((per_target > 0)) || per_target=1
root="$(cd "$(dirname "$0")/.." && pwd)"
build="$root/build-fuzz"

cmake -S "$root" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DCMAKE_C_COMPILER=clang -DCMAKE_CXX_COMPILER=clang++ -DKS_BUILD_FUZZERS=ON \
  -DKS_ENABLE_CUDA=OFF -DKS_BUILD_APP=OFF -DKS_BUILD_TESTS=OFF -DKS_BUILD_BENCH=OFF >/dev/null
ninja -C "$build" -j2 "${targets[@]}"

failed=()
for target in "${targets[@]}"; do
  corpus="$build/corpus/$target"
  artifacts="$build/artifacts/$target/"
  mkdir -p "$corpus" "$artifacts"
  dict="$root/fuzz/${target#fuzz_}.dict"
  dict_flag=()
  [[ -f "$dict" ]] && dict_flag=(-dict="$dict")
  echo "== $target for ${per_target}s"
  # -malloc_limit_mb turns an allocation that ignored the 64 MiB cap into a reported crash.
  # -timeout: one input running longer than that is reported as a hang and fails the run.
  if ! "$build/fuzz/$target" -max_total_time="$per_target" -timeout=10 -max_len=4096 \
      -malloc_limit_mb=512 -rss_limit_mb=2048 -print_final_stats=1 -artifact_prefix="$artifacts" \
      "${dict_flag[@]}" "$corpus" "$root/fuzz/corpus/$target"; then
    failed+=("$target")
  fi
done

if ((${#failed[@]})); then
  echo "FAILED: ${failed[*]} (inputs in $build/artifacts/)" >&2
  exit 1
fi
echo "all fuzzers ran ${per_target}s each without a crash or hang"
