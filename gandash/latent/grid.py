"""The Grid: a plane of z around a seed's anchor, along two principal or two random directions.

Apart from the other z operations in walks.py because it builds on the principal directions, and
those render through walks.py.
"""

from __future__ import annotations

import torch

from gandash.core.errors import GandashError
from gandash.latent.directions import Directions, principal_directions
from gandash.latent.model import Model
from gandash.latent.walks import anchor, plane

GRID_AXES = ("principal", "random")
GRID_DIRECTIONS = 8  # GANSpace directions the page computes (and caches) once; the grid uses the first two


def grid_spec(text: str) -> tuple[int, int]:
    """(rows, cols) of 'ROWSxCOLS', e.g. '5x7'."""
    rows, sep, cols = str(text).lower().partition("x")
    if not (sep and rows.strip().isdigit() and cols.strip().isdigit()):
        raise GandashError(f"a grid is given as ROWSxCOLS, e.g. 5x7 (got '{text}').")
    return int(rows), int(cols)


def grid_z(
    model: Model,
    center_seed: int,
    rows: int,
    cols: int,
    axes: str = "principal",
    span: float = 2.0,
    directions: Directions | None = None,
) -> torch.Tensor:
    """The latent page's Grid (and the CLI's --grid): a rows x cols plane around a seed's z, along
    GANSpace's first two directions or two random ones drawn from the next two seeds, so the same
    centre always gives the same grid. Pass `directions` when they are already computed (cached)."""
    z_dim = model.config.z_dim
    if not 0 < span <= 8:
        raise GandashError(f"the grid's reach must be above 0 and at most 8 standard deviations (got {span:g}).")
    if axes == "principal":
        found = directions or principal_directions(model, k=GRID_DIRECTIONS)
        if len(found.vectors) < 2:
            raise GandashError(f"a principal-direction grid needs z of at least 2 dimensions (this one has {z_dim}).")
        u, v = found.vectors[0], found.vectors[1]
    elif axes == "random":
        u, v = anchor(center_seed + 1, z_dim), anchor(center_seed + 2, z_dim)
    else:
        raise GandashError(f"grid axes must be one of {', '.join(GRID_AXES)} (got '{axes}').")
    return plane(anchor(center_seed, z_dim, model), u, v, rows, cols, span)
