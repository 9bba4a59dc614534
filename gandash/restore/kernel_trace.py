"""Tracing a camera shake's own kernel from the photo, where the estimator's GRID has no name for it.

The spectrum estimator (kernel_estimate) names the nearest Gaussian, line or disc; a winding shake is
none of them, and deconvolving with its nearest name leaves most of the blur. Starting from that name,
blind deconvolution traces the shake itself on the photo's centre: alternately the sharpest photo that
explains the blurry one under the current kernel (an L0 gradient prior: Xu, Zheng & Jia 2013, "Unnatural
L0 sparse representation for natural image deblurring", solved by half-quadratic splitting in Fourier),
and the kernel that best maps that photo's edges onto the blurry photo's (least squares on gradients, as
in Cho & Lee 2009), coarse to fine. The traced kernel replaces the named one only when it explains the
photo clearly better (ACCEPT): on furry or textured photos tracing can wander, and a wrong free-form
kernel does more harm than a slightly wrong named one. A trace that shrinks to a point (POINT) says the
photo was sharp all along, and it is left as it was. Where the name is the estimator's placeholder for a
shake, or a refined trace turned out to be one, the shake is traced from the photo's edges only (SHAKE)
and kept (in the second case only if it, too, explains the photo better than the name).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.fft as fft
from PIL import Image
from scipy import ndimage

SIZE = 31  # px a side of a traced kernel: a shake up to 30 px across
ROUNDS = 4  # latent/kernel alternations per scale
GROWTH = 3.0  # how fast the edge weight grows in sharp_estimate: fewer solves against a rougher L0 path
SCALES = 3  # quarter, half, then full resolution: a wide shake is first found where it is small


@dataclass(frozen=True)
class Tracing:
    """How a trace reads the photo."""

    centre: int  # px a side traced on, at full resolution (a shake's size in px does not change with a crop)
    sparsity: float  # L0 weight: how few edges the sharp photo may have (images in [0, 1])
    ridge: float  # Tikhonov weight of the kernel's least squares, against the sum of |gradient spectrum|^2
    floor: float  # kernel values under this fraction of its peak are cut (noise)
    select_edges: bool  # only edges (EDGES) map the sharp photo onto the blurry one, not texture


# Refining a kernel the estimator named (a Gaussian, a line, a disc): the trace must then explain the photo
# clearly better than the name to replace it (ACCEPT), and a sharp photo's texture, misread as a small blur,
# shrinks it to a point (POINT).
REFINING = Tracing(centre=512, sparsity=2e-3, ridge=2.0, floor=0.05, select_edges=False)
# Tracing a shake where the name is only the estimator's placeholder for one (a trusted trace): edges only,
# fewer of them kept sharp but each counted (a wider ridge against a noisier least squares), specks under a
# tenth of the peak cut, and the photo's centre 640 px wide. Tuned on six training photos (astronaut,
# chelsea, coins, retina, immunohistochemistry, camera) x eight shakes 11-15 px, noise 1% and JPEG q85, by
# Wiener's gain over the blurry photo with the trace (the true kernel: +3.13 dB): REFINING's settings +1.49,
# with edge selection +1.71, then sparsity 1e-3 and ridge 16 +2.40, centre 640 +2.77, floor 0.1 +2.86 (fur:
# chelsea -1.30 -> +1.99; retina +0.36 -> +2.78). Tried and not kept: 4 scales, 6 rounds, sparsity 5e-4 or
# 3e-3, ridge 32, floor 0.15, the edge threshold 0.3 or 0.7.
SHAKE = Tracing(centre=640, sparsity=1e-3, ridge=16.0, floor=0.1, select_edges=True)

# The traced kernel is kept when its energy (data misfit + L0 term) is below this fraction of the named
# kernel's. Tuned on six of scikit-image's training photos (astronaut, chelsea, immunohistochemistry,
# camera, brick, coins), each with five shakes, two Gaussians, a line and none, under noise 1% and JPEG
# q85: 19 of the 54 cases traced, 15 of them gaining (Wiener with the trace against the named
# kernel: +76 dB in all); the losers are mostly brick, whose repeating texture a wrong kernel also explains.
ACCEPT = 0.96
# A trace that gathers this much of the light into one pixel says the photo is not blurred at all: the
# estimator misread texture (a dune's ripples as a 5 px motion) as a small blur. On the same training photos,
# sharp ones traced from a wrongly named small kernel (motion 5 px, Gaussian 0.75 or 1.5) peaked at 0.25-0.59,
# blurred ones (Gaussian 1 or 1.5, motion 5 px, a 7 px shake) at 0.20 at most; a Gaussian of sigma 0.75 peaks
# at 0.28, so the lightest blurs the estimator names still count as blur.
POINT = 0.3
# Edge selection (Xu & Jia 2010, "Two-phase kernel estimation for robust motion deblurring"): where the
# blurry photo's gradients agree in direction over EDGE_WINDOW px, there is an edge whose blur shows the
# kernel; where they cancel (fur, grass, fine texture) the sharp estimate's edges are guesses, and they are
# left out of the kernel's least squares. Only a shake's trace selects: from a small named kernel, a sharp
# photo's texture is what shrinks the trace to a point (POINT); selecting edges there, sharp training photos
# peaked at 0.04-0.28 (fur, brick, the moon) instead of 0.25-0.60.
EDGES = 0.5
EDGE_WINDOW = 5
# The raw kernel's values this many px around the kept path count towards where the blur's mass is
# (tail_offset): on the training photos' shakes (bench/deblur.py --camera --tuning) 2, 4, 6 and 8 px gave
# +3.08, +3.14, +3.13 and +3.14 dB (the U-Net with the trace), the kept kernel's own mass +3.01.
REACH = 4
_WORKERS = -1  # scipy.fft on every core


def _transfer(kernel: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    """The kernel's (rfft2) transfer function on `shape`, its centre at the origin (no shift)."""
    psf = np.zeros(shape, np.float32)
    k = kernel.shape[0]
    psf[:k, :k] = kernel
    return fft.rfft2(np.roll(psf, (-(k // 2), -(k // 2)), (0, 1)), workers=_WORKERS)


def _gradients(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Forward differences, periodic (as the Fourier solves assume)."""
    return np.roll(x, -1, 1) - x, np.roll(x, -1, 0) - x


def _difference_transfers(shape: tuple[int, int]) -> tuple[np.ndarray, np.ndarray]:
    across, down = np.zeros(shape, np.float32), np.zeros(shape, np.float32)
    across[0, 0] = down[0, 0] = -1
    across[0, -1] = down[-1, 0] = 1  # as convolutions: x[j + 1] - x[j]
    return fft.rfft2(across, workers=_WORKERS), fft.rfft2(down, workers=_WORKERS)


def sharp_estimate(blurry: np.ndarray, kernel: np.ndarray, sparsity: float = REFINING.sparsity) -> np.ndarray:
    """argmin_x |kernel * x - blurry|^2 + sparsity * #(nonzero gradients of x): a photo of flat regions and
    strong edges, which is what makes the kernel's shape readable. Half-quadratic splitting, the edge
    weight growing GROWTH-fold from 2 * sparsity to 1e5."""
    k_hat = _transfer(kernel, blurry.shape)
    across, down = _difference_transfers(blurry.shape)
    data = np.conj(k_hat) * fft.rfft2(blurry, workers=_WORKERS)
    k_power, d_power = np.abs(k_hat) ** 2, np.abs(across) ** 2 + np.abs(down) ** 2
    x, weight = blurry.copy(), 2 * sparsity
    while weight < 1e5:
        h, v = _gradients(x)
        kept = (h * h + v * v) >= sparsity / weight
        edges = np.conj(across) * fft.rfft2(h * kept, workers=_WORKERS) + np.conj(down) * fft.rfft2(
            v * kept, workers=_WORKERS
        )
        x = fft.irfft2((data + weight * edges) / (k_power + weight * d_power), s=blurry.shape, workers=_WORKERS)
        weight *= GROWTH
    return x


def padded(photo: np.ndarray, margin: int) -> tuple[np.ndarray, tuple[slice, slice]]:
    """The photo mirror-padded by at least `margin` px on every side, to sizes the FFT is fast at (a prime
    factor of 41 made 512 px four times slower than 400), and where the photo lies in it."""
    h, w = photo.shape
    height, width = fft.next_fast_len(h + 2 * margin, real=True), fft.next_fast_len(w + 2 * margin, real=True)
    out = np.pad(photo, ((margin, height - h - margin), (margin, width - w - margin)), mode="reflect")
    return out, (slice(margin, margin + h), slice(margin, margin + w))


def edges(blurry: np.ndarray) -> np.ndarray:
    """1 where the blurry photo's gradients agree in direction over EDGE_WINDOW px (an edge), else 0:
    |sum of gradients| / (sum of |gradients| + half an 8-bit step), the r map of Xu & Jia."""
    h, v = _gradients(blurry)
    agreeing = np.hypot(ndimage.uniform_filter(h, EDGE_WINDOW), ndimage.uniform_filter(v, EDGE_WINDOW))
    total = ndimage.uniform_filter(np.hypot(h, v), EDGE_WINDOW) + 0.5 / 255
    return (agreeing > EDGES * total).astype(np.float32)


def kernel_from_edges(
    sharp: np.ndarray,
    blurry: np.ndarray,
    size: int,
    photo: tuple[slice, slice],
    selected: np.ndarray | float = 1.0,
    how: Tracing = REFINING,
) -> np.ndarray:
    """The size x size kernel that best maps sharp's gradients (where `selected`) onto blurry's (ridge
    least squares in Fourier), on the `photo` region only (the padding's wrap-around breaks the blur around
    it), as it comes: with its noise and negative values (as_blur makes it a blur)."""
    inside = np.zeros_like(blurry)
    inside[photo] = 1
    numerator, denominator = 0, 0
    for s, b in zip(_gradients(sharp), _gradients(blurry)):
        s_hat = fft.rfft2(s * inside * selected, workers=_WORKERS)
        numerator = numerator + np.conj(s_hat) * fft.rfft2(b * inside, workers=_WORKERS)
        denominator = denominator + np.abs(s_hat) ** 2
    k = fft.irfft2(numerator / (denominator + how.ridge), s=blurry.shape, workers=_WORKERS)
    return np.roll(k, (size // 2, size // 2), (0, 1))[:size, :size]


def _kept(kernel: np.ndarray, floor: float) -> np.ndarray:
    """What as_blur keeps of a kernel, where it lies: clipped at 0, values under `floor` of its peak cut,
    only the heaviest connected piece (noise leaves specks); all 0 when nothing positive is left."""
    k = np.clip(kernel, 0, None)
    if k.max() <= 0:
        return k
    k[k < floor * k.max()] = 0
    labels, count = ndimage.label(k > 0, structure=np.ones((3, 3)))
    if count > 1:
        weights = ndimage.sum(k, labels, range(1, count + 1))
        k[labels != 1 + int(np.argmax(weights))] = 0
    return k


def _mass_centre(kernel: np.ndarray) -> np.ndarray:
    rows, cols = np.mgrid[: kernel.shape[0], : kernel.shape[1]]
    return np.array([(kernel * rows).sum(), (kernel * cols).sum()]) / kernel.sum()


def as_blur(kernel: np.ndarray, floor: float = REFINING.floor) -> np.ndarray | None:
    """The kernel as a blur: clipped at 0, values under `floor` of its peak cut, only its heaviest
    connected piece kept (noise leaves specks), normalised, recentred on its centre of mass (to the nearest
    whole pixel). None when nothing positive is left."""
    k = _kept(kernel, floor)
    if k.max() <= 0:
        return None
    k = k / k.sum()
    shift = np.rint(kernel.shape[0] // 2 - _mass_centre(k)).astype(int)
    return np.roll(k, tuple(shift), (0, 1))


def tail_offset(kernel: np.ndarray, floor: float) -> np.ndarray:
    """How far (rows, columns, px) the centre of mass of a raw kernel (kernel_from_edges) lies from that of
    what as_blur keeps of it, counting its values within REACH px of the kept path: the faint tail the floor
    cuts is part of the blur, and where the blur's mass is places the restored photo."""
    kept = _kept(kernel, floor)
    near = ndimage.binary_dilation(kept > 0, np.ones((3, 3), bool), iterations=REACH)
    return _mass_centre(np.clip(kernel, 0, None) * near) - _mass_centre(kept)


def centred_on_mass(kernel: np.ndarray, offset: np.ndarray | tuple[float, float] = (0.0, 0.0)) -> np.ndarray:
    """The kernel moved so its centre of mass is exactly the middle pixel less `offset` (with tail_offset's,
    the mass of the raw kernel it was cut from is in the middle): as_blur centres it to the nearest
    whole pixel, and the up to half a pixel it leaves shifts the restored photo by as much (a cubic-spline
    shift, clipped at 0, renormalised; again while clipping the spline's undershoot leaves the centre more
    than a hundredth of a pixel off). A photo's blur is placed by that convention (degrade's kernels are
    centred on their mass, and so are the grid's), so the restored photo lands where the sharp one was: on
    the training photos (bench/deblur.py --camera --tuning, the three shakes) the U-Net with the trace
    gained +2.99 dB instead of +2.69 centred on the kept kernel's mass, +3.14 on the mass with its tail."""
    target = kernel.shape[0] // 2 - np.asarray(offset, np.float64)
    whole = np.rint(target - _mass_centre(kernel)).astype(int)
    moved = np.roll(kernel.astype(np.float64), tuple(whole), (0, 1))
    # the path itself and the pixels around it: a spline's tails reach across the whole square, and a kernel
    # is as wide as its support (extent)
    path = ndimage.binary_dilation(moved > 0, np.ones((3, 3), bool))
    for _ in range(4):
        off = target - _mass_centre(moved)
        if np.abs(off).max() < 0.01:
            break
        moved = np.where(path, np.clip(ndimage.shift(moved, off, order=3, mode="constant"), 0, None), 0)
        moved /= moved.sum()
    return moved.astype(np.float32)


def _resized(x: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    image = Image.fromarray(x.astype(np.float32)).resize((shape[1], shape[0]), Image.BILINEAR)
    return np.asarray(image, np.float32)


def _kernel_resized(kernel: np.ndarray, size: int) -> np.ndarray:
    k = np.clip(_resized(kernel, (size, size)), 0, None)
    return k / max(k.sum(), 1e-12)


def _centred(kernel: np.ndarray, size: int) -> np.ndarray:
    """The kernel in a size x size square (cropped about its centre, or padded)."""
    k = kernel.shape[0]
    if k >= size:
        start = (k - size) // 2
        out = kernel[start : start + size, start : start + size]
    else:
        before = (size - k) // 2
        out = np.pad(kernel, ((before, size - k - before),) * 2)
    return out / max(out.sum(), 1e-12)


def energy(blurry: np.ndarray, kernel: np.ndarray, photo: tuple[slice, slice]) -> float:
    """How well `kernel` explains a (padded) blurry photo: the misfit of the sharpest photo under it, plus
    the L0 term, per pixel of the `photo` region."""
    sharp = sharp_estimate(blurry, kernel)
    reblurred = fft.irfft2(
        _transfer(kernel, blurry.shape) * fft.rfft2(sharp, workers=_WORKERS), s=blurry.shape, workers=_WORKERS
    )
    h, v = _gradients(sharp)
    misfit = ((reblurred - blurry)[photo] ** 2).mean()
    return float(misfit + REFINING.sparsity * ((h * h + v * v)[photo] > 1e-8).mean())


def trace(gray: np.ndarray, named: np.ndarray, trusted: bool = False) -> np.ndarray | None:
    """The blur kernel of a (H, W) photo in [0, 1] traced from its centre, starting from the kernel the
    estimator `named`: the 1x1 identity when it shrinks to a point (POINT: no blur after all); None when the
    photo is too small, or, unless the trace is `trusted`, when it does not explain the photo clearly better
    than the named kernel (ACCEPT). A trusted trace (the name is the estimator's placeholder for a shake)
    is traced as SHAKE; others are refined (REFINING), and one that does explain the photo better is then
    traced again as a shake, kept if that explains it better than the name too (else None). A kept trace is
    centred, to a fraction of a pixel, on the mass of the raw kernel it was cut from, faint tail and all
    (centred_on_mass, tail_offset)."""
    found = _trace(gray, named, trusted)
    if found is None:
        return None
    kernel, offset = found
    return kernel if kernel.shape == (1, 1) else centred_on_mass(kernel, offset)


def _trace(gray: np.ndarray, named: np.ndarray, trusted: bool) -> tuple[np.ndarray, np.ndarray] | None:
    """trace, as (its kernel centred on its mass to the nearest whole pixel only, the tail_offset of the raw
    kernel it was cut from): which trace is kept is decided on these kernels (a spline's shift also smooths
    a kernel a little, and a trace that barely explained the photo better than its name no longer did)."""
    h, w = gray.shape
    if min(h, w) < 2 * SIZE + 32 or named.shape == (1, 1):
        return None
    how = SHAKE if trusted else REFINING
    top, left = max(0, (h - how.centre) // 2), max(0, (w - how.centre) // 2)
    # float32: half the time of float64 for the same kernels
    centre = np.asarray(gray[top : top + how.centre, left : left + how.centre], np.float32)
    start = _centred(np.asarray(named, np.float32), SIZE)
    kernel = None
    for scale in range(SCALES - 1, -1, -1):
        factor = 0.5**scale
        size = max(5, round(SIZE * factor) | 1)
        blurry = (
            _resized(centre, (round(centre.shape[0] * factor), round(centre.shape[1] * factor))) if scale else centre
        )
        framed, photo = padded(blurry, size)
        selected = edges(framed) if how.select_edges else 1.0
        kernel = _kernel_resized(start if kernel is None else kernel, size)
        for _ in range(ROUNDS):
            raw = kernel_from_edges(sharp_estimate(framed, kernel, how.sparsity), framed, size, photo, selected, how)
            found = as_blur(raw, how.floor)
            if found is None:
                return None
            kernel = found
    if kernel.max() >= POINT:
        return np.ones((1, 1), np.float32), np.zeros(2)
    if trusted:
        return kernel.astype(np.float32), tail_offset(raw, how.floor)
    # `framed` is now the full-resolution centre padded by SIZE: the last scale's
    named_energy = energy(framed, start, photo)
    if energy(framed, kernel, photo) >= ACCEPT * named_energy:
        return None
    # It explains the photo better than its name: a shake after all, traced again as one. On training photos
    # (noise 1%, JPEG q85) the three shakes refined this way gained +0.0, +3.6 and +4.0 dB (Wiener) when
    # traced again, the one Gaussian lost 0.3 dB. The shake must explain the photo better than the name too:
    # on brick, whose repeating pattern a refined kernel also explains, a Gaussian's and a line's shake traces
    # did not, and restoring with them lost 4 and 10 dB against the name (GAN output); no shake's trace failed it.
    shake = _trace(gray, named, trusted=True)
    if shake is not None and shake[0].shape != (1, 1) and energy(framed, shake[0], photo) >= ACCEPT * named_energy:
        return None
    return shake


def extent(kernel: np.ndarray) -> int:
    """How far the kernel's path reaches, in px (the larger side of its support)."""
    rows, cols = np.nonzero(kernel)
    return int(max(np.ptp(rows), np.ptp(cols)) + 1) if len(rows) else 1
