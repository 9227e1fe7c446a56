"""A minimal PNG encoder for attention thumbnails, written inline as data: URIs (no image library, no
extra files, so --single-file needs nothing special)."""

from __future__ import annotations

import base64
import struct
import zlib

import numpy as np
from bokeh.palettes import Cividis256

_CIVIDIS = np.array([[int(c[i : i + 2], 16) for i in (1, 3, 5)] for c in Cividis256], dtype=np.uint8)


def heat_png(values: np.ndarray) -> bytes:
    """float[h, w] scaled to its own maximum, coloured with Cividis (colour-blind safe) -> PNG bytes."""
    high = float(values.max()) if values.size else 0.0
    index = np.zeros(values.shape, dtype=np.int64) if high <= 0 else np.clip(
        np.round(values / high * 255), 0, 255).astype(np.int64)
    rgb = _CIVIDIS[index]  # [h, w, 3]
    height, width = values.shape
    raw = b"".join(b"\x00" + rgb[y].tobytes() for y in range(height))  # filter type 0 per row

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(raw, 9)) + chunk(b"IEND", b"")


def data_uri(png: bytes) -> str:
    return "data:image/png;base64," + base64.b64encode(png).decode("ascii")
