"""What a photo says about how it was made, besides its blur (restore.kernel_estimate): its sensor noise
and its JPEG compression, each with how sure the reading is. The Deblur page shows them beside the blur.

JPEG quality is read from the file's own quantisation table where there is one (certain for encoders that
scale the IJG tables, as libjpeg, Pillow and most cameras' software do; "about" for others), and from
the pixels otherwise: compression leaves jumps at the borders of its 8x8 blocks.
Noise is Immerkaer's estimator (1996, "Fast noise variance estimation": a Laplacian-difference mask
that cancels smooth image content) per 16x16 block, read on the flattest blocks, where texture cannot pass
for noise; the spread between them is its uncertainty.
Both are read once per photo (`of_photo`, a `Reading`), on its centre, and serve the line shown and the
choice of the bundled U-Net that restores it.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from PIL import Image

# The IJG (Annex K) luminance table, in natural order, that quality q scales.
IJG_LUMA = np.array(
    [16, 11, 10, 16, 24, 40, 51, 61, 12, 12, 14, 19, 26, 58, 60, 55, 14, 13, 16, 24, 40, 57, 69, 56, 14, 17, 22, 29]
    + [51, 87, 80, 62, 18, 22, 37, 56, 68, 109, 103, 77, 24, 35, 55, 64, 81, 104, 113, 92, 49, 64, 78, 87, 103]
    + [121, 120, 101, 72, 92, 95, 98, 112, 100, 103, 99]
)


def ijg_table(quality: int) -> np.ndarray:
    """The luminance table libjpeg writes for `quality` (1-100), in natural order."""
    scale = 5000 // quality if quality < 50 else 200 - 2 * quality
    return np.clip((IJG_LUMA * scale + 50) // 100, 1, 255)


@dataclass(frozen=True)
class Compression:
    quality: int | None  # None: no sign of JPEG
    how: str  # how it was read, and how sure


def from_file(image: Image.Image) -> Compression | None:
    """The quality a JPEG file was saved at, from its quantisation table; None for other formats."""
    tables = getattr(image, "quantization", None)
    if image.format != "JPEG" or not tables:
        return None
    luma = np.asarray(tables[0], dtype=np.float64)[:64]  # Pillow gives it in natural order
    errors = {q: float(np.abs(ijg_table(q) - luma).mean()) for q in range(1, 101)}
    quality = min(errors, key=errors.get)
    if errors[quality] < 0.5:
        return Compression(quality, "from the file's quantisation table: certain")
    return Compression(quality, "about, from the file's quantisation table (not libjpeg's own scaling)")


def blockiness(gray: np.ndarray) -> float:
    """Mean jump across the 8-pixel block borders over the mean jump elsewhere, both directions: about 1
    for a photo never compressed, above 1.1 after JPEG at the qualities people use."""
    x = gray.astype(np.float64)
    ratios = []
    for steps in (np.abs(np.diff(x, axis=1)), np.abs(np.diff(x, axis=0)).T):
        inside = np.delete(steps, np.s_[7::8], axis=1).mean()
        ratios.append(steps[:, 7::8].mean() / max(inside, 1e-9))
    return float(np.mean(ratios))


def from_pixels(gray: np.ndarray) -> Compression:
    """A guess from the pixels alone (a PNG of a JPEG, a screenshot): the 8x8 grid's strength."""
    ratio = blockiness(gray)
    if ratio < 1.08:
        return Compression(None, f"no 8×8 block pattern (ratio {ratio:.2f})")
    sure = "clearly" if ratio > 1.25 else "faintly"
    return Compression(0, f"{sure} compressed as a JPEG once: 8×8 block pattern, ratio {ratio:.2f}")


@dataclass(frozen=True)
class Noise:
    sigma: float  # standard deviation as a fraction of the range
    low: float
    high: float  # the range the flattest blocks give


