"""Degradations that turn a sharp photo into a blurry one, and blurred/sharp training pairs.

Kernels are small float32 numpy arrays that sum to 1 (pure functions of their parameters, so the
page can blur a photo exactly as training did). Applying them is one grouped conv2d in torch, so a
batch of crops, each with its own kernel, is blurred in a single call.
"""

from __future__ import annotations

import io
import math
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image

from gandash.core.errors import GandashError

GAUSSIAN_SIGMA = (0.5, 3.0)
MOTION_LENGTH = (3, 21)
DEFOCUS_RADIUS = (1.0, 4.0)
KERNEL_SIZE = 41  # every random kernel fits (the largest combination: motion 21 (x) gaussian 1.5 -> 31)
KINDS = ("gaussian", "motion", "defocus")  # what the kernel estimator names (data.kernel_grid)
CAMERA_KINDS = KINDS + ("shake",)  # what a camera does: a hand's shake is rarely a straight line
SHAKE_EXTENT = (5.0, 25.0)  # px: how far the random trajectory wanders


def _normalised(kernel: np.ndarray) -> np.ndarray:
    return (kernel / kernel.sum()).astype(np.float32)


def gaussian_kernel(sigma: float) -> np.ndarray:
    """An isotropic Gaussian of standard deviation `sigma` px, cut at 3 sigma."""
    if not 0 < sigma <= 20:
        raise GandashError(f"Gaussian sigma must be above 0 and at most 20 px (got {sigma}).")
    radius = max(1, math.ceil(3 * sigma))
    axis = np.arange(-radius, radius + 1, dtype=np.float64)
    line = np.exp(-(axis**2) / (2 * sigma**2))
    return _normalised(np.outer(line, line))


def motion_kernel(length: float, angle: float = 0.0) -> np.ndarray:
    """A straight camera shake: a 1 px line of `length` px through the centre at `angle` degrees
    (0 = horizontal), antialiased by splatting many points bilinearly so any angle looks the same."""
    if not 1 <= length <= 64:
        raise GandashError(f"motion length must be from 1 to 64 px (got {length}).")
    radius = math.ceil(length / 2)
    size = 2 * radius + 1
    kernel = np.zeros((size, size), np.float64)
    t = np.linspace(-(length - 1) / 2, (length - 1) / 2, int(length * 8) + 1)
    theta = math.radians(angle)
    xs, ys = radius + t * math.cos(theta), radius - t * math.sin(theta)  # image rows grow downwards
    x0, y0 = np.floor(xs).astype(int), np.floor(ys).astype(int)
    fx, fy = xs - x0, ys - y0
    for dx, dy, weight in ((0, 0, (1 - fx) * (1 - fy)), (1, 0, fx * (1 - fy)), (0, 1, (1 - fx) * fy), (1, 1, fx * fy)):
        np.add.at(kernel, (np.clip(y0 + dy, 0, size - 1), np.clip(x0 + dx, 0, size - 1)), weight)
    return _normalised(kernel)


def defocus_kernel(radius: float) -> np.ndarray:
    """An out-of-focus lens: a uniform disk of `radius` px, its edge pixels weighted by coverage."""
    if not 0.5 <= radius <= 32:
        raise GandashError(f"defocus radius must be from 0.5 to 32 px (got {radius}).")
    half = math.ceil(radius)
    fine = (np.arange(16) + 0.5) / 16 - 0.5  # 16x16 sub-samples per pixel
    axis = np.arange(-half, half + 1)
    ys = axis[:, None, None, None] + fine[None, None, :, None]
    xs = axis[None, :, None, None] + fine[None, None, None, :]
    coverage = (xs**2 + ys**2 <= radius**2).mean(axis=(2, 3))
    return _normalised(coverage)


