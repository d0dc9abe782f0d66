#!/usr/bin/python3
"""KernelScope against PyTorch (CPU) on the standard problems, in one run.

Our numbers come from `kernelscope bench --json` (or the stand-alone ks_bench binary, the
same code); PyTorch runs the same problems here: F.conv2d, and involution in the official
d-li14 formulation (reduce 1x1 conv, BN eval, ReLU, span 1x1 conv, F.unfold, multiply, sum).

    /usr/bin/python3 bench/compare_pytorch.py [--engine build/bench/ks_bench] [--repeats 5]

On a machine shared with other work, `chrt -f 5 /usr/bin/python3 bench/compare_pytorch.py`
(root) keeps compilers from preempting either side mid-run.

Both sides use every core and keep freed memory in the heap (glibc mallopt), so repeated
runs time the arithmetic, not the kernel handing out fresh zeroed pages.

Each involution problem names the generated kernels it asks for ("kernels": "full" or "sum",
the per-group sum map a screen shows); PyTorch computes the same: the output plus the full
kernels tensor, or plus their sum over the K*K taps. PyTorch's unfold formulation needs
about (2C + G) * K*K floats per output pixel; problems whose estimate exceeds --torch-max-gb
(default half the machine's memory; the 4K involution needs ~14 GiB) are not run with PyTorch.
"""
import argparse
import ctypes
import glob
import json
import os
import statistics
import subprocess
import sys
import time

import torch
import torch.nn.functional as F

# Targets of docs/performance.md: minimum speed-up over PyTorch per problem.
TARGETS = {
    "conv small": 1.5,
    "conv 1080p K3": 1.5,
    "conv 1024 K7": 1.5,
    "depthwise 1080p K7": 2.0,
    "conv 64ch": 0.8,
    "inv small": 30,
    "inv 1080p K7": 30,
    "inv 64ch": 30,
    "inv 64ch b8": 30,
    "inv 256ch": 30,
    # The screen problems (kernels "sum") and conv 4K have no target yet: measured only.
}
INV_1080P_MAX_MS = 60.0
INV_1080P_MAX_MEMORY_RATIO = 3.0


def keep_freed_memory_for_reuse():
    """The same allocator policy as ks::keep_freed_memory_for_reuse()."""
    try:
        libc = ctypes.CDLL("libc.so.6")
        libc.mallopt(-4, 0)  # M_MMAP_MAX: no fresh mmaps for large blocks
        libc.mallopt(-1, 1 << 30)  # M_TRIM_THRESHOLD: keep freed heap
    except OSError:
        pass


def find_engine(explicit):
    """The command that runs our benchmark: the most recently built kernelscope (whose bench
    subcommand works) or ks_bench under build*/."""
    if explicit:
        return [explicit] if explicit.endswith("ks_bench") else [explicit, "bench"]
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    candidates = glob.glob(os.path.join(root, "build*", "app", "kernelscope"))
    candidates += glob.glob(os.path.join(root, "build*", "bench", "ks_bench"))
    for exe in sorted(candidates, key=os.path.getmtime, reverse=True):
        command = [exe] if exe.endswith("ks_bench") else [exe, "bench"]
        if subprocess.run(command + ["--help"], capture_output=True).returncode == 0:
            return command
    sys.exit("no kernelscope or ks_bench binary found under build*/; build first or pass --engine")


def run_engine(command, extra):
    out = subprocess.run(command + ["--json"] + extra, capture_output=True, text=True)
    if out.returncode != 0:
        sys.exit(f"{' '.join(command)} failed:\n{out.stderr}")
    return json.loads(out.stdout)


