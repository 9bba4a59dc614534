"""Restoring a blurry photo of any size with a trained deblurring generator, and classical baselines.

`restore` runs the generator over overlapping tiles: each tile is cut with extra context around it
(mirrored at the photo's border) and only its centre is kept, and neighbouring centres overlap and are
cross-faded, so there is no visible grid and memory stays constant whatever the photo's size.
Photos come in as files or bytes (`read_photo`: EXIF orientation, alpha, 16-bit and grayscale) and go
out the same way (`encode`): same size, same depth, alpha untouched.
"""

from __future__ import annotations

import io
import math
import struct
from collections.abc import Callable
from dataclasses import dataclass, replace
from functools import lru_cache
from pathlib import Path

import numpy as np
import torch
from PIL import Image, ImageOps, UnidentifiedImageError

from gandash.errors import GandashError
from gandash.nets.deblur import MULTIPLE, DeblurUNet

BUNDLED = Path(__file__).parent / "weights" / "deblur.pt"
TRAIN_COMMAND = ("python -m gandash train --variant deblur --dataset blurred:photos --max-steps 4000, "
                 "then python bench/deblur.py --export RUN --step 2500")
MAX_PIXELS = 50_000_000  # about two minutes on a 2-core CPU; larger photos are refused with this number
MIN_SIDE = 16
TILE = 1024  # larger tiles waste less on context: 1.27x the pixels at 1024, 1.6x at 512
CONTEXT = 48  # pixels of real surroundings each tile sees beyond the part that is kept
OVERLAP = 32  # kept parts of neighbouring tiles overlap by this much and are cross-faded
# what Pillow raises for files that are not images, are damaged or truncated, or are too large to decode
DECODE_ERRORS = (OSError, ValueError, SyntaxError, EOFError, IndexError, TypeError, struct.error,
                 Image.DecompressionBombError)


@dataclass(frozen=True)
class Photo:
    pixels: np.ndarray         # float32 (H, W, 3) in [0, 1]; gray photos are repeated to three channels
    alpha: np.ndarray | None   # float32 (H, W) in [0, 1], or None
    gray: bool
    depth: int                 # 8 or 16 bits per channel

    @property
    def size(self) -> tuple[int, int]:
        return self.pixels.shape[1], self.pixels.shape[0]


# --- photos in and out ------------------------------------------------------------------------

def read_photo(source: Path | bytes, name: str = "") -> Photo:
    """Decode an uploaded or on-disk photo; anything that is not a usable still image raises
    GandashError with what to do instead."""
    label = name or (Path(source).name if isinstance(source, (str, Path)) else "the image")
    try:
        image = Image.open(io.BytesIO(source) if isinstance(source, bytes) else source)
        frames = getattr(image, "n_frames", 1)
        width, height = image.size
    except UnidentifiedImageError:
        raise GandashError(f"{label} is not an image: its contents are not JPEG, PNG, WebP, TIFF or BMP, whatever "
                           "its name says. Choose a photo in one of those formats.") from None
    except DECODE_ERRORS as exc:
        raise GandashError(f"{label} is not a readable image ({type(exc).__name__}: {str(exc)[:120]}). "
                           "Choose a JPEG, PNG, WebP, TIFF or BMP photo.") from None
    if frames > 1:
        raise GandashError(f"{label} is animated or has {frames} pages; deblurring works on one still picture. "
                           "Save the frame you want as PNG and upload that.")
    if width * height > MAX_PIXELS:
        raise GandashError(f"{label} is {width}x{height} ({width * height / 1e6:.0f} megapixels); the limit is "
                           f"{MAX_PIXELS / 1e6:.0f} megapixels. Downscale or crop it first.")
    if min(width, height) < MIN_SIDE:
        raise GandashError(f"{label} is {width}x{height}; each side needs at least {MIN_SIDE} pixels to deblur.")
    try:
        image.load()
        image = ImageOps.exif_transpose(image)
    except DECODE_ERRORS as exc:  # truncated or corrupt data shows up only when decoding
        raise GandashError(f"{label} could not be decoded ({type(exc).__name__}: {str(exc)[:120]}); the file is "
                           "probably truncated or damaged. Export it again.") from None
    return _from_image(image)


