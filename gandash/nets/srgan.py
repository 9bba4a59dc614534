"""SRGAN (Ledig et al. 2017): a residual generator that enlarges x4 with a sub-pixel convolution
(PixelShuffle), and a strided-conv D.

The generator adds what it learns to the bicubic enlargement of its input (a global skip, as in VDSR and
EDSR): its last conv starts at zero, so an untrained net is exactly bicubic and training can only add
detail to it. Every conv runs on the small image and one PixelShuffle(4) makes the 16 sub-pixel phases
into the large one (ESPCN), which makes it cheap enough to train on a CPU; its residual blocks have no
BatchNorm (EDSR: BatchNorm's batch statistics shift colours and contrast at test time) and the residual
no tanh (it is a difference, not an image; the output is clamped to [-1, 1] outside training only).

LegacySRGenerator is the first generator (9x9 convs, BatchNorm, two x2 shuffles, tanh): runs trained
before issue #22 load into it, chosen by their weights (`matching`).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from gandash.nets.blocks import ResidualBlock, SmallConvD

SCALE = 4
BLOCKS = 8


def bicubic_up(low: torch.Tensor, scale: int = SCALE) -> torch.Tensor:
    """x`scale` by the bicubic filter Pillow enlarges with (a = -0.5, what torch's antialiased mode uses):
    the baseline the Deblur page shows, so the net's residual is measured from exactly it."""
    return F.interpolate(low, scale_factor=scale, mode="bicubic", align_corners=False, antialias=True)


class PlainBlock(nn.Module):
    """x + conv(relu(conv(x))), 3x3, no normalisation (EDSR's residual block)."""

    def __init__(self, width: int):
        super().__init__()
        self.body = nn.Sequential(
            nn.Conv2d(width, width, 3, 1, 1), nn.ReLU(inplace=True), nn.Conv2d(width, width, 3, 1, 1)
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.body(x)


class SRGenerator(nn.Module):
    """(N, C, S/4, S/4) -> bicubic x4 + PixelShuffle(4)(conv 3x3 <- [conv 3x3 -> blocks -> conv 3x3, + a long
    skip]) -> (N, C, S, S)."""

    scale = SCALE  # architecture tables and tests feed it images of a quarter of the size

    def __init__(self, channels: int, width: int = 64, blocks: int = BLOCKS):
        super().__init__()
        self.head = nn.Conv2d(channels, width, 3, 1, 1)
        self.body = nn.Sequential(*[PlainBlock(width) for _ in range(blocks)], nn.Conv2d(width, width, 3, 1, 1))
        self.tail = nn.Conv2d(width, channels * SCALE * SCALE, 3, 1, 1)  # the 16 sub-pixel phases of each channel
        self.shuffle = nn.PixelShuffle(SCALE)
        nn.init.zeros_(self.tail.weight)  # starts as bicubic; the gradient still reaches it through the body
        nn.init.zeros_(self.tail.bias)

    @staticmethod
    def reach(blocks: int = BLOCKS) -> int:
        """How many input pixels away an output pixel can see: one per 3x3 conv."""
        return 2 * blocks + 3

    def forward(self, low: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        h = self.head(low)
        out = bicubic_up(low) + self.shuffle(self.tail(h + self.body(h)))
        return out if self.training else out.clamp(-1, 1)

    def matching(self, weights: dict) -> nn.Module:
        """This net, or a LegacySRGenerator of the same channels and width when `weights` are of that layout."""
        if "tail.0.weight" not in weights:
            return self
        channels, width = weights["tail.0.weight"].shape[:2]
        blocks = len({key.split(".")[1] for key in weights if key.startswith("body.") and ".body." in key})
        return LegacySRGenerator(channels, width, blocks)


class LegacySRGenerator(nn.Module):
    """The first SRGAN generator: (N, C, S/4, S/4) -> conv 9x9 -> residual blocks with BatchNorm (+ a long
    skip) -> 2 x (conv, PixelShuffle(2), PReLU) -> conv 9x9 -> tanh -> (N, C, S, S). On photos it stayed
    below bicubic (bench/upscale.py); kept so that the runs trained with it still load."""

    scale = SCALE

    def __init__(self, channels: int, width: int = 64, blocks: int = 4):
        super().__init__()
        self.head = nn.Sequential(nn.Conv2d(channels, width, 9, 1, 4), nn.PReLU(width))
        self.body = nn.Sequential(
            *[ResidualBlock(width) for _ in range(blocks)], nn.Conv2d(width, width, 3, 1, 1), nn.BatchNorm2d(width)
        )
        upsample = []
        for _ in range(2):  # x2 twice: sub-pixel convolution (Shi et al. 2016) instead of transposed convs
            upsample += [nn.Conv2d(width, width * 4, 3, 1, 1), nn.PixelShuffle(2), nn.PReLU(width)]
        self.upsample = nn.Sequential(*upsample)
        self.tail = nn.Sequential(nn.Conv2d(width, channels, 9, 1, 4), nn.Tanh())

    def forward(self, low: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        h = self.head(low)
        return self.tail(self.upsample(h + self.body(h)))


def build(channels: int, image_size: int, width: int) -> tuple[SRGenerator, SmallConvD]:
    # D: strided convs with LeakyReLU down to 4x4, then a dense layer (the paper's D, with fewer layers)
    return SRGenerator(channels, width), SmallConvD(channels, image_size, width)
