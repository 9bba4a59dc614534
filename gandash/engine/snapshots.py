"""What a 2D run's sample snapshot holds besides its points, as GAN Lab draws it: the generator's image of a
regular z-grid (a mesh) and the discriminator's decision surface behind the points."""

from __future__ import annotations

import numpy as np
import torch

MANIFOLD_LINES = 15  # z-grid lines per axis in a 2D run's snapshot
MIXTURE_MANIFOLD_LINES = 7  # per generator of a mixture (50 of them)


@torch.no_grad()
def manifold(generator: torch.nn.Module, z_dim: int, device: torch.device, lines: int = MANIFOLD_LINES) -> np.ndarray:
    """G applied to a regular lines x lines grid in z-space (rows vary z_2, columns z_1), GAN Lab's
    "manifold": drawn as a mesh it shows how G stretches and folds the noise onto the data. For
    z_dim > 2 it is the slice through the first two coordinates with the others at 0. A mixture of
    generators gets one small mesh each, (generators, 7, 7, 2), over its own noise: one grid across
    z's first coordinate would only join different generators' outputs."""
    count = getattr(generator, "generators", 1)
    mixture = count > 1
    if mixture:
        lines = MIXTURE_MANIFOLD_LINES
    axis = torch.linspace(-2.5, 2.5, lines)  # ±2.5 σ holds 99% of each N(0, 1) coordinate
    ys, xs = torch.meshgrid(axis, axis, indexing="ij")
    z = torch.zeros(count, lines * lines, z_dim)
    first = 1 if mixture else 0  # a mixture: z_0 picks the generator (the middle of its slice)
    if mixture:
        z[:, :, 0] = torch.special.ndtri((torch.arange(count) + 0.5) / count)[:, None]
    z[:, :, first] = xs.flatten()
    if z_dim > first + 1:
        z[:, :, first + 1] = ys.flatten()
    out = generator(z.view(-1, z_dim).to(device), None).float().cpu().numpy()
    out = out.reshape(count, lines, lines, -1)
    return out if mixture else out[0]


@torch.no_grad()
def decision_surface(
    discriminator: torch.nn.Module, extent: float, device: torch.device, resolution: int = 64
) -> np.ndarray:
    """sigmoid(D) on a resolution^2 grid over [-extent, extent]^2 (rows are y, from -extent up):
    the landscape GAN Lab draws behind the points. A packing D sees each grid point `pack` times."""
    axis = torch.linspace(-extent, extent, resolution)
    ys, xs = torch.meshgrid(axis, axis, indexing="ij")
    grid = torch.stack([xs.flatten(), ys.flatten()], 1).to(device)
    pack = getattr(discriminator, "pack", 1)
    logits = discriminator(grid.repeat_interleave(pack, 0))
    return torch.sigmoid(logits.float()).view(resolution, resolution).cpu().numpy()
