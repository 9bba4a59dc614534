"""The pair sets: blurred:NAME (blurred/sharp, for deblurring) and lowres:NAME (x4 downsampled/original,
for super-resolution), made from photos, folder:PATH or a named image set.

A pair set holds only the sharp uint8 images; the trainer degrades them on the fly
(gandash.data.degrade), so every epoch sees new blurs. Photos are cut into tiles larger than the
training crop, so that every blurred pixel is computed from real neighbours."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import torch

from gandash.core.config import DataKind
from gandash.core.errors import GandashError
from gandash.data import degrade, photos
from gandash.data.dataset import Dataset, DatasetInfo, InfoOf, LoadInner, split_name, to_size

PAIR_KINDS: tuple[DataKind, ...] = ("paired", "lowres")  # both keep sharp images; the trainer degrades them
TILE_MARGIN = degrade.KERNEL_SIZE // 2  # the widest blur's reach


def blurred_info(name: str, inner: str, info: InfoOf) -> DatasetInfo:
    """blurred:INNER; `info` is the catalogue's, for an INNER that is an image set."""
    if inner == "photos":
        return DatasetInfo(
            name or "blurred:photos",
            f"{len(photos.PHOTOS_TRAIN)} of scikit-image's bundled photos "
            f"(held out: {', '.join(photos.PHOTOS_HELD_OUT)}), random crops blurred on the fly",
            "paired",
            3,
            0,
        )
    base = info(inner)
    if base.kind != "image":
        raise GandashError(
            f"'{name}': blurred pairs are made from images, but '{inner}' is {base.kind} data; "
            "use blurred:photos, blurred:folder:PATH or blurred:cifar10."
        )
    size = 0 if split_name(inner)[0] == "folder" else base.image_size  # folders: crops at full resolution
    return DatasetInfo(name, f"{base.description}, blurred on the fly", "paired", base.channels, size)


def lowres_info(name: str, inner: str, info: InfoOf) -> DatasetInfo:
    """lowres:INNER: the same sharp images as blurred:INNER, degraded by downsampling instead."""
    blurred = blurred_info(name, inner, info)
    return replace(blurred, kind="lowres", description=blurred.description.replace("blurred", "downsampled x4"))


def load_pairs(
    meta: DatasetInfo,
    inner: str,
    data_dir: str | None,
    image_size: int | None,
    channels: int | None,
    seed: int,
    load: LoadInner,
) -> Dataset:
    """The sharp images of a pair set; `load` is the catalogue's, for an INNER that is an image set."""
    channels = channels or meta.channels or 3
    prefix, arg = split_name(inner)
    if inner != "photos" and prefix != "folder":  # a set of small images: whole images, mirrored borders
        base = load(inner, data_dir, image_size, channels, seed)
        return Dataset(meta, images=base.images)
    tile = (image_size or 64) + 2 * TILE_MARGIN
    sources = photos.training_photos(tile) if inner == "photos" else photos.read_photos(Path(arg))
    # flat tiles (sky, the black around retina) look the same blurred or not and teach nothing
    tiles = [t for array in sources if min(array.shape[:2]) >= tile for t in photos.tiles(array, tile) if t.std() >= 8]
    if not tiles:
        raise GandashError(
            f"'{meta.name}' has no photo of at least {tile}x{tile} px; add larger photos or "
            "train on smaller crops (image_size)."
        )
    stacked = torch.from_numpy(np.stack(tiles))
    return Dataset(meta, images=to_size(stacked, tile, channels) if channels == 1 else stacked)
