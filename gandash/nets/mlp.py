"""Fully connected nets: the vanilla GAN of Goodfellow et al. (2014) and the toy 2D nets."""

from __future__ import annotations

import math

import torch
from torch import nn

from gandash.nets.common import embed_labels, maybe_sn, projection


class MLPGenerator(nn.Module):
    """z (N, z_dim) -> Linear+LeakyReLU layers -> tanh -> (N, *out_shape); linear output for points."""

    def __init__(self, z_dim: int, out_shape: tuple[int, ...], hidden: tuple[int, ...],
                 num_classes: int = 0, tanh: bool = True, batch_norm: bool = False):
        super().__init__()
        self.out_shape = tuple(out_shape)
        self.z_dim = z_dim
        self.label_embedding = nn.Embedding(num_classes, num_classes) if num_classes else None
        layers, width = [], z_dim + num_classes
        for size in hidden:
            layers += [nn.Linear(width, size)]
            layers += [nn.BatchNorm1d(size)] if batch_norm else []
            layers += [nn.LeakyReLU(0.2)]
            width = size
        layers += [nn.Linear(width, math.prod(out_shape))] + ([nn.Tanh()] if tanh else [])
        self.net = nn.Sequential(*layers)

    def forward(self, z: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        if self.label_embedding is not None:
            z = torch.cat([z, embed_labels(self.label_embedding, labels)], 1)
        return self.net(z).view(len(z), *self.out_shape)


class MLPDiscriminator(nn.Module):
    """(N, *in_shape) -> flattened -> LeakyReLU layers -> one logit; `pack` rows are judged together
    (PacGAN, Lin et al. 2018) so the discriminator can see a lack of diversity."""

    def __init__(self, in_shape: tuple[int, ...], hidden: tuple[int, ...], num_classes: int = 0,
                 spectral: bool = False, pack: int = 1):
        super().__init__()
        self.pack = pack
        layers, width = [], math.prod(in_shape) * pack
        for size in hidden:
            layers += [maybe_sn(nn.Linear(width, size), spectral), nn.LeakyReLU(0.2)]
            width = size
        self.features = nn.Sequential(*layers)
        self.head = maybe_sn(nn.Linear(width, 1), spectral)
        self.label_embedding = nn.Embedding(num_classes, width) if num_classes else None

    def forward(self, x: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        flat = x.reshape(len(x) // self.pack, -1)  # (N / pack, pack * features)
        h = self.features(flat)
        return projection(self.head(h).squeeze(1), h, self.label_embedding, labels)
