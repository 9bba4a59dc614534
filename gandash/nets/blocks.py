"""Small building blocks shared by the multi-network variants (LAPGAN, StackGAN, DiscoGAN, SRGAN)."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from gandash.nets.common import dcgan_init, embed_labels


class SmallConvD(nn.Module):
    """(N, C, S, S) -> strided 4x4 convs (LeakyReLU 0.2) until the map is at most 4 px -> one logit.
    With `num_classes`, a projection term <embed(y), pooled features> (Miyato & Koyama 2018) makes it
    conditional. Works for any S >= 4 (7, 14, 28, 32, 64 ...), which DCGAN's D does not."""

    def __init__(self, in_channels: int, size: int, width: int, num_classes: int = 0):
        super().__init__()
        layers, channels = [], in_channels
        while size > 4:  # halve the size, double the channels (capped), down to <= 4 x 4
            out = min(width * 2 ** (len(layers) // 2), width * 8)
            layers += [nn.Conv2d(channels, out, 4, 2, 1), nn.LeakyReLU(0.2, inplace=True)]
            channels, size = out, size // 2
        if not layers:  # already tiny: one 3x3 conv so there is something to learn
            layers = [nn.Conv2d(channels, width, 3, 1, 1), nn.LeakyReLU(0.2, inplace=True)]
            channels = width
        self.features = nn.Sequential(*layers)  # (N, channels, size, size)
        self.head = nn.Linear(channels * size * size, 1)
        self.label_embedding = nn.Embedding(num_classes, channels) if num_classes else None
        self.apply(dcgan_init)

    def forward(self, x: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        h = self.features(x)
        logits = self.head(h.flatten(1)).squeeze(1)
        if self.label_embedding is None:
            return logits
        if labels is None:
            raise ValueError("this discriminator is conditional: pass labels")
        return logits + (embed_labels(self.label_embedding, labels) * h.mean((2, 3))).sum(1)


class ResidualBlock(nn.Module):
    """x + conv(relu(conv(x))), 3x3, same size (He et al. 2016; SRGAN's and StackGAN's G bodies)."""

    def __init__(self, channels: int, norm: bool = True):
        super().__init__()
        norm_layer = (lambda: nn.BatchNorm2d(channels)) if norm else nn.Identity
        self.body = nn.Sequential(
            nn.Conv2d(channels, channels, 3, 1, 1),
            norm_layer(),
            nn.PReLU(channels),
            nn.Conv2d(channels, channels, 3, 1, 1),
            norm_layer(),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.body(x)


def down(x: torch.Tensor) -> torch.Tensor:
    """Half the size by 2x2 averaging (one pyramid level down)."""
    return F.avg_pool2d(x, 2)


def up(x: torch.Tensor, size: int | None = None) -> torch.Tensor:
    """Twice the size (or `size`) by bilinear interpolation (one pyramid level up)."""
    target = (size, size) if size else (x.shape[-2] * 2, x.shape[-1] * 2)
    return F.interpolate(x, size=target, mode="bilinear", align_corners=False)
