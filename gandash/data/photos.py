"""Photos at full resolution, the raw material of blurred/sharp and low-res/original pairs:
scikit-image's bundled photos (nothing is downloaded), the user's folders of photos, and the
overlapping tiles cut from them."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from gandash.core.errors import GandashError
from gandash.data.readers import IMAGE_SUFFIXES

# The held-out photos are never trained on: the deblur bench, the tests and the Deblur page's
# examples use them, so their numbers are honest.
PHOTOS_TRAIN = (
    "astronaut",
    "camera",
    "chelsea",
    "immunohistochemistry",
    "retina",
    "grass",
    "gravel",
    "brick",
    "moon",
    "coins",
    "cell",
    "page",
    "text",
    "clock",
)
PHOTOS_HELD_OUT = ("rocket", "coffee", "motorcycle")  # motorcycle: both stereo views are held out


def photo(name: str) -> np.ndarray:
    """A bundled scikit-image photo as uint8 HWC RGB (gray ones repeated to three channels)."""
    import skimage.data  # imported here: it takes a moment and only pairs need it

    array = skimage.data.stereo_motorcycle()[0] if name == "motorcycle" else getattr(skimage.data, name)()
    array = np.asarray(array, dtype=np.uint8)
    return np.repeat(array[..., None], 3, axis=2) if array.ndim == 2 else array[..., :3]


def training_photos(tile: int) -> list[np.ndarray]:
    """PHOTOS_TRAIN as HWC arrays, plus a 60% copy of each photo at least two tiles across."""
    from PIL import Image  # imported here, as in photo(): only pairs need it

    sources = []
    for name in PHOTOS_TRAIN:
        array = photo(name)
        sources.append(array)
        if min(array.shape[:2]) >= 2 * tile:  # the same photo at 60%: finer detail per pixel
            small = Image.fromarray(array).resize(
                (array.shape[1] * 3 // 5, array.shape[0] * 3 // 5), Image.Resampling.LANCZOS
            )
            sources.append(np.asarray(small))
    return sources


def read_photos(folder: Path, longest: int = 1600) -> list[np.ndarray]:
    """The photos under `folder` at full resolution (very large ones scaled to `longest` px);
    unreadable files are skipped."""
    from gandash.core import images as image_io

    if not folder.is_dir():
        raise GandashError(f"image folder '{folder}' does not exist or is not a folder.")
    arrays = []
    for path in sorted(p for p in folder.rglob("*") if p.suffix.lower() in IMAGE_SUFFIXES and p.is_file()):
        try:
            image = image_io.open_image(path).convert("RGB")
        except GandashError:
            continue
        image.thumbnail((longest, longest))
        arrays.append(np.asarray(image))
    return arrays


def tiles(array: np.ndarray, size: int) -> list[np.ndarray]:
    """Overlapping size x size tiles (C, size, size) of an HWC photo, half a tile apart."""
    h, w = array.shape[:2]
    step = max(1, size // 2)
    tops = sorted({*range(0, h - size + 1, step), h - size})
    lefts = sorted({*range(0, w - size + 1, step), w - size})
    return [array[y : y + size, x : x + size].transpose(2, 0, 1) for y in tops for x in lefts]
