"""Turning rendered frames and their z into bytes to show or save: PNG strips and grids, animated
GIFs, .npy of z, and the seed-to-frames pipelines the CLI's `interpolate` exports."""

from __future__ import annotations

import io

import numpy as np
import torch
from PIL import Image

from gandash.core import images
from gandash.core.errors import GandashError
from gandash.latent.grid import grid_z
from gandash.latent.model import Model
from gandash.latent.walks import anchor, interpolate, labels_for, render, truncate

EXPORTS = (".png", ".gif", ".npy")
GRID_EXPORTS = (".png", ".npy")


def _pil(picture: torch.Tensor, scale: int = 1) -> Image.Image:
    array = images.to_uint8(picture[None])[0]
    image = Image.fromarray(array)
    return image.resize((image.width * scale, image.height * scale), Image.Resampling.NEAREST) if scale > 1 else image


def display_scale(model: Model) -> int:
    """Small images (28 px) are enlarged with nearest-neighbour for viewing and export."""
    return max(1, 128 // max(model.config.image_size, 1))


def display_png(frames: torch.Tensor, model: Model, nrow: int | None = None) -> bytes:
    """What the latent page shows: the frames in a row (or rows of nrow), small images enlarged with
    nearest-neighbour first so they can be seen (bench/latent_render.py times this with `render`)."""
    scale = display_scale(model)
    if scale > 1:
        frames = torch.nn.functional.interpolate(frames, scale_factor=scale, mode="nearest")
    return images.grid_png(frames, nrow=nrow or len(frames))


def strip_png(frames: torch.Tensor, nrow: int | None = None) -> bytes:
    """The frames side by side (or in rows of nrow), as a PNG."""
    return images.grid_png(frames, nrow=nrow or len(frames))


def gif(frames: torch.Tensor, scale: int = 1, fps: float = 12.0, bounce: bool = True, loop: bool = True) -> bytes:
    """An animated GIF, one frame per image; `bounce` plays back and forth so the loop has no jump;
    without `loop` it plays once and stays on its last frame."""
    pictures = [_pil(frame, scale).convert("RGB") for frame in frames]
    if bounce and len(pictures) > 2:
        pictures = pictures + pictures[-2:0:-1]
    palette = [p.quantize(colors=255) for p in pictures]
    buffer = io.BytesIO()
    looping = {"loop": 0} if loop else {}  # no loop field at all: browsers play it once
    palette[0].save(
        buffer,
        format="GIF",
        save_all=True,
        append_images=palette[1:],
        duration=max(20, int(1000 / fps)),
        disposal=2,
        **looping,
    )
    return buffer.getvalue()


def npy(z: torch.Tensor, labels: torch.Tensor | None = None) -> bytes:
    """The latent vectors (and, for conditional models, the labels or class weights as extra columns),
    so the same images can be rendered again."""
    array = z.float().numpy()
    if labels is not None:
        extra = labels.float()[:, None] if labels.dim() == 1 else labels.float()
        array = np.concatenate([array, extra.numpy()], 1)
    buffer = io.BytesIO()
    np.save(buffer, array)
    return buffer.getvalue()


def seeds_to_frames(
    model: Model,
    seed_from: int,
    seed_to: int,
    steps: int,
    method: str = "slerp",
    psi: float = 1.0,
    label: int | None = None,
) -> tuple[torch.Tensor, torch.Tensor | None, torch.Tensor]:
    """(z, labels, frames) of the interpolation between two seeds' anchors: the CLI's `interpolate`."""
    z_dim = model.config.z_dim
    z = truncate(interpolate(anchor(seed_from, z_dim, model), anchor(seed_to, z_dim, model), steps, method), psi)
    labels = labels_for(model, len(z), label)
    return z, labels, render(model, z, labels)


def grid_to_frames(
    model: Model,
    seed: int,
    rows: int,
    cols: int,
    axes: str = "principal",
    span: float = 2.0,
    psi: float = 1.0,
    label: int | None = None,
) -> tuple[torch.Tensor, torch.Tensor | None, torch.Tensor]:
    """(z, labels, frames) of the Grid around a seed (row by row): the CLI's `interpolate --grid`."""
    z = truncate(grid_z(model, seed, rows, cols, axes, span), psi)
    labels = labels_for(model, len(z), label)
    return z, labels, render(model, z, labels)


def export_grid_bytes(
    suffix: str, model: Model, z: torch.Tensor, labels: torch.Tensor | None, frames: torch.Tensor, cols: int
) -> bytes:
    """A grid as a PNG (cols images a row, at the model's own size, as the strip) or its z as .npy."""
    if suffix not in GRID_EXPORTS:
        raise GandashError(
            f"a grid is one picture: --out must end in {' or '.join(GRID_EXPORTS)} (got '{suffix or 'no suffix'}')."
        )
    if suffix == ".png" and not model.is_image:
        raise GandashError("a 2D point model has no images to export; use a .npy file.")
    return npy(z, labels) if suffix == ".npy" else strip_png(frames, nrow=cols)


def export_bytes(
    suffix: str, model: Model, z: torch.Tensor, labels: torch.Tensor | None, frames: torch.Tensor
) -> bytes:
    """PNG strip, animated GIF or the .npy of z, by file suffix."""
    if suffix == ".npy":
        return npy(z, labels)
    if not model.is_image:
        raise GandashError("a 2D point model has no images to export; use a .npy file.")
    if suffix == ".png":
        return strip_png(frames, nrow=min(len(frames), 16))
    if suffix == ".gif":
        return gif(frames, scale=display_scale(model))
    raise GandashError(f"--out must end in one of {', '.join(EXPORTS)} (got '{suffix or 'no suffix'}').")
