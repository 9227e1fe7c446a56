"""How a paged example's attention maps are stored (data/attention/<slug>.npz): what the heatmap can show, and no
more. Each map (one layer's head) keeps 8-bit levels of the square root of its weights over its own maximum, and
that maximum: the square root gives small weights (those between ordinary tokens, beside a [CLS]/[SEP] sink that
takes most of the attention) many more levels than a linear scale would, and float16 maps of 60 news snippets
shrink from 18.7 MB to about 4 MB. A weight comes back within 0.4% of its map's maximum, and within 1/255 of its
own value relative to the maximum's square root. The pages carry the same levels (render/plots.py), so a page
shows exactly what the bundle holds."""

from __future__ import annotations

import io
import zipfile
from typing import BinaryIO, Union

import numpy as np

LEVELS = 255


def quantise(maps: np.ndarray, scales: np.ndarray) -> np.ndarray:
    """uint8 levels of maps (float[..., n, n]) against scales (float[...], each map's maximum)."""
    safe = np.maximum(scales, 1e-12)[..., None, None]
    return np.round(np.sqrt(np.clip(maps / safe, 0.0, 1.0)) * LEVELS).astype(np.uint8)


def dequantise(levels: np.ndarray, scales: np.ndarray) -> np.ndarray:
    return np.square(levels.astype(np.float32) / LEVELS) * scales.astype(np.float32)[..., None, None]


# zlib's fastest level: on one 512-piece window of the default model (6 x 12 maps of levels) it deflates in 0.26 s
# against 0.97 s at numpy's level 6, to 10.8 MB against 10.1 MB; a 3,000-word document's eleven windows were 14.7 s of
# a 63 s build at level 6.
DEFLATE_LEVEL = 1


def encode_maps(maps: np.ndarray) -> bytes:
    """float[layers, heads, n, n] -> the bytes of a deflated .npz (levels uint8, scales float32[layers, heads]), as
    np.savez_compressed writes it (np.load reads it; fixed entry dates, so the same maps give the same bytes) but
    at DEFLATE_LEVEL."""
    values = np.asarray(maps, dtype=np.float32)
    scales = values.max(axis=(-1, -2)) if values.size else np.zeros(values.shape[:2], np.float32)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED, compresslevel=DEFLATE_LEVEL) as archive:
        for name, array in (("levels", quantise(values, scales)), ("scales", scales.astype(np.float32))):
            with archive.open(f"{name}.npy", "w", force_zip64=True) as entry:
                np.lib.format.write_array(entry, array, allow_pickle=False)
    return buffer.getvalue()


def decode_maps(source: Union[bytes, BinaryIO]) -> np.ndarray:
    """float32[layers, heads, n, n] from encode_maps' bytes; ValueError for anything else."""
    handle = io.BytesIO(source) if isinstance(source, bytes) else source
    try:
        stored = np.load(handle, allow_pickle=False)
        if not isinstance(stored, np.lib.npyio.NpzFile):  # a bare .npy (the float16 maps of schema 12 and before)
            raise ValueError("an .npy array, not the .npz of levels and scales")
        with stored:
            levels, scales = stored["levels"], stored["scales"]
    except (OSError, KeyError, ValueError, EOFError, zipfile.BadZipFile) as exc:
        raise ValueError(f"not attention maps ({exc})") from None
    if (levels.dtype != np.uint8 or levels.ndim != 4 or levels.shape[-1] != levels.shape[-2]
            or scales.shape != levels.shape[:2] or not np.isfinite(scales).all()):
        raise ValueError("not attention maps")
    return dequantise(levels, scales)
