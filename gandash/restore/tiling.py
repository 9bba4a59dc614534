"""Running an image-to-image net over a photo of any size, a tile at a time, in bounded memory.

Each tile is cut with extra context around it (mirrored at the photo's border) and only its centre
is kept; neighbouring centres overlap and are cross-faded, so there is no visible grid. Tiles are
processed a row (band) at a time: only the current band is held as float32, and finished rows are
written straight into the output in the photo's own dtype, so beyond the input and the output the
memory used depends on the tile size and the photo's width, not on its height.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np

# apply(window): float32 (h, w, C) in [0, 1] -> float32 (h * scale, w * scale, C) in [0, 1]
Apply = Callable[[np.ndarray], np.ndarray]


def starts(length: int, tile: int, overlap: int) -> list[int]:
    """Where the kept parts of the tiles begin: every tile - overlap pixels until the end is covered."""
    found = [0]
    while found[-1] + tile < length:
        found.append(found[-1] + tile - overlap)
    return found


def mirror(index: np.ndarray, length: int) -> np.ndarray:
    """Indices outside [0, length) reflected back in (as often as needed, for photos thinner than a tile)."""
    if length == 1:
        return np.zeros_like(index)
    period = 2 * length - 2
    index = np.mod(index, period)
    return np.where(index >= length, period - index, index)


def ramp(n: int, fade: int, fade_in: bool, fade_out: bool) -> np.ndarray:
    """Weights of a tile's kept part along one axis: a linear cross-fade over `fade` pixels where it
    meets a neighbour (the two fades sum to exactly 1), flat elsewhere."""
    position = np.arange(n, dtype=np.float32)
    weights = np.ones(n, np.float32)
    if fade_in:
        weights = np.minimum(weights, (position + 1) / (fade + 1))
    if fade_out:
        weights = np.minimum(weights, (n - position) / (fade + 1))
    return weights


def _axis(length: int, tile: int, overlap: int, scale: int) -> tuple[list[int], list[np.ndarray], np.ndarray]:
    """(starts, each tile's ramp at output resolution, the ramps' sum at every output pixel)."""
    found = starts(length, tile, overlap)
    ramps, total = [], np.zeros(length * scale, np.float32)
    for start in found:
        kept = min(tile, length - start)
        weights = ramp(kept * scale, overlap * scale, start > 0, start + kept < length)
        total[start * scale : (start + kept) * scale] += weights
        ramps.append(weights)
    return found, ramps, total


def run(
    pixels: np.ndarray,
    apply: Apply,
    tile: int,
    context: int,
    overlap: int,
    scale: int = 1,
    multiple: int = 1,
    progress: Callable[[float], None] | None = None,
) -> np.ndarray:
    """`apply` over (H, W, C) pixels (uint8, uint16 or float in [0, 1]) tile by tile; returns
    (H * scale, W * scale, C) of the same dtype (float32 for float input). Windows are grown to a
    multiple of `multiple` for nets with strided levels."""
    height, width, channels = pixels.shape
    integer = np.issubdtype(pixels.dtype, np.integer)
    top_value = float(np.iinfo(pixels.dtype).max) if integer else 1.0
    out = np.empty((height * scale, width * scale, channels), pixels.dtype if integer else np.float32)
    rows, row_ramps, row_total = _axis(height, tile, overlap, scale)
    cols, col_ramps, col_total = _axis(width, tile, overlap, scale)
    carry = None  # the previous band's last overlap rows, weighted, still waiting for this band's share
    done, count = 0, len(rows) * len(cols)
    for band, top in enumerate(rows):
        kept_h = min(tile, height - top)
        accumulated = np.zeros((kept_h * scale, width * scale, channels), np.float32)
        if carry is not None:
            accumulated[: len(carry)] += carry
        for left, col_ramp in zip(cols, col_ramps):
            kept_w = min(tile, width - left)
            win_h = math.ceil((kept_h + 2 * context) / multiple) * multiple
            win_w = math.ceil((kept_w + 2 * context) / multiple) * multiple
            ys = mirror(np.arange(top - context, top - context + win_h), height)
            xs = mirror(np.arange(left - context, left - context + win_w), width)
            window = pixels[np.ix_(ys, xs)].astype(np.float32)
            if integer:
                window /= top_value
            result = apply(window)
            kept = result[context * scale : (context + kept_h) * scale, context * scale : (context + kept_w) * scale]
            kept *= np.outer(row_ramps[band], col_ramp)[..., None]
            accumulated[:, left * scale : (left + kept_w) * scale] += kept
            done += 1
            if progress:
                progress(done / count)
        last = band == len(rows) - 1
        final = kept_h * scale if last else (rows[band + 1] - top) * scale
        carry = None if last else accumulated[final:].copy()
        finished = accumulated[:final]
        finished /= (row_total[top * scale : top * scale + final, None] * col_total[None, :])[..., None]
        if integer:
            finished *= top_value
            np.rint(finished, out=finished)
            np.clip(finished, 0, top_value, out=finished)
        out[top * scale : top * scale + final] = finished
    return out
