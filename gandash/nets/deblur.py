"""Image-to-image nets for deblurring: the seeds' small GAN and a residual U-Net with a PatchGAN.

Generators take a blurry image (N, C, H, W) in [-1, 1] and return the restored one, same shape. Their
second argument is the condition, as class labels are for conditional GANs: the blur kernels of the
batch (N, K, K), which the U-Net deconvolves with and the seed's net ignores.
Discriminators return logits (the sigmoid lives in the loss: BCEWithLogits is the stable form).
"""

from __future__ import annotations

import scipy.fft
import torch
import torch.nn.functional as F
from torch import nn
from torch.nn.utils import spectral_norm

MULTIPLE = 16  # DeblurUNet needs H and W divisible by this (pixel-unshuffle 2, then two stride-2 levels)


class SeedGenerator(nn.Module):
    """The seed tutorial's generator: conv C->64->64->C with ReLU, tanh out; it sees a 7x7 window."""

    def __init__(self, channels: int = 3, width: int = 64):
        super().__init__()
        self.body = nn.Sequential(
            nn.Conv2d(channels, width, 3, padding=1),
            nn.ReLU(inplace=True),
            nn.Conv2d(width, width, 3, padding=1),
            nn.ReLU(inplace=True),
            nn.Conv2d(width, channels, 3, padding=1),
            nn.Tanh(),
        )

    def forward(self, x: torch.Tensor, labels=None) -> torch.Tensor:
        return self.body(x)


class SeedDiscriminator(nn.Module):
    """The seed tutorial's discriminator: strided convs, then a linear layer to one logit. The pool
    before the linear layer lets it judge crops of any size."""

    def __init__(self, channels: int = 3, width: int = 64):
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(channels, width, 4, 2, 1),
            nn.LeakyReLU(0.2, inplace=True),  # (w, H/2, W/2)
            nn.Conv2d(width, width * 2, 4, 2, 1),
            nn.LeakyReLU(0.2, inplace=True),  # (2w, H/4, W/4)
            nn.AdaptiveAvgPool2d(4),
        )  # (2w, 4, 4)
        self.head = nn.Linear(width * 2 * 16, 1)

    def forward(self, x: torch.Tensor, labels=None) -> torch.Tensor:
        return self.head(self.features(x).flatten(1)).squeeze(1)


