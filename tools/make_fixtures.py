#!/usr/bin/python3
"""Golden PyTorch fixtures for KernelScope's operators.

Writes one safetensors file per case into tests/fixtures/: the input, the layer weights
under their PyTorch state_dict names, the expected output (and, for involution, the
generated kernels), and a float32 `params` tensor the C++ tests read:

    params = [kernel_size, stride, padding, dilation, groups_or_group_channels,
              reduction, has_bias]

(conv: groups, reduction 0; involution: group_channels, padding d*(K-1)/2, has_bias 1).
The same values are also in the safetensors "__metadata__" map for humans and other tools.

The oracle is PyTorch itself: F.conv2d, and for involution a module that mirrors the
official d-li14/involution one (conv1 = 1x1 conv + BN + ReLU, conv2 = 1x1 conv, an
AvgPool2d in ceil mode when stride > 1, nn.Unfold for the aggregation) -- not our own
formula. Inputs and weights are float32 values; the expected tensors are computed in
float64 from those exact values and rounded once, so the fixtures carry no float32
accumulation-order noise and the C++ tests can use a tight tolerance.

Run with /usr/bin/python3 tools/make_fixtures.py (needs torch and numpy; the C++ test
suite does not). Deterministic: the same script writes the same bytes.
"""

import json
import os
import random
import struct
import sys

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT_DIR = os.path.join(ROOT, "tests", "fixtures")
BATCH = 2
# Keep the whole fixture directory small enough to live in git comfortably.
MAX_TOTAL_BYTES = 2 * 1024 * 1024


# --- safetensors writer -------------------------------------------------------------------
# The format: u64 little-endian header length, a JSON header mapping names to
# {dtype, shape, data_offsets} (offsets relative to the data block) plus an optional
# "__metadata__" string map, then the raw little-endian tensor bytes.
def write_safetensors(path, tensors, metadata):
    header = {}
    blobs = []
    offset = 0
    for name in sorted(tensors):
        array = np.ascontiguousarray(tensors[name].detach().cpu().numpy(), dtype="<f4")
        data = array.tobytes()
        header[name] = {
            "dtype": "F32",
            "shape": list(array.shape),
            "data_offsets": [offset, offset + len(data)],
        }
        blobs.append(data)
        offset += len(data)
    header["__metadata__"] = {k: str(v) for k, v in metadata.items()}
    text = json.dumps(header, separators=(",", ":"), sort_keys=True).encode("utf-8")
    text += b" " * ((8 - len(text) % 8) % 8)  # the data block starts 8-byte aligned
    with open(path + ".tmp", "wb") as f:
        f.write(struct.pack("<Q", len(text)))
        f.write(text)
        for data in blobs:
            f.write(data)
    os.replace(path + ".tmp", path)


# --- the involution module (mirrors d-li14/involution, involution_naive.py) ---------------
class ConvBnRelu(nn.Module):
    """mmcv's ConvModule with BN and ReLU: the conv has no bias because BN follows."""

    def __init__(self, cin, cout):
        super().__init__()
        self.conv = nn.Conv2d(cin, cout, 1, bias=False)
        self.bn = nn.BatchNorm2d(cout)
        self.activate = nn.ReLU()

    def forward(self, x):
        return self.activate(self.bn(self.conv(x)))


class ConvOnly(nn.Module):
    def __init__(self, cin, cout):
        super().__init__()
        self.conv = nn.Conv2d(cin, cout, 1, bias=True)

    def forward(self, x):
        return self.conv(x)


