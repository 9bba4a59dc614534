"""The cards' pictures: what each bundled model does, drawn by running it (samples from fixed seeds,
input | output columns of an image-to-image model, a 2D model's points, the deblurring U-Net on held-out
photos) and cached as PNGs, shipped beside the bundled weights or kept in $GANDASH_HOME. The cards' text
and which model a card shows are gallery.cards'.
"""

from __future__ import annotations

import hashlib
import re
from functools import lru_cache
from pathlib import Path

import numpy as np
import torch

from gandash import data, latent, variants
from gandash.core import images, paths
from gandash.data import degrade, kernel_grid
from gandash.gallery.cards import Samples, samples_for
from gandash.nets.srgan import SCALE
from gandash.restore import deblur, kernel_estimate
from gandash.variants import demos

SAMPLES = 32  # images drawn from noise on an image model's card (rounded down to whole rows)
VIEW = 64  # small images are enlarged to this many pixels (nearest) so 28 px clothes can be seen
CROP = 128  # pixels of each held-out photo the deblur card shows, at 1:1
CACHE_VERSION = 3  # bump when the pictures are drawn differently: older files are then ignored
SHIPPED = paths.WEIGHTS / "cards"  # the bundled models' pictures, made by pretrain


def cached_png(samples: Samples) -> bytes:
    """sample_png, from the pictures shipped beside the bundled weights (so even a new install's first
    Gallery visit draws nothing), else kept in $GANDASH_HOME/cache/gallery/ under the weights file's name
    and time, so the first visit after the app restarts shows every card at once (a deblur card takes
    ~1 s to make)."""
    shipped = shipped_card(samples.path)
    if shipped.is_file():
        return shipped.read_bytes()
    stamp = samples.path.stat().st_mtime_ns
    target = paths.home() / "cache" / "gallery" / f"{samples.path.stem}-{stamp}-v{CACHE_VERSION}.png"
    if target.is_file():
        return target.read_bytes()
    png = sample_png(samples)
    target.parent.mkdir(parents=True, exist_ok=True)
    mine = re.compile(rf"^{re.escape(samples.path.stem)}-\d+-v\d+\.png$")
    for old in target.parent.iterdir():  # pictures of weights since replaced
        if mine.match(old.name):
            old.unlink(missing_ok=True)
    paths.atomic_write_bytes(target, png)
    return png


def shipped_card(weights: Path) -> Path:
    """Named by the weights' content, not their time: a checkout sets every file's time anew."""
    stat = weights.stat()
    return SHIPPED / f"{weights.stem}-{_digest(str(weights), stat.st_mtime_ns, stat.st_size)}-v{CACHE_VERSION}.png"


@lru_cache(maxsize=64)  # time and size in the key: a file is hashed again only once it changed
def _digest(path: str, mtime_ns: int, size: int) -> str:
    return hashlib.sha1(Path(path).read_bytes()).hexdigest()[:12]


def write_shipped_cards() -> list[Path]:
    """Draw every bundled model's picture into SHIPPED (after `pretrain` rebuilt the bundled weights)."""
    SHIPPED.mkdir(parents=True, exist_ok=True)
    wanted = []
    for name in variants.REGISTRY:
        found = samples_for(name)
        if found is not None:
            target = shipped_card(found.path)
            if not target.is_file():
                paths.atomic_write_bytes(target, sample_png(found))
            wanted.append(target)
    for old in SHIPPED.glob("*.png"):  # pictures of weights since replaced
        if old not in wanted:
            old.unlink()
    return wanted