def _from_image(image: Image.Image) -> Photo:
    mode, alpha, depth = image.mode, None, 8
    if mode.startswith("I"):  # 16-bit (and 32-bit integer) grayscale
        values = np.clip(np.asarray(image, dtype=np.float64), 0, 65535)
        return Photo(_gray3(values / 65535), None, gray=True, depth=16)
    if mode == "P":
        image = image.convert("RGBA" if "transparency" in image.info else "RGB")
    elif mode in ("1", "F"):
        image = image.convert("L")
    elif mode in ("PA", "La", "RGBa"):
        image = image.convert("RGBA")
    mode = image.mode
    if mode in ("LA", "RGBA"):
        alpha = np.asarray(image.getchannel("A"), dtype=np.float32) / 255
    if mode in ("L", "LA"):
        return Photo(_gray3(np.asarray(image.getchannel("L"), dtype=np.float32) / 255), alpha, gray=True, depth=8)
    rgb = np.asarray(image.convert("RGB"), dtype=np.float32) / 255  # RGB, CMYK, YCbCr, LAB, HSV
    return Photo(rgb, alpha, gray=False, depth=depth)


def _gray3(values: np.ndarray) -> np.ndarray:
    return np.repeat(values.astype(np.float32)[..., None], 3, axis=2)


def from_array(array: np.ndarray) -> Photo:
    """A Photo from a uint8 (H, W) or (H, W, 3) array (bundled examples, tests)."""
    if array.ndim == 2:
        return Photo(_gray3(array / 255.0), None, gray=True, depth=8)
    return Photo(array[..., :3].astype(np.float32) / 255, None, gray=False, depth=8)


def to_uint8(pixels: np.ndarray) -> np.ndarray:
    return np.clip(np.rint(pixels * 255), 0, 255).astype(np.uint8)


def to_image(photo: Photo) -> Image.Image:
    """The photo as a PIL image of its own kind: RGB(A), L(A), or 16-bit gray."""
    if photo.gray and photo.depth == 16:
        values = np.clip(np.rint(photo.pixels.mean(axis=2) * 65535), 0, 65535).astype(np.uint16)
        return Image.fromarray(values)
    pixels = to_uint8(photo.pixels[..., :1] if photo.gray else photo.pixels)
    if photo.alpha is not None:
        pixels = np.concatenate([pixels, to_uint8(photo.alpha)[..., None]], axis=2)
    return Image.fromarray(pixels[..., 0] if pixels.shape[2] == 1 else pixels)


def encode(photo: Photo, fmt: str = "PNG") -> bytes:
    """The photo as file bytes. Formats without alpha or 16 bits get the closest they can hold."""
    image = to_image(photo)
    fmt = fmt.upper().replace("JPG", "JPEG").replace("TIF", "TIFF").replace("TIFFF", "TIFF")
    if fmt in ("JPEG", "BMP") and image.mode in ("RGBA", "LA"):
        raise GandashError(f"{fmt} cannot store the transparent parts of this photo; write a .png instead.")
    if fmt in ("JPEG", "WEBP", "BMP") and image.mode == "I;16":
        image = Image.fromarray(to_uint8(photo.pixels[..., 0]))
    buffer = io.BytesIO()
    try:
        image.save(buffer, format=fmt, **({"quality": 95} if fmt in ("JPEG", "WEBP") else {}))
    except (KeyError, ValueError, OSError) as exc:
        raise GandashError(f"cannot write the result as {fmt} ({exc}); use .png, .jpg, .webp, .tif or .bmp.") from None
    return buffer.getvalue()


# --- the model --------------------------------------------------------------------------------

@lru_cache(maxsize=1)
def bundled_model() -> torch.nn.Module:
    """The bundled U-Net (a plain state dict, loaded with weights_only=True); its width is read from
    the weights so retrained weights of another width load too."""
    if not BUNDLED.is_file():
        raise GandashError(f"the bundled deblurring weights ({BUNDLED}) are missing; recreate them with: "
                           f"{TRAIN_COMMAND}.")
    state = torch.load(BUNDLED, map_location="cpu", weights_only=True)
    generator = DeblurUNet(3, state["head.1.weight"].shape[0])
    generator.load_state_dict(state)
    return generator.eval()


