"""The toy 2D mixtures (ring, grid, spiral, moons): their catalogue entries and their points.

Ring and grid carry their true means and spread in the entry (DatasetInfo.modes, mode_std), so the
metrics can count which modes a generator covers; the points are drawn from those same values."""

from __future__ import annotations

import numpy as np

from gandash.core.config import TOY_POOL
from gandash.data.dataset import DatasetInfo


def _ring_modes() -> tuple:
    angles = 2 * np.pi * np.arange(8) / 8
    return tuple((2 * float(np.cos(a)), 2 * float(np.sin(a))) for a in angles)


def _grid_modes() -> tuple:
    return tuple((float(x), float(y)) for x in (-4, -2, 0, 2, 4) for y in (-4, -2, 0, 2, 4))


TOY_SETS = (
    DatasetInfo(
        "ring", "8 Gaussians on a circle of radius 2 (sigma 0.02)", "points", modes=_ring_modes(), mode_std=0.02
    ),
    DatasetInfo(
        "grid", "25 Gaussians on the grid {-4,-2,0,2,4}^2 (sigma 0.02)", "points", modes=_grid_modes(), mode_std=0.02
    ),
    DatasetInfo("spiral", "a noisy two-turn spiral", "points"),
    DatasetInfo("moons", "two interleaving half circles", "points"),
)


def toy_points(meta: DatasetInfo, seed: int) -> np.ndarray:
    """TOY_POOL float32 (x, y) points of the mixture `meta`, the same for the same seed."""
    rng = np.random.default_rng(seed)
    if meta.modes:
        means = np.asarray(meta.modes, dtype=np.float64)
        which = rng.integers(len(means), size=TOY_POOL)
        points = means[which] + rng.normal(scale=meta.mode_std, size=(TOY_POOL, 2))
    elif meta.name == "spiral":
        t = np.sqrt(rng.uniform(0, 1, TOY_POOL)) * 4 * np.pi
        points = np.stack([t * np.cos(t), t * np.sin(t)], 1) / (2 * np.pi) + rng.normal(scale=0.05, size=(TOY_POOL, 2))
    else:  # moons, as in scikit-learn's make_moons, centred
        t = rng.uniform(0, np.pi, TOY_POOL)
        upper = rng.random(TOY_POOL) < 0.5
        x = np.where(upper, np.cos(t), 1 - np.cos(t)) - 0.5
        y = np.where(upper, np.sin(t), 0.5 - np.sin(t)) - 0.25
        points = np.stack([x, y], 1) * 2 + rng.normal(scale=0.05, size=(TOY_POOL, 2))
    return points.astype(np.float32)
