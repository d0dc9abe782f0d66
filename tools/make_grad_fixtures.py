#!/usr/bin/python3
"""Golden PyTorch gradients for KernelScope's backward passes (ks::grad).

Writes one safetensors file per case into tests/fixtures/grad/, in the layout of
tools/make_fixtures.py (input, layer weights under state_dict names, `params`,
expected_output and, for involution, expected_kernels: test::load_fixture reads them) plus

    grad_output            dL/d(output), random
    grad.input             dL/d(input)
    grad.<state_dict key>  dL/d(weight) for every trainable weight
                           (conv: weight, bias; involution: conv1.conv.weight,
                           conv1.bn.weight, conv1.bn.bias, conv2.conv.weight, conv2.conv.bias)

with L = sum(output * grad_output), computed by autograd in float64 from the float32
values and rounded once. Involution runs in eval mode: BatchNorm uses (and does not
differentiate) its running statistics.

Run with /usr/bin/python3 tools/make_grad_fixtures.py. Deterministic.
"""

import os
import sys

import torch
import torch.nn as nn
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from make_fixtures import Involution, uniform, write_safetensors  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT_DIR = os.path.join(ROOT, "tests", "fixtures", "grad")
BATCH = 2
MAX_TOTAL_BYTES = 300 * 1024

# (K, stride, padding, dilation, in, out, groups, bias, (H, W))
CONV_CASES = [
    (1, 1, 0, 1, 3, 4, 1, True, (5, 7)),
    (3, 1, 1, 1, 3, 4, 1, True, (7, 6)),
    (3, 2, 1, 1, 4, 6, 2, False, (7, 9)),
    (3, 1, 2, 2, 3, 3, 3, True, (8, 7)),
    (3, 3, 0, 1, 2, 5, 1, True, (9, 8)),
    (2, 2, 1, 1, 4, 4, 2, True, (6, 7)),
    (4, 1, 2, 1, 3, 6, 3, False, (6, 5)),
    (5, 2, 3, 2, 2, 3, 1, True, (11, 9)),
    (5, 1, 2, 1, 4, 8, 4, True, (7, 7)),
    (7, 3, 4, 1, 3, 2, 1, False, (10, 11)),
    (6, 1, 0, 1, 2, 2, 1, True, (7, 8)),
    (3, 2, 3, 2, 4, 4, 4, True, (5, 6)),
]

# (K, stride, dilation, channels, group_channels, reduction, (H, W))
INV_CASES = [
    (1, 1, 1, 4, 1, 1, (5, 6)),
    (3, 1, 1, 4, 2, 2, (6, 7)),
    (3, 2, 1, 4, 1, 1, (7, 8)),
    (3, 1, 2, 6, 3, 3, (7, 6)),
    (3, 3, 1, 4, 2, 2, (8, 7)),
    (5, 1, 1, 4, 4, 1, (7, 7)),
    (5, 2, 2, 8, 4, 4, (9, 7)),
    (7, 1, 1, 4, 2, 2, (6, 8)),
    (7, 2, 1, 4, 4, 4, (5, 9)),
    (3, 2, 2, 8, 2, 2, (1, 9)),
    (5, 3, 1, 6, 2, 1, (7, 5)),
    (3, 1, 1, 16, 16, 4, (5, 5)),
]


def conv_case(index, case):
    k, s, p, d, cin, cout, g, bias, (h, w) = case
    gen = torch.Generator().manual_seed(9000 + index)
    x = uniform((BATCH, cin, h, w), -1, 1, gen)
    conv = nn.Conv2d(cin, cout, k, stride=s, padding=p, dilation=d, groups=g, bias=bias)
    bound = 1.0 / (conv.weight[0].numel() ** 0.5)
    with torch.no_grad():
        conv.weight.copy_(uniform(conv.weight.shape, -bound, bound, gen))
        if bias:
            conv.bias.copy_(uniform(conv.bias.shape, -bound, bound, gen))
    cd = nn.Conv2d(cin, cout, k, stride=s, padding=p, dilation=d, groups=g, bias=bias).double()
    cd.load_state_dict(conv.state_dict())
    xd = x.double().requires_grad_(True)
    out = cd(xd)
    dy = uniform(out.shape, -1, 1, gen)
    (out * dy.double()).sum().backward()
    tensors = {"input": x, "weight": conv.weight, "expected_output": out.detach().float(),
               "grad_output": dy, "grad.input": xd.grad.float(),
               "grad.weight": cd.weight.grad.float()}
    if bias:
        tensors["bias"] = conv.bias
        tensors["grad.bias"] = cd.bias.grad.float()
    tensors["params"] = torch.tensor([k, s, p, d, g, 0, int(bias)], dtype=torch.float32)
    name = "conv_grad_%02d_k%d_s%d_p%d_d%d_g%d" % (index, k, s, p, d, g)
    return name, tensors, dict(op="conv2d backward")


