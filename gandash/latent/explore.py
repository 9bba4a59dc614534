"""Latent space: anchors, interpolation (lerp, slerp), paths, planes, truncation, arithmetic,
principal directions (GANSpace), class mixing, nearest training images, and export.

Everything takes and returns CPU tensors: z is (N, z_dim); `render` turns z (and labels, or
(N, classes) class weights for conditional models) into float images NCHW in [-1, 1].
"""

from __future__ import annotations

import io
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from gandash.core import images
from gandash.core.config import TrainConfig
from gandash.core.errors import GandashError
from gandash.variants import demos, loading

METHODS = ("slerp", "lerp")
MAX_STEPS = 512  # frames in one interpolation; enough for a smooth 20 s loop, small enough to render
MAX_RENDER = 4096


@dataclass
class Model:
    """A generator ready to render, and where it came from."""
    generator: torch.nn.Module
    config: TrainConfig
    step: int
    source: str  # run id, or demo:NAME
    notes: tuple[str, ...] = ()  # e.g. that newer checkpoints were damaged and an older one is shown

    @property
    def classes(self) -> int:
        return self.config.num_classes

    @property
    def is_image(self) -> bool:
        return self.config.image_size > 0


def load(run_dir: Path | None = None, checkpoint: Path | None = None, demo: str | None = None,
         ema: bool = True) -> Model:
    """A run's generator (newest checkpoint, or `checkpoint`), or a bundled demo's."""
    notes: list[str] = []
    if demo is not None:
        generator, config, step = demos.load_generator(demo)
        source = f"demo:{demo}"
    else:
        generator, config, step = loading.load_generator(Path(run_dir), ema=ema, checkpoint=checkpoint, notes=notes)
        source = Path(run_dir).name
    return Model(for_rendering(generator), config, step, source, tuple(notes))


def for_rendering(generator: torch.nn.Module) -> torch.nn.Module:
    """The generator made fast for inference, in place (bench/latent_render.py measures it): each
    BatchNorm folded into the convolution before it (~13% less time) and channels-last memory, in
    which oneDNN's transposed convolutions run ~1.5x faster on the CPU too. Sliders stay live."""
    generator.eval()
    for module in list(generator.modules()):
        if isinstance(module, torch.nn.Sequential):
            _fold_batch_norms(module)
    if any(isinstance(m, (torch.nn.Conv2d, torch.nn.ConvTranspose2d)) for m in generator.modules()):
        generator = generator.to(memory_format=torch.channels_last)
    return generator


def _fold_batch_norms(sequence: torch.nn.Sequential) -> None:
    from torch.nn.utils.fusion import fuse_conv_bn_eval

    names = list(sequence._modules)
    for first, second in zip(names, names[1:]):
        conv, norm = sequence._modules[first], sequence._modules[second]
        if isinstance(conv, (torch.nn.Conv2d, torch.nn.ConvTranspose2d)) and type(norm) is torch.nn.BatchNorm2d \
                and norm.track_running_stats and conv.weight.shape[1 if isinstance(conv, torch.nn.ConvTranspose2d) else 0] == norm.num_features:
            sequence._modules[first] = fuse_conv_bn_eval(conv, norm, transpose=isinstance(conv, torch.nn.ConvTranspose2d))
            sequence._modules[second] = torch.nn.Identity()


# --- anchors and paths ---------------------------------------------------------------------------
def anchor(seed: int, z_dim: int, model: Model | None = None) -> torch.Tensor:
    """The latent vector of a seed: the same seed always gives the same z (and so the same image).
    For a model with latent codes (InfoGAN) pass it: its codes are then drawn from their prior."""
    if not 0 <= int(seed) < 2**63:
        raise GandashError(f"a seed must be a whole number from 0 to 2^63 - 1 (got {seed}).")
    generator = torch.Generator().manual_seed(int(seed))
    z = torch.randn(z_dim, generator=generator)
    return with_prior_codes(model, z[None], generator)[0] if model is not None else z