class ResBlock(nn.Module):
    """conv-ReLU-conv plus the identity; no normalisation (it shifts colours in restoration nets)."""

    def __init__(self, width: int):
        super().__init__()
        self.body = nn.Sequential(
            nn.Conv2d(width, width, 3, padding=1), nn.ReLU(inplace=True), nn.Conv2d(width, width, 3, padding=1)
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.body(x)


class Up(nn.Module):
    """x2 upsampling by a 1x1 conv and pixel shuffle (no checkerboard of transposed convs)."""

    def __init__(self, width_in: int, width_out: int):
        super().__init__()
        self.body = nn.Sequential(nn.Conv2d(width_in, width_out * 4, 1), nn.PixelShuffle(2))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.body(x)


def _framed(x: torch.Tensor, k: int, margin: int = 1, fast: bool = False) -> tuple[torch.Tensor, int]:
    """(x mirror-padded by `margin` times the kernels' size `k`, so the FFT's wrap-around stays off the
    picture, and with `fast` further on the bottom and right to sizes the FFT is fast at (a window of 1306 px,
    twice a prime, took 2-5x as long as 1350); the padding before the picture)."""
    h, w = x.shape[-2:]
    pad = margin * k
    bottom, right = pad, pad
    if fast:
        bottom, right = (scipy.fft.next_fast_len(size + 2 * pad, real=True) - size - pad for size in (h, w))
    mode = "reflect" if min(h, w) > max(pad, bottom, right) else "replicate"
    return F.pad(x.float(), (pad, right, pad, bottom), mode=mode), pad


def _transfers(kernels: torch.Tensor, size: torch.Size) -> torch.Tensor:
    """The (N, 1) rfft2 transfer functions of (N, K, K) kernels on images of `size`, each kernel's centre at
    the origin (no shift)."""
    n, k = kernels.shape[0], kernels.shape[-1]
    psf = torch.zeros((n, 1, *size), device=kernels.device)
    psf[:, 0, :k, :k] = kernels.float()
    return torch.fft.rfft2(torch.roll(psf, (-(k // 2), -(k // 2)), (2, 3)))


def wiener(x: torch.Tensor, kernels: torch.Tensor, balances: tuple[float, ...]) -> list[torch.Tensor]:
    """Wiener deconvolutions of (N, C, H, W) images, each by its own kernel of (N, K, K), with a Laplacian
    regulariser (scikit-image's form: conj(K) Y / (|K|^2 + balance |L|^2)), one per balance: the
    transforms of the images and kernels are shared. Mirror padding keeps the FFT's wrap-around off
    the picture. The mean is kept exactly (L(0) = 0, K(0) = 1)."""
    h, w = x.shape[-2:]
    x, pad = _framed(x, kernels.shape[-1])
    size = x.shape[-2:]
    transfer = _transfers(kernels, size)
    laplacian = torch.zeros((1, 1, *size), device=x.device)
    laplacian[0, 0, 0, 0] = 4
    laplacian[0, 0, 0, 1] = laplacian[0, 0, 1, 0] = laplacian[0, 0, 0, -1] = laplacian[0, 0, -1, 0] = -1
    power, roughness = transfer.abs().pow(2), torch.fft.rfft2(laplacian).abs().pow(2)
    spectrum = torch.fft.rfft2(x) * transfer.conj()
    return [
        torch.fft.irfft2(spectrum / (power + balance * roughness), s=size)[..., pad : pad + h, pad : pad + w]
        for balance in balances
    ]


def consistent(restored: torch.Tensor, blurry: torch.Tensor, kernels: torch.Tensor, weight: float) -> torch.Tensor:
    """argmin_x |kernel * x - blurry|^2 + weight |x - restored|^2 for each of (N, C, H, W) images and its kernel
    of (N, K, K), solved in Fourier: (conj(K) Y + weight R) / (|K|^2 + weight). A restored image pulled back to
    what the blurry one shows through the kernel, at the frequencies the kernel passes (|K|^2 well above
    `weight`); where it blots them out, the restored image stands. The mean is kept. Mirror padding three
    kernels wide: the frame's wrapped edges cannot both be explained, and with a light `weight` the misfit
    there rings far in (with one kernel's width, a 640 px photo restored 1.1 dB worse; two, 0.06)."""
    h, w = blurry.shape[-2:]
    y, pad = _framed(blurry, kernels.shape[-1], margin=3, fast=True)
    r = _framed(restored, kernels.shape[-1], margin=3, fast=True)[0]
    transfer = _transfers(kernels, y.shape[-2:])
    mixed = transfer.conj() * torch.fft.rfft2(y) + weight * torch.fft.rfft2(r)
    out = torch.fft.irfft2(mixed / (transfer.abs().pow(2) + weight), s=y.shape[-2:])
    return out[..., pad : pad + h, pad : pad + w]


class DeblurUNet(nn.Module):
    """Wiener deconvolution with the blur's kernel, then a residual U-Net that corrects it.

    Given the kernel (estimated from the whole photo by gandash.kernel_estimate, or the true one in
    training), Wiener filtering undoes the blur in one linear step but rings at edges, amplifies
    noise and keeps what the kernel estimate got wrong. The U-Net sees the blurry input and two
    Wiener estimates (a sharp, noisy one and a smooth one) and predicts the correction to the
    smooth one (global skip): it learns the image prior Wiener lacks, not deconvolution itself.

    The first step is a pixel unshuffle to half resolution with 4x the channels, so every conv runs
    on a quarter of the pixels: that is what makes a 12-megapixel photo take seconds on a CPU. Three
    levels (H/2, H/4, H/8) give a receptive field of about 100 px, wider than a 21 px motion blur.
    """

    BALANCES = (0.002, 0.02)

    def __init__(self, channels: int = 3, width: int = 24, blocks: int = 2):
        super().__init__()
        c, w = channels, width
        inputs = c * (1 + len(self.BALANCES))
        self.head = nn.Sequential(nn.PixelUnshuffle(2), nn.Conv2d(4 * inputs, w, 3, padding=1))  # (w, H/2, W/2)
        self.enc1 = nn.Sequential(*[ResBlock(w) for _ in range(blocks - 1)])
        self.down1 = nn.Conv2d(w, 2 * w, 3, stride=2, padding=1)  # (2w, H/4, W/4)
        self.enc2 = nn.Sequential(*[ResBlock(2 * w) for _ in range(blocks - 1)])
        self.down2 = nn.Conv2d(2 * w, 4 * w, 3, stride=2, padding=1)  # (4w, H/8, W/8)
        self.middle = nn.Sequential(*[ResBlock(4 * w) for _ in range(blocks)])
        self.up2 = Up(4 * w, 2 * w)  # (2w, H/4, W/4)
        self.dec2 = nn.Sequential(*[ResBlock(2 * w) for _ in range(blocks - 1)])
        self.up1 = Up(2 * w, w)  # (w, H/2, W/2)
        self.dec1 = nn.Sequential(*[ResBlock(w) for _ in range(blocks - 1)])
        self.tail = nn.Sequential(nn.Conv2d(w, 4 * c, 3, padding=1), nn.PixelShuffle(2))  # (c, H, W)
        nn.init.zeros_(self.tail[0].weight)  # start as the smooth Wiener estimate: training only corrects it
        nn.init.zeros_(self.tail[0].bias)

    @property
    def channels(self) -> int:
        return self.tail[0].out_channels // 4

    def forward(self, x: torch.Tensor, kernels: torch.Tensor | None = None) -> torch.Tensor:
        """x (N, C, H, W) in [-1, 1], kernels (N, K, K) summing to 1 (None: no blur, the identity)."""
        if kernels is None:
            kernels = torch.ones((len(x), 1, 1), device=x.device)
        estimates = [estimate.to(x.dtype) for estimate in wiener(x, kernels, self.BALANCES)]
        s1 = self.enc1(self.head(torch.cat([x, *estimates], 1)))
        s2 = self.enc2(self.down1(s1))
        y = self.middle(self.down2(s2))
        y = self.dec2(self.up2(y) + s2)
        y = self.dec1(self.up1(y) + s1)
        return estimates[-1] + self.tail(y)


class KernelEstimator(nn.Module):
    """Names the blur kernel from a photo's (1, 64, 64) Welch log spectrum (gandash.kernel_estimate):
    logits over its GRID of kernels."""

    def __init__(self, classes: int, width: int = 32):
        super().__init__()
        w = width

        def stage(a: int, b: int, convs: int) -> list[nn.Module]:
            layers = []
            for i in range(convs):
                layers += [nn.Conv2d(a if i == 0 else b, b, 3, padding=1), nn.ReLU(inplace=True)]
            return layers + [nn.MaxPool2d(2)]

        self.features = nn.Sequential(
            *stage(1, w, 2), *stage(w, 2 * w, 2), *stage(2 * w, 4 * w, 1), *stage(4 * w, 4 * w, 1)
        )  # (4w, 4, 4)
        self.head = nn.Sequential(
            nn.Flatten(), nn.Linear(4 * w * 16, 256), nn.ReLU(inplace=True), nn.Linear(256, classes)
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.features(x))


class PatchDiscriminator(nn.Module):
    """pix2pix's PatchGAN with spectral norm on every layer: one logit per ~46 px patch, so D judges
    local sharpness and texture rather than the whole picture."""

    def __init__(self, channels: int = 3, width: int = 32):
        super().__init__()
        w = width
        self.body = nn.Sequential(
            spectral_norm(nn.Conv2d(channels, w, 4, 2, 1)),
            nn.LeakyReLU(0.2, inplace=True),  # (w, H/2)
            spectral_norm(nn.Conv2d(w, 2 * w, 4, 2, 1)),
            nn.LeakyReLU(0.2, inplace=True),  # (2w, H/4)
            spectral_norm(nn.Conv2d(2 * w, 4 * w, 4, 2, 1)),
            nn.LeakyReLU(0.2, inplace=True),  # (4w, H/8)
            spectral_norm(nn.Conv2d(4 * w, 1, 3, padding=1)),
        )  # (1, H/8)

    def forward(self, x: torch.Tensor, labels=None) -> torch.Tensor:
        return self.body(x).flatten(1)  # (N, patches)
