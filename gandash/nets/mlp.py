"""Fully connected nets: the vanilla GAN of Goodfellow et al. (2014) and the toy 2D nets."""

from __future__ import annotations

import math

import torch
from torch import nn

from gandash.nets.common import embed_labels, maybe_sn, projection


class MLPGenerator(nn.Module):
    """z (N, z_dim) -> Linear+LeakyReLU layers -> tanh -> (N, *out_shape); linear output for points.

    generators > 1 makes it a mixture of generators that share every weight but a bias of the first
    layer (MGAN, Hoang et al. 2018). Which one draws a sample is decided by z's first coordinate
    (its normal CDF cut into equal slices), so G is still a function of Gaussian noise, but one that
    can jump: a single continuous map from a connected z-space must lay samples along the paths
    between separate modes, and with 25 modes a third of the samples fell there."""

    def __init__(self, z_dim: int, out_shape: tuple[int, ...], hidden: tuple[int, ...],
                 num_classes: int = 0, tanh: bool = True, batch_norm: bool = False, generators: int = 1):
        super().__init__()
        self.out_shape = tuple(out_shape)
        self.z_dim = z_dim
        self.generators = generators
        self.generator_bias = nn.Embedding(generators, hidden[0]) if generators > 1 else None
        if self.generator_bias is not None:
            nn.init.normal_(self.generator_bias.weight, 0.0, 1.0)  # distinct from the start
        self.label_embedding = nn.Embedding(num_classes, num_classes) if num_classes else None
        layers, width = [], z_dim + num_classes
        for size in hidden:
            layers += [nn.Linear(width, size)]
            layers += [nn.BatchNorm1d(size)] if batch_norm else []
            layers += [nn.LeakyReLU(0.2)]
            width = size
        layers += [nn.Linear(width, math.prod(out_shape))] + ([nn.Tanh()] if tanh else [])
        self.net = nn.Sequential(*layers)

    def which_generator(self, z: torch.Tensor) -> torch.Tensor:
        """(N,) the index of the mixture's generator that draws each z: equal shares of N(0, 1)."""
        uniform = 0.5 * (1.0 + torch.erf(z[:, 0].float() / math.sqrt(2.0)))
        return (uniform * self.generators).long().clamp_(0, self.generators - 1)

    def forward(self, z: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        inputs = z
        if self.label_embedding is not None:
            inputs = torch.cat([z, embed_labels(self.label_embedding, labels)], 1)
        if self.generator_bias is None:
            return self.net(inputs).view(len(z), *self.out_shape)
        first = self.net[0](inputs) + self.generator_bias(self.which_generator(z)).to(inputs.dtype)
        return self.net[1:](first).view(len(z), *self.out_shape)


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