class Involution(nn.Module):
    def __init__(self, channels, kernel_size, stride, dilation, group_channels, reduction):
        super().__init__()
        self.kernel_size = kernel_size
        self.stride = stride
        self.channels = channels
        self.group_channels = group_channels
        self.groups = channels // group_channels
        self.conv1 = ConvBnRelu(channels, channels // reduction)
        self.conv2 = ConvOnly(channels // reduction, kernel_size**2 * self.groups)
        if stride > 1:
            # ceil_mode keeps the output at ceil(H/s), matching the unfold below; with
            # padding 0 a partial edge window averages only its in-bounds pixels.
            self.avgpool = nn.AvgPool2d(stride, stride, ceil_mode=True)
        self.unfold = nn.Unfold(kernel_size, dilation, dilation * (kernel_size - 1) // 2, stride)

    def forward(self, x):
        weight = self.conv2(self.conv1(x if self.stride == 1 else self.avgpool(x)))
        b, c, h, w = weight.shape
        kernels = weight.view(b, self.groups, self.kernel_size**2, h, w)
        out = self.unfold(x).view(b, self.groups, self.group_channels, self.kernel_size**2, h, w)
        out = (kernels.unsqueeze(2) * out).sum(dim=3).view(b, self.channels, h, w)
        return out, kernels


def uniform(shape, lo, hi, gen):
    return torch.rand(shape, generator=gen, dtype=torch.float32) * (hi - lo) + lo


# --- case lists ------------------------------------------------------------------------------
CONV_SIZES = [(7, 9), (11, 6), (13, 10)]


def conv_channels(groups_mode, variant):
    """(in_channels, out_channels, groups) for groups 1, 2 or depthwise ("C")."""
    if groups_mode == 1:
        return [(3, 4, 1), (2, 5, 1)][variant % 2]
    if groups_mode == 2:
        return [(4, 6, 2), (2, 4, 2)][variant % 2]
    cin = [3, 4][variant % 2]
    return (cin, cin * [1, 2][(variant // 2) % 2], cin)  # channel multiplier 1 or 2


def conv_output(size, k, s, p, d):
    span = d * (k - 1) + 1
    return tuple((n + 2 * p - span) // s + 1 if n + 2 * p >= span else 0 for n in size)


def conv_cases():
    rng = random.Random(20240531)
    cases = []

    def add(k, s, p, d, groups_mode, bias, size, variant):
        h, w = conv_output(size, k, s, p, d)
        if h <= 0 or w <= 0:
            return False
        cin, cout, g = conv_channels(groups_mode, variant)
        cases.append(dict(k=k, s=s, p=p, d=d, cin=cin, cout=cout, g=g, bias=bias, size=size))
        return True

    # Every kernel size 1..7 with every padding 0..K; the other parameters drawn so that
    # each value shows up many times in varied company (redrawn while the output would be
    # empty, so every padding really appears).
    for k in range(1, 8):
        for p in range(0, k + 1):
            while not add(k, rng.choice([1, 2, 3]), p, rng.choice([1, 2]), rng.choice([1, 2, "C"]),
                          rng.choice([True, False]), rng.choice(CONV_SIZES), rng.randrange(4)):
                pass
    # The full stride x dilation x groups x bias cross for an odd and an even kernel.
    # (the even kernel takes half of it, bias alternating, to keep the set small).
    for k, p in [(3, 1), (4, 2)]:
        for s in (1, 2, 3):
            for d in (1, 2):
                for gi, gm in enumerate((1, 2, "C")):
                    for bias in (True, False):
                        if k == 4 and bias != bool((s + d + gi) % 2):
                            continue
                        add(k, s, p, d, gm, bias, CONV_SIZES[(s + d) % 3], s + d)
    # Edges: a single output pixel, a stride larger than the kernel, padding wider than
    # the kernel's reach, and a kernel wider than the unpadded image.
    add(7, 1, 0, 1, 1, True, (7, 9), 0)  # H_out = 1
    add(7, 2, 3, 2, 2, True, (13, 10), 1)  # span 13 > W without padding
    add(1, 3, 0, 1, "C", False, (11, 6), 3)
    add(2, 3, 0, 2, 1, True, (11, 6), 1)
    add(1, 1, 1, 1, 2, True, (7, 9), 0)  # output is the bias alone on the border
    add(6, 2, 5, 1, "C", True, (7, 9), 2)  # even K, padding reaches past the image
    add(5, 3, 5, 2, 1, False, (13, 10), 1)
    return cases


INV_SIZES = [(7, 9), (11, 6), (13, 10), (5, 7), (9, 5), (3, 5)]
# (channels, group_channels); gc 16 needs 32 channels for G > 1.
INV_CHANNELS = [(4, 1), (4, 2), (8, 2), (8, 4), (6, 2), (16, 4), (4, 4)]


def inv_kernel_floats(c, gc, k, s, size):
    ho, wo = [-(-n // s) for n in size]
    return BATCH * (c // gc) * k * k * ho * wo


def involution_cases():
    rng = random.Random(777)
    cases = []
    budget = 4000  # floats in the generated-kernel tensor per case

    def add(k, s, d, c, gc, r, size=None):
        if c // r < 1 or c % gc:
            return
        # A random image size among those within budget, else the smallest, so wide kernels
        # do not blow up the fixture directory (sort is stable: the shuffle decides ties).
        order = INV_SIZES[:] if size is None else [size]
        if size is None:
            rng.shuffle(order)
            order.sort(key=lambda sz: max(inv_kernel_floats(c, gc, k, s, sz), budget))
        cases.append(dict(k=k, s=s, d=d, c=c, gc=gc, r=r, size=order[0]))

    variant = 0
    for k in (1, 3, 5, 7):
        for s in (1, 2):
            for d in (1, 2):
                for _ in range(3):
                    c, gc = INV_CHANNELS[variant % len(INV_CHANNELS)]
                    r = [1, 2, 4][(variant // len(INV_CHANNELS) + variant) % 3]
                    if c // r < 1:
                        r = 1
                    add(k, s, d, c, gc, r)
                    variant += 1
    # group_channels 16 with G = 2, and with G = 1.
    add(3, 1, 1, 32, 16, 4, (7, 9))
    add(3, 2, 2, 32, 16, 2, (11, 6))
    add(5, 2, 1, 32, 16, 4, (5, 7))
    add(7, 2, 2, 32, 16, 1, (9, 5))
    add(3, 1, 1, 16, 16, 4, (7, 9))
    # Edges: C/r = 1, a kernel whose dilated span exceeds the image, a 1-pixel-wide image
    # (stride 2 windows that are partial in one direction only) and stride on even sizes.
    add(3, 1, 1, 4, 1, 4, (7, 9))
    add(7, 1, 2, 4, 4, 2, (5, 7))
    add(3, 2, 1, 4, 2, 1, (1, 9))
    add(5, 2, 1, 8, 4, 2, (6, 8))
    add(3, 2, 2, 6, 3, 3, (2, 3))
    # Stride 3: partial pooling windows of one and two pixels.
    add(3, 3, 1, 4, 2, 2, (7, 9))
    add(5, 3, 2, 8, 4, 4, (11, 6))
    # Wide kernels on images large enough to have pixels whose window is fully inside (the
    # budget above otherwise sends them to the small sizes).
    add(7, 1, 1, 4, 4, 1, (11, 6))
    add(5, 1, 1, 4, 4, 2, (13, 10))
    return cases


# --- generation ------------------------------------------------------------------------------
def make_conv(index, case):
    gen = torch.Generator().manual_seed(1000 + index)
    h, w = case["size"]
    x = uniform((BATCH, case["cin"], h, w), -1, 1, gen)
    conv = nn.Conv2d(case["cin"], case["cout"], case["k"], stride=case["s"], padding=case["p"],
                     dilation=case["d"], groups=case["g"], bias=case["bias"])
    bound = 1.0 / (conv.weight[0].numel() ** 0.5)
    with torch.no_grad():
        conv.weight.copy_(uniform(conv.weight.shape, -bound, bound, gen))
        if case["bias"]:
            conv.bias.copy_(uniform(conv.bias.shape, -bound, bound, gen))
    with torch.no_grad():
        expected = conv.double()(x.double()).float()
        single = conv.float()(x)
    tensors = {"input": x, "weight": conv.weight, "expected_output": expected}
    if case["bias"]:
        tensors["bias"] = conv.bias
    params = [case["k"], case["s"], case["p"], case["d"], case["g"], 0, int(case["bias"])]
    tensors["params"] = torch.tensor(params, dtype=torch.float32)
    meta = dict(op="conv2d", kernel_size=case["k"], stride=case["s"], padding=case["p"],
                dilation=case["d"], groups=case["g"], has_bias=int(case["bias"]),
                in_channels=case["cin"], out_channels=case["cout"])
    name = "conv_%03d_k%d_s%d_p%d_d%d_g%d_%s" % (index, case["k"], case["s"], case["p"], case["d"],
                                                 case["g"], "bias" if case["bias"] else "nobias")
    drift = (single - expected).abs().max().item()
    return name, tensors, meta, drift


def make_involution(index, case):
    gen = torch.Generator().manual_seed(5000 + index)
    h, w = case["size"]
    c, k, r = case["c"], case["k"], case["r"]
    x = uniform((BATCH, c, h, w), -1, 1, gen)
    m = Involution(c, k, case["s"], case["d"], case["gc"], r)
    cr = c // r
    with torch.no_grad():
        m.conv1.conv.weight.copy_(uniform((cr, c, 1, 1), -c**-0.5, c**-0.5, gen))
        # Non-trivial BN statistics, so normalisation really is part of what is checked; a
        # negative gamma flips which side ReLU clips.
        sign = torch.where(uniform((cr,), 0, 1, gen) < 0.25, -1.0, 1.0)
        m.conv1.bn.weight.copy_(uniform((cr,), 0.5, 1.5, gen) * sign)
        m.conv1.bn.bias.copy_(uniform((cr,), -0.3, 0.3, gen))
        m.conv1.bn.running_mean.copy_(uniform((cr,), -0.3, 0.3, gen))
        m.conv1.bn.running_var.copy_(uniform((cr,), 0.3, 2.0, gen))
        rows = k * k * (c // case["gc"])
        m.conv2.conv.weight.copy_(uniform((rows, cr, 1, 1), -cr**-0.5, cr**-0.5, gen))
        m.conv2.conv.bias.copy_(uniform((rows,), -cr**-0.5, cr**-0.5, gen))
    m.eval()  # BN uses the running statistics
    with torch.no_grad():
        md = Involution(c, k, case["s"], case["d"], case["gc"], r)
        md.load_state_dict(m.state_dict())
        md = md.double().eval()
        out, kernels = md(x.double())
        out, kernels = out.float(), kernels.float()
        single, _ = m(x)
        # How often ReLU clips: reported so a grid that never exercises it is noticed.
        t = m.conv1(x if case["s"] == 1 else m.avgpool(x))
        clipped = (t == 0).float().mean().item()
    state = m.state_dict()
    tensors = {"input": x, "expected_output": out, "expected_kernels": kernels}
    for key in ("conv1.conv.weight", "conv1.bn.weight", "conv1.bn.bias", "conv1.bn.running_mean",
                "conv1.bn.running_var", "conv2.conv.weight", "conv2.conv.bias"):
        tensors[key] = state[key]  # num_batches_tracked is int64 and not needed
    pad = case["d"] * (k - 1) // 2
    params = [k, case["s"], pad, case["d"], case["gc"], r, 1]
    tensors["params"] = torch.tensor(params, dtype=torch.float32)
    meta = dict(op="involution2d", kernel_size=k, stride=case["s"], padding=pad,
                dilation=case["d"], group_channels=case["gc"], groups=c // case["gc"],
                reduction=r, has_bias=1, channels=c, bn_eps=m.conv1.bn.eps)
    name = "involution_%03d_k%d_s%d_d%d_c%d_gc%d_r%d" % (index, k, case["s"], case["d"], c,
                                                        case["gc"], r)
    drift = (single - out).abs().max().item()
    return name, tensors, meta, drift, clipped


def check_coverage(cases, key, values, what):
    seen = {c[key] for c in cases}
    missing = [v for v in values if v not in seen]
    if missing:
        sys.exit("coverage gap: %s %s never appears" % (what, missing))


def main():
    torch.set_num_threads(1)
    os.makedirs(OUT_DIR, exist_ok=True)
    for f in os.listdir(OUT_DIR):
        if f.endswith(".safetensors") and f.split("_")[0] in ("conv", "involution"):
            os.remove(os.path.join(OUT_DIR, f))

    convs = conv_cases()
    check_coverage(convs, "k", range(1, 8), "conv kernel size")
    check_coverage(convs, "s", (1, 2, 3), "conv stride")
    check_coverage(convs, "d", (1, 2), "conv dilation")
    check_coverage(convs, "bias", (True, False), "conv bias")
    for k in range(1, 8):
        check_coverage([c for c in convs if c["k"] == k], "p", range(0, k + 1), "K=%d padding" % k)
    if not {1, 2} <= {c["g"] for c in convs} or not any(c["g"] == c["cin"] > 2 for c in convs):
        sys.exit("coverage gap: conv groups")

    invs = involution_cases()
    check_coverage(invs, "k", (1, 3, 5, 7), "involution kernel size")
    check_coverage(invs, "s", (1, 2, 3), "involution stride")
    check_coverage(invs, "d", (1, 2), "involution dilation")
    check_coverage(invs, "gc", (1, 2, 4, 16), "involution group channels")
    check_coverage(invs, "r", (1, 2, 4), "involution reduction")

    total = 0
    worst_conv = worst_inv = 0.0
    clip_fractions = []
    for i, case in enumerate(convs):
        name, tensors, meta, drift = make_conv(i, case)
        path = os.path.join(OUT_DIR, name + ".safetensors")
        write_safetensors(path, tensors, meta)
        total += os.path.getsize(path)
        worst_conv = max(worst_conv, drift)
    for i, case in enumerate(invs):
        name, tensors, meta, drift, clipped = make_involution(i, case)
        path = os.path.join(OUT_DIR, name + ".safetensors")
        write_safetensors(path, tensors, meta)
        total += os.path.getsize(path)
        worst_inv = max(worst_inv, drift)
        clip_fractions.append(clipped)

    print("conv fixtures:       %d" % len(convs))
    print("involution fixtures: %d" % len(invs))
    print("total size:          %.1f KiB" % (total / 1024))
    print("max |float32 torch - float64 torch|: conv %.3g, involution %.3g" %
          (worst_conv, worst_inv))
    print("ReLU clips %.0f%%..%.0f%% of reduced values per involution case" %
          (100 * min(clip_fractions), 100 * max(clip_fractions)))
    if total > MAX_TOTAL_BYTES:
        sys.exit("fixtures total %d bytes, over the %d byte budget" % (total, MAX_TOTAL_BYTES))


if __name__ == "__main__":
    main()
