#!/usr/bin/env python3
"""Times KernelScope's GPU backends (cuda, cuda-naive, cudnn) and PyTorch on one GPU.

Run on a machine with an NVIDIA GPU, after a CUDA build (docs/performance.md, "GPU"):

    python3 bench/gpu_bench.py --exe build/bench/ks_gpu_bench [--iters 20] [--json out.json]

Our backends are timed by ks_gpu_bench (bench/gpu_bench_main.cpp), which reports the
cudaEvent stage times of each call; "compute ms" is kernel generation + aggregation (device
time, transfers excluded), "total ms" adds the upload and download. PyTorch is timed with
CUDA events on tensors already on the GPU, TF32 disabled so both sides compute in float32.
GB/s divides the problem's minimum traffic (input + weights + output, plus the generated
kernels for involution, each counted once: ks::conv_memory_bytes / involution_memory_bytes)
by the compute time; "% peak" compares it with the GPU's DRAM bandwidth from
ks_gpu_bench --device-info. PyTorch is optional: without it only our backends run.
"""
import argparse
import json
import math
import statistics
import subprocess
import sys

# (op, input shape, parameters); conv padding is 0 unless given.
PROBLEMS = [
    ("conv", (1, 3, 222, 222), dict(out_channels=5, kernel_size=3)),
    ("conv", (1, 3, 1080, 1920), dict(out_channels=8, kernel_size=3, padding=1)),
    ("conv", (1, 3, 1024, 1024), dict(out_channels=16, kernel_size=7, padding=3)),
    ("conv", (1, 3, 1080, 1920), dict(out_channels=3, kernel_size=7, groups=3)),  # depthwise
    ("conv", (1, 64, 56, 56), dict(out_channels=64, kernel_size=3, padding=1)),
    ("involution", (1, 3, 220, 220), dict(kernel_size=3, group_channels=1, reduction=1)),
    ("involution", (1, 3, 1080, 1920), dict(kernel_size=7, group_channels=3, reduction=1)),
    ("involution", (1, 64, 56, 56), dict(kernel_size=7, group_channels=16, reduction=4)),
    ("involution", (8, 64, 56, 56), dict(kernel_size=7, group_channels=16, reduction=4)),
    ("involution", (1, 256, 14, 14), dict(kernel_size=7, group_channels=16, reduction=4)),
    ("involution", (32, 64, 56, 56), dict(kernel_size=7, group_channels=16, reduction=4)),
    ("involution", (32, 256, 14, 14), dict(kernel_size=7, group_channels=16, reduction=4)),
]

BACKENDS = {"conv": ["cuda", "cuda-naive", "cudnn"], "involution": ["cuda", "cuda-naive"]}


def describe(op, shape, p):
    s = "x".join(str(v) for v in shape)
    if op == "conv":
        extra = f" pad{p['padding']}" if p.get("padding") else ""
        extra += f" g{p['groups']}" if p.get("groups", 1) > 1 else ""
        return f"conv {s}->{p['out_channels']} K{p['kernel_size']}{extra}"
    return f"inv {s} K{p['kernel_size']} gc{p['group_channels']} r{p['reduction']}"


def out_size(n, k, s, pad, d):
    return (n + 2 * pad - d * (k - 1) - 1) // s + 1


