#!/usr/bin/env python3
"""Judges the GPU test run of tools/gpu_check.sh from the gtest binary's output.

A failed test fails the check. A skipped test passes only when it is an expected skip on a
healthy GPU machine (EXPECTED below, matched on the test's full name and on its skip
message); any other skip means a GPU test did not run, and fails the check. Prints every
skip with its reason and verdict, and exits 0 (pass), 1 (fail) or 2 (no report).

usage: gpu_check_results.py TESTS.log

The text output, not --gtest_output=json: the JSON of the gtest versions in use has no skip
messages, and the messages are what tells an expected skip from a GPU that was not used.
"""
import json
import re
import sys

# (test name pattern, skip message pattern, why this skip is right on a working GPU)
EXPECTED = [
    (r"Registered/(BackendGrid\.MatchesReference|KernelsModeGrid\.\w+)/cudnn_involution_\w+",
     r"does not support involution_", "cuDNN has no involution"),
    (r"CudaBackend\.AutoNeverPicksAnUnavailableGpuBackend", r"a GPU is usable here",
     "tests the fallback without a GPU"),
    (r"CudaBackend\.OperationsThrowErrorWhenUnavailable",
     r"no compiled-in CUDA backend is unavailable", "tests unavailable GPU backends"),
]


def expected_reason(name, message):
    for name_pattern, message_pattern, why in EXPECTED:
        if re.fullmatch(name_pattern, name) and re.search(message_pattern, message):
            return why
    return None


def read_results(lines):
    """(name, result, skip message) per test, from gtest's "[ RUN ]" ... "[ result ]" blocks."""
    results = []
    name, body = None, []
    for line in lines:
        line = line.rstrip("\n")
        match = re.match(r"\[ RUN      \] (\S+)", line)
        if match:
            name, body = match.group(1), []
            continue
        match = re.match(r"\[ +(OK|SKIPPED|FAILED) +\] (\S+) \(", line)
        if match and match.group(2) == name:
            message = " ".join(l.strip() for l in body if not l.endswith(": Skipped"))
            results.append((name, match.group(1), message))
            name = None
        elif name:
            body.append(line)
    if name:
        results.append((name, "CRASHED", " ".join(body)[-300:]))
    return results


def main():
    if len(sys.argv) != 2:
        print(__doc__)
        return 2
    try:
        with open(sys.argv[1], errors="replace") as f:
            results = read_results(f)
    except OSError as e:
        print(f"gpu tests: no test output ({e})")
        return 2
    ran = failed = expected = unexpected = 0
    for name, result, message in results:
        if result == "SKIPPED":
            why = expected_reason(name, message)
            if why:
                expected += 1
                print(f"expected skip    {name}: {why}")
            else:
                unexpected += 1
                print(f"UNEXPECTED SKIP  {name}: {message}")
        elif result == "OK":
            ran += 1
        else:
            failed += 1
            print(f"{result:<16} {name}")
    print(f"gpu tests: {ran} passed, {failed} failed, {expected} expected skips, "
          f"{unexpected} unexpected skips")
    return 1 if failed or unexpected or ran == 0 else 0


if __name__ == "__main__":
    sys.exit(main())
