#!/usr/bin/python3
"""Writes tests/fixtures/notebook/*.npy: a tiny run of the seed notebook's inv() function
(its code reproduced below, unchanged in substance) with fixed, seeded weights, so the C++
notebook variant can be checked against PyTorch. Run with Debian's /usr/bin/python3
(python3-torch, python3-numpy); the files are committed, so tests need no Python."""
import os

import numpy as np
import torch
import torch.nn as nn

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "fixtures", "notebook")


def inv(imgs, reduce, span, kernel_size=3, group_ch=1, stride=1, padding=0):
    """The notebook's inv(), with its two conv layers passed in so their weights are known."""
    k = kernel_size
    c_1 = imgs.shape[1]
    g = c_1 // group_ch
    o = nn.AvgPool2d(stride, stride) if stride > 1 else nn.Identity()
    weights = o(imgs)
    weights = reduce(weights)
    weights = span(weights)
    b, c_2, h, w = weights.shape
    weights = weights.view(b, g, 1, k**2, w * h)
    patches = nn.Unfold(k, padding=padding)(imgs)
    assert patches.shape == (b, c_1 * k * k, patches.shape[-1])
    patches = patches.view(b, g, group_ch, k**2, w * h)
    out = patches * weights
    out = out.view(b, c_1, k * k, w * h)
    out = out.sum(dim=2)
    out = out.view(b, c_1, w, h)
    return out, weights.view(b, g, k * k, h, w)


def case(name, c, size, k, group_ch, r, padding, seed):
    torch.manual_seed(seed)
    g = c // group_ch
    reduce = nn.Conv2d(c, c // r, 1)
    span = nn.Conv2d(c // r, g * k * k, k, padding=padding)
    x = torch.randn(1, c, size, size)
    with torch.no_grad():
        out, kernels = inv(x, reduce, span, k, group_ch, 1, padding)
    d = os.path.join(OUT, name)
    os.makedirs(d, exist_ok=True)
    arrays = {
        "input": x,
        "reduce_weight": reduce.weight,
        "reduce_bias": reduce.bias,
        "span_weight": span.weight,
        "span_bias": span.bias,
        "output": out,
        "kernels": kernels,
    }
    for key, t in arrays.items():
        np.save(os.path.join(d, key + ".npy"), t.detach().numpy().astype("<f4"))
    print(name, "input", tuple(x.shape), "output", tuple(out.shape))


if __name__ == "__main__":
    # The notebook's defaults (r=1, K=3, group_ch=1, padding=0) on a small image...
    case("defaults", c=3, size=10, k=3, group_ch=1, r=1, padding=0, seed=0)
    # ...and groups, reduction, K=5 and padding together.
    case("grouped", c=4, size=9, k=5, group_ch=2, r=2, padding=1, seed=1)