# --- latent codes (InfoGAN): the last dimensions of z, each with its own prior ----------------------
@dataclass(frozen=True)
class CodeSlice:
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
            z[:, code.start:code.stop] = torch.eye(size)[torch.randint(size, (n,), generator=generator)]
        else:
            z[:, code.start:code.stop] = torch.rand(n, size, generator=generator) * 2 - 1
    return z


def code_sweep(model: Model, z: torch.Tensor, name: str, steps: int = 9, span: float = 1.0) -> torch.Tensor:
    """Rows of z (one vector) with one code varied: every category, or a continuous code from -span
    to +span (the InfoGAN paper goes to 2, beyond the prior's [-1, 1], to show it extrapolates)."""
    code = next((c for c in code_slices(model) if c.name == name), None)
    if code is None:
        raise GandashError(f"{model.source} has no latent code '{name}'; it has "
                           f"{', '.join(c.name for c in code_slices(model)) or 'none'}.")
    if code.prior == "categorical":
        rows = z[None].repeat(code.stop - code.start, 1)
        rows[:, code.start:code.stop] = torch.eye(code.stop - code.start)
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


def plane(center: torch.Tensor, u: torch.Tensor, v: torch.Tensor, rows: int, cols: int,
          span: float = 2.0) -> torch.Tensor:
    """A rows x cols grid around `center` along directions u, v (unit vectors), from -span to +span."""
    if not (1 <= rows <= 32 and 1 <= cols <= 32):
        raise GandashError(f"a grid has 1 to 32 rows and columns (got {rows} x {cols}).")
    u, v = u / u.norm().clamp_min(1e-12), v / v.norm().clamp_min(1e-12)
    ys, xs = torch.linspace(-span, span, rows), torch.linspace(-span, span, cols)
    return torch.stack([center + y * v + x * u for y in ys for x in xs])


GRID_AXES = ("principal", "random")
GRID_DIRECTIONS = 8  # GANSpace directions the page computes (and caches) once; the grid uses the first two


def grid_spec(text: str) -> tuple[int, int]:
    """(rows, cols) of 'ROWSxCOLS', e.g. '5x7'."""
    rows, sep, cols = str(text).lower().partition("x")
    if not (sep and rows.strip().isdigit() and cols.strip().isdigit()):
        raise GandashError(f"a grid is given as ROWSxCOLS, e.g. 5x7 (got '{text}').")
    return int(rows), int(cols)


def grid_z(model: Model, center_seed: int, rows: int, cols: int, axes: str = "principal", span: float = 2.0,
           directions: Directions | None = None) -> torch.Tensor:
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


# --- classes ------------------------------------------------------------------------------------
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


# --- rendering ----------------------------------------------------------------------------------
@torch.inference_mode()
def render(model: Model, z: torch.Tensor, labels: torch.Tensor | None = None, batch: int = 256) -> torch.Tensor:
    """Images (or 2D points) for each row of z, in batches; float NCHW in [-1, 1] on the CPU."""
    if not 1 <= len(z) <= MAX_RENDER:
        raise GandashError(f"render 1 to {MAX_RENDER} vectors at a time (got {len(z)}).")
    if model.classes and labels is None:
        labels = labels_for(model, len(z), None)
    outs = [model.generator(z[i:i + batch], None if labels is None else labels[i:i + batch])
            for i in range(0, len(z), batch)]
    return torch.cat(outs).float()