def load_model(model: str | None = None) -> tuple[torch.nn.Module, str]:
    """(generator, a label for people): the bundled model, or the newest checkpoint of a deblur run."""
    if model in (None, "", "bundled"):
        return bundled_model(), "bundled U-Net"
    from gandash import paths, sampling, variants
    from gandash.config import TrainConfig

    run_dir = paths.run_dir(model)
    if not (run_dir / "config.json").is_file():
        raise GandashError(f"there is no run '{model}' (see `python -m gandash runs`).")
    variant = TrainConfig.load(run_dir / "config.json").variant
    if variants.get(variant).family != "image-to-image":
        raise GandashError(f"run '{model}' is a {variant} run; pick a run of deblur or deblur-seed.")
    generator, config, step = sampling.load_generator(run_dir, ema=True)
    return generator, f"{config.variant} run {model} (step {step})"


def trained_models(store) -> list[tuple[str, str]]:
    """(run id, label) of every deblurring run with a checkpoint, newest first."""
    from gandash import checkpoints, variants

    found = []
    for run in store.runs():
        variant = variants.REGISTRY.get(run["variant"])
        if variant and variant.family == "image-to-image" and checkpoints.listing(Path(run["run_dir"])):
            found.append((run["id"], f"{run['name'] or run['id']} ({run['variant']}, step {run['step']})"))
    return found


# --- tiled restoration ------------------------------------------------------------------------

def _starts(length: int, tile: int) -> list[int]:
    """Where the kept parts of the tiles begin. Every start (and CONTEXT) is a multiple of the net's
    total stride, so each tile sees the same pixel grid phase as a single pass would: a U-Net with
    strided levels is only shift-equivariant for such shifts."""
    starts = [0]
    while starts[-1] + tile < length:
        starts.append(starts[-1] + tile - OVERLAP)
    return starts


def _mirror(index: np.ndarray, length: int) -> np.ndarray:
    """Indices outside [0, length) reflected back in (as often as needed, for photos thinner than a tile)."""
    if length == 1:
        return np.zeros_like(index)
    period = 2 * length - 2
    index = np.mod(index, period)
    return np.where(index >= length, period - index, index)


def _ramp(n: int, fade_in: bool, fade_out: bool) -> np.ndarray:
    """Weights of a tile's kept part along one axis: a linear cross-fade over OVERLAP pixels where
    it meets a neighbour (the two fades sum to 1), flat elsewhere."""
    position = np.arange(n, dtype=np.float32)
    weights = np.ones(n, np.float32)
    if fade_in:
        weights = np.minimum(weights, (position + 1) / (OVERLAP + 1))
    if fade_out:
        weights = np.minimum(weights, (n - position) / (OVERLAP + 1))
    return weights


def _model_channels(generator: torch.nn.Module) -> int:
    first = next(m for m in generator.modules() if isinstance(m, torch.nn.Conv2d))
    return first.in_channels // (4 if isinstance(generator, DeblurUNet) else 1)


@torch.no_grad()
def _run(generator: torch.nn.Module, window: np.ndarray) -> np.ndarray:
    """The generator on one (h, w, 3) window in [0, 1]; a one-channel model sees each channel alone."""
    x = torch.from_numpy(np.ascontiguousarray(window.transpose(2, 0, 1))).mul(2).sub(1)[None]
    if _model_channels(generator) == 1:
        x = x.transpose(0, 1)  # (3, 1, h, w): three gray images
    y = generator(x).float().clamp(-1, 1)
    y = y.transpose(0, 1) if y.shape[0] == 3 else y
    return y[0].add(1).div(2).numpy().transpose(1, 2, 0)


