"""Operations on z, and rendering it: the anchor of a seed, InfoGAN's latent codes, walks between
points (lerp, slerp, interpolations, paths, planes), truncation, arithmetic, class blends and labels.

Everything takes and returns CPU tensors: z is (N, z_dim); `render` turns z (and labels, or
(N, classes) class weights for conditional models) into float images NCHW in [-1, 1].
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch

from gandash.core.errors import GandashError
from gandash.latent.model import Model

METHODS = ("slerp", "lerp")
MAX_STEPS = 512  # frames in one interpolation; enough for a smooth 20 s loop, small enough to render
MAX_RENDER = 4096


def anchor(seed: int, z_dim: int, model: Model | None = None) -> torch.Tensor:
    """The latent vector of a seed: the same seed always gives the same z (and so the same image).
    For a model with latent codes (InfoGAN) pass it: its codes are then drawn from their prior."""
    if not 0 <= int(seed) < 2**63:
        raise GandashError(f"a seed must be a whole number from 0 to 2^63 - 1 (got {seed}).")
    generator = torch.Generator().manual_seed(int(seed))
    z = torch.randn(z_dim, generator=generator)
    return with_prior_codes(model, z[None], generator)[0] if model is not None else z


@dataclass(frozen=True)
class CodeSlice:
    """An InfoGAN latent code: some of the last dimensions of z, with its own prior."""

    name: str
    start: int
    stop: int
    prior: str  # categorical (one-hot) | uniform (in [-1, 1])


def code_slices(model: Model) -> list[CodeSlice]:
    """Where each latent code sits in z, from the generator's `codes` layout; [] for plain models."""
    layout = getattr(model.generator, "codes", ())
    stop, slices = model.config.z_dim, []
    for name, size, prior in reversed(layout):
        slices.insert(0, CodeSlice(name, stop - size, stop, prior))
        stop -= size
    return slices


