"""The blur kernels the estimator can name (GRID): the training mix's families (Gaussian, defocus, straight
motion) on a grid fine enough that the nearest entry deconvolves almost as well as the true kernel. The
estimator (restore.kernel_estimate) reads a photo's blur as one of them; the deblurring trainer gives the
U-Net what the estimator would name (`as_estimated`), so the U-Net learns to live with its misses.
"""

from __future__ import annotations

import math
from functools import lru_cache

import numpy as np
import torch

from gandash.data import degrade

# The kernels the estimator can name: the training mix's families on a grid fine enough that the
# nearest entry deconvolves almost as well as the true kernel (a 15 degree or 2 px miss costs little).
GRID: tuple[tuple[str, float, float], ...] = (
    (("none", 0.0, 0.0),)
    + tuple(("gaussian", float(s), 0.0) for s in np.arange(0.5, 3.01, 0.25))
    + tuple(("defocus", float(r), 0.0) for r in np.arange(1.0, 4.01, 0.5))
    + tuple(("motion", float(length), float(angle)) for length in range(3, 22, 2) for angle in range(0, 180, 15))
)


def kernel_of(entry: tuple[str, float, float]) -> np.ndarray:
    kind, strength, angle = entry
    return np.ones((1, 1), np.float32) if kind == "none" else degrade.kernel_for(kind, strength, angle)


def describe(entry: tuple[str, float, float]) -> str:
    kind, strength, angle = entry
    if kind == "none":
        return "no blur found"
    if kind == "gaussian":
        return f"Gaussian blur, σ {strength:g} px"
    if kind == "defocus":
        return f"defocus blur, radius {strength:g} px"
    return f"motion blur, {strength:g} px at {angle:g}°"


@lru_cache(maxsize=1)
def grid_kernels() -> torch.Tensor:
    """Every GRID kernel centred in a KERNEL_SIZE square: (len(GRID), K, K)."""
    return torch.stack([degrade.padded(kernel_of(entry)) for entry in GRID])


def nearest(kernel: np.ndarray, rank: int = 0) -> int:
    """The GRID entry closest to `kernel` (least squares on the centred kernels); rank 1 is the runner-up."""
    distances = (grid_kernels() - degrade.padded(kernel)).pow(2).sum((1, 2))
    return int(distances.argsort()[rank])


# A trace cuts a kernel's values under a twentieth to a tenth of its peak (restore.kernel_trace's floors: a
# shake's faint tail is lost in the noise), so the U-Net is given true kernels cut at a random floor up to this.
TRACE_FLOOR = 0.15


def as_traced(kernel: np.ndarray, floor: float, spread: float = 0.0) -> np.ndarray:
    """The kernel as a trace would find it: its path widened by a Gaussian of sigma `spread` px (a trace is
    a little thicker than the path: on training photos the true kernel blurred by sigma 0.5-1.25 was the
    nearest to it), then its values under `floor` of its peak cut, renormalised (not recentred: the blur it
    stands for is where it is)."""
    if spread > 0:
        from scipy import ndimage  # here, as in degrade: scipy is imported only where it is used

        kernel = ndimage.gaussian_filter(np.pad(kernel, math.ceil(3 * spread)).astype(np.float64), spread)
    cut = np.where(kernel >= floor * kernel.max(), kernel, 0).astype(np.float32)
    return cut / cut.sum()


def as_estimated(
    kernels: list[np.ndarray],
    generator: torch.Generator | None = None,
    miss: float = 0.2,
    false_alarm: float = 0.0,
    traced: float = 0.0,
    spread: float = 0.0,
) -> torch.Tensor:
    """What the estimator would name for each true kernel, for training the U-Net that deconvolves with
    its answer: the nearest GRID kernel, or with probability `miss` the runner-up (its usual mistake); for
    an unblurred crop, with probability `false_alarm` any other GRID kernel (the estimator reads a blind's
    slats or a dune's ripples as motion: the U-Net learns to see that the photo is sharp and leave it so);
    for a blurred one, with probability `traced`, the true kernel as a trace finds it (restore.kernel_trace
    traces a shake no GRID entry fits: the U-Net learns to trust a free-form kernel, and to live without
    its faint tail, as_traced), widened by a Gaussian of sigma up to `spread` px. (N, K, K), K the largest."""

    def pick(kernel: np.ndarray) -> tuple[str, float, float]:
        entry = GRID[nearest(kernel, int(torch.rand((), generator=generator).item() < miss))]
        if entry[0] == "none" and false_alarm and torch.rand((), generator=generator).item() < false_alarm:
            entry = GRID[1 + int(torch.randint(len(GRID) - 1, (), generator=generator))]
        return entry

    def given(kernel: np.ndarray) -> np.ndarray:
        if traced and kernel.shape != (1, 1) and torch.rand((), generator=generator).item() < traced:
            floor = TRACE_FLOOR * torch.rand((), generator=generator).item()
            return as_traced(kernel, floor, spread * torch.rand((), generator=generator).item() if spread else 0.0)
        return kernel_of(pick(kernel))

    chosen = [given(kernel) for kernel in kernels]
    size = max(kernel.shape[0] for kernel in chosen)
    return torch.stack([degrade.padded(kernel, size) for kernel in chosen])
