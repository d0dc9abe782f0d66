#!/usr/bin/env python3
"""Generates the bundled sample images (made by the project, CC0).

Procedural on purpose: edges, textures, colour regions and frequencies that show what
each kernel does, with no licence questions. Needs only numpy; PNGs are written by a
tiny encoder here (zlib + CRC from the standard library).
"""
import struct
import zlib
from pathlib import Path

import numpy as np

OUT = Path(__file__).resolve().parent.parent / "assets" / "samples"


def write_png(path, img):
    """img: uint8 array [H, W] (grey) or [H, W, 3] (RGB)."""
    h, w = img.shape[:2]
    colour_type = 0 if img.ndim == 2 else 2
    raw = b"".join(b"\x00" + img[y].tobytes() for y in range(h))

    def chunk(tag, data):
        body = tag + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body) & 0xFFFFFFFF)

    png = b"\x89PNG\r\n\x1a\n"
    png += chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, colour_type, 0, 0, 0))
    png += chunk(b"IDAT", zlib.compress(raw, 9))
    png += chunk(b"IEND", b"")
    path.write_bytes(png)


def to_u8(x):
    return (np.clip(x, 0, 1) * 255 + 0.5).astype(np.uint8)


def shapes(h=240, w=320):
    """Flat-coloured shapes on a soft gradient: crisp edges in every direction."""
    y, x = np.mgrid[0:h, 0:w].astype(np.float32)
    img = np.stack([0.15 + 0.25 * x / w, 0.18 + 0.2 * y / h, 0.35 + 0.1 * (x + y) / (w + h)], -1)
    disc = (x - 90) ** 2 + (y - 110) ** 2 < 55 ** 2
    img[disc] = [0.95, 0.55, 0.15]
    square = (np.abs(x - 215) < 45) & (np.abs(y - 85) < 45)
    img[square] = [0.2, 0.75, 0.35]
    tri = (y > 150) & (y < 220) & (np.abs(x - 230) < (y - 150) * 0.9)
    img[tri] = [0.85, 0.85, 0.9]
    ring = np.abs(np.hypot(x - 90, y - 110) - 70) < 4
    img[ring] = [0.1, 0.1, 0.12]
    return to_u8(img)


def zone_plate(n=256):
    """Concentric rings whose frequency rises outwards: shows blur and aliasing."""
    y, x = np.mgrid[0:n, 0:n].astype(np.float32) - n / 2
    return to_u8(0.5 + 0.5 * np.cos(np.pi * (x * x + y * y) / (1.6 * n)))


def landscape(h=270, w=480):
    """A sunset with hills and a textured field, the 'natural image' sample."""
    rng = np.random.default_rng(7)
    y, x = np.mgrid[0:h, 0:w].astype(np.float32)
    t = y / h
    img = np.stack([0.95 - 0.5 * t, 0.55 - 0.35 * t, 0.35 + 0.3 * t], -1)
    sun = np.hypot(x - 340, y - 95) < 38
    img[sun] = [1.0, 0.85, 0.45]
    for k, (base, amp, freq, colour) in enumerate(
            [(150, 22, 0.013, [0.35, 0.25, 0.45]), (185, 15, 0.021, [0.2, 0.35, 0.25])]):
        ridge = base + amp * np.sin(freq * x + k) + 6 * np.sin(0.07 * x + 2 * k)
        img[y > ridge] = colour
    field = y > 215
    noise = rng.random((h, w)).astype(np.float32)
    stripes = 0.5 + 0.5 * np.sin(0.35 * x + 0.08 * y * y / 10)
    img[field] = (np.stack([0.55 + 0.2 * stripes, 0.45 + 0.25 * noise, 0.15 + 0 * noise], -1))[field]
    return to_u8(img)


def colour_discs(h=144, w=288):
    """Pure red, pure blue and magenta discs on mid grey: the designed involution
    'direction_follows_colour' gives red pixels Sobel x, blue ones Sobel y and pixels with
    R = B (the grey and the magenta) no kernel at all."""
    y, x = np.mgrid[0:h, 0:w].astype(np.float32)
    img = np.full((h, w, 3), 0.5, np.float32)
    for cx, colour in [(56, [1.0, 0.2, 0.0]), (144, [0.0, 0.35, 1.0]), (232, [1.0, 0.0, 1.0])]:
        img[np.hypot(x - cx, y - h / 2) < 40] = colour
    return to_u8(img)


def grainy_discs(h=240, w=320):
    """Red and blue discs on grey, everything covered in the same fine grain (seeded noise):
    the learn mode's lesson image. The target designed:blur_where_red smooths the grain on
    the red discs only; one convolution kernel has to smooth it everywhere or nowhere."""
    y, x = np.mgrid[0:h, 0:w].astype(np.float32)
    img = np.full((h, w, 3), 0.5, np.float32)
    red, blue = [0.85, 0.25, 0.2], [0.2, 0.35, 0.85]
    for cy, cx, r, colour in [(70, 80, 60, red), (70, 240, 60, blue), (180, 160, 55, red),
                              (185, 40, 40, blue), (185, 280, 40, blue)]:
        img[np.hypot(x - cx, y - cy) < r] = colour
    grain = np.random.default_rng(7).normal(0.0, 0.12, (h, w, 1)).astype(np.float32)
    return to_u8(img + grain)


def checker(n=192, cell=16):
    y, x = np.mgrid[0:n, 0:n]
    return to_u8((((y // cell) + (x // cell)) % 2).astype(np.float32) * 0.8 + 0.1)


def main():
    OUT.mkdir(parents=True, exist_ok=True)
    write_png(OUT / "shapes.png", shapes())
    write_png(OUT / "zone-plate.png", zone_plate())
    write_png(OUT / "landscape.png", landscape())
    write_png(OUT / "checker.png", checker())
    write_png(OUT / "colour-discs.png", colour_discs())
    write_png(OUT / "grainy-discs.png", grainy_discs())
    # A 4-channel array input, [1, 4, 48, 64] float32, for .npy runs.
    y, x = np.mgrid[0:48, 0:64].astype(np.float32)
    arr = np.stack([np.sin(x / 5), np.cos(y / 4), (x + y) / 112.0, ((x // 8 + y // 8) % 2)])
    np.save(OUT / "waves-4ch.npy", arr[None].astype(np.float32))


if __name__ == "__main__":
    main()
