"""Restoring a blurry photo of any size with a trained deblurring generator, and classical baselines.

`restore` runs the generator over overlapping tiles with blended seams (gandash.tiling), in memory
that does not grow with the photo beyond the photo itself. Photos come in through `read_photo`
(gandash.photo: EXIF orientation, alpha, 8 and 16 bits, gray) and go out through `photo.encode`:
same size, same depth, alpha untouched.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from functools import lru_cache
from pathlib import Path

import numpy as np
import torch

from gandash.core import device, paths
from gandash.core.errors import GandashError
from gandash.nets.deblur import MULTIPLE, DeblurUNet, consistent
from gandash.restore import kernel_estimate, reading, tiling
from gandash.restore import photo as photos
from gandash.restore.photo import Photo
from gandash.restore.poses import POSES, posed, unposed
from gandash.variants import loading

BUNDLED = paths.WEIGHTS / "deblur.pt"  # trained on pairs as cameras make them: shake, sensor noise, JPEG
BUNDLED_CLEAN = paths.WEIGHTS / "deblur-clean.pt"  # trained on clean blurs: sharpens harder where that is safe
TRAIN_COMMAND = "the steps in the README's Deblurring section (python -m gandash train --variant deblur ...)"
MAX_PIXELS = 50_000_000  # about a minute on a 2-core CPU; larger photos are refused with this number
LIMITS = photos.Limits(MAX_PIXELS, 16, "deblur")
VARIANTS = ("deblur", "deblur-seed")  # the runs that restore blur; srgan and discogan do other jobs
TILE = 1024  # larger tiles waste less on context: 1.27x the pixels at 1024, 1.6x at 512
CONTEXT = 48  # pixels of real surroundings each tile sees beyond the part that is kept
OVERLAP = 32  # kept parts of neighbouring tiles overlap by this much and are cross-faded
# Self-ensemble (EDSR's "+", Lim et al. 2017): restore the photo in several POSES and average them, as
# far as poses x pixels fit this budget: 8 poses up to 0.25 MP, one from 2 MP. On the held-out photos 8
# poses add only 0.06 dB, and a person waits for a phone's photo: a 2 MP one is back in about a second.
ENSEMBLE_BUDGET = 2_000_000
# The U-Net's output is then pulled back to what the blurry photo shows through the kernel (consistent_with):
# the weight of the U-Net's output against the photo's evidence, per frequency, where |K|^2 is the evidence's
# weight. A noisy photo's evidence is worth less: the weight follows its reading (reading.Reading.clean).
# Tuned on the training photos (bench/deblur.py --tuning). As cameras save them (--camera, 60 blurred cases):
# 0.03, 0.1, 0.2, 0.3, 0.5 and 1 gave -0.43, -0.04, +0.03, +0.04, +0.05 and +0.03 dB over the U-Net alone (a
# Laplacian term on top, +0.00). Clean blurs (30 cases): 0.003, 0.005, 0.01, 0.02, 0.03 and 0.1 gave -0.42
# (motion), +0.44, +0.58, +0.54, +0.48 and +0.28; 0.02 is kept, further from the cliff below (a line's transfer
# has zeros, where all the photo says is its noise, and a photo reads as clean with up to 0.2% of it, twice
# the 8-bit rounding of the tuning cases). The U-Net knows its training photos; on photos it never saw it
# smooths away more of the detail the blur left readable, and the held-out photos gain more (bench/deblur.py).
DATA_WEIGHT_CAMERA = 0.3
DATA_WEIGHT_CLEAN = 0.02


def read_photo(source: Path | bytes, name: str = "") -> Photo:
    """A photo to deblur (at most MAX_PIXELS, at least 16 px a side); bad input raises GandashError."""
    return photos.read(source, name, LIMITS)


# --- the model --------------------------------------------------------------------------------


class BundledUNets(torch.nn.Module):
    """The two bundled U-Nets, each photo restored by the one trained on photos like it (reading.Reading.clean).
    One net cannot do both well: trained on noisy JPEGs it holds back its sharpening everywhere (+2.2 dB
    instead of +3.0 on clean blurs of the held-out photos), trained on clean blurs it sharpens the noise and
    the JPEG blocks along with the detail."""

    def __init__(self, camera: DeblurUNet, clean: DeblurUNet):
        super().__init__()
        self.camera, self.clean = camera, clean

    def for_photo(self, found: reading.Reading) -> DeblurUNet:
        return self.clean if found.clean else self.camera

    def describe(self, chosen: DeblurUNet) -> str:
        if chosen is self.clean:
            return "the U-Net for clean photos (no sensor noise or JPEG blocks read)"
        return "the U-Net for noisy, compressed photos (it takes the noise and the JPEG blocks out)"


def _load_unet(path: Path) -> DeblurUNet:
    """A bundled U-Net (a plain state dict, loaded with weights_only=True); its width is read from the
    weights so retrained weights of another width load too."""
    if not path.is_file():
        raise GandashError(f"the bundled deblurring weights ({path}) are missing; recreate them with: {TRAIN_COMMAND}.")
    state = torch.load(path, map_location="cpu", weights_only=True)
    generator = DeblurUNet(3, state["head.1.weight"].shape[0])
    generator.load_state_dict(state)
    return generator.eval()


def for_photo(generator: torch.nn.Module, found: reading.Reading) -> tuple[torch.nn.Module, str]:
    """(the net that restores the photo `found` was read from, which one it is for people): for the
    bundled pair the one for photos like it (BundledUNets.for_photo), any other generator itself and ""."""
    if not isinstance(generator, BundledUNets):
        return generator, ""
    chosen = generator.for_photo(found)
    return chosen, generator.describe(chosen)


@lru_cache(maxsize=1)
def bundled_model() -> BundledUNets:
    return BundledUNets(_load_unet(BUNDLED), _load_unet(BUNDLED_CLEAN)).eval()


def load_model(model: str | None = None) -> tuple[torch.nn.Module, str]:
    """(generator, a label for people): the bundled model, or the newest checkpoint of a deblur run."""
    if model in (None, "", "bundled"):
        return bundled_model(), "bundled U-Net"
    return load_run(model, VARIANTS, "deblur", "or leave --model out for the bundled U-Net")


# what to use instead, for a run of a variant that does another job
OTHER_TOOL = {"srgan": "upscale", "deblur": "deblur", "deblur-seed": "deblur"}


def load_run(model: str, allowed: tuple[str, ...], verb: str, default_hint: str) -> tuple[torch.nn.Module, str]:
    """(generator, label) of run `model`'s newest checkpoint (EMA weights when kept), if the run is of
    one of the `allowed` variants; otherwise a GandashError saying what the run is and what to use."""
    from gandash import variants
    from gandash.core import paths
    from gandash.core.config import TrainConfig

    run_dir = paths.run_dir(model)
    if not (run_dir / "config.json").is_file():
        raise GandashError(f"there is no run '{model}' (see `python -m gandash runs`).")
    variant = TrainConfig.load(run_dir / "config.json").variant
    if variant not in allowed:
        kind = variants.REGISTRY[variant].title if variant in variants.REGISTRY else "unknown variant"
        tool = OTHER_TOOL.get(variant)
        elsewhere = f" It works with `python -m gandash {tool} IN --out OUT --model {model}`." if tool else ""
        raise GandashError(
            f"run '{model}' is a run of {variant} ({kind}), which does not {verb}.{elsewhere} "
            f"To {verb}, pick a run of {' or '.join(allowed)}, {default_hint}."
        )
    generator, config, step = loading.load_generator(run_dir, ema=True)
    return generator, f"{config.variant} run {model} (step {step})"


def runs_of(store, allowed: tuple[str, ...]) -> list[tuple[str, str]]:
    """(run id, label) of every run of the `allowed` variants with a checkpoint, newest first."""
    from gandash.engine import checkpoints

    return [
        (run["id"], f"{run['name'] or run['id']} ({run['variant']}, step {run['step']})")
        for run in store.runs()
        if run["variant"] in allowed and checkpoints.listing(Path(run["run_dir"]))
    ]


def trained_models(store) -> list[tuple[str, str]]:
    """(run id, label) of every deblur and deblur-seed run with a checkpoint, newest first: srgan and
    discogan runs are image-to-image too, but give wrong pictures here."""
    return runs_of(store, VARIANTS)


# --- tiled restoration ------------------------------------------------------------------------


def model_channels(generator: torch.nn.Module) -> int:
    """The colour channels a generator takes (1 or 3)."""
    if isinstance(generator, BundledUNets):
        return generator.camera.channels
    if isinstance(generator, DeblurUNet):  # its first conv sees the input and its Wiener estimates
        return generator.channels
    return next(m for m in generator.modules() if isinstance(m, torch.nn.Conv2d)).in_channels


def needs_kernel(generator: torch.nn.Module) -> bool:
    """Whether the generator deconvolves with a kernel (the U-Net) or guesses on its own (the seed's net)."""
    return isinstance(generator, (DeblurUNet, BundledUNets))


def poses_for(pixels: int) -> int:
    """How many POSES to average for a photo of `pixels`: as many as fit ENSEMBLE_BUDGET, at least one.
    Held-out photos (bench/deblur.py): 8 poses add 0.06 dB PSNR to one, for 8x the time."""
    return next(n for n in (8, 4, 2, 1) if n * pixels <= ENSEMBLE_BUDGET or n == 1)


@lru_cache(maxsize=8)
def bf16_pays(generator: torch.nn.Module) -> bool:
    """Whether this CPU runs `generator` clearly faster under bf16 autocast (timed once per model and
    process on a 384 px window, about half a second). Its output moves by ~0.1% of the range, below 8-bit
    rounding (bench/deblur.py --speed prints both)."""
    window = np.random.default_rng(0).random((384, 384, model_channels(generator)), dtype=np.float32)
    kernel = np.full((3, 3), 1 / 9, np.float32) if needs_kernel(generator) else None
    return device.faster_in_bf16(lambda bf16: run_net(generator, window, kernel, bf16), rounds=1)


def uses_bf16(generator: torch.nn.Module, precision: str | None = None) -> bool:
    """bf16 autocast or not for restoring with `generator`: as asked (device.inference_precision), or timed."""
    choice = device.inference_precision(precision)
    return choice == "bf16" or (choice == "auto" and bf16_pays(generator))


def data_weight(found: reading.Reading) -> float:
    """How much the U-Net's output weighs against what a photo read as `found` shows through its kernel."""
    return DATA_WEIGHT_CLEAN if found.clean else DATA_WEIGHT_CAMERA


def consistent_with(window: np.ndarray, restored: np.ndarray, kernel: np.ndarray, weight: float) -> np.ndarray:
    """The restored (h, w, C) window pulled back to what the blurry `window` shows through `kernel`
    (nets.deblur.consistent, the restored window weighing `weight`), in fp32, clipped to [0, 1]."""

    def as_tensor(x: np.ndarray) -> torch.Tensor:
        return torch.from_numpy(np.ascontiguousarray(x.transpose(2, 0, 1), dtype=np.float32))[None]

    kernels = torch.from_numpy(np.ascontiguousarray(kernel, dtype=np.float32))[None]
    out = consistent(as_tensor(restored), as_tensor(window), kernels, weight)
    return out.clamp(0, 1)[0].numpy().transpose(1, 2, 0)


def run_posed(
    generator: torch.nn.Module, window: np.ndarray, kernel: np.ndarray | None, poses: int, bf16: bool = False
) -> np.ndarray:
    """The mean of run_net over the first `poses` POSES of the window (and of its kernel, which turns with it)."""
    total = None
    for pose in POSES[:poses]:
        posed_kernel = None if kernel is None else posed(kernel, pose)
        out = unposed(run_net(generator, posed(window, pose), posed_kernel, bf16), pose)
        total = out.copy() if total is None else total + out
    return total / poses


@torch.no_grad()
def run_net(
    generator: torch.nn.Module, window: np.ndarray, kernel: np.ndarray | None = None, bf16: bool = False
) -> np.ndarray:
    """The generator on one (h, w, C) window in [0, 1], C being 1 or 3, given the photo's blur kernel. A
    one-channel model sees each channel alone (one after another: a third of the activations' memory);
    a colour model sees a gray photo as three equal channels and gives back their mean. With `bf16` the
    convs run under bf16 autocast (the U-Net's Wiener step stays fp32)."""
    with torch.autocast("cpu", torch.bfloat16, enabled=bf16):
        return _run_net(generator, window, kernel)


def _run_net(generator: torch.nn.Module, window: np.ndarray, kernel: np.ndarray | None) -> np.ndarray:
    x = torch.from_numpy(np.ascontiguousarray(window.transpose(2, 0, 1))).mul(2).sub(1)[None]  # (1, C, h, w)
    conditions = () if kernel is None else (torch.from_numpy(np.ascontiguousarray(kernel, dtype=np.float32))[None],)
    wanted = model_channels(generator)
    if wanted == 1:
        y = torch.cat([generator(x[:, c : c + 1], *conditions).float() for c in range(x.shape[1])], 1)
    else:
        y = generator(x.repeat(1, wanted, 1, 1) if x.shape[1] == 1 else x, *conditions).float()
        y = y.mean(1, keepdim=True) if x.shape[1] == 1 else y
    return y.clamp(-1, 1)[0].add(1).div(2).numpy().transpose(1, 2, 0)


def restore(
    pixels: np.ndarray,
    generator: torch.nn.Module,
    tile: int = TILE,
    progress: Callable[[float], None] | None = None,
    kernel: np.ndarray | None = None,
    poses: int | None = None,
    precision: str | None = None,
    found: reading.Reading | None = None,
    trusted: bool = True,
) -> np.ndarray:
    """Deblur (H, W, C) pixels (uint8, uint16, or float in [0, 1]) tile by tile; returns the same shape
    and dtype (float32 for float). The U-Net deconvolves with `kernel`, by default the one estimated
    from the whole photo (each tile sees too little of it to tell); when no blur is found the photo
    comes back as it was. Every tile start (and CONTEXT) is a multiple of the net's total stride, so
    each tile sees the same pixel grid phase as a single pass would: a U-Net with strided levels is
    only shift-equivariant for such shifts. `poses`: how many POSES to average (default: poses_for);
    `precision`: fp32, bf16 or auto (default: device.inference_precision). The bundled pair of U-Nets
    restores with the one for photos like this one (`found`: the photo's reading.Reading, read from the
    pixels when not given). A `trusted` kernel (the default for one given; for one estimated here, the
    estimate's kernel_estimate.Estimate.trusted) also pulls the output back to what the photo shows through
    it (consistent_with, as much as data_weight says for the reading): a kernel read unsurely may be a
    sharp photo misread, and would deconvolve it."""
    if tile < 64:
        raise GandashError(f"the tile size must be at least 64 pixels (got {tile}).")
    tile -= tile % MULTIPLE
    if needs_kernel(generator):
        found = found or reading.read(pixels)
        generator = generator.for_photo(found) if isinstance(generator, BundledUNets) else generator
        if kernel is None:
            estimate = kernel_estimate.estimate(pixels)
            kernel, trusted = estimate.kernel, estimate.trusted
        if kernel.shape == (1, 1):
            return pixels.copy() if np.issubdtype(pixels.dtype, np.integer) else pixels.astype(np.float32)
    poses = poses_for(pixels.shape[0] * pixels.shape[1]) if poses is None else poses
    if not 1 <= poses <= len(POSES):
        raise GandashError(f"poses must be from 1 to {len(POSES)} (got {poses}).")
    bf16 = uses_bf16(generator, precision)
    weight = data_weight(found) if trusted and needs_kernel(generator) else None  # the seed's net takes no kernel

    def apply(window: np.ndarray) -> np.ndarray:
        restored = run_posed(generator, window, kernel, poses, bf16)
        return restored if weight is None else consistent_with(window, restored, kernel, weight)

    return tiling.run(
        pixels,
        apply,
        tile,
        CONTEXT,
        OVERLAP,
        multiple=MULTIPLE,
        progress=progress,
    )


def deblur_photo(
    photo: Photo,
    generator: torch.nn.Module,
    tile: int = TILE,
    progress: Callable[[float], None] | None = None,
    kernel: np.ndarray | None = None,
    found: reading.Reading | None = None,
    trusted: bool = True,
) -> Photo:
    """The restored photo: same size, depth and alpha; a gray photo stays gray. `found`: its reading (made
    here, with what the file says of its JPEG quality, when the U-Net needs one and none is given);
    `trusted`: as restore's."""
    if needs_kernel(generator) and found is None:
        found = reading.of_photo(photo)
    pixels = restore(photo.pixels, generator, tile, progress, kernel, found=found, trusted=trusted)
    return replace(photo, pixels=pixels)