def peak_memory_of_engine(command, problem):
    """Peak resident memory (bytes) of a fresh process running one problem once."""
    proc = subprocess.Popen(
        command + ["--json", "--backend", "cpu", "--problem", problem, "--repeats", "1"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    _, _, usage = os.wait4(proc.pid, 0)
    return usage.ru_maxrss * 1024


def torch_problem(record):
    """A zero-argument callable running the record's problem with PyTorch."""
    x = torch.rand(record["input"])
    if record["op"] == "conv2d":
        p = record["conv"]
        fan_in = p["in_channels"] // p["groups"] * p["kernel_size"] ** 2
        bound = 1.0 / fan_in**0.5
        w = torch.empty(p["out_channels"], p["in_channels"] // p["groups"], p["kernel_size"],
                        p["kernel_size"]).uniform_(-bound, bound)
        b = torch.empty(p["out_channels"]).uniform_(-bound, bound) if p["bias"] else None
        return lambda: F.conv2d(x, w, b, p["stride"], p["padding"], p["dilation"], p["groups"])

    p = record["involution"]
    C, K, s, d = p["channels"], p["kernel_size"], p["stride"], p["dilation"]
    gc, CR = p["group_channels"], p["channels"] // p["reduction"]
    G, KK = C // gc, K * K
    reduce_w = torch.empty(CR, C, 1, 1).uniform_(-(C**-0.5), C**-0.5)
    mean, var = torch.zeros(CR), torch.ones(CR)
    gamma, beta = torch.ones(CR), torch.zeros(CR)
    span_w = torch.empty(G * KK, CR, 1, 1).uniform_(-(CR**-0.5), CR**-0.5)
    span_b = torch.empty(G * KK).uniform_(-(CR**-0.5), CR**-0.5)
    pad = d * (K - 1) // 2

    kernels = record.get("kernels", "full")

    def involution():
        pooled = x if s == 1 else F.avg_pool2d(x, s, s, ceil_mode=True)
        t = F.relu(F.batch_norm(F.conv2d(pooled, reduce_w), mean, var, gamma, beta, False))
        weight = F.conv2d(t, span_w, span_b)
        b, _, h, w = weight.shape
        weight = weight.view(b, G, KK, h, w).unsqueeze(2)
        unfolded = F.unfold(x, K, d, pad, s).view(b, G, gc, KK, h, w)
        output = (weight * unfolded).sum(dim=3).view(b, C, h, w)
        if kernels == "sum":
            # PyTorch generates the full kernels anyway (the span conv's output, which the
            # aggregation needs); the sum map is one more reduction over the K*K taps.
            return output, weight.sum(dim=3).view(b, G, h, w)
        return (output, weight) if kernels == "full" else output

    return involution


def torch_memory_bytes(record):
    """Rough peak of torch_problem: for involution the unfolded input, the broadcast product
    (C * K*K floats per output pixel each) and the kernels (G * K*K); for conv input + output."""
    B, C, H, W = record["input"]
    if record["op"] == "conv2d":
        return 4 * (B * C * H * W + B * record["conv"]["out_channels"] * H * W)
    p = record["involution"]
    KK, s = p["kernel_size"] ** 2, p["stride"]
    pixels = B * -(-H // s) * -(-W // s)
    return 4 * (2 * C + C // p["group_channels"]) * KK * pixels


def time_torch(fn, repeats):
    """Median ms; problems slower than 2 s are timed once (their first run)."""
    with torch.no_grad():
        start = time.perf_counter()
        fn()
        first = (time.perf_counter() - start) * 1e3
        if first > 2000:
            return first, 1
        times = []
        for _ in range(repeats):
            start = time.perf_counter()
            fn()
            times.append((time.perf_counter() - start) * 1e3)
    return statistics.median(times), repeats


def estimate_reference_ms(record, reference):
    """cpu-ref ms for a large problem: the reference's GFLOP/s on the small problem of the same
    operator (same channel count when there is one), scaled by FLOPs."""
    same_op = [r for r in reference.values() if r["op"] == record["op"]]
    same_channels = [r for r in same_op if r["input"][1] == record["input"][1]]
    base = (same_channels or same_op or [None])[0]
    if base is None:
        return None
    return record["flops"] / (base["gflops"] * 1e6)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[1])
    parser.add_argument("--engine", help="kernelscope or ks_bench binary")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--threads", type=int, default=os.cpu_count(),
                        help="PyTorch threads (default: every core, like our cpu backend)")
    parser.add_argument("--problem", default="",
                        help="only problems whose name contains this (or the one named so)")
    parser.add_argument("--ref-all", action="store_true",
                        help="time cpu-ref on the large problems too instead of estimating")
    memory_gb = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    parser.add_argument("--torch-max-gb", type=float, default=memory_gb / 2,
                        help="skip PyTorch on problems it needs more memory for (GiB; default "
                             "half the machine's memory)")
    args = parser.parse_args()

    command = find_engine(args.engine)
    extra = ["--repeats", str(args.repeats), "--backend", "cpu,cpu-ref"]
    if args.problem:
        extra += ["--problem", args.problem]
    if args.ref_all:
        extra.append("--all")
    peak = None
    if not args.problem or args.problem in "inv 1080p K7":
        peak = peak_memory_of_engine(command, "inv 1080p K7")
    engine = run_engine(command, extra)

    keep_freed_memory_for_reuse()
    torch.set_num_threads(args.threads)
    ours = {r["problem"]: r for r in engine["results"] if r["backend"] == "cpu"}
    reference = {r["problem"]: r for r in engine["results"] if r["backend"] == "cpu-ref"}

    print(f"engine: {' '.join(command)}  ({engine['backends'][0]['description']})")
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads")
    print()
    header = (f"{'op':<24} {'shape':<20} {'kernels':<7} {'ours ms':>9} {'torch ms':>10} "
              f"{'GFLOP/s':>8} {'vs torch':>9} {'vs ref':>8} {'target':>7}  met")
    print(header)
    print("-" * len(header))
    estimated = False
    skipped = []
    for name, record in ours.items():
        torch_gb = torch_memory_bytes(record) / 2**30
        if torch_gb > args.torch_max_gb:
            skipped.append(f"{name} (~{torch_gb:.0f} GiB)")
            torch_text, ratio_text, ratio = f"{'-':>10}", f"{'-':>9}", None
        else:
            torch_ms, _ = time_torch(torch_problem(record), args.repeats)
            ratio = torch_ms / record["median_ms"]
            torch_text, ratio_text = f"{torch_ms:>10.2f}", f"{ratio:>8.1f}x"
        if name in reference:
            ref = f"{reference[name]['median_ms'] / record['median_ms']:.0f}x"
        else:
            ref_ms = estimate_reference_ms(record, reference)
            ref = f"~{ref_ms / record['median_ms']:.0f}x" if ref_ms else "-"
            estimated = estimated or ref_ms is not None
        target = TARGETS.get(name)
        met = "" if target is None or ratio is None else ("yes" if ratio >= target else "NO")
        shape = record["input"]
        kernels = record.get("kernels", "none")
        print(f"{name:<24} {str(shape):<20} {kernels:<7} {record['median_ms']:>9.2f} "
              f"{torch_text} {record['gflops']:>8.1f} {ratio_text} {ref:>8} "
              f"{target or '':>6}x  {met}")
    print()
    if skipped:
        print(f"PyTorch not run (needs more than --torch-max-gb {args.torch_max_gb:.0f} GiB): "
              + ", ".join(skipped))
    if estimated:
        print("~ cpu-ref not run on this problem: estimated from its GFLOP/s on the small problem")
        print("  of the same operator (--ref-all times it, in minutes)")
    if "inv 1080p K7" in ours:
        ms = ours["inv 1080p K7"]["median_ms"]
        print(f"inv 1080p K7 total {ms:.1f} ms (target < {INV_1080P_MAX_MS:.0f} ms): "
              f"{'yes' if ms < INV_1080P_MAX_MS else 'NO'}")
    if peak:
        B, C, H, W = 1, 3, 1080, 1920
        needed = 4 * (B * C * H * W * 2 + B * 49 * H * W)  # input + output + kernels (G = 1)
        print(f"inv 1080p K7 peak RSS {peak / 2**20:.0f} MiB = {peak / needed:.2f}x of input + "
              f"output + kernels ({needed / 2**20:.0f} MiB; target < "
              f"{INV_1080P_MAX_MEMORY_RATIO:.0f}x): "
              f"{'yes' if peak / needed < INV_1080P_MAX_MEMORY_RATIO else 'NO'}")


if __name__ == "__main__":
    main()
