"""Blind blur-kernel estimation: which Gaussian, motion or defocus blur made this photo?

A blurred photo's power spectrum is the sharp photo's times |K|^2. Averaged over many windows
(Welch's method), the photo's own content averages out to the smooth falloff that natural photos
share, and what remains is the kernel's signature: a Gaussian's faster falloff, a motion blur's
parallel dark stripes (across the motion, spaced by 1/length), a defocus disk's rings. A small
CNN (nets.deblur.KernelEstimator) reads that map and names the nearest kernel of GRID; the
deblurring U-Net then deconvolves with it. Reading the whole photo's spectrum is what a tiled
net cannot do: each tile sees too little of the photo to tell a 9 px shake from a soft edge.

The bundled estimator: `python -m gandash train-kernel-estimator --steps 6000` (36 min on 2 cores), trained on
photos as cameras save them (shake paths, sensor noise, JPEG): blocks and noise are not read as sharp detail.
"""

from __future__ import annotations

import io
import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from functools import lru_cache
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from gandash.core import paths
from gandash.core.errors import GandashError
from gandash.data import degrade
from gandash.data.kernel_grid import GRID, describe, kernel_of, nearest
from gandash.restore import kernel_trace
from gandash.restore.poses import POSES, posed

WINDOW = 64  # Welch window: a 21 px shake's stripes are 3 frequency bins apart
MAX_WINDOWS = 2048  # enough for a stable average; a 12 MP photo is sampled on a coarser lattice
BUNDLED = paths.WEIGHTS / "kernel-estimator.pt"
TRAIN_COMMAND = "python -m gandash train-kernel-estimator --steps 6000"  # photos as cameras save them


# Where the estimator puts camera shakes: it learnt them under their nearest GRID entry (least squares),
# for most paths the widest Gaussian. On six training photos (noise 1%, JPEG q85) 28 of 36 shakes were read
# as it (25 of them at 93-100%), and only 3 of 6 true sigma-3 Gaussians (at 43-56%; the rest as sigma 2.75):
# a reading of it is a shake more often than not, as real photos have shakes far more often than a wide
# Gaussian. Its trace (kernel_trace.SHAKE) is kept without having to explain the photo better than the
# name (kernel_trace.ACCEPT): Wiener with it gained over the named kernel in all 28 shakes (+5.2 dB each on
# average) and lost 0.3-0.6 dB on the 3 Gaussians.
WIDEST_GAUSSIAN = max((entry for entry in GRID if entry[0] == "gaussian"), key=lambda entry: entry[1])
# A light Gaussian (sigma LIGHT) read with little certainty (UNSURE) is more often a shake the spectrum could not
# place: a path with a bright dwell point (most of the exposure still, then a jerk) has a spectrum like a light
# blur's. It is traced as a shake too, from the placeholder. On twelve training photos (noise 1%, JPEG q85;
# sharp, three named blurs and six shakes each) 11 readings were such: 10 of them shakes, whose trace gained
# +14.5 dB in all over deconvolving with the name (worst -0.9); true Gaussians of sigma 1.5 were read at 43-86%.
# Under 15% the estimator has no reading to speak of (a microscope's cells at 8%: the trace lost 3.7 dB), and
# sigma 0.75 is where sharp, finely textured photos land.
LIGHT = (1.0, 1.75)
UNSURE = (0.15, 0.40)
# A wide defocus disc (radius WIDE_DISC and up) read with as little certainty (UNSURE) is a shake too: on the ten
# training photos (noise 1%, JPEG q85) true discs of radius 3-4 px were read at 50-100%, while one 11 px shake
# path was read as a 4 px disc at 28-37% on four of them (and at 47% on a fifth): restored with its trace
# instead, +1.3 to +3.2 dB each (bench/deblur.py --camera --tuning). A small disc read unsurely is texture: a
# sharp photo of cells was read as a 1 px disc at 21-30%, and tracing it as a shake lost 3.5 dB.
WIDE_DISC = 3.0
# A fainter Gaussian than LIGHT read with as little certainty is not acted on: on the training photos the only
# such reading (1 in 143 cases) was of a sharp photo (retina, JPEG q85: -0.3 dB deconvolved), and undoing so
# faint a blur gains little where it is real.

