"""Image grids as PNG with the standard library only (zlib + struct): no plotting dependency for
writing a generator's samples."""
from __future__ import annotations

import struct
import zlib

import numpy as np

from accelsim.errors import ModelError
from accelsim.files import write_atomic


def to_uint8(images: np.ndarray, lo: float = -1.0, hi: float = 1.0) -> np.ndarray:
    """Map [lo, hi] to 0..255 (round half to even, clipped)."""
    x = (np.asarray(images, np.float64) - lo) / (hi - lo) * 255.0
    return np.clip(np.rint(x), 0, 255).astype(np.uint8)


def grid(images: np.ndarray, cols: int | None = None, pad: int = 2) -> np.ndarray:
    """(N, C, H, W) uint8 -> one (H', W', C) image, row-major, ``pad`` black pixels between tiles."""
    n, c, h, w = images.shape
    if c not in (1, 3):
        raise ModelError(f"images must have 1 or 3 channels, got {c}")
    cols = cols or int(np.ceil(np.sqrt(n)))
    rows = int(np.ceil(n / cols))
    out = np.zeros((rows * (h + pad) + pad, cols * (w + pad) + pad, c), np.uint8)
    for i in range(n):
        r, q = divmod(i, cols)
        y, x = pad + r * (h + pad), pad + q * (w + pad)
        out[y:y + h, x:x + w] = images[i].transpose(1, 2, 0)
    return out


def write_png(path: str, image: np.ndarray, scale: int = 1) -> None:
    """Write an (H, W, 1|3) uint8 image as PNG (atomically: no partial file on failure)."""
    img = np.asarray(image)
    if img.dtype != np.uint8 or img.ndim != 3 or img.shape[2] not in (1, 3):
        raise ModelError("write_png needs a uint8 (H, W, 1|3) array")
    if scale > 1:
        img = img.repeat(scale, axis=0).repeat(scale, axis=1)
    h, w, c = img.shape
    raw = b"".join(b"\x00" + img[y].tobytes() for y in range(h))

    def chunk(tag: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + tag + data + struct.pack(">I", zlib.crc32(tag + data) & 0xFFFFFFFF)

    png = (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 0 if c == 1 else 2, 0, 0, 0))
           + chunk(b"IDAT", zlib.compress(raw, 9)) + chunk(b"IEND", b""))

    def write_to(tmp: str) -> None:
        with open(tmp, "wb") as f:
            f.write(png)

    write_atomic(path, write_to)
