"""SRGAN (Ledig et al. 2017): a residual generator that upsamples x4 with sub-pixel convolutions
(PixelShuffle), and a strided-conv D. The paper's G has 16 residual blocks of 64 channels; the
defaults here are smaller so it trains on a CPU.
"""

from __future__ import annotations

import torch
from torch import nn

from gandash.nets.blocks import ResidualBlock, SmallConvD

SCALE = 4


class SRGenerator(nn.Module):
    """(N, C, S/4, S/4) -> conv 9x9 -> residual blocks (+ a long skip) -> 2 x (conv, PixelShuffle(2),
    PReLU) -> conv 9x9 -> tanh -> (N, C, S, S)."""

    scale = SCALE  # architecture tables and tests feed it images of a quarter of the size

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
