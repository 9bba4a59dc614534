"""The classical ways to sharpen a photo that the GAN is compared with (scikit-image): unsharp masking,
and Wiener and Richardson-Lucy deconvolution given the true kernel; and their scores against the sharp
original."""

from __future__ import annotations

import numpy as np

from gandash.quality import fidelity
from gandash.restore import photo as photos


def unsharp(pixels: np.ndarray, radius: float = 2.0, amount: float = 1.0) -> np.ndarray:
    """Unsharp masking: add back `amount` times the difference from a Gaussian blur of `radius`."""
    from skimage.filters import unsharp_mask

    # one channel at a time: scikit-image 0.26's channel_axis=-1 path returns garbage for 2 of 3 channels
    channels = [
        unsharp_mask(pixels[..., c].astype(np.float64), radius=radius, amount=amount) for c in range(pixels.shape[2])
    ]
    return np.stack(channels, axis=2).astype(np.float32)


def _per_channel(pixels: np.ndarray, kernel: np.ndarray, method) -> np.ndarray:
    """Apply a 2D deconvolution to each channel of a mirror-padded copy: without the padding the
    FFT's wrap-around rings at the borders."""
    pad = kernel.shape[0]
    padded = np.pad(
        pixels, ((pad, pad), (pad, pad), (0, 0)), mode="reflect" if min(pixels.shape[:2]) > pad else "symmetric"
    )
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
    """PSNR (dB) and SSIM of each candidate against the sharp reference; 8-bit, 16-bit or float [0, 1]
    pixels."""
    reference, rows = photos.to_float(reference), []
    for name, pixels in candidates.items():
        x = np.clip(photos.to_float(pixels), 0, 1)
        rows.append({"method": name, "PSNR (dB)": fidelity.psnr(x, reference), "SSIM": fidelity.ssim(x, reference)})
    return rows
