"""DiscoGAN (Kim et al. 2017): two translators, A -> B and B -> A, and a D per domain.

The wrapper's forward is the A -> B direction, so tools that run "the generator" on an image get the
translation; `ab` and `ba` are both there for the trainer and for the samples (a | G_AB(a) | G_BA(G_AB(a))).
"""

from __future__ import annotations

import torch
from torch import nn

from gandash.nets.blocks import SmallConvD
from gandash.nets.common import dcgan_init


class Translator(nn.Module):
    """(N, C, S, S) -> two strided convs (S/4) -> two transposed convs -> (N, C, S, S), tanh: the
    paper's encoder-decoder, two levels deep for 28-64 px images."""

    def __init__(self, channels: int, width: int):
        super().__init__()
        self.net = nn.Sequential(
            nn.Conv2d(channels, width, 4, 2, 1),
            nn.LeakyReLU(0.2, True),  # (w, S/2)
            nn.Conv2d(width, 2 * width, 4, 2, 1, bias=False),
            nn.BatchNorm2d(2 * width),
            nn.LeakyReLU(0.2, True),  # (2w, S/4)
            nn.ConvTranspose2d(2 * width, width, 4, 2, 1, bias=False),
            nn.BatchNorm2d(width),
            nn.ReLU(True),
            nn.ConvTranspose2d(width, channels, 4, 2, 1),
            nn.Tanh(),
        )  # (C, S)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)


class DiscoGenerator(nn.Module):
    def __init__(self, channels: int, width: int = 64):
        super().__init__()
        self.ab, self.ba = Translator(channels, width), Translator(channels, width)
        self.apply(dcgan_init)

    def forward(self, x: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        return self.ab(x)

    def forward_all(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        return self.ab(x), self.ba(x)


class DiscoDiscriminator(nn.Module):
    """D_A judges images of domain A, D_B those of domain B; forward is D_B (it judges G_AB's output)."""

    def __init__(self, channels: int, image_size: int, width: int = 64):
        super().__init__()
        self.a = SmallConvD(channels, image_size, width)
        self.b = SmallConvD(channels, image_size, width)

    def forward(self, x: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        return self.b(x)

    def forward_all(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        return self.a(x), self.b(x)