def noise(gray: np.ndarray, block: int = 16) -> Noise:
    """Sensor noise of a grey uint8 (or float 0-255) image, as a fraction of the range."""
    x = gray.astype(np.float64)
    if min(x.shape) < 3 * block:
        return Noise(0.0, 0.0, 0.0)
    # Immerkaer's mask: 2 x (a 4-neighbour Laplacian) - (a diagonal one); smooth content cancels
    residual = np.abs(
        4 * x[1:-1, 1:-1]
        - 2 * (x[:-2, 1:-1] + x[2:, 1:-1] + x[1:-1, :-2] + x[1:-1, 2:])
        + (x[:-2, :-2] + x[:-2, 2:] + x[2:, :-2] + x[2:, 2:])
    )
    # Flat blocks are chosen by the gradients of a smoothed copy, which noise hardly moves: choosing them
    # by the residual itself would pick the blocks where the noise happened to be low.
    smooth = x.copy()
    for axis in (0, 1):
        smooth = (np.roll(smooth, -2, axis) + np.roll(smooth, -1, axis) + smooth + np.roll(smooth, 1, axis)) / 4
    texture = np.hypot(*np.gradient(smooth))[1:-1, 1:-1]
    h, w = (s // block * block for s in residual.shape)

    def per_block(values: np.ndarray) -> np.ndarray:
        return values[:h, :w].reshape(h // block, block, w // block, block).mean(axis=(1, 3)).ravel()

    sigmas = per_block(residual) * np.sqrt(np.pi / 2) / 6 / 255
    flat = sigmas[np.argsort(per_block(texture))[: max(3, len(sigmas) // 5)]]  # the flattest fifth
    low, sigma, high = np.percentile(flat, [25, 50, 75])
    return Noise(float(sigma), float(low), float(high))


def describe(compression: Compression | None, found: Noise) -> str:
    """One line for the page: noise, then JPEG."""
    if found.sigma < 0.002:
        noise_text = "no visible sensor noise"
    else:
        noise_text = (
            f"sensor noise σ ≈ {found.sigma:.1%} of the range (flat areas give {found.low:.1%}–{found.high:.1%})"
        )
    if compression is None or compression.quality is None:
        jpeg_text = "not a JPEG" + (f" ({compression.how})" if compression else "")
    elif compression.quality == 0:
        jpeg_text = compression.how
    else:
        jpeg_text = f"JPEG quality {compression.quality} ({compression.how})"
    return f"{noise_text}; {jpeg_text}."


CLEAN_NOISE = 0.002  # below this sensor noise (and with no JPEG under quality 95) a photo reads as clean
CLEAN_QUALITY = 95
# px a side read: a 12 MP photo is read in 0.17 s (2.1 s whole). On the 12 mate photos (1.3-4.9 MP), as saved
# and with 1% noise added, the centre gave the whole photo's noise to within 0.07% of the range and the same
# JPEG verdict.
CENTRE = 1024


@dataclass(frozen=True)
class Reading:
    """One reading of a photo, made once: the line the page and the CLI show, and which bundled U-Net
    restores it (restore.deblur.BundledUNets)."""

    noise: Noise
    compression: Compression  # from the file's header where there is one, else from the pixels

    @property
    def clean(self) -> bool:
        """No sensor noise and no JPEG compression below CLEAN_QUALITY (quality 0: blocks seen in the pixels)."""
        quality = self.compression.quality
        return (quality is None or quality >= CLEAN_QUALITY) and self.noise.sigma < CLEAN_NOISE

    def describe(self) -> str:
        return describe(self.compression, self.noise)


def read(pixels: np.ndarray, compression: Compression | None = None) -> Reading:
    """The noise and compression of a photo (H, W[, C], any depth), read on its central CENTRE px with the
    8x8 grid kept. `compression`: what its file said (Photo.compression), else it is read from the pixels."""
    from gandash.restore.photo import to_uint8

    h, w = pixels.shape[:2]
    top, left = max(0, (h - CENTRE) // 2) // 8 * 8, max(0, (w - CENTRE) // 2) // 8 * 8
    centre = to_uint8(pixels[top : top + CENTRE, left : left + CENTRE]).astype(np.float64)
    gray = centre.mean(axis=2) if centre.ndim == 3 else centre
    return Reading(noise(gray), compression or from_pixels(gray))


def of_photo(photo) -> Reading:
    """read() for a restore.photo.Photo: its pixels, and its JPEG quality from the file where it says."""
    return read(photo.pixels, photo.compression)