def with_prior_codes(model: Model, z: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
    """z with its code dimensions redrawn from their priors (a N(0, 1) one-hot is no code G saw)."""
    z = z.clone()
    for code in code_slices(model):
        n, size = len(z), code.stop - code.start
        if code.prior == "categorical":
            z[:, code.start : code.stop] = torch.eye(size)[torch.randint(size, (n,), generator=generator)]
        else:
            z[:, code.start : code.stop] = torch.rand(n, size, generator=generator) * 2 - 1
    return z


def code_sweep(model: Model, z: torch.Tensor, name: str, steps: int = 9, span: float = 1.0) -> torch.Tensor:
    """Rows of z (one vector) with one code varied: every category, or a continuous code from -span
    to +span (the InfoGAN paper goes to 2, beyond the prior's [-1, 1], to show it extrapolates)."""
    code = next((c for c in code_slices(model) if c.name == name), None)
    if code is None:
        raise GandashError(
            f"{model.source} has no latent code '{name}'; it has "
            f"{', '.join(c.name for c in code_slices(model)) or 'none'}."
        )
    if code.prior == "categorical":
        rows = z[None].repeat(code.stop - code.start, 1)
        rows[:, code.start : code.stop] = torch.eye(code.stop - code.start)
    else:
        check_steps(steps)
        rows = z[None].repeat(steps, 1)
        rows[:, code.start] = torch.linspace(-span, span, steps)
    return rows


def check_steps(steps: int) -> None:
    if not 2 <= steps <= MAX_STEPS:
        raise GandashError(f"steps must be from 2 to {MAX_STEPS} (got {steps}).")


def lerp(a: torch.Tensor, b: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
    """Straight line: (1 - t) a + t b, one row per t."""
    t = t[:, None]
    return (1 - t) * a + t * b


def slerp(a: torch.Tensor, b: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
    """Great-circle interpolation of direction, with the norm interpolated linearly (Shoemake 1985;
    White 2016 for GANs). A Gaussian z of high dimension lives near a sphere of radius sqrt(z_dim);
    the midpoint of a straight line falls inside it (norm ~ 0.7 sqrt(z_dim)), where G saw no data."""
    t = t[:, None]
    na, nb = a.norm(), b.norm()
    ua, ub = a / na.clamp_min(1e-12), b / nb.clamp_min(1e-12)
    omega = torch.arccos((ua * ub).sum().clamp(-1.0, 1.0))
    if omega.abs() < 1e-6:  # same direction: nothing to turn
        return lerp(a, b, t[:, 0])
    direction = (torch.sin((1 - t) * omega) * ua + torch.sin(t * omega) * ub) / torch.sin(omega)
    return direction * ((1 - t) * na + t * nb)


def interpolate(a: torch.Tensor, b: torch.Tensor, steps: int, method: str = "slerp") -> torch.Tensor:
    """`steps` vectors from a to b inclusive."""
    check_steps(steps)
    if method not in METHODS:
        raise GandashError(f"method must be one of {', '.join(METHODS)} (got '{method}').")
    blend = slerp if method == "slerp" else lerp
    return blend(a, b, torch.linspace(0, 1, steps))


def path(anchors: list[torch.Tensor], steps_per_leg: int, method: str = "slerp", closed: bool = False) -> torch.Tensor:
    """A walk through several anchors (and back to the first when closed); each anchor appears once."""
    if len(anchors) < 2:
        raise GandashError("a path needs at least two anchors.")
    stops = list(anchors) + ([anchors[0]] if closed else [])
    legs = [interpolate(a, b, steps_per_leg, method)[:-1] for a, b in zip(stops, stops[1:])]
    ends = [] if closed else [stops[-1][None]]
    return torch.cat(legs + ends)


def plane(
    center: torch.Tensor, u: torch.Tensor, v: torch.Tensor, rows: int, cols: int, span: float = 2.0
) -> torch.Tensor:
    """A rows x cols grid around `center` along directions u, v (unit vectors), from -span to +span."""
    if not (1 <= rows <= 32 and 1 <= cols <= 32):
        raise GandashError(f"a grid has 1 to 32 rows and columns (got {rows} x {cols}).")
    u, v = u / u.norm().clamp_min(1e-12), v / v.norm().clamp_min(1e-12)
    ys, xs = torch.linspace(-span, span, rows), torch.linspace(-span, span, cols)
    return torch.stack([center + y * v + x * u for y in ys for x in xs])


def truncate(z: torch.Tensor, psi: float) -> torch.Tensor:
    """The truncation trick toward the mean of p(z) = N(0, I): psi < 1 trades variety for quality."""
    if not 0.0 <= psi <= 2.0:
        raise GandashError(f"truncation psi must be from 0 to 2 (got {psi}).")
    return z * psi


def arithmetic(a: torch.Tensor, b: torch.Tensor, c: torch.Tensor) -> torch.Tensor:
    """a - b + c (Radford et al.'s 'smiling woman - neutral woman + neutral man'), rescaled to the
    norm typical of z so the result stays where the generator was trained."""
    result = a - b + c
    return result * (math.sqrt(len(result)) / result.norm().clamp_min(1e-12))


def check_class(model: Model, label: int) -> None:
    if not model.classes:
        raise GandashError(f"{model.source} is not a conditional model; it has no classes to choose.")
    if not 0 <= label < model.classes:
        raise GandashError(f"class must be from 0 to {model.classes - 1} (got {label}).")


def class_mix(model: Model, a: int, b: int, steps: int) -> torch.Tensor:
    """(steps, classes) weights that blend the class embedding of a into that of b."""
    check_class(model, a)
    check_class(model, b)
    check_steps(steps)
    t = torch.linspace(0, 1, steps)[:, None]
    eye = torch.eye(model.classes)
    return (1 - t) * eye[a] + t * eye[b]


def labels_for(model: Model, n: int, label: int | None) -> torch.Tensor | None:
    """What a conditional generator needs for n images: one fixed class (or class 0 if none given)."""
    if not model.classes:
        return None
    label = 0 if label is None else label
    check_class(model, label)
    return torch.full((n,), label, dtype=torch.long)


@torch.inference_mode()
def render(model: Model, z: torch.Tensor, labels: torch.Tensor | None = None, batch: int = 256) -> torch.Tensor:
    """Images (or 2D points) for each row of z, in batches; float NCHW in [-1, 1] on the CPU."""
    if not 1 <= len(z) <= MAX_RENDER:
        raise GandashError(f"render 1 to {MAX_RENDER} vectors at a time (got {len(z)}).")
    if model.classes and labels is None:
        labels = labels_for(model, len(z), None)
    outs = [
        model.generator(z[i : i + batch], None if labels is None else labels[i : i + batch])
        for i in range(0, len(z), batch)
    ]
    return torch.cat(outs).float()