def involution_case(index, case):
    k, s, d, c, gc, r, (h, w) = case
    gen = torch.Generator().manual_seed(9500 + index)
    x = uniform((BATCH, c, h, w), -1, 1, gen)
    m = Involution(c, k, s, d, gc, r)
    cr = c // r
    with torch.no_grad():
        m.conv1.conv.weight.copy_(uniform((cr, c, 1, 1), -c**-0.5, c**-0.5, gen))
        sign = torch.where(uniform((cr,), 0, 1, gen) < 0.25, -1.0, 1.0)
        m.conv1.bn.weight.copy_(uniform((cr,), 0.5, 1.5, gen) * sign)
        m.conv1.bn.bias.copy_(uniform((cr,), -0.3, 0.3, gen))
        m.conv1.bn.running_mean.copy_(uniform((cr,), -0.3, 0.3, gen))
        m.conv1.bn.running_var.copy_(uniform((cr,), 0.3, 2.0, gen))
        rows = k * k * (c // gc)
        m.conv2.conv.weight.copy_(uniform((rows, cr, 1, 1), -cr**-0.5, cr**-0.5, gen))
        m.conv2.conv.bias.copy_(uniform((rows,), -cr**-0.5, cr**-0.5, gen))
    md = Involution(c, k, s, d, gc, r)
    md.load_state_dict(m.state_dict())
    md = md.double().eval()  # BN on its running statistics, which get no gradient
    xd = x.double().requires_grad_(True)
    out, kernels = md(xd)
    dy = uniform(out.shape, -1, 1, gen)
    (out * dy.double()).sum().backward()
    state = m.state_dict()
    tensors = {"input": x, "expected_output": out.detach().float(),
               "expected_kernels": kernels.detach().float(), "grad_output": dy,
               "grad.input": xd.grad.float()}
    for key in ("conv1.conv.weight", "conv1.bn.weight", "conv1.bn.bias", "conv1.bn.running_mean",
                "conv1.bn.running_var", "conv2.conv.weight", "conv2.conv.bias"):
        tensors[key] = state[key]
    named = dict(md.named_parameters())
    for key in ("conv1.conv.weight", "conv1.bn.weight", "conv1.bn.bias", "conv2.conv.weight",
                "conv2.conv.bias"):
        tensors["grad." + key] = named[key].grad.float()
    pad = d * (k - 1) // 2
    tensors["params"] = torch.tensor([k, s, pad, d, gc, r, 1], dtype=torch.float32)
    name = "involution_grad_%02d_k%d_s%d_d%d_c%d_gc%d_r%d" % (index, k, s, d, c, gc, r)
    return name, tensors, dict(op="involution2d backward")


def learn_case(optimizer):
    """A few optimiser steps on F.mse_loss, the loop of ks::learn::fit_conv, in float32 as
    PyTorch trains: the losses before each step and after the last, and the final weights."""
    gen = torch.Generator().manual_seed(9900)
    x = uniform((1, 2, 6, 7), 0, 1, gen)
    conv = nn.Conv2d(2, 3, 3, padding=1)
    with torch.no_grad():
        conv.weight.copy_(uniform(conv.weight.shape, -0.3, 0.3, gen))
        conv.bias.copy_(uniform(conv.bias.shape, -0.3, 0.3, gen))
    target = uniform((1, 3, 6, 7), 0, 1, gen)
    start = {k: v.clone() for k, v in conv.state_dict().items()}
    opt = (torch.optim.Adam(conv.parameters(), lr=0.05) if optimizer == "adam" else
           torch.optim.SGD(conv.parameters(), lr=0.5))
    losses = []
    for _ in range(6):
        opt.zero_grad()
        loss = F.mse_loss(conv(x), target)
        losses.append(loss.item())
        loss.backward()
        opt.step()
    losses.append(F.mse_loss(conv(x), target).item())
    tensors = {"input": x, "target": target, "weight": start["weight"], "bias": start["bias"],
               "losses": torch.tensor(losses, dtype=torch.float64),
               "final.weight": conv.weight, "final.bias": conv.bias}
    return "learn_conv_" + optimizer, tensors, dict(op="fit", optimizer=optimizer, steps=6)


def main():
    torch.set_num_threads(1)
    os.makedirs(OUT_DIR, exist_ok=True)
    for f in os.listdir(OUT_DIR):
        if f.endswith(".safetensors"):
            os.remove(os.path.join(OUT_DIR, f))
    total = 0
    for maker, cases in ((conv_case, CONV_CASES), (involution_case, INV_CASES)):
        for i, case in enumerate(cases):
            name, tensors, meta = maker(i, case)
            path = os.path.join(OUT_DIR, name + ".safetensors")
            write_safetensors(path, tensors, meta)
            total += os.path.getsize(path)
    for optimizer in ("adam", "sgd"):
        name, tensors, meta = learn_case(optimizer)
        path = os.path.join(OUT_DIR, name + ".safetensors")
        write_safetensors(path, tensors, meta)
        total += os.path.getsize(path)
    print("gradient fixtures: %d conv, %d involution, %.1f KiB" %
          (len(CONV_CASES), len(INV_CASES), total / 1024))
    if total > MAX_TOTAL_BYTES:
        sys.exit("fixtures total %d bytes, over the %d byte budget" % (total, MAX_TOTAL_BYTES))


if __name__ == "__main__":
    main()