def sample_png(samples: Samples) -> bytes:
    """The card's picture, as PNG bytes."""
    if samples.demo is None:
        frames, nrow = deblur_frames()
    elif demos.describe(samples.demo)["variant"] in POINT_VARIANTS:
        return points_png(samples.demo)
    else:
        frames, nrow = demo_frames(samples.demo)
    scale = max(1, VIEW // frames.shape[-1])
    if scale > 1:
        frames = torch.nn.functional.interpolate(frames, scale_factor=scale, mode="nearest")
    return images.grid_png(frames, nrow=nrow)


POINT_VARIANTS = {name for name, variant in variants.REGISTRY.items() if variant.data_kind == "points"}


@torch.no_grad()
def points_png(demo: str, n: int = 2000) -> bytes:
    """A 2D demo's points (orange) over points of its real mixture (grey), as a PNG scatter."""
    model = latent.load(demo=demo)
    c = model.config
    dataset = data.load(c.dataset, c.data_dir, c.image_size, c.channels)
    fake = latent.render(model, torch.randn(n, c.z_dim, generator=torch.Generator().manual_seed(0)))
    real = dataset.points[torch.randperm(len(dataset), generator=torch.Generator().manual_seed(0))[:n]]
    return images.scatter_png(fake.numpy(), real.numpy())


@torch.no_grad()
def demo_frames(demo: str) -> tuple[torch.Tensor, int]:
    """(images NCHW in [-1, 1], images per row) showing what a demo image model does: samples from fixed
    seeds (conditional models: a class per column); for image-to-image models input | output (| target)
    on images spread over its dataset (which must be on this machine)."""
    model = latent.load(demo=demo)
    c = model.config
    kind = variants.get(c.variant).data_kind
    if kind == "image":
        per_row = model.classes if 0 < model.classes <= 16 else 8  # conditional: a class per column
        n = per_row * max(1, SAMPLES // per_row)
        seeds = torch.randint(10**6, (n,), generator=torch.Generator().manual_seed(0))
        z = torch.stack([latent.anchor(int(s), c.z_dim, model) for s in seeds])
        labels = torch.arange(n) % model.classes if model.classes else None
        return latent.render(model, z, labels), per_row
    dataset = data.load(c.dataset, c.data_dir, c.image_size, c.channels)
    if kind == "domains":
        rows = (dataset.labels == 0).nonzero().flatten()[:8]
    else:  # spread over the set: the first tiles of a photo set are all of one photo
        rows = torch.linspace(0, len(dataset) - 1, 8).long().unique()
    if kind == "paired":  # blurred as in training (no noise or JPEG), restored, sharp
        blurred, sharp, kernels = degrade.degrade(
            dataset.images[rows], c.image_size, torch.Generator().manual_seed(0), degrade.NONE
        )
        columns = [blurred, model.generator(blurred, kernel_grid.as_estimated(kernels, miss=0)), sharp]
    else:
        x = dataset.batch(rows, torch.device("cpu"))
        margin = (x.shape[-1] - c.image_size) // 2  # photo tiles keep a margin around the crop
        x = x[:, :, margin : margin + c.image_size, margin : margin + c.image_size]
        if kind == "lowres":
            low = degrade.downsample(x, SCALE)
            columns = [torch.nn.functional.interpolate(low, scale_factor=4, mode="nearest"), model.generator(low), x]
        else:
            there = model.generator.ab(x)
            columns = [x, there, model.generator.ba(there)]
    return torch.stack([col.float().clamp(-1, 1) for col in columns], 1).flatten(0, 1), 2 * len(columns)


# held-out photos as phones save them: each blur kind with 1% sensor noise, as a JPEG of quality 85
DEBLUR_EXAMPLES = (("rocket", "gaussian", 1.5), ("coffee", "motion", 7.0), ("motorcycle", "defocus", 2.0))
CAMERA_NOISE, CAMERA_JPEG = 0.01, 85


def deblur_frames() -> tuple[torch.Tensor, int]:
    """Blurred (noisy, as a JPEG) | restored | sharp crops of the held-out photos (one blur kind each) by the
    bundled U-Net, which restores the crop with the blurred photo around it, as the Deblur page restores a
    whole photo."""
    generator, rows = deblur.bundled_model(), []
    for name, kind, strength in DEBLUR_EXAMPLES:
        pixels = data.photo(name)
        sharp = pixels.astype(np.float32) / 255
        kernel = degrade.kernel_for(kind, strength, 30.0)
        blurry = degrade.camera_array(pixels, kernel, CAMERA_NOISE, CAMERA_JPEG).astype(np.float32) / 255
        top, left = _most_detailed(sharp, CROP, margin=deblur.CONTEXT)
        pad = deblur.CONTEXT  # the crop keeps this much of the photo around it: the net sees real context
        window = blurry[top - pad : top + CROP + pad, left - pad : left + CROP + pad]
        inner = (slice(pad, pad + CROP),) * 2
        estimate = kernel_estimate.estimate(blurry)  # read from the whole photo, as the page does
        crops = [
            window[inner],
            deblur.restore(window, generator, kernel=estimate.kernel, trusted=estimate.trusted)[inner],
            sharp[top : top + CROP, left : left + CROP],
        ]
        rows += [torch.from_numpy(np.ascontiguousarray(c.transpose(2, 0, 1))).mul(2).sub(1) for c in crops]
    return torch.stack(rows).clamp(-1, 1), 3


def _most_detailed(pixels: np.ndarray, size: int, margin: int, stride: int = 16) -> tuple[int, int]:
    """(top, left) of the size x size square, `margin` inside the borders, with the most edges: blur
    takes edges away, so that is where restoring them shows (a patch of sky shows nothing)."""
    gray = pixels.mean(axis=2)
    edges = np.abs(np.diff(gray, axis=0))[:, :-1] + np.abs(np.diff(gray, axis=1))[:-1, :]
    total = np.pad(edges, ((1, 0), (1, 0))).cumsum(0).cumsum(1)  # summed-area table
    height, width = gray.shape
    best, where = -1.0, (margin, margin)
    for top in range(margin, height - size - margin, stride):
        for left in range(margin, width - size - margin, stride):
            bottom, right = min(top + size, edges.shape[0]), min(left + size, edges.shape[1])
            energy = total[bottom, right] - total[top, right] - total[bottom, left] + total[top, left]
            if energy > best:
                best, where = energy, (top, left)
    return where