def problem_bytes(op, shape, p):
    """Mirror of ks::conv_memory_bytes / ks::involution_memory_bytes (engine/src/ops.cpp)."""
    b, c, h, w = shape
    k, s, d = p["kernel_size"], p.get("stride", 1), p.get("dilation", 1)
    if op == "conv":
        co, g = p["out_channels"], p.get("groups", 1)
        ho, wo = out_size(h, k, s, p.get("padding", 0), d), out_size(w, k, s, p.get("padding", 0), d)
        weights = co * (c // g) * k * k + co
        return 4 * (b * c * h * w + b * co * ho * wo + weights)
    groups, cr = c // p["group_channels"], c // p["reduction"]
    ho, wo = math.ceil(h / s), math.ceil(w / s)
    weights = cr * (c + 4 + k * k * groups + 1)
    return 4 * (b * c * h * w + b * c * ho * wo + b * groups * k * k * ho * wo + weights)


def run_ours(exe, backend, op, shape, p, iters):
    args = [exe, "--backend", backend, "--op", op, "--shape", ",".join(map(str, shape)),
            "--iters", str(iters)]
    for key, value in p.items():
        args += ["--" + key.replace("_", "-"), str(value)]
    proc = subprocess.run(args, capture_output=True, text=True)
    try:
        return json.loads(proc.stdout.strip().splitlines()[-1])
    except (IndexError, json.JSONDecodeError):
        return {"error": (proc.stderr or proc.stdout).strip() or f"exit {proc.returncode}"}


def time_cuda(torch, fn, iters, warmup=3):
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(iters):
        start, stop = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
        start.record()
        fn()
        stop.record()
        stop.synchronize()
        times.append(start.elapsed_time(stop))
    return statistics.median(times)


def torch_problem(torch, op, shape, p):
    """A closure computing the problem with PyTorch on the GPU, or None."""
    F = torch.nn.functional
    dev = torch.device("cuda")
    x = torch.rand(shape, device=dev) * 2 - 1
    k, s, d = p["kernel_size"], p.get("stride", 1), p.get("dilation", 1)
    c = shape[1]
    if op == "conv":
        g, co = p.get("groups", 1), p["out_channels"]
        w = torch.rand(co, c // g, k, k, device=dev) - 0.5
        bias = torch.rand(co, device=dev) - 0.5
        return lambda: F.conv2d(x, w, bias, stride=s, padding=p.get("padding", 0), dilation=d,
                                groups=g)
    # Involution as in d-li14/involution's PyTorch module, aggregation through unfold.
    gc, r = p["group_channels"], p["reduction"]
    groups, cr, kk = c // gc, c // r, k * k
    w0 = torch.rand(cr, c, 1, 1, device=dev) - 0.5
    mean, var = torch.zeros(cr, device=dev), torch.ones(cr, device=dev)
    gamma, beta = torch.ones(cr, device=dev), torch.zeros(cr, device=dev)
    w1 = torch.rand(groups * kk, cr, 1, 1, device=dev) - 0.5
    b1 = torch.rand(groups * kk, device=dev) - 0.5
    pad = d * (k - 1) // 2

    def involution():
        xp = F.avg_pool2d(x, s, s, ceil_mode=True) if s > 1 else x
        t = F.relu(F.batch_norm(F.conv2d(xp, w0), mean, var, gamma, beta, False, 0.0, 1e-5))
        kern = F.conv2d(t, w1, b1)
        bsz, _, ho, wo = kern.shape
        unf = F.unfold(x, k, dilation=d, padding=pad, stride=s).view(bsz, groups, gc, kk, ho, wo)
        return (kern.view(bsz, groups, 1, kk, ho, wo) * unf).sum(3).view(bsz, c, ho, wo)

    return involution


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--exe", default="build/bench/ks_gpu_bench", help="path of ks_gpu_bench")
    ap.add_argument("--iters", type=int, default=20)
    ap.add_argument("--no-torch", action="store_true", help="skip PyTorch")
    ap.add_argument("--json", help="also write all results to this file")
    args = ap.parse_args()

    try:
        info = json.loads(subprocess.run([args.exe, "--device-info"], capture_output=True,
                                         text=True).stdout)
    except (OSError, json.JSONDecodeError) as e:
        sys.exit(f"cannot run {args.exe} --device-info: {e} (build with CUDA first)")
    if "error" in info:
        sys.exit(f"no usable GPU: {info['error']}")
    peak = info["peak_bandwidth_gb_s"]
    print(f"GPU: {info['name']} (sm {info['compute_capability']}, {info['memory_gib']:.0f} GiB), "
          f"peak DRAM bandwidth {peak:.0f} GB/s")

    torch = None
    if not args.no_torch:
        try:
            import torch as torch_module
            if torch_module.cuda.is_available():
                torch = torch_module
                torch.backends.cudnn.allow_tf32 = False
                torch.backends.cuda.matmul.allow_tf32 = False
                torch.backends.cudnn.benchmark = True
                print(f"PyTorch {torch.__version__}, cuDNN {torch.backends.cudnn.version()}, "
                      "TF32 off")
            else:
                print("PyTorch sees no GPU: PyTorch rows skipped")
        except ImportError:
            print("PyTorch not installed: PyTorch rows skipped")

    header = f"{'problem':<34} {'implementation':<16} {'compute ms':>10} {'total ms':>9} " \
             f"{'GB/s':>8} {'% peak':>7}"
    print("\n" + header + "\n" + "-" * len(header))
    results = []
    for op, shape, p in PROBLEMS:
        name = describe(op, shape, p)
        nbytes = problem_bytes(op, shape, p)
        rows = []
        for backend in BACKENDS[op]:
            r = run_ours(args.exe, backend, op, shape, p, args.iters)
            rows.append((backend, r.get("compute_ms"), r.get("total_ms"), r.get("error")))
        if torch is not None:
            label = "torch F.conv2d" if op == "conv" else "torch unfold"
            try:
                fn = torch_problem(torch, op, shape, p)
                rows.append((label, time_cuda(torch, fn, args.iters), None, None))
            except Exception as e:  # out of memory, unsupported parameters...
                rows.append((label, None, None, str(e).splitlines()[0]))
            torch.cuda.empty_cache()
        for impl, compute, total, error in rows:
            if error:
                print(f"{name:<34} {impl:<16} error: {error}")
            else:
                gbs = nbytes / (compute * 1e-3) / 1e9 if compute else float("nan")
                total_text = f"{total:9.3f}" if total is not None else f"{'-':>9}"
                print(f"{name:<34} {impl:<16} {compute:10.3f} {total_text} {gbs:8.1f} "
                      f"{100 * gbs / peak:6.1f}%")
            results.append(dict(problem=name, op=op, shape=shape, params=p, impl=impl,
                                compute_ms=compute, total_ms=total, bytes=nbytes, error=error))
            name = ""
    if args.json:
        with open(args.json, "w") as f:
            json.dump(dict(device=info, results=results), f, indent=1)
        print(f"\nwrote {args.json}")


if __name__ == "__main__":
    main()