# --- principal directions (GANSpace, Härkönen et al. 2020) -----------------------------------
@dataclass
class Directions:
    vectors: torch.Tensor    # (k, z_dim), unit length: move z along these
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
    labels = (torch.randint(model.classes, (samples,), generator=generator) if model.classes else None)
    captured: list[torch.Tensor] = []
    hook = _first_activation(model.generator).register_forward_hook(
        lambda module, inputs, output: captured.append(output.flatten(1).float()))
    try:
        render(model, z, labels, batch=500)
    finally:
        hook.remove()
    activations = torch.cat(captured)
    centered = activations - activations.mean(0)
    _, singular, components = torch.linalg.svd(centered, full_matrices=False)
    coords = centered @ components[:k].T                  # (samples, k)
    coords = coords / coords.std(0).clamp_min(1e-12)
    transfer = torch.linalg.lstsq(coords, z).solution     # (k, z_dim): z ~ coords @ transfer
    vectors = transfer / transfer.norm(dim=1, keepdim=True).clamp_min(1e-12)
    variance = singular**2
    return Directions(vectors, (variance[:k] / variance.sum()).cpu())


def steer(z: torch.Tensor, directions: Directions, amounts: list[float]) -> torch.Tensor:
    """z moved by amounts[i] (in standard deviations of z) along direction i."""
    shift = sum(a * v for a, v in zip(amounts, directions.vectors))
    return z + shift


# --- memorisation check ------------------------------------------------------------------------
@torch.inference_mode()
def nearest_training(image: torch.Tensor, training: torch.Tensor, chunk: int = 8192) -> tuple[int, float]:
    """Index of the training image closest to `image` in pixel space (RMS difference in [0, 1] units).
    `training` is the dataset's uint8 tensor (N, C, H, W); a tiny distance means the model copied it."""
    target = image.float().flatten()
    if training.shape[1:].numel() != target.numel():
        raise GandashError("the image and the training set have different sizes.")
    best, best_index = math.inf, -1
    for start in range(0, len(training), chunk):
        block = training[start:start + chunk].flatten(1).float().div_(127.5).sub_(1.0)
        distances = (block - target).pow_(2).mean(1)
        value, index = distances.min(0)
        if value.item() < best:
            best, best_index = value.item(), start + int(index)
    return best_index, math.sqrt(best) / 2  # [-1, 1] units -> [0, 1] units