_HANN = torch.outer(torch.hann_window(WINDOW, periodic=False), torch.hann_window(WINDOW, periodic=False))


def spectrum(gray: torch.Tensor) -> torch.Tensor:
    """The normalised Welch log power spectrum (WINDOW, WINDOW), zero frequency in the centre, of a
    (H, W) image in [0, 1] at least WINDOW px a side; half-overlapping windows, or a sparser lattice
    of them on large photos."""
    height, width = gray.shape
    if min(height, width) < WINDOW:
        raise GandashError(f"estimating the blur needs at least {WINDOW}x{WINDOW} pixels (got {width}x{height}).")
    stride = WINDOW // 2
    while ((height - WINDOW) // stride + 1) * ((width - WINDOW) // stride + 1) > MAX_WINDOWS:
        stride += WINDOW // 4
    windows = gray.unfold(0, WINDOW, stride).unfold(1, WINDOW, stride).reshape(-1, WINDOW, WINDOW)
    windows = (windows - windows.mean((1, 2), keepdim=True)) * _HANN
    power = torch.view_as_real(torch.fft.fft2(windows)).pow(2).sum(-1).mean(0)
    logs = torch.fft.fftshift(torch.log(power + 1e-10))
    return (logs - logs.mean()) / (logs.std() + 1e-6)


def posed_spectrum(spectrum_: np.ndarray, pose: tuple[int, bool]) -> np.ndarray:
    """The spectrum of the photo in `pose`, from the spectrum of the photo: a power spectrum turns and
    mirrors with the photo about zero frequency. Its rows and columns run from -WINDOW/2 to WINDOW/2 - 1;
    the -WINDOW/2 line is also the +WINDOW/2 one (the spectrum is periodic), so appending it makes the
    array symmetric about its centre, and posing it is exact. Eight times cheaper than eight spectra."""
    symmetric = np.pad(spectrum_, ((0, 1), (0, 1)), mode="wrap")
    return np.ascontiguousarray(posed(symmetric, pose)[:WINDOW, :WINDOW])


def _gray(pixels: np.ndarray) -> torch.Tensor:
    from gandash.restore import photo

    x = photo.to_float(pixels)
    x = x[..., :3].mean(-1) if x.ndim == 3 else x
    return torch.from_numpy(np.ascontiguousarray(x, dtype=np.float32))


@dataclass(frozen=True)
class Estimate:
    entry: tuple[str, float, float]  # the kernel to deconvolve with: the likeliest, or with cautious=True choose()
    probability: float  # the estimator's belief in this entry (neighbours share the rest)
    likeliest: tuple[str, float, float] | None = None  # the single likeliest entry, where it differs from `entry`
    likeliest_probability: float = 0.0
    # the shake traced from `entry` (kernel_trace); the 1x1 identity when there is no blur to undo after all
    traced: np.ndarray | None = field(default=None, compare=False)

    @property
    def kernel(self) -> np.ndarray:
        return kernel_of(self.entry) if self.traced is None else self.traced

    @property
    def names_a_shake(self) -> bool:
        """Whether the reading stands for a camera shake: the estimator's placeholder for one (WIDEST_GAUSSIAN),
        or a light Gaussian or a wide defocus disc it is unsure of (unsure_of_light_blur, unsure_of_disc)."""
        return self.entry == WIDEST_GAUSSIAN or self.unsure_of_light_blur or self.unsure_of_disc

    @property
    def unsure(self) -> bool:
        """Read with little certainty (UNSURE), but with some."""
        return UNSURE[0] <= self.probability < UNSURE[1]

    @property
    def unsure_of_light_blur(self) -> bool:
        kind, size, _ = self.entry
        return kind == "gaussian" and LIGHT[0] <= size <= LIGHT[1] and self.unsure

    @property
    def unsure_of_disc(self) -> bool:
        kind, radius, _ = self.entry
        return kind == "defocus" and radius >= WIDE_DISC and self.unsure

    @property
    def unsure_of_faint_blur(self) -> bool:
        kind, size, _ = self.entry
        return kind == "gaussian" and size < LIGHT[0] and self.probability < UNSURE[1]

    @property
    def blurred(self) -> bool:
        """Whether there is a blur to undo: not when none was read, when its trace shrank to a point, or when it
        was too faint and unsure a reading to act on (unsure_of_faint_blur)."""
        return self.kernel.shape != (1, 1)

    @property
    def trusted(self) -> bool:
        """Whether the kernel is sure enough to pull the restored photo back to what the photo shows through it
        (restore.deblur.consistent_with): a traced one, or a name read with some certainty (UNSURE's upper
        bound). A sharp photo of window blinds read as a 21 px line at 18-20% loses 2-3 dB pulled so."""
        return self.traced is not None or self.probability >= UNSURE[1]

    @property
    def label(self) -> str:
        if self.traced is not None and not self.blurred:
            return "no blur found"
        if self.traced is not None:
            return f"camera shake, about {kernel_trace.extent(self.traced)} px across"
        return describe(self.entry)

    @property
    def confidence(self) -> str:
        """How sure the reading is, for people."""
        if self.traced is not None and not self.blurred and self.unsure_of_faint_blur:
            return (
                f"the spectrum read {describe(self.entry)} at only {self.probability:.0%}: too faint and unsure to undo"
            )
        if self.traced is not None and not self.blurred:
            return (
                f"the spectrum read {describe(self.entry)} at {self.probability:.0%}, but traced from the photo "
                "that blur shrinks to a point"
            )
        if self.traced is not None and (self.unsure_of_light_blur or self.unsure_of_disc):
            return (
                f"traced from the photo: the spectrum read {describe(self.entry)} at only {self.probability:.0%}, "
                "which is more often a camera shake"
            )
        if self.traced is not None and self.names_a_shake:
            return (
                f"traced from the photo: the spectrum's reading, {describe(self.entry)} at {self.probability:.0%}, "
                "is how it names a camera shake"
            )
        if self.traced is not None:
            return (
                f"traced from the photo: it explains it better than the spectrum's reading, "
                f"{describe(self.entry)} at {self.probability:.0%}"
            )
        return f"{self.probability:.0%} sure"

    @property
    def caution(self) -> str:
        """Why the kernel is not the likeliest one, or ""."""
        if self.likeliest is None:
            return ""
        return (
            f"the likeliest reading, {describe(self.likeliest)} ({self.likeliest_probability:.0%}), disagrees with "
            "much of the rest, and deconvolving with too large a kernel does more harm than leaving some blur"
        )


@torch.no_grad()
def estimate(
    pixels: np.ndarray, estimator: torch.nn.Module | None = None, cautious: bool = False, trace: bool = True
) -> Estimate:
    """The GRID kernel to deconvolve (H, W[, C]) pixels (uint8, uint16 or float in [0, 1]) with: the likeliest,
    or with `cautious` the one of least expected harm (choose). Photos under WINDOW px a side are too small
    to read a spectrum from: they get 'none'. On scikit-image's photos as cameras save them (bench/deblur.py
    --camera) the cautious choice left sharp photos closer to as they were (-0.13 dB against -0.36) but
    restored blurred ones less (+2.02 dB against +2.40), so the likeliest is the default. With `trace` the
    blur's own kernel is traced from the named one (kernel_trace): kept when the reading stands for a shake
    (names_a_shake: then traced from the placeholder), else when it explains the photo better; a winding
    camera shake has no name in GRID. A faint blur read unsurely is not acted on (unsure_of_faint_blur: traced
    is then the identity); without `trace` the spectrum's reading is taken as it is."""
    gray = _gray(pixels)
    if min(gray.shape) < WINDOW:
        return Estimate(GRID[0], 0.0)
    # On 8-bit steps, as in training: the rounding noise floor is part of what the estimator learnt,
    # and a 16-bit or float photo without it read as a 1 px defocus, whatever its blur.
    gray = torch.round(gray * 255) / 255
    estimator = estimator or bundled_estimator()
    # The estimator reads the photo in its 8 quarter-turned and mirrored poses (the blur turns with
    # it); their log-probabilities, mapped back to the photo's own pose, are averaged. One pose alone
    # read a σ 2.5 Gaussian on a dark, noisy sky as a 7 px shake.
    photo_spectrum = spectrum(gray).numpy()
    spectra = torch.from_numpy(np.stack([posed_spectrum(photo_spectrum, pose) for pose in POSES]))
    log_probabilities = estimator(spectra[:, None]).log_softmax(1)
    index = torch.tensor(_pose_permutations())
    probabilities = log_probabilities.gather(1, index).mean(0).softmax(0)
    likeliest = int(probabilities.argmax())
    chosen = choose(probabilities) if cautious else likeliest
    if chosen == likeliest:
        found = Estimate(GRID[chosen], float(probabilities[chosen]))
    else:
        found = Estimate(GRID[chosen], float(probabilities[chosen]), GRID[likeliest], float(probabilities[likeliest]))
    if trace and found.unsure_of_faint_blur:
        return replace(found, traced=np.ones((1, 1), np.float32))
    if trace and GRID[chosen][0] != "none":
        start = kernel_of(WIDEST_GAUSSIAN) if found.names_a_shake else found.kernel
        found = replace(found, traced=kernel_trace.trace(gray.numpy(), start, found.names_a_shake))
    return found


# Regularisation of the Wiener filter in the cost model below: small, as the U-Net's sharp estimate
DECISION_BALANCE = 0.002


def choose(probabilities: torch.Tensor) -> int:
    """The GRID entry to deconvolve with: the one of least expected harm over the estimator's beliefs, not
    the likeliest. Deconvolving with too large a kernel wrecks a photo (a sharp photo of window blinds
    read as a 21 px shake at 19% lost 11 dB), one too small only leaves some blur; when the beliefs are
    spread over kernels that disagree, a smaller, safer one wins. The harm of deconvolving a photo blurred
    by t with kernel a is the error a Wiener filter for a leaves on a natural photo's spectrum (1/f^2):
    sum_f |W_a(f) T(f) - 1|^2 S(f)."""
    return int((_harm() @ probabilities.double()).argmin())


@lru_cache(maxsize=1)
def _harm() -> torch.Tensor:
    """(len(GRID), len(GRID)): harm[a, t] of deconvolving with entry a a photo blurred by entry t."""
    from gandash.data.kernel_grid import grid_kernels

    kernels = grid_kernels().double()
    size = 2 * WINDOW  # room for the largest kernel (41 px) without wrapping onto itself
    spread = torch.zeros((len(kernels), size, size), dtype=torch.float64)
    spread[:, : kernels.shape[1], : kernels.shape[2]] = kernels
    transfer = torch.fft.rfft2(spread)  # every kernel shifted alike: the phases cancel in conj(A) T
    fy = torch.fft.fftfreq(size, dtype=torch.float64)[:, None]
    fx = torch.fft.rfftfreq(size, dtype=torch.float64)[None]
    natural = 1 / (fx**2 + fy**2 + (1 / size) ** 2)
    natural = natural / natural.sum()
    roughness = (4 - 2 * torch.cos(2 * math.pi * fx) - 2 * torch.cos(2 * math.pi * fy)) ** 2
    filters = (transfer.conj() / (transfer.abs() ** 2 + DECISION_BALANCE * roughness)).flatten(1)
    transfer, natural = transfer.flatten(1), natural.flatten()
    # |W T - 1|^2 = |W|^2 |T|^2 - 2 Re(W T) + 1, each sum over f a matrix product
    return (
        (filters.abs() ** 2 * natural) @ (transfer.abs() ** 2).T
        - 2 * ((filters.real * natural) @ transfer.real.T - (filters.imag * natural) @ transfer.imag.T)
        + natural.sum()
    )


@lru_cache(maxsize=1)
def _pose_permutations() -> list[list[int]]:
    """For each pose, the GRID entry that each entry's kernel becomes in that pose (a motion blur's
    angle turns; Gaussian and defocus blurs stay)."""
    return [[nearest(posed(kernel_of(entry), pose)) for entry in GRID] for pose in POSES]


@lru_cache(maxsize=1)
def bundled_estimator() -> torch.nn.Module:
    from gandash.nets.deblur import KernelEstimator

    if not BUNDLED.is_file():
        raise GandashError(
            f"the bundled blur-kernel estimator ({BUNDLED}) is missing; recreate it with: {TRAIN_COMMAND}."
        )
    estimator = KernelEstimator(len(GRID))
    estimator.load_state_dict(torch.load(BUNDLED, map_location="cpu", weights_only=True))
    return estimator.eval()


# --- training ---------------------------------------------------------------------------------


def _training_photos() -> list[torch.Tensor]:
    from gandash import data

    return [_gray(data.photo(name)) for name in data.PHOTOS_TRAIN]  # the held-out photos stay unseen


# The camera mix the bundled estimator learnt from: the U-Net's (data.degrade.CAMERA) without the resized
# share of noise, which came later; the shake paths are drawn above, labelled with their nearest GRID entry.
CAMERA_MIX = replace(degrade.CAMERA, resized=0.0)


def training_example(
    photos: list[torch.Tensor], generator: torch.Generator, camera: bool = False
) -> tuple[torch.Tensor, int]:
    """(spectrum, GRID index) of a random crop (128-384 px) of a training photo, blurred by a kernel of
    the deblurring training mix (one in ten left sharp), with the same mild noise and 8-bit rounding.
    With `camera`, as photos come (issue #22): a fifth of the blurs are camera-shake paths (labelled with
    their nearest GRID entry), Poisson-Gaussian sensor noise up to 2% in 70% of the crops, and a JPEG
    round trip at quality 60-95 in 70%."""

    def uniform(low: float, high: float) -> float:
        return degrade._uniform(low, high, generator)

    image = photos[int(torch.randint(len(photos), (), generator=generator))]
    kernel = np.ones((1, 1), np.float32) if uniform(0, 1) < 0.1 else degrade.random_kernel(generator)
    if camera and kernel.shape[0] > 1 and uniform(0, 1) < 0.2:
        kernel = degrade.shake_kernel(
            uniform(*degrade.SHAKE_EXTENT), int(torch.randint(10**6, (), generator=generator))
        )
    size = round(uniform(128, min(384, *image.shape)))
    top = int(torch.randint(image.shape[0] - size + 1, (), generator=generator))
    left = int(torch.randint(image.shape[1] - size + 1, (), generator=generator))
    margin = kernel.shape[0] // 2  # keep only what the blur saw real pixels for
    blurred = degrade.blur(image[None, None, top : top + size, left : left + size], torch.from_numpy(kernel)[None])[
        0, 0
    ]
    blurred = blurred[margin : size - margin, margin : size - margin]
    if camera:
        x = blurred[None, None] * 2 - 1
        x = degrade.compressed(degrade.noisy(x, CAMERA_MIX, generator), CAMERA_MIX, generator)
        return spectrum(x[0, 0].add(1).div(2)), nearest(kernel)
    if uniform(0, 1) < 0.3:
        blurred = blurred + torch.randn(blurred.shape, generator=generator) * uniform(0, 0.005)
    blurred = torch.round(blurred.clamp(0, 1) * 255) / 255
    return spectrum(blurred), nearest(kernel)


def train(
    steps: int = 6000,
    batch_size: int = 32,
    seed: int = 0,
    out: Path = BUNDLED,
    report: Callable[[int, float, float], None] | None = None,
    camera: bool = False,
) -> float:
    """Train the estimator from scratch (Adam, cosine decay) and write its weights atomically to
    `out`; returns the accuracy (nearest GRID entry) on the last 20 batches."""
    from gandash.core.paths import atomic_write_bytes
    from gandash.nets.deblur import KernelEstimator

    torch.manual_seed(seed)
    generator = torch.Generator().manual_seed(seed)
    photos = _training_photos()
    estimator = KernelEstimator(len(GRID))
    optimizer = torch.optim.Adam(estimator.parameters(), 1e-3)
    hits, started = [], time.perf_counter()
    for step in range(steps):
        batch = [training_example(photos, generator, camera) for _ in range(batch_size)]
        x = torch.stack([spectrum for spectrum, _ in batch])[:, None]
        y = torch.tensor([index for _, index in batch])
        for group in optimizer.param_groups:
            group["lr"] = 1e-3 * 0.5 * (1 + math.cos(math.pi * step / steps))
        logits = estimator(x)
        loss = F.cross_entropy(logits, y)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        hits = (hits + [(logits.argmax(1) == y).float().mean().item()])[-20:]
        if report and (step % 100 == 0 or step == steps - 1):
            report(step, loss.item(), time.perf_counter() - started)
    buffer = io.BytesIO()
    torch.save(estimator.state_dict(), buffer)
    out.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_bytes(out, buffer.getvalue())
    bundled_estimator.cache_clear()
    return float(np.mean(hits))
