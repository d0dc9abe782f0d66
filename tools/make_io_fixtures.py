#!/usr/bin/python3
"""Writes the small cross-check files in tests/fixtures/io/ with numpy and torch, so the C++
readers are tested against files produced by the reference implementations. The test suite
only reads the committed outputs; run this again only to regenerate them:

    /usr/bin/python3 tools/make_io_fixtures.py
"""
import json
import os
import struct
import zlib

import numpy as np
import torch

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "fixtures", "io")
VALUES = [0.0, 1.0, -2.5, 0.1, 1000.0, -65504.0]


def write_safetensors(path, tensors):
    """The safetensors layout, written by hand because the python package is not installed:
    u64 little-endian header length, JSON header (space padded to 8 bytes), raw data."""
    header, blobs, offset = {"__metadata__": {"format": "pt"}}, [], 0
    for name, (dtype, tensor) in tensors.items():
        t = tensor.contiguous()
        if t.dtype in (torch.float16, torch.bfloat16):
            raw = t.view(torch.int16).numpy().astype("<i2").tobytes()
        else:
            raw = t.numpy().astype(t.numpy().dtype.newbyteorder("<")).tobytes()
        header[name] = {"dtype": dtype, "shape": list(t.shape),
                        "data_offsets": [offset, offset + len(raw)]}
        blobs.append(raw)
        offset += len(raw)
    text = json.dumps(header, separators=(",", ":")).encode()
    text += b" " * ((8 - len(text) % 8) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)) + text + b"".join(blobs))


def write_png_grey16(path, width, height, values):
    """A 16-bit greyscale PNG built chunk by chunk (no imaging library needed): stb_image
    reduces it to 8 bits, which the C++ test checks."""
    def chunk(kind, data):
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))
    rows = b"".join(b"\x00" + struct.pack(">%dH" % width, *values[y * width:(y + 1) * width])
                    for y in range(height))
    ihdr = struct.pack(">IIBBBBB", width, height, 16, 0, 0, 0, 0)
    with open(path, "wb") as f:
        f.write(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(rows))
                + chunk(b"IEND", b""))


def main():
    os.makedirs(OUT, exist_ok=True)
    base = torch.tensor(VALUES).reshape(2, 3)
    write_safetensors(os.path.join(OUT, "dtypes.safetensors"), {
        "f32": ("F32", base.float()),
        "f64": ("F64", base.double()),
        "f16": ("F16", base.half()),
        "bf16": ("BF16", base.bfloat16()),
    })

    # A PyTorch-style involution state_dict: 4D 1x1 conv weights and BN buffers, including
    # num_batches_tracked, which the reader must ignore (it is an int64 tensor, so it is stored
    # here as F32 to keep the file readable; the reader ignores the key either way).
    g = torch.Generator().manual_seed(0)
    c, r, k, group_channels = 4, 2, 3, 2
    state = {
        "conv1.conv.weight": ("F32", torch.randn(c // r, c, 1, 1, generator=g)),
        "conv1.bn.weight": ("F32", torch.rand(c // r, generator=g) + 0.5),
        "conv1.bn.bias": ("F32", torch.randn(c // r, generator=g)),
        "conv1.bn.running_mean": ("F32", torch.randn(c // r, generator=g)),
        "conv1.bn.running_var": ("F32", torch.rand(c // r, generator=g) + 0.5),
        "conv1.bn.num_batches_tracked": ("F32", torch.zeros(())),
        "conv2.conv.weight": ("F32", torch.randn(k * k * (c // group_channels), c // r, 1, 1,
                                                 generator=g)),
        "conv2.conv.bias": ("F32", torch.randn(k * k * (c // group_channels), generator=g)),
    }
    write_safetensors(os.path.join(OUT, "involution_c4_r2_k3_gc2.safetensors"), state)

    arr = np.array(VALUES).reshape(1, 2, 3)
    np.save(os.path.join(OUT, "f4_le.npy"), arr.astype("<f4"))
    np.save(os.path.join(OUT, "f8_be.npy"), arr.astype(">f8"))
    with open(os.path.join(OUT, "f4_v2.npy"), "wb") as f:
        np.lib.format.write_array(f, arr.astype("<f4"), version=(2, 0))
    np.save(os.path.join(OUT, "fortran.npy"), np.asfortranarray(arr.reshape(2, 3).astype("<f4")))
    np.save(os.path.join(OUT, "int32.npy"), arr.astype("<i4"))

    write_png_grey16(os.path.join(OUT, "grey16.png"), 2, 2, [0, 65535, 0x8080, 0x0101])


if __name__ == "__main__":
    main()
