"""Exploring a trained generator: loading it for inference (latent.model), z operations and rendering
(latent.walks), the Grid (latent.grid), principal directions (latent.directions), nearest training
images (latent.neighbours) and exports (latent.export).

The front door: callers write `from gandash import latent` and `latent.NAME`, so every public name is
re-exported here by name, and the modules behind it can change without callers changing.
"""

from gandash.latent.directions import Directions, principal_directions, steer
from gandash.latent.export import (
    EXPORTS,
    GRID_EXPORTS,
    display_png,
    display_scale,
    export_bytes,
    export_grid_bytes,
    gif,
    grid_to_frames,
    npy,
    seeds_to_frames,
    strip_png,
)
from gandash.latent.grid import GRID_AXES, GRID_DIRECTIONS, grid_spec, grid_z
from gandash.latent.model import Model, for_rendering, load
from gandash.latent.neighbours import nearest_in_features, nearest_training
from gandash.latent.walks import (
    MAX_RENDER,
    MAX_STEPS,
    METHODS,
    CodeSlice,
    anchor,
    arithmetic,
    check_class,
    check_steps,
    class_mix,
    code_slices,
    code_sweep,
    interpolate,
    labels_for,
    lerp,
    path,
    plane,
    render,
    slerp,
    truncate,
    with_prior_codes,
)

__all__ = [
    "EXPORTS",
    "GRID_AXES",
    "GRID_DIRECTIONS",
    "GRID_EXPORTS",
    "MAX_RENDER",
    "MAX_STEPS",
    "METHODS",
    "CodeSlice",
    "Directions",
    "Model",
    "anchor",
    "arithmetic",
    "check_class",
    "check_steps",
    "class_mix",
    "code_slices",
    "code_sweep",
    "display_png",
    "display_scale",
    "export_bytes",
    "export_grid_bytes",
    "for_rendering",
    "gif",
    "grid_spec",
    "grid_to_frames",
    "grid_z",
    "interpolate",
    "labels_for",
    "lerp",
    "load",
    "nearest_in_features",
    "nearest_training",
    "npy",
    "path",
    "plane",
    "principal_directions",
    "render",
    "seeds_to_frames",
    "slerp",
    "steer",
    "strip_png",
    "truncate",
    "with_prior_codes",
]
