"""Principal directions of a generator's latent space (GANSpace, Härkönen et al. 2020), and steering
z along them."""

from __future__ import annotations

from dataclasses import dataclass

import torch

from gandash.core.errors import GandashError
from gandash.latent.model import Model
from gandash.latent.walks import render


@dataclass
class Directions:
    vectors: torch.Tensor  # (k, z_dim), unit length: move z along these
    explained: torch.Tensor  # (k,) share of the activations' variance each component carries


def _first_activation(generator: torch.nn.Module) -> torch.nn.Module:
    for module in generator.modules():
        if isinstance(module, (torch.nn.ReLU, torch.nn.LeakyReLU)):
            return module
    raise GandashError("this generator has no activation layer to analyse.")


@torch.inference_mode()
def principal_directions(model: Model, k: int = 8, samples: int = 2000, seed: int = 0) -> Directions:
    """PCA of the generator's first hidden activations over random z, carried back to z-space by
    least squares (GANSpace). Plain PCA of z itself would be meaningless: N(0, I) is isotropic."""
    z_dim = model.config.z_dim
    k = max(1, min(k, z_dim))
    generator = torch.Generator().manual_seed(seed)
    z = torch.randn(samples, z_dim, generator=generator)
    labels = torch.randint(model.classes, (samples,), generator=generator) if model.classes else None
    captured: list[torch.Tensor] = []
    hook = _first_activation(model.generator).register_forward_hook(
        lambda module, inputs, output: captured.append(output.flatten(1).float())
    )
    try:
        render(model, z, labels, batch=500)
    finally:
        hook.remove()
    activations = torch.cat(captured)
    centered = activations - activations.mean(0)
    _, singular, components = torch.linalg.svd(centered, full_matrices=False)
    coords = centered @ components[:k].T  # (samples, k)
    coords = coords / coords.std(0).clamp_min(1e-12)
    transfer = torch.linalg.lstsq(coords, z).solution  # (k, z_dim): z ~ coords @ transfer
    vectors = transfer / transfer.norm(dim=1, keepdim=True).clamp_min(1e-12)
    variance = singular**2
    return Directions(vectors, (variance[:k] / variance.sum()).cpu())


def steer(z: torch.Tensor, directions: Directions, amounts: list[float]) -> torch.Tensor:
    """z moved by amounts[i] (in standard deviations of z) along direction i."""
    shift = sum(a * v for a, v in zip(amounts, directions.vectors))
    return z + shift
