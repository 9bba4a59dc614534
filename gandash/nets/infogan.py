"""InfoGAN (Chen et al. 2016): DCGAN nets whose z ends with latent codes, and a Q head on D's features.

z = [noise (z_dim - 12) | one-hot category (10) | two continuous codes in [-1, 1]]. Keeping the
codes as the last dimensions of the ordinary z means everything that feeds G a z (sampling, the
latent explorer, metrics) works unchanged; `CODES` tells the explorer where each code sits.
"""

from __future__ import annotations

import torch
from torch import nn

from gandash.nets import conv
from gandash.nets.common import dcgan_init

CATEGORIES = 10
CONTINUOUS = 2
CODE_DIM = CATEGORIES + CONTINUOUS
# (name, size, prior) of each code, in order at the end of z
CODES = (("category", CATEGORIES, "categorical"), ("c1", 1, "uniform"), ("c2", 1, "uniform"))


def sample_codes(n: int, generator: torch.Generator | None = None) -> torch.Tensor:
    """(n, 12) codes from their prior: a uniform one-hot category, then U(-1, 1) continuous codes."""
    category = torch.randint(CATEGORIES, (n,), generator=generator)
    one_hot = torch.nn.functional.one_hot(category, CATEGORIES).float()
    continuous = torch.rand(n, CONTINUOUS, generator=generator) * 2 - 1
    return torch.cat([one_hot, continuous], 1)


def prior_z(n: int, z_dim: int, generator: torch.Generator | None = None) -> torch.Tensor:
    """(n, z_dim): Gaussian noise followed by codes drawn from their prior."""
    noise = torch.randn(n, z_dim - CODE_DIM, generator=generator)
    return torch.cat([noise, sample_codes(n, generator)], 1)


class InfoGenerator(conv.ConvGenerator):
    """DCGAN's G on the whole z (noise and codes); `codes` describes the code layout."""

    codes = CODES


class InfoDiscriminator(conv.ConvDiscriminator):
    """DCGAN's D plus Q: FC 128 -> LeakyReLU -> (10 category logits, 2 continuous means) on the same
    conv features, so Q costs almost nothing beyond D (the paper's design)."""

    def __init__(self, channels: int, image_size: int, width: int = 64):
        super().__init__(channels, image_size, width, norm="batch")
        seed, doublings = conv.plan(image_size)
        features = width * 2 ** (doublings - 1) * seed * seed
        self.q = nn.Sequential(
            nn.Flatten(), nn.Linear(features, 128), nn.LeakyReLU(0.2, inplace=True), nn.Linear(128, CODE_DIM)
        )
        self.q.apply(dcgan_init)

    def forward_with_codes(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """(logits (N,), category logits (N, 10), continuous means (N, 2))."""
        h = self.main(x)
        q = self.q(h)
        return self.head(h).flatten(), q[:, :CATEGORIES], q[:, CATEGORIES:]

    forward_all = forward_with_codes  # architecture tables show the Q head
