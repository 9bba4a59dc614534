"""The DCGAN family (Radford et al. 2016): ConvTranspose generator, strided-conv discriminator.

At 64x64 these are exactly the nets of pytorch/examples `dcgan/main.py` (ngf = ndf = 64,
BatchNorm, ReLU/LeakyReLU(0.2), tanh). Other sizes follow the same pattern from a 4x4 or
7x7 seed: 28 = 7*4, 32 = 4*8, 64 = 4*16, 128 = 4*32.

`extra_convs` deepens both without changing their sizes: that many 3x3 conv layers (with the same
norm and activation) after each block of G but the output one, and after each block of D but the
last. At 0 the nets, and their state-dict keys, are the paper's.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from gandash.nets.common import dcgan_init, embed_labels, maybe_sn, projection

SEED_SIZES = (4, 7)
NORMS = ("batch", "layer", "spectral", "none")


def plan(image_size: int) -> tuple[int, int] | None:
    """(seed size, number of 2x up-samplings) that makes `image_size`, or None if none does."""
    for seed in SEED_SIZES:
        doublings = 0
        size = image_size
        while size > seed and size % 2 == 0:
            size //= 2
            doublings += 1
        if size == seed and 2 <= doublings <= 6 and image_size <= 256:
            return seed, doublings
    return None


def supported_sizes() -> list[int]:
    return sorted(s for s in {seed * 2**n for seed in SEED_SIZES for n in range(2, 7)} if s <= 256)


class ConvGenerator(nn.Module):
    def __init__(
        self, z_dim: int, channels: int, image_size: int, width: int = 64, num_classes: int = 0, extra_convs: int = 0
    ):
        super().__init__()
        seed, doublings = plan(image_size)
        self.z_dim = z_dim
        self.label_embedding = nn.Embedding(num_classes, 50) if num_classes else None
        mult = 2 ** (doublings - 1)
        z_in = z_dim + (50 if num_classes else 0)
        # (N, z, 1, 1) -> (N, width*mult, seed, seed)
        layers = [
            nn.ConvTranspose2d(z_in, width * mult, seed, 1, 0, bias=False),
            nn.BatchNorm2d(width * mult),
            nn.ReLU(True),
        ] + _generator_convs(width * mult, extra_convs)
        for _ in range(doublings - 1):  # each block doubles the size and halves the channels
            layers += [
                nn.ConvTranspose2d(width * mult, width * mult // 2, 4, 2, 1, bias=False),
                nn.BatchNorm2d(width * mult // 2),
                nn.ReLU(True),
            ]
            mult //= 2
            layers += _generator_convs(width * mult, extra_convs)
        layers += [nn.ConvTranspose2d(width, channels, 4, 2, 1, bias=False), nn.Tanh()]  # (N, C, size, size)
        self.main = nn.Sequential(*layers)
        self.apply(dcgan_init)

    def forward(self, z: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        if self.label_embedding is not None:
            z = torch.cat([z, embed_labels(self.label_embedding, labels)], 1)
        return self.main(z[:, :, None, None])


def _generator_convs(channels: int, count: int) -> list[nn.Module]:
    layers = []
    for _ in range(count):
        layers += [nn.Conv2d(channels, channels, 3, 1, 1, bias=False), nn.BatchNorm2d(channels), nn.ReLU(True)]
    return layers


def _discriminator_convs(channels: int, count: int, norm: str) -> list[nn.Module]:
    layers = []
    for _ in range(count):
        layers += [
            nn.Conv2d(channels, channels, 3, 1, 1, bias=False),
            *_norm(norm, channels),
            nn.LeakyReLU(0.2, inplace=True),
        ]
    return layers


def _norm(norm: str, channels: int) -> list[nn.Module]:
    """D's normalisation layer (none for 'spectral' and 'none': spectral norm wraps the convs)."""
    if norm == "batch":
        return [nn.BatchNorm2d(channels)]
    if norm == "layer":
        return [nn.GroupNorm(1, channels)]
    return []


def label_planes(labels: torch.Tensor | None, num_classes: int, like: torch.Tensor) -> torch.Tensor:
    """(N,) class ids, or (N, classes) weights when classes are blended, as (N, classes, H, W) planes."""
    if labels is None:
        raise ValueError("this discriminator is conditional: pass labels")
    onehot = labels if labels.is_floating_point() else F.one_hot(labels, num_classes)
    return onehot.to(like.dtype)[:, :, None, None].expand(-1, -1, *like.shape[2:])


class ConvDiscriminator(nn.Module):
    """norm: 'batch' (DCGAN), 'layer' (WGAN-GP, whose penalty forbids batch statistics),
    'spectral' (SNGAN: spectral norm on every layer) or 'none'.

    Conditional (num_classes > 0): the label enters twice, as one-hot planes beside the image (the
    cGAN of Mirza & Osindero, so the first layer can judge the image *for* its class) and as a
    projection on the last features (Miyato & Koyama). With the projection alone and BatchNorm, a
    6-minute Fashion-MNIST run drew the asked-for class only 23% of the time."""

    def __init__(
        self,
        channels: int,
        image_size: int,
        width: int = 64,
        norm: str = "batch",
        num_classes: int = 0,
        extra_convs: int = 0,
    ):
        super().__init__()
        seed, doublings = plan(image_size)
        spectral = norm == "spectral"
        self.num_classes = num_classes
        layers = [nn.Conv2d(channels + num_classes, width, 4, 2, 1, bias=False), nn.LeakyReLU(0.2, inplace=True)]
        mult = 1
        for _ in range(doublings - 1):  # halve the size, double the channels, down to seed x seed
            layers += _discriminator_convs(width * mult, extra_convs, norm)
            layers += [
                nn.Conv2d(width * mult, width * mult * 2, 4, 2, 1, bias=False),
                *_norm(norm, width * mult * 2),
                nn.LeakyReLU(0.2, inplace=True),
            ]
            mult *= 2
        self.main = nn.Sequential(*layers)  # (N, width*mult, seed, seed)
        self.head = nn.Conv2d(width * mult, 1, seed, 1, 0, bias=False)  # (N, 1, 1, 1)
        self.label_embedding = nn.Embedding(num_classes, width * mult) if num_classes else None
        self.apply(dcgan_init)
        if self.label_embedding is not None:  # start near the unconditional D; N(0, 1) would swamp the logit
            nn.init.normal_(self.label_embedding.weight, 0.0, 0.02)
        if spectral:
            for module in list(self.modules()):
                for name, child in list(module.named_children()):
                    if isinstance(child, (nn.Conv2d, nn.Linear)):
                        setattr(module, name, maybe_sn(child, True))

    def forward(self, x: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        if self.num_classes:
            x = torch.cat([x, label_planes(labels, self.num_classes, x)], 1)  # (N, C + classes, H, W)
        h = self.main(x)
        logits = self.head(h).flatten()
        if self.label_embedding is None:
            return logits
        return projection(logits, h.mean((2, 3)), self.label_embedding, labels)