def shake_kernel(extent: float, seed: int = 0, exposure: float = 1.0) -> np.ndarray:
    """Camera shake along a random trajectory (Boracchi & Foi 2012, "Modeling the performance of image
    restoration from motion blur", the generator DeblurGAN trains on): a point moving with inertia, pulled
    back towards where it started, now and then jerked (an abrupt shake), sampled over `exposure` of its
    path and splatted bilinearly; scaled so the path spans about `extent` px. The same seed gives the same
    kernel, so the page can show and the bench can repeat one."""
    if not 1 <= extent <= 64:
        raise GandashError(f"shake extent must be from 1 to 64 px (got {extent}).")
    rng = np.random.default_rng(seed)
    steps = 2000
    anxiety = 0.1 * rng.random()
    centripetal = 0.7 * rng.random()
    big_shakes = 0.2 * rng.random()
    gaussian_shake = 10 * rng.random()
    velocity = np.exp(1j * np.deg2rad(360 * rng.random())) / (steps - 1)
    path = np.zeros(steps, complex)
    for t in range(steps - 1):
        jerk = 0j
        if rng.random() < big_shakes * anxiety:
            jerk = 2 * velocity * np.exp(1j * (np.pi + (rng.random() - 0.5)))
        wobble = gaussian_shake * complex(rng.standard_normal(), rng.standard_normal())
        pull = anxiety * (wobble - centripetal * path[t])
        velocity = velocity + jerk + pull / (steps - 1)
        velocity = velocity / abs(velocity) / (steps - 1)  # constant speed: the path's length is 1
        path[t + 1] = path[t] + velocity
    path = path[: max(2, int(steps * min(max(exposure, 0.05), 1.0)))]
    path -= path.mean()
    span = max(np.ptp(path.real), np.ptp(path.imag), 1e-9)
    path *= (extent - 1) / span
    radius = math.ceil(max(np.abs(path.real).max(), np.abs(path.imag).max())) + 1
    size = 2 * radius + 1
    xs, ys = path.real + radius, path.imag + radius
    x0, y0 = np.floor(xs).astype(int), np.floor(ys).astype(int)
    fx, fy = xs - x0, ys - y0
    kernel = np.zeros((size, size), np.float64)
    for dx, dy, weight in ((0, 0, (1 - fx) * (1 - fy)), (1, 0, fx * (1 - fy)), (0, 1, (1 - fx) * fy), (1, 1, fx * fy)):
        np.add.at(kernel, (np.clip(y0 + dy, 0, size - 1), np.clip(x0 + dx, 0, size - 1)), weight)
    return _normalised(kernel)


def combine(first: np.ndarray, second: np.ndarray) -> np.ndarray:
    """Two blurs one after the other (e.g. a slightly soft lens plus shake)."""
    from scipy.signal import convolve2d  # here: scipy.signal takes over a second to import

    return _normalised(convolve2d(first, second, mode="full"))


def kernel_for(kind: str, strength: float, angle: float = 0.0) -> np.ndarray:
    """The page's and the bench's kernels: `strength` is sigma, length, radius or extent in px; `angle` is
    the motion's direction in degrees, or the shake's pattern (its seed)."""
    if kind == "shake":
        return shake_kernel(strength, seed=int(angle))
    if kind == "gaussian":
        return gaussian_kernel(strength)
    if kind == "motion":
        return motion_kernel(strength, angle)
    if kind == "defocus":
        return defocus_kernel(strength)
    raise GandashError(f"blur kind '{kind}' is unknown; choose one of {', '.join(CAMERA_KINDS)}.")


def _uniform(low: float, high: float, generator: torch.Generator | None) -> float:
    return low + (high - low) * torch.rand((), generator=generator).item()


def random_kernel(generator: torch.Generator | None = None, shake: float = 0.0, sharp: float = 0.0) -> np.ndarray:
    """A kernel drawn from the training mix: Gaussian, motion, defocus, or a soft lens plus one of
    the others; with probability `sharp` none (the 1x1 identity), with probability `shake` a camera-shake
    path. Drawn from torch's RNG so a resumed run continues with the same kernels."""
    if sharp and _uniform(0, 1, generator) < sharp:
        return np.ones((1, 1), np.float32)
    if shake and _uniform(0, 1, generator) < shake:
        return shake_kernel(_uniform(*SHAKE_EXTENT, generator), int(torch.randint(10**9, (), generator=generator)))
    pick = _uniform(0, 1, generator)
    if pick < 0.35:
        return gaussian_kernel(_uniform(*GAUSSIAN_SIGMA, generator))
    if pick < 0.65:
        return motion_kernel(round(_uniform(*MOTION_LENGTH, generator)), _uniform(0, 180, generator))
    if pick < 0.85:
        return defocus_kernel(_uniform(*DEFOCUS_RADIUS, generator))
    soft = gaussian_kernel(_uniform(0.5, 1.5, generator))
    other = (
        motion_kernel(round(_uniform(3, 15, generator)), _uniform(0, 180, generator))
        if _uniform(0, 1, generator) < 0.5
        else defocus_kernel(_uniform(1.0, 3.0, generator))
    )
    return combine(soft, other)


