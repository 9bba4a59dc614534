"""LAPGAN (Denton et al. 2015): a Laplacian pyramid of generators. The coarsest level makes a small
image from noise; each finer level sees the upsampled coarser image (and its own noise) and adds the
residual detail. One D per level judges the level's output given the same condition.

For 28 px the levels are 7 -> 14 -> 28. The chain is one module G(z, labels=None) with z split between
the levels, so sampling, the latent explorer and metrics see an ordinary generator.
"""

from __future__ import annotations

import torch
from torch import nn

from gandash.nets.blocks import SmallConvD, down, up
from gandash.nets.common import dcgan_init

LEVELS = 3


def sizes(image_size: int) -> list[int]:
    """Pyramid sizes from the coarsest: 28 -> [7, 14, 28]."""
    return [image_size // 2 ** (LEVELS - 1 - k) for k in range(LEVELS)]


def gaussian_pyramid(x: torch.Tensor) -> list[torch.Tensor]:
    """[coarsest, ..., x]: each level the 2x2 average of the next."""
    levels = [x]
    for _ in range(LEVELS - 1):
        levels.insert(0, down(levels[0]))
    return levels


def z_parts(z_dim: int) -> list[int]:
    return [len(part) for part in torch.arange(z_dim).tensor_split(LEVELS)]


class Refiner(nn.Module):
    """One finer level: (upsampled coarser image, a noise plane from this level's z) -> residual."""

    def __init__(self, channels: int, size: int, z_part: int, width: int):
        super().__init__()
        self.size = size
        self.noise = nn.Linear(z_part, size * size)  # z -> (N, 1, S, S), as LAPGAN's extra noise channel
        self.body = nn.Sequential(
            nn.Conv2d(channels + 1, width, 3, 1, 1),
            nn.BatchNorm2d(width),
            nn.ReLU(True),
            nn.Conv2d(width, width, 3, 1, 1),
            nn.BatchNorm2d(width),
            nn.ReLU(True),
            nn.Conv2d(width, channels, 3, 1, 1),
        )  # the residual: no tanh, it may be negative or > 1

    def forward(self, condition: torch.Tensor, z: torch.Tensor) -> torch.Tensor:
        plane = self.noise(z).view(len(z), 1, self.size, self.size)
        return self.body(torch.cat([condition, plane], 1))


class LapGenerator(nn.Module):
    def __init__(self, z_dim: int, channels: int, image_size: int, width: int = 64):
        super().__init__()
        self.z_dim, self.channels = z_dim, channels
        self.sizes = sizes(image_size)
        parts = z_parts(z_dim)
        coarse = self.sizes[0]
        # The coarsest level is small enough for an MLP, as in the paper; without BatchNorm it
        # collapsed to one image on Fashion-MNIST (the 4 000-step demo: 5 of 10 classes, 83% one class).
        self.coarse = nn.Sequential(
            nn.Linear(parts[0], width * 8),
            nn.BatchNorm1d(width * 8),
            nn.ReLU(True),
            nn.Linear(width * 8, width * 8),
            nn.BatchNorm1d(width * 8),
            nn.ReLU(True),
            nn.Linear(width * 8, channels * coarse * coarse),
            nn.Tanh(),
        )
        self.refiners = nn.ModuleList(Refiner(channels, s, p, width) for s, p in zip(self.sizes[1:], parts[1:]))
        self.apply(dcgan_init)

    def levels(self, z: torch.Tensor, conditions: list[torch.Tensor]) -> list[torch.Tensor]:
        """Each level's output given the conditions (upsampled coarser images, one per finer level):
        the coarsest image, then the residuals. Training passes the real pyramid's conditions."""
        parts = z.tensor_split(LEVELS, 1)
        s = self.sizes[0]
        outputs = [self.coarse(parts[0]).view(len(z), self.channels, s, s)]
        for refiner, condition, part in zip(self.refiners, conditions, parts[1:]):
            outputs.append(refiner(condition, part))
        return outputs

    def forward(self, z: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        """Sampling: each level refines the previous level's own output. (N, z_dim) -> (N, C, S, S)."""
        parts = z.tensor_split(LEVELS, 1)
        s = self.sizes[0]
        image = self.coarse(parts[0]).view(len(z), self.channels, s, s)
        for refiner, part in zip(self.refiners, parts[1:]):
            condition = up(image)
            # image + residual can overshoot [-1, 1]; real pyramids, which the next level was trained
            # on, never do
            image = (condition + refiner(condition, part)).clamp(-1, 1)
        return image


class LapDiscriminator(nn.Module):
    """A D per level: the coarsest judges small images; each finer one judges (condition, residual)."""

    def __init__(self, channels: int, image_size: int, width: int = 64):
        super().__init__()
        levels = sizes(image_size)
        self.judges = nn.ModuleList(
            [SmallConvD(channels, levels[0], width)] + [SmallConvD(2 * channels, s, width) for s in levels[1:]]
        )

    def level_logits(self, outputs: list[torch.Tensor], conditions: list[torch.Tensor]) -> list[torch.Tensor]:
        """Logits of each level's output (coarsest image, then residuals) given its condition."""
        logits = [self.judges[0](outputs[0])]
        for judge, residual, condition in zip(self.judges[1:], outputs[1:], conditions):
            logits.append(judge(torch.cat([condition, residual], 1)))
        return logits

    def forward(self, x: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        """A whole image judged level by level (the mean of the levels' logits): (N, C, S, S) -> (N,)."""
        outputs, conditions = laplacian(x)
        return torch.stack(self.level_logits(outputs, conditions)).mean(0)


def laplacian(x: torch.Tensor) -> tuple[list[torch.Tensor], list[torch.Tensor]]:
    """(outputs, conditions) of an image's Laplacian pyramid: outputs are the coarsest image and the
    residuals x_k - up(x_{k-1}); conditions are the upsampled coarser images up(x_{k-1})."""
    gaussians = gaussian_pyramid(x)
    conditions = [up(g) for g in gaussians[:-1]]
    residuals = [g - c for g, c in zip(gaussians[1:], conditions)]
    return [gaussians[0]] + residuals, conditions
