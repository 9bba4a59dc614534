"""Image-to-image nets for deblurring: the seeds' small GAN and a residual U-Net with a PatchGAN.

Generators take a blurry image (N, C, H, W) in [-1, 1] and return the restored one, same shape;
the second argument (labels) is accepted and ignored so they fit the trainer's G(x, labels) calls.
Discriminators return logits (the sigmoid lives in the loss: BCEWithLogits is the stable form).
"""

from __future__ import annotations

import torch
from torch import nn
from torch.nn.utils import spectral_norm

MULTIPLE = 16  # DeblurUNet needs H and W divisible by this (pixel-unshuffle 2, then two stride-2 levels)


class SeedGenerator(nn.Module):
    """The seed tutorial's generator: conv C->64->64->C with ReLU, tanh out; it sees a 7x7 window."""

    def __init__(self, channels: int = 3, width: int = 64):
        super().__init__()
        self.body = nn.Sequential(
            nn.Conv2d(channels, width, 3, padding=1), nn.ReLU(inplace=True),
            nn.Conv2d(width, width, 3, padding=1), nn.ReLU(inplace=True),
            nn.Conv2d(width, channels, 3, padding=1), nn.Tanh())

    def forward(self, x: torch.Tensor, labels=None) -> torch.Tensor:
        return self.body(x)


class SeedDiscriminator(nn.Module):
    """The seed tutorial's discriminator: strided convs, then a linear layer to one logit. The pool
    before the linear layer lets it judge crops of any size."""

    def __init__(self, channels: int = 3, width: int = 64):
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(channels, width, 4, 2, 1), nn.LeakyReLU(0.2, inplace=True),         # (w, H/2, W/2)
            nn.Conv2d(width, width * 2, 4, 2, 1), nn.LeakyReLU(0.2, inplace=True),     # (2w, H/4, W/4)
            nn.AdaptiveAvgPool2d(4))                                                   # (2w, 4, 4)
        self.head = nn.Linear(width * 2 * 16, 1)

    def forward(self, x: torch.Tensor, labels=None) -> torch.Tensor:
        return self.head(self.features(x).flatten(1)).squeeze(1)


class ResBlock(nn.Module):
    """conv-ReLU-conv plus the identity; no normalisation (it shifts colours in restoration nets)."""

    def __init__(self, width: int):
        super().__init__()
        self.body = nn.Sequential(nn.Conv2d(width, width, 3, padding=1), nn.ReLU(inplace=True),
                                  nn.Conv2d(width, width, 3, padding=1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.body(x)


class Up(nn.Module):
    """x2 upsampling by a 1x1 conv and pixel shuffle (no checkerboard of transposed convs)."""

    def __init__(self, width_in: int, width_out: int):
        super().__init__()
        self.body = nn.Sequential(nn.Conv2d(width_in, width_out * 4, 1), nn.PixelShuffle(2))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.body(x)


class DeblurUNet(nn.Module):
    """A residual U-Net that predicts the correction to its input (global skip: output = x + G(x)),
    plus a per-pixel mix of learned large filters of the input.

    The first step is a pixel unshuffle to half resolution with 4x the channels, so every conv runs
    on a quarter of the pixels: that is what makes a 12-megapixel photo take seconds on a CPU. Three
    levels (H/2, H/4, H/8) give a receptive field of about 100 px, wider than a 21 px motion blur.
    """

    def __init__(self, channels: int = 3, width: int = 24, blocks: int = 2, filters: int = 4, reach: int = 15):
        super().__init__()
        c, w = channels, width
        # A bank of large learned linear filters, mixed per pixel by gates the U-Net predicts: undoing a
        # blur is mostly a large linear filter (Wiener's), which gradient descent finds in a few hundred
        # steps, while the deep path alone needs many thousands to grow one from 3x3 convs.
        self.filters = nn.Conv2d(1, filters, reach, padding=reach // 2, bias=False)
        nn.init.zeros_(self.filters.weight)
        self.gates = nn.Sequential(nn.Conv2d(w, 4 * filters, 3, padding=1), nn.PixelShuffle(2))  # (K, H, W)
        self.head = nn.Sequential(nn.PixelUnshuffle(2), nn.Conv2d(4 * c, w, 3, padding=1))   # (w, H/2, W/2)
        self.enc1 = nn.Sequential(*[ResBlock(w) for _ in range(blocks - 1)])
        self.down1 = nn.Conv2d(w, 2 * w, 3, stride=2, padding=1)                           # (2w, H/4, W/4)
        self.enc2 = nn.Sequential(*[ResBlock(2 * w) for _ in range(blocks - 1)])
        self.down2 = nn.Conv2d(2 * w, 4 * w, 3, stride=2, padding=1)                       # (4w, H/8, W/8)
        self.middle = nn.Sequential(*[ResBlock(4 * w) for _ in range(blocks)])
        self.up2 = Up(4 * w, 2 * w)                                                        # (2w, H/4, W/4)
        self.dec2 = nn.Sequential(*[ResBlock(2 * w) for _ in range(blocks - 1)])
        self.up1 = Up(2 * w, w)                                                            # (w, H/2, W/2)
        self.dec1 = nn.Sequential(*[ResBlock(w) for _ in range(blocks - 1)])
        self.tail = nn.Sequential(nn.Conv2d(w, 4 * c, 3, padding=1), nn.PixelShuffle(2))   # (c, H, W)
        nn.init.zeros_(self.tail[0].weight)  # start as the identity: training only adds sharpening
        nn.init.zeros_(self.tail[0].bias)

    def forward(self, x: torch.Tensor, labels=None) -> torch.Tensor:
        s1 = self.enc1(self.head(x))
        s2 = self.enc2(self.down1(s1))
        y = self.middle(self.down2(s2))
        y = self.dec2(self.up2(y) + s2)
        y = self.dec1(self.up1(y) + s1)
        n, c, h, w = x.shape
        banked = self.filters(x.reshape(n * c, 1, h, w)).reshape(n, c, -1, h, w)    # (N, C, K, H, W)
        gates = 1.0 / banked.shape[2] + self.gates(y).unsqueeze(1)                 # (N, 1, K, H, W)
        return x + self.tail(y) + (banked * gates).sum(2)


class PatchDiscriminator(nn.Module):
    """pix2pix's PatchGAN with spectral norm on every layer: one logit per ~46 px patch, so D judges
    local sharpness and texture rather than the whole picture."""

    def __init__(self, channels: int = 3, width: int = 32):
        super().__init__()
        w = width
        self.body = nn.Sequential(
            spectral_norm(nn.Conv2d(channels, w, 4, 2, 1)), nn.LeakyReLU(0.2, inplace=True),      # (w, H/2)
            spectral_norm(nn.Conv2d(w, 2 * w, 4, 2, 1)), nn.LeakyReLU(0.2, inplace=True),         # (2w, H/4)
            spectral_norm(nn.Conv2d(2 * w, 4 * w, 4, 2, 1)), nn.LeakyReLU(0.2, inplace=True),     # (4w, H/8)
            spectral_norm(nn.Conv2d(4 * w, 1, 3, padding=1)))                                     # (1, H/8)

    def forward(self, x: torch.Tensor, labels=None) -> torch.Tensor:
        return self.body(x).flatten(1)  # (N, patches)