@dataclass(frozen=True)
class Mix:
    """How often each of a camera's degradations comes with a blur, and how strong it is."""

    shake: float  # share of the kernels that are camera-shake paths (the rest: random_kernel's families)
    noise: float  # share of the images with sensor noise
    noise_level: tuple[float, float]  # its standard deviation at mid-grey, as a fraction of the range
    poisson: bool  # signal-dependent (Poisson-Gaussian, sensor_noise) or plain Gaussian noise
    resized: float  # share of the noisy images whose noise went through a x2 downscale (web uploads)
    jpeg: float  # share of the images saved as JPEG
    jpeg_quality: tuple[int, int]
    sharp: float = 0.0  # share of the crops left unblurred: a sharp photo the estimator misreads must stay sharp


# What photos are like (issue #22): real blurry photos are almost always noisy JPEGs, their shake rarely a line.
CAMERA = Mix(
    shake=0.2,
    noise=0.7,
    noise_level=(0.0, 0.02),
    poisson=True,
    resized=0.25,
    jpeg=0.7,
    jpeg_quality=(60, 95),
    sharp=0.1,
)
# The first mix the bundled U-Net learnt from (stages 1 and 2 of its rebuild): clean blur, now and then mild noise.
CLEAN = Mix(
    shake=0.0, noise=0.3, noise_level=(0.0, 0.005), poisson=False, resized=0.0, jpeg=0.15, jpeg_quality=(80, 95)
)
NONE = Mix(shake=0.0, noise=0.0, noise_level=(0.0, 0.0), poisson=False, resized=0.0, jpeg=0.0, jpeg_quality=(95, 95))
MIXES = {"camera": CAMERA, "clean": CLEAN}


def noisy(images: torch.Tensor, mix: Mix, generator: torch.Generator | None = None) -> torch.Tensor:
    """(N, C, H, W) images in [-1, 1], each with probability mix.noise given sensor noise of a random level;
    a `resized` share of them had it before a x2 downscale, so it is finer-grained and correlated, as on a
    photo resized for the web. Returns a new tensor; the draws come from `generator`."""
    out = images.clone()
    for i in range(len(images)):
        if not _uniform(0, 1, generator) < mix.noise:
            continue
        level = _uniform(*mix.noise_level, generator)
        if not mix.poisson:
            out[i] = add_noise(images[i], level, generator)
            continue
        if mix.resized and _uniform(0, 1, generator) < mix.resized:
            # noise drawn on the photo at twice the size, then downscaled with it (bicubic, antialiased), which
            # blends neighbours: a finer, correlated grain; its strength is kept as drawn, as the photo shows it
            big = F.interpolate(images[i : i + 1], scale_factor=2, mode="nearest")
            grain = sensor_noise(big, level, generator) - big
            small = downsample(grain, 2)
            out[i] = images[i] + (small * grain.std() / small.std().clamp_min(1e-12))[0]
        else:
            out[i] = sensor_noise(images[i], level, generator)
    return out


def compressed(images: torch.Tensor, mix: Mix, generator: torch.Generator | None = None) -> torch.Tensor:
    """(N, C, H, W) images in [-1, 1] rounded to 8 bits, each with probability mix.jpeg saved as JPEG at a
    random quality of mix.jpeg_quality (Pillow; 4:2:0 chroma as phones save)."""
    out = torch.round((images.clamp(-1, 1) + 1) * 127.5) / 127.5 - 1
    channels = images.shape[1]
    for i in range(len(images)):
        if _uniform(0, 1, generator) < mix.jpeg:
            quality = round(_uniform(*mix.jpeg_quality, generator))
            pixels = _to_uint8(out[i : i + 1])[0]
            pixels = jpeg_array(pixels[..., 0] if channels == 1 else pixels, quality)
            pixels = pixels[..., None] if channels == 1 else pixels
            out[i] = torch.from_numpy(pixels.transpose(2, 0, 1).astype(np.float32)).div(127.5).sub(1)
    return out