def restore(pixels: np.ndarray, generator: torch.nn.Module, tile: int = TILE,
            progress: Callable[[float], None] | None = None) -> np.ndarray:
    """Deblur float (H, W, 3) pixels in [0, 1] tile by tile; returns the same shape."""
    if tile < 64:
        raise GandashError(f"the tile size must be at least 64 pixels (got {tile}).")
    tile -= tile % MULTIPLE
    height, width, _ = pixels.shape
    out = np.zeros_like(pixels, dtype=np.float32)
    weight = np.zeros((height, width, 1), np.float32)
    rows, cols = _starts(height, tile), _starts(width, tile)
    done, total = 0, len(rows) * len(cols)
    for top in rows:
        for left in cols:
            kept_h, kept_w = min(tile, height - top), min(tile, width - left)
            # the window: the kept part plus CONTEXT all round, grown to a multiple of the net's stride
            win_h = math.ceil((kept_h + 2 * CONTEXT) / MULTIPLE) * MULTIPLE
            win_w = math.ceil((kept_w + 2 * CONTEXT) / MULTIPLE) * MULTIPLE
            ys = _mirror(np.arange(top - CONTEXT, top - CONTEXT + win_h), height)
            xs = _mirror(np.arange(left - CONTEXT, left - CONTEXT + win_w), width)
            result = _run(generator, pixels[np.ix_(ys, xs)])
            kept = result[CONTEXT:CONTEXT + kept_h, CONTEXT:CONTEXT + kept_w]
            w = np.outer(_ramp(kept_h, top > 0, top + kept_h < height),
                         _ramp(kept_w, left > 0, left + kept_w < width))[..., None]
            out[top:top + kept_h, left:left + kept_w] += kept * w
            weight[top:top + kept_h, left:left + kept_w] += w
            done += 1
            if progress:
                progress(done / total)
    return out / weight


def deblur_photo(photo: Photo, generator: torch.nn.Module, tile: int = TILE,
                 progress: Callable[[float], None] | None = None) -> Photo:
    """The restored photo: same size, depth and alpha; a gray photo stays gray."""
    restored = restore(photo.pixels, generator, tile, progress)
    if photo.gray:
        restored = np.repeat(restored.mean(axis=2, keepdims=True), 3, axis=2)
    return replace(photo, pixels=restored)


# --- classical baselines (scikit-image) -------------------------------------------------------

def unsharp(pixels: np.ndarray, radius: float = 2.0, amount: float = 1.0) -> np.ndarray:
    """Unsharp masking: add back `amount` times the difference from a Gaussian blur of `radius`."""
    from skimage.filters import unsharp_mask

    # one channel at a time: scikit-image 0.26's channel_axis=-1 path returns garbage for 2 of 3 channels
    channels = [unsharp_mask(pixels[..., c].astype(np.float64), radius=radius, amount=amount)
                for c in range(pixels.shape[2])]
    return np.stack(channels, axis=2).astype(np.float32)


def _per_channel(pixels: np.ndarray, kernel: np.ndarray, method) -> np.ndarray:
    """Apply a 2D deconvolution to each channel of a mirror-padded copy: without the padding the
    FFT's wrap-around rings at the borders."""
    pad = kernel.shape[0]
    padded = np.pad(pixels, ((pad, pad), (pad, pad), (0, 0)), mode="reflect" if min(pixels.shape[:2]) > pad
                    else "symmetric")
    out = np.stack([method(padded[..., c].astype(np.float64), kernel) for c in range(pixels.shape[2])], axis=2)
    return np.clip(out[pad:-pad, pad:-pad], 0, 1).astype(np.float32)


def wiener(pixels: np.ndarray, kernel: np.ndarray, balance: float = 0.02) -> np.ndarray:
    """Wiener deconvolution with the known kernel; `balance` trades sharpness against noise."""
    from skimage.restoration import wiener as skimage_wiener

    return _per_channel(pixels, kernel, lambda x, k: skimage_wiener(x, k, balance, clip=False))


def richardson_lucy(pixels: np.ndarray, kernel: np.ndarray, iterations: int = 20) -> np.ndarray:
    """Richardson-Lucy deconvolution with the known kernel (iterative, positivity preserving)."""
    from skimage.restoration import richardson_lucy as skimage_rl

    return _per_channel(pixels, kernel, lambda x, k: skimage_rl(x, k, num_iter=iterations, clip=False))


def scores(reference: np.ndarray, candidates: dict[str, np.ndarray]) -> list[dict]:
    """PSNR (dB) and SSIM of each candidate against the sharp reference (scikit-image's metrics)."""
    from skimage.metrics import peak_signal_noise_ratio, structural_similarity

    rows = []
    for name, pixels in candidates.items():
        x = np.clip(pixels, 0, 1)
        rows.append({"method": name,
                     "PSNR (dB)": float(peak_signal_noise_ratio(reference, x, data_range=1.0)),
                     "SSIM": float(structural_similarity(reference, x, data_range=1.0, channel_axis=-1))})
    return rows