@torch.inference_mode()
def nearest_in_features(image: torch.Tensor, training_features: torch.Tensor, classifier) -> tuple[int, float]:
    """Index of the training image whose classifier features are closest to `image`'s, and the
    distance relative to the typical distance between two training images (so ~0 is a copy, ~1 is
    as different as two random garments). `training_features` is classifier.features(training)."""
    query = classifier.features(image[None].float())
    distances = torch.cdist(query, training_features)[0]
    index = int(distances.argmin())
    pick = torch.randperm(len(training_features), generator=torch.Generator().manual_seed(0))[:1000]
    half = max(1, len(pick) // 2)
    typical = torch.cdist(training_features[pick[:half]], training_features[pick[half:]]).median()
    return index, float(distances[index] / typical.clamp_min(1e-12))


# --- export -------------------------------------------------------------------------------------
def _pil(picture: torch.Tensor, scale: int = 1) -> Image.Image:
    array = images.to_uint8(picture[None])[0]
    image = Image.fromarray(array)
    return image.resize((image.width * scale, image.height * scale), Image.Resampling.NEAREST) if scale > 1 else image


def display_scale(model: Model) -> int:
    """Small images (28 px) are enlarged with nearest-neighbour for viewing and export."""
    return max(1, 128 // max(model.config.image_size, 1))


def display_png(frames: torch.Tensor, model: Model, nrow: int | None = None) -> bytes:
    """What the latent page shows: the frames in a row (or rows of nrow), small images enlarged with
    nearest-neighbour first so they can be seen (bench/latent_render.py times this with `render`)."""
    scale = display_scale(model)
    if scale > 1:
        frames = torch.nn.functional.interpolate(frames, scale_factor=scale, mode="nearest")
    return images.grid_png(frames, nrow=nrow or len(frames))


def strip_png(frames: torch.Tensor, nrow: int | None = None) -> bytes:
    """The frames side by side (or in rows of nrow), as a PNG."""
    return images.grid_png(frames, nrow=nrow or len(frames))


def gif(frames: torch.Tensor, scale: int = 1, fps: float = 12.0, bounce: bool = True, loop: bool = True) -> bytes:
    """An animated GIF, one frame per image; `bounce` plays back and forth so the loop has no jump;
    without `loop` it plays once and stays on its last frame."""
    pictures = [_pil(frame, scale).convert("RGB") for frame in frames]
    if bounce and len(pictures) > 2:
        pictures = pictures + pictures[-2:0:-1]
    palette = [p.quantize(colors=255) for p in pictures]
    buffer = io.BytesIO()
    looping = {"loop": 0} if loop else {}  # no loop field at all: browsers play it once
    palette[0].save(buffer, format="GIF", save_all=True, append_images=palette[1:],
                    duration=max(20, int(1000 / fps)), disposal=2, **looping)
    return buffer.getvalue()


def npy(z: torch.Tensor, labels: torch.Tensor | None = None) -> bytes:
    """The latent vectors (and, for conditional models, the labels or class weights as extra columns),
    so the same images can be rendered again."""
    array = z.float().numpy()
    if labels is not None:
        extra = labels.float()[:, None] if labels.dim() == 1 else labels.float()
        array = np.concatenate([array, extra.numpy()], 1)
    buffer = io.BytesIO()
    np.save(buffer, array)
    return buffer.getvalue()


EXPORTS = (".png", ".gif", ".npy")


def seeds_to_frames(model: Model, seed_from: int, seed_to: int, steps: int, method: str = "slerp",
                    psi: float = 1.0, label: int | None = None) -> tuple[torch.Tensor, torch.Tensor | None, torch.Tensor]:
    """(z, labels, frames) of the interpolation between two seeds' anchors: the CLI's `interpolate`."""
    z_dim = model.config.z_dim
    z = truncate(interpolate(anchor(seed_from, z_dim, model), anchor(seed_to, z_dim, model), steps, method), psi)
    labels = labels_for(model, len(z), label)
    return z, labels, render(model, z, labels)


GRID_EXPORTS = (".png", ".npy")


def grid_to_frames(model: Model, seed: int, rows: int, cols: int, axes: str = "principal", span: float = 2.0,
                   psi: float = 1.0, label: int | None = None) -> tuple[torch.Tensor, torch.Tensor | None, torch.Tensor]:
    """(z, labels, frames) of the Grid around a seed (row by row): the CLI's `interpolate --grid`."""
    z = truncate(grid_z(model, seed, rows, cols, axes, span), psi)
    labels = labels_for(model, len(z), label)
    return z, labels, render(model, z, labels)


def export_grid_bytes(suffix: str, model: Model, z: torch.Tensor, labels: torch.Tensor | None,
                      frames: torch.Tensor, cols: int) -> bytes:
    """A grid as a PNG (cols images a row, at the model's own size, as the strip) or its z as .npy."""
    if suffix not in GRID_EXPORTS:
        raise GandashError(f"a grid is one picture: --out must end in {' or '.join(GRID_EXPORTS)} "
                           f"(got '{suffix or 'no suffix'}').")
    if suffix == ".png" and not model.is_image:
        raise GandashError("a 2D point model has no images to export; use a .npy file.")
    return npy(z, labels) if suffix == ".npy" else strip_png(frames, nrow=cols)


def export_bytes(suffix: str, model: Model, z: torch.Tensor, labels: torch.Tensor | None,
                 frames: torch.Tensor) -> bytes:
    """PNG strip, animated GIF or the .npy of z, by file suffix."""
    if suffix == ".npy":
        return npy(z, labels)
    if not model.is_image:
        raise GandashError("a 2D point model has no images to export; use a .npy file.")
    if suffix == ".png":
        return strip_png(frames, nrow=min(len(frames), 16))
    if suffix == ".gif":
        return gif(frames, scale=display_scale(model))
    raise GandashError(f"--out must end in one of {', '.join(EXPORTS)} (got '{suffix or 'no suffix'}').")