def padded(kernel: np.ndarray, size: int = KERNEL_SIZE) -> torch.Tensor:
    """The kernel centred in a size x size square, so kernels of a batch stack into one tensor."""
    k = kernel.shape[0]
    if k > size:
        raise GandashError(f"a {k} px kernel does not fit in {size} px.")
    before = (size - k) // 2
    return torch.from_numpy(np.pad(kernel, ((before, size - k - before),) * 2))


def blur(images: torch.Tensor, kernels: torch.Tensor, valid: bool = False) -> torch.Tensor:
    """Convolve each image of (N, C, H, W) with its own kernel of (N, K, K) (a true convolution).

    valid=True returns only the (H-K+1, W-K+1) centre that saw real pixels (training crops are
    cut with a margin so no pixel of a pair is made up); otherwise the border is mirrored."""
    k = kernels.shape[-1]
    x = images
    if not valid:
        h, w = x.shape[-2:]
        mode = "reflect" if min(h, w) > k // 2 else "replicate"  # reflect needs a pad smaller than the side
        x = F.pad(x, (k // 2,) * 4, mode=mode)
    # By FFT: a 25 px kernel as a depthwise conv2d costs 625 multiplies per pixel, the FFT a few dozen.
    # The product of the transforms is a circular convolution; its last (H-K+1, W-K+1) pixels never
    # wrap around, and they are exactly the valid convolution.
    h, w = x.shape[-2:]
    spread = torch.zeros((len(kernels), 1, h, w), dtype=x.dtype, device=x.device)
    spread[:, :, :k, :k] = kernels.to(x).unsqueeze(1)
    out = torch.fft.irfft2(torch.fft.rfft2(x) * torch.fft.rfft2(spread), s=(h, w))
    return out[..., k - 1 :, k - 1 :].contiguous()


def downsample(sharp: torch.Tensor, factor: int) -> torch.Tensor:
    """`factor` times smaller by bicubic interpolation with antialiasing (SRGAN's degradation)."""
    return F.interpolate(sharp, scale_factor=1 / factor, mode="bicubic", antialias=True, align_corners=False)


def blur_array(array: np.ndarray, kernel: np.ndarray) -> np.ndarray:
    """Blur a photo given as HW or HWC (uint8, uint16 or float) and return the same dtype and shape."""
    planar = array[..., None] if array.ndim == 2 else array
    x = torch.from_numpy(np.ascontiguousarray(planar.transpose(2, 0, 1), dtype=np.float32))[None]
    out = blur(x, torch.from_numpy(kernel)[None])[0].numpy().transpose(1, 2, 0)
    if np.issubdtype(array.dtype, np.integer):
        out = np.clip(np.rint(out), 0, np.iinfo(array.dtype).max)
    out = out.astype(array.dtype)
    return out[..., 0] if array.ndim == 2 else out


def add_noise(images: torch.Tensor, sigma: float, generator: torch.Generator | None = None) -> torch.Tensor:
    """Sensor noise: Gaussian with standard deviation `sigma` (as a fraction of the full range) on
    images in [-1, 1]."""
    noise = torch.randn(images.shape, generator=generator, dtype=images.dtype).to(images.device)
    return images + noise * (2 * sigma)


def sensor_noise(
    images: torch.Tensor, level: float, generator: torch.Generator | None = None, read_share: float = 0.25
) -> torch.Tensor:
    """A camera sensor's noise on images in [-1, 1]: Poisson-Gaussian (Foi et al. 2008), signal-dependent
    shot noise plus signal-independent read noise, variance(x) = a x + b^2 on the [0, 1] scale. `level` is
    the standard deviation at mid-grey (x = 0.5) as a fraction of the range; `read_share` of that variance
    is read noise, so dark areas are cleaner than bright ones, as in a real photo."""
    if not 0 <= level <= 0.2:
        raise GandashError(f"noise level must be from 0 to 0.2 of the range (got {level}).")
    a = (1 - read_share) * level**2 / 0.5
    b2 = read_share * level**2
    x = images.add(1).div(2).clamp(0, 1)
    std = (a * x + b2).sqrt()
    noise = torch.randn(images.shape, generator=generator, dtype=images.dtype).to(images.device)
    return (x + std * noise).mul(2).sub(1)


def camera_array(
    sharp: np.ndarray, kernel: np.ndarray, noise: float = 0.0, quality: int | None = None, seed: int = 0
) -> np.ndarray:
    """A sharp uint8 photo (HW or HWC) as a camera would save it blurred by `kernel`: blur, then sensor noise
    (sensor_noise's `level`), then 8 bits, then JPEG at `quality` (None: kept lossless)."""
    blurred = blur_array(sharp.astype(np.float32), kernel)
    if noise:
        planar = blurred[..., None] if blurred.ndim == 2 else blurred
        x = torch.from_numpy(np.ascontiguousarray(planar.transpose(2, 0, 1))).div(127.5).sub(1)
        x = sensor_noise(x, noise, torch.Generator().manual_seed(seed))
        out = x.add(1).mul(127.5).numpy().transpose(1, 2, 0)
        blurred = out[..., 0] if blurred.ndim == 2 else out
    pixels = np.clip(np.rint(blurred), 0, 255).astype(np.uint8)
    if not quality:
        return pixels
    single = pixels.ndim == 3 and pixels.shape[2] == 1  # Pillow takes grey as HW
    saved = jpeg_array(pixels[..., 0] if single else pixels, quality)
    return saved[..., None] if single else saved


def jpeg_array(array: np.ndarray, quality: int) -> np.ndarray:
    """Re-compress a uint8 HWC or HW array as JPEG at `quality` (what phones and web uploads do)."""
    buffer = io.BytesIO()
    Image.fromarray(array).save(buffer, format="JPEG", quality=int(quality))
    return np.asarray(Image.open(buffer).convert(Image.fromarray(array).mode))


def _to_uint8(images: torch.Tensor) -> np.ndarray:
    return images.clamp(-1, 1).add(1).mul(127.5).round().to(torch.uint8).permute(0, 2, 3, 1).cpu().numpy()


def degrade(
    crops: torch.Tensor, size: int, generator: torch.Generator | None = None, mix: Mix = CAMERA
) -> tuple[torch.Tensor, torch.Tensor, list[np.ndarray]]:
    """Training pairs from sharp uint8 crops (N, C, S, S) with S >= size: (blurred, sharp, kernels), the
    images float in [-1, 1] of (N, C, size, size), the kernels each crop was blurred by. Each crop is
    degraded as a camera does, in its order: its own random kernel (mix.shake of them a shake path), then
    sensor noise, then 8 bits, then JPEG (`mix` says how often and how strong)."""
    n, c, s, _ = crops.shape
    sharp_full = crops.float().div(127.5).sub(1)
    drawn = [random_kernel(generator, mix.shake, mix.sharp) for _ in range(n)]
    k = max(kernel.shape[0] for kernel in drawn)  # the batch's largest kernel, not KERNEL_SIZE: 3x faster
    kernels = torch.stack([padded(kernel, k) for kernel in drawn])
    margin = (s - size) // 2
    if margin >= k // 2:  # cut from a larger crop: every blurred pixel saw real neighbours
        start = margin - k // 2
        window = sharp_full[:, :, start : start + size + k - 1, start : start + size + k - 1]
        blurred = blur(window, kernels, valid=True)
    else:
        blurred = blur(sharp_full, kernels)[:, :, margin : margin + size, margin : margin + size]
    sharp = sharp_full[:, :, margin : margin + size, margin : margin + size]
    # the model sees 8-bit input at test time, so it trains on quantised input too
    blurred = compressed(noisy(blurred, mix, generator), mix, generator)
    return blurred.contiguous(), sharp.contiguous(), drawn
