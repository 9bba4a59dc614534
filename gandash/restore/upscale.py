"""x4 super-resolution of a photo with an SRGAN generator (a bundled demo or the user's srgan run),
tiled like deblurring (gandash.tiling), with bicubic interpolation as the classical baseline.

Two models are bundled: the pixel model (DEFAULT: the pixel loss alone, the most faithful, above bicubic on
photos it never saw) and the adversarial one fine-tuned from it (ADVERSARIAL: crisper texture, some of it
invented, so a lower PSNR). The result has 16 times the pixels of the input, so inputs are limited to
MAX_PIXELS (the message says so).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from gandash.core.errors import GandashError
from gandash.nets.srgan import SCALE, SRGenerator
from gandash.restore import deblur, tiling
from gandash.restore import photo as photos
from gandash.restore.photo import Photo

# 1 MP in -> 16 MP out: about 14 s on one CPU core with the bundled models (0.85 s per output megapixel)
MAX_PIXELS = 1_000_000
LIMITS = photos.Limits(MAX_PIXELS, 4, "upscale")
VARIANTS = ("srgan",)
DEFAULT = "demo:srgan-photos"
ADVERSARIAL = "demo:srgan-photos-gan"
TILE = 192  # input px: every conv runs at this size (plus context), the bicubic and the shuffle at 4x
CONTEXT = SRGenerator.reach() + 1  # input px: the generator sees this far around each pixel, so tiles equal one pass
OVERLAP = 8  # input px (32 px of the output) cross-faded between neighbouring tiles


def read_photo(source: Path | bytes, name: str = "") -> Photo:
    """A photo to upscale (at most MAX_PIXELS, at least 4 px a side); bad input raises GandashError."""
    return photos.read(source, name, LIMITS)


def srgan_demos() -> list[str]:
    """The bundled upscalers, the default (pixel) one first, then the adversarial one."""
    from gandash.variants import demos

    found = [name for name in demos.available() if demos.describe(name)["variant"] in VARIANTS]
    first = [model.removeprefix("demo:") for model in (DEFAULT, ADVERSARIAL)]
    return sorted(found, key=lambda name: (first.index(name) if name in first else len(first), name))


def load_model(model: str | None = None) -> tuple[torch.nn.Module, str]:
    """(generator, a label for people) from `demo:NAME` (default: the bundled SRGAN demo) or an srgan run."""
    from gandash.variants import demos

    model = model or DEFAULT
    if model.startswith("demo:"):
        name = model.removeprefix("demo:")
        variant = demos.describe(name)["variant"]
        if variant not in VARIANTS:
            bundled = srgan_demos()
            raise GandashError(
                f"demo '{name}' is a {variant} model, which does not upscale; the bundled "
                f"{'upscalers are' if len(bundled) > 1 else 'upscaler is'} "
                f"{', '.join('demo:' + n for n in bundled) or 'missing'}."
            )
        generator, config, step = demos.load_generator(name)
        return generator.eval(), f"SRGAN demo {name} (step {step})"
    return deblur.load_run(model, VARIANTS, "upscale", f"or {DEFAULT}")


def result_names(model: str | None = None) -> tuple[str, str]:
    """(short name, name for a table) of what `model` (as load_model takes it) makes, by what it was trained
    for: the pixel loss alone (adversarial_weight 0) or with a discriminator. An srgan run's config.json
    without the setting is from before it, when SRGAN always trained with its 1e-3 adversarial term."""
    from gandash.core import paths
    from gandash.core.config import TrainConfig
    from gandash.variants import demos

    model = model or DEFAULT
    if model.startswith("demo:"):
        config = demos.config_of(model.removeprefix("demo:"))
    else:
        config = TrainConfig.load(paths.run_dir(model) / "config.json")
    if config.adversarial_weight:
        return "GAN", f"GAN ×{SCALE} (adversarial)"
    return "Upscaler", f"Upscaler ×{SCALE} (pixel loss)"


def demo_choices() -> list[tuple[str, str]]:
    """(model, label) of the bundled SRGAN demos, the pixel model first (the default)."""
    from gandash.variants import demos

    return [(f"demo:{name}", f"Bundled: {demos.describe(name)['description']}") for name in srgan_demos()]


def choices(store, bundled: list[tuple[str, str]] | None = None) -> list[tuple[str, str]]:
    """(model, label) of the bundled SRGAN demos (`bundled`, when the caller has them already), then the
    user's srgan runs with a checkpoint."""
    return (demo_choices() if bundled is None else bundled) + deblur.runs_of(store, VARIANTS)


def upscale(
    pixels: np.ndarray, generator: torch.nn.Module, tile: int = TILE, progress: Callable[[float], None] | None = None
) -> np.ndarray:
    """(H, W, C) pixels (uint8, uint16 or float in [0, 1]) -> (4H, 4W, C) of the same dtype, tile by tile."""
    if tile < 32:
        raise GandashError(f"the tile size must be at least 32 pixels (got {tile}).")
    return tiling.run(
        pixels, lambda window: deblur.run_net(generator, window), tile, CONTEXT, OVERLAP, scale=SCALE, progress=progress
    )


def upscale_photo(
    photo: Photo, generator: torch.nn.Module, tile: int = TILE, progress: Callable[[float], None] | None = None
) -> Photo:
    """The photo x4 with the generator; its alpha (which the model knows nothing of) x4 by bicubic."""
    alpha = None if photo.alpha is None else bicubic(photo.alpha[..., None])[..., 0]
    return replace(photo, pixels=upscale(photo.pixels, generator, tile, progress), alpha=alpha)


def bicubic(pixels: np.ndarray, scale: int = SCALE) -> np.ndarray:
    """(H, W, C) uint8 or uint16 pixels resized by `scale` with Pillow's bicubic filter (antialiased when
    shrinking), per channel for 16 bits (Pillow has no 16-bit colour mode)."""
    height, width, channels = pixels.shape
    size = (max(1, round(width * scale)), max(1, round(height * scale)))
    if pixels.dtype == np.uint8 and channels == 3:
        return np.asarray(Image.fromarray(pixels).resize(size, Image.Resampling.BICUBIC))
    planes = [
        np.asarray(Image.fromarray(np.ascontiguousarray(pixels[..., c])).resize(size, Image.Resampling.BICUBIC))
        for c in range(channels)
    ]
    return np.stack(planes, axis=2).astype(pixels.dtype)


def bicubic_photo(photo: Photo) -> Photo:
    """The classical baseline: the photo (and its alpha) x4 by bicubic interpolation."""
    alpha = None if photo.alpha is None else bicubic(photo.alpha[..., None])[..., 0]
    return replace(photo, pixels=bicubic(photo.pixels), alpha=alpha)


def shrink(pixels: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(sharp, low): the photo cropped to a multiple of 4 and its x4 smaller copy, as the model was
    trained (antialiased bicubic), so an upscaled result can be scored against the original."""
    height, width = (pixels.shape[0] // SCALE) * SCALE, (pixels.shape[1] // SCALE) * SCALE
    sharp = np.ascontiguousarray(pixels[:height, :width])
    return sharp, bicubic(sharp, 1 / SCALE)
