"""Safe image loading and saving at the edges: files in, uint8 arrays out, and back."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import torch
from PIL import Image, ImageDraw, ImageOps, UnidentifiedImageError

from gandash.core.errors import GandashError
from gandash.core.paths import atomic_write_bytes

MAX_PIXELS = 120_000_000  # beyond this PIL's decompression-bomb guard would trip anyway
Image.MAX_IMAGE_PIXELS = MAX_PIXELS


def open_image(source: Path | bytes, name: str = "") -> Image.Image:
    """Open and fully decode an image, with EXIF orientation applied; bad files raise GandashError."""
    label = name or (source.name if isinstance(source, Path) else "the image")
    try:
        image = Image.open(io.BytesIO(source) if isinstance(source, bytes) else source)
        image.load()
        if image.width == 0 or image.height == 0:
            raise GandashError(f"{label} is empty (0 pixels).")
        return ImageOps.exif_transpose(image)
    except (UnidentifiedImageError, OSError, ValueError, Image.DecompressionBombError) as exc:
        raise GandashError(f"{label} could not be read as an image ({exc}).") from None


def load_square(path: Path, size: int, channels: int) -> np.ndarray:
    """(channels, size, size) uint8: the image resized and centre-cropped to a square."""
    image = open_image(path).convert("L" if channels == 1 else "RGB")
    square = ImageOps.fit(image, (size, size), Image.Resampling.BICUBIC)
    array = np.asarray(square, dtype=np.uint8)
    return array[None] if channels == 1 else array.transpose(2, 0, 1)


def to_uint8(images: torch.Tensor) -> np.ndarray:
    """Float NCHW in [-1, 1] -> uint8 NHW (gray) or NHWC (colour)."""
    array = images.detach().float().clamp(-1, 1).add(1).mul(127.5).round().to(torch.uint8).cpu().numpy()
    return array[:, 0] if array.shape[1] == 1 else array.transpose(0, 2, 3, 1)


def grid_array(images: torch.Tensor, nrow: int = 8, padding: int = 2) -> np.ndarray:
    """uint8 (H, W, 3): the images in rows of `nrow` on black, `padding` px apart and around (a single
    image alone), as torchvision's make_grid lays them out (torchvision itself takes seconds to import:
    every CLI call and worker start would pay for it)."""
    tiles = to_uint8(images)
    if tiles.ndim == 3:
        tiles = np.repeat(tiles[..., None], 3, axis=-1)
    count, height, width = tiles.shape[:3]
    if count == 1:  # one picture: no frame around it
        return tiles[0]
    columns = max(1, min(nrow, count))
    rows = -(-count // columns)
    grid = np.zeros((rows * (height + padding) + padding, columns * (width + padding) + padding, 3), np.uint8)
    for index, tile in enumerate(tiles):
        top, left = (index // columns) * (height + padding) + padding, (index % columns) * (width + padding) + padding
        grid[top : top + height, left : left + width] = tile
    return grid


def grid_png(images: torch.Tensor, nrow: int = 8) -> bytes:
    """A PNG of images (float NCHW in [-1, 1]) laid out in a grid."""
    array = grid_array(images, nrow)
    buffer = io.BytesIO()
    Image.fromarray(array).save(buffer, format="PNG")
    return buffer.getvalue()


def scatter_png(
    points: np.ndarray, real: np.ndarray | None = None, size: int = 320, extent: float | None = None
) -> bytes:
    """A small PNG scatter of 2D points (generated in orange, real in grey), no plotting library needed."""
    both = points if real is None else np.concatenate([points, real])
    finite = both[np.isfinite(both).all(1)]
    half = extent or (float(np.abs(finite).max()) * 1.1 if len(finite) else 1.0) or 1.0
    canvas = Image.new("RGB", (size, size), "white")
    draw = ImageDraw.Draw(canvas)

    def dots(array: np.ndarray, colour: str) -> None:
        for x, y in array[np.isfinite(array).all(1)]:
            px, py = (x / half + 1) * size / 2, (1 - y / half) * size / 2
            draw.ellipse((px - 1.5, py - 1.5, px + 1.5, py + 1.5), fill=colour)

    if real is not None:
        dots(real, "#9e9e9e")
    dots(points, "#ef6c00")
    buffer = io.BytesIO()
    canvas.save(buffer, format="PNG")
    return buffer.getvalue()


def save_png(path: Path, png: bytes) -> None:
    atomic_write_bytes(path, png)
