"""StackGAN (Zhang et al. 2017), class-conditional: conditioning augmentation turns the class embedding
e into c ~ N(mu(e), sigma(e)^2); stage I draws a half-size image from (z, c); stage II refines it to
full size, conditioned on the same c. One D per stage, each conditional (projection).

The two stages are one module G(z, labels), so sampling and the latent explorer see one generator.
"""

from __future__ import annotations

import torch
from torch import nn

from gandash.nets.blocks import ResidualBlock, SmallConvD, down
from gandash.nets.common import dcgan_init, embed_labels

COND_DIM = 16  # size of c (the paper: 128 for text embeddings; a class needs far less)
EMBED_DIM = 32  # size of the class embedding e, the stand-in for the paper's text embedding


class ConditioningAugmentation(nn.Module):
    """e = embed(y) -> (mu, log sigma^2) -> c = mu + sigma * eps. The KL term keeps the conditioning
    manifold smooth; sampling c makes a few classes look like many conditions."""

    def __init__(self, num_classes: int):
        super().__init__()
        self.embedding = nn.Embedding(num_classes, EMBED_DIM)
        self.project = nn.Linear(EMBED_DIM, 2 * COND_DIM)

    def forward(self, labels: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        # the paper's code passes both halves through a ReLU, which keeps sigma >= 1; a plain linear layer
        # lets the KL term and D settle sigma
        mu, logvar = self.project(embed_labels(self.embedding, labels)).chunk(2, 1)
        if not self.training:  # sampling: the same z and class always give the same image
            return mu, mu, logvar
        return mu + torch.randn_like(mu) * (0.5 * logvar).exp(), mu, logvar


class StageOne(nn.Module):
    """(z, c) -> Linear -> (2w, S/4, S/4) -> ConvTranspose x2 -> (C, S/2, S/2), tanh."""

    def __init__(self, z_dim: int, channels: int, low: int, width: int):
        super().__init__()
        self.seed, self.width = low // 2, width
        self.fc = nn.Sequential(
            nn.Linear(z_dim + COND_DIM, 2 * width * self.seed**2, bias=False),
            nn.BatchNorm1d(2 * width * self.seed**2),
            nn.ReLU(True),
        )
        self.up = nn.Sequential(
            nn.ConvTranspose2d(2 * width, width, 4, 2, 1, bias=False),
            nn.BatchNorm2d(width),
            nn.ReLU(True),
            nn.Conv2d(width, channels, 3, 1, 1),
            nn.Tanh(),
        )

    def forward(self, z: torch.Tensor, c: torch.Tensor) -> torch.Tensor:
        h = self.fc(torch.cat([z, c], 1)).view(len(z), 2 * self.width, self.seed, self.seed)
        return self.up(h)


class StageTwo(nn.Module):
    """(stage-I image, c) -> encode -> join c spatially -> residual block -> upsample -> (C, S, S), tanh."""

    def __init__(self, channels: int, width: int):
        super().__init__()
        self.encode = nn.Sequential(nn.Conv2d(channels, width, 3, 1, 1), nn.ReLU(True))
        self.join = nn.Sequential(
            nn.Conv2d(width + COND_DIM, 2 * width, 3, 1, 1, bias=False),
            nn.BatchNorm2d(2 * width),
            nn.ReLU(True),
            ResidualBlock(2 * width),
        )
        self.up = nn.Sequential(
            nn.Upsample(scale_factor=2, mode="nearest"),
            nn.Conv2d(2 * width, width, 3, 1, 1, bias=False),
            nn.BatchNorm2d(width),
            nn.ReLU(True),
            nn.Conv2d(width, channels, 3, 1, 1),
            nn.Tanh(),
        )

    def forward(self, low: torch.Tensor, c: torch.Tensor) -> torch.Tensor:
        h = self.encode(low)
        plane = c[:, :, None, None].expand(-1, -1, h.shape[2], h.shape[3])
        return self.up(self.join(torch.cat([h, plane], 1)))


class StackGenerator(nn.Module):
    def __init__(self, z_dim: int, channels: int, image_size: int, width: int = 64, num_classes: int = 10):
        super().__init__()
        self.z_dim = z_dim
        self.condition = ConditioningAugmentation(num_classes)
        self.stage1 = StageOne(z_dim, channels, image_size // 2, width)
        self.stage2 = StageTwo(channels, width)
        self.apply(dcgan_init)

    def stages(self, z: torch.Tensor, labels: torch.Tensor):
        """(low-resolution image, full image, mu, log sigma^2). Stage II sees stage I's image detached:
        in the paper stage I is trained first and then frozen, so stage II must not reshape it."""
        if labels is None:
            raise ValueError("StackGAN is conditional: pass labels")
        c, mu, logvar = self.condition(labels)
        low = self.stage1(z, c)
        return low, self.stage2(low.detach(), c), mu, logvar

    def forward(self, z: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        return self.stages(z, labels)[1]


class StackDiscriminator(nn.Module):
    """D of stage I on the half-size image and D of stage II on the full one, both conditional."""

    def __init__(self, channels: int, image_size: int, width: int = 64, num_classes: int = 10):
        super().__init__()
        self.low = SmallConvD(channels, image_size // 2, width, num_classes)
        self.high = SmallConvD(channels, image_size, width, num_classes)

    def forward(self, x: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        """A full image judged by both stages' Ds (the mean of their logits): (N, C, S, S) -> (N,)."""
        return 0.5 * (self.high(x, labels) + self.low(down(x), labels))
