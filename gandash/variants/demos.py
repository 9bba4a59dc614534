"""Bundled demo models: small trained generators shipped in the repo so the explorer and the
gallery work the moment the app opens, offline, before the user has trained anything.

A demo file `gandash/weights/demos/NAME.pt` holds plain tensors and values only (loaded with
weights_only=True): the run's config, the sampling generator's weights in float16 (half the
size; rendered in float32), the step it was taken at and a one-line description.
"""

from __future__ import annotations

import io
import re
import tempfile
import time
from dataclasses import asdict
from pathlib import Path

import torch

from gandash.core import paths
from gandash.core.config import TrainConfig
from gandash.core.errors import GandashError
from gandash.core.paths import atomic_write_bytes
from gandash.engine import checkpoints
from gandash.engine.reporter import Reporter
from gandash.variants import loading, training

FOLDER = paths.WEIGHTS / "demos"
_NAME = re.compile(r"^[a-z0-9][a-z0-9-]{0,63}$")


def path_for(name: str) -> Path:
    if not _NAME.match(name or ""):
        raise GandashError(f"'{name}' is not a demo model name (lowercase letters, digits and dashes).")
    return FOLDER / f"{name}.pt"


def available() -> list[str]:
    return sorted(p.stem for p in FOLDER.glob("*.pt") if _NAME.match(p.stem))


def _read(name: str) -> dict:
    target = path_for(name)
    if not target.is_file():
        raise GandashError(f"there is no demo model '{name}'; bundled: {', '.join(available()) or 'none'}.")
    try:
        state = torch.load(target, map_location="cpu", weights_only=True)
    except Exception as exc:  # any unreadable file means the same thing to the user
        raise GandashError(
            f"demo model '{name}' is damaged ({type(exc).__name__}); rebuild it with `python -m gandash pretrain`."
        ) from None
    if not isinstance(state, dict) or "generator" not in state or "config" not in state:
        raise GandashError(f"demo model '{name}' is not in gandash's demo format.")
    return state


def describe(name: str) -> dict:
    """{'name', 'description', 'variant', 'dataset', 'step'} of a demo, without building its net."""
    state = _read(name)
    return {
        "name": name,
        "description": state.get("description", ""),
        "variant": state["config"]["variant"],
        "dataset": state["config"]["dataset"],
        "step": int(state.get("step", 0)),
    }


def config_of(name: str) -> TrainConfig:
    """The config a demo was trained with, without building its net."""
    return TrainConfig.from_dict(_read(name)["config"])


def load_generator(name: str) -> tuple[torch.nn.Module, TrainConfig, int]:
    state = _read(name)
    config = TrainConfig.from_dict(state["config"])
    weights = {key: value.float() if value.is_floating_point() else value for key, value in state["generator"].items()}
    generator = loading.generator_from_state({"generator": weights, "config": state["config"]}, config, ema=False)
    return generator, config, int(state.get("step", 0))


def bundle(run_dir: Path, name: str, description: str, folder: Path | None = None) -> Path:
    """Pack a trained run's sampling generator (EMA when kept) into a demo file (in `folder`, by
    default the bundled demos' own)."""
    run_dir = Path(run_dir)
    target = path_for(name) if folder is None else Path(folder) / path_for(name).name
    config = TrainConfig.load(run_dir / "config.json")
    state, _ = checkpoints.latest(run_dir)
    if state is None:
        raise GandashError(f"run {run_dir.name} has no checkpoint to bundle.")
    weights = state["ema"] if state.get("ema") is not None else state["generator"]
    half = {key: value.half() if value.is_floating_point() else value for key, value in weights.items()}
    buffer = io.BytesIO()
    torch.save(
        {"config": asdict(config), "generator": half, "step": int(state["step"]), "description": description}, buffer
    )
    target.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_bytes(target, buffer.getvalue())
    return target


# The demo presets: what `python -m gandash pretrain` trains and bundles. Each is a plain Train-page
# configuration with a step budget, so the same command rebuilds the same weights on any machine
# (seeded; one thread, because thread counts change float rounding). README lists how long each took.
# What both bundled upscalers share: the adversarial one starts from the pixel one's weights (init_from), so
# its net must be the same shape.
_UPSCALER = dict(width=48, image_size=128, batch_size=16, lr_schedule="cosine")

PRESETS: dict[str, dict] = {
    # built with the recipe of its day (4e-4, the paper's nets); pinned, so pretrain rebuilds the bundled weights
    "dcgan-fashion": dict(
        variant="dcgan",
        dataset="fashion-mnist",
        steps=6000,
        overrides={"lr_g": 4e-4, "lr_d": 4e-4, "extra_convs": 0},
        description="DCGAN (Radford et al.) on Fashion-MNIST at 28x28, z of 100 dimensions.",
    ),
    "cgan-fashion": dict(
        variant="cgan",
        dataset="fashion-mnist",
        steps=6000,
        overrides={},
        description="Conditional DCGAN on Fashion-MNIST: ask for a T-shirt, a shoe, a bag.",
    ),
    "vanilla-fashion": dict(
        variant="vanilla",
        dataset="fashion-mnist",
        steps=6000,
        overrides={},
        description="The seed tutorial's MLP GAN (256-512-1024 units) on Fashion-MNIST.",
    ),
    "wgan-fashion": dict(
        variant="wgan",
        dataset="fashion-mnist",
        steps=3500,
        overrides={"width": 32},
        description="The original WGAN (weight clipping, RMSProp) on Fashion-MNIST.",
    ),
    "wgan-gp-fashion": dict(
        variant="wgan-gp",
        dataset="fashion-mnist",
        steps=2000,
        overrides={"width": 32},
        description="WGAN-GP (gradient penalty, 5 critic steps) on Fashion-MNIST.",
    ),
    "lsgan-fashion": dict(
        variant="lsgan",
        dataset="fashion-mnist",
        steps=6000,
        overrides={"width": 32},
        description="LSGAN (least-squares loss) on Fashion-MNIST.",
    ),
    "hinge-fashion": dict(
        variant="hinge",
        dataset="fashion-mnist",
        steps=6000,
        overrides={"width": 32},
        description="Hinge loss with a spectral-norm discriminator on Fashion-MNIST.",
    ),
    "infogan-fashion": dict(
        variant="infogan",
        dataset="fashion-mnist",
        steps=6000,
        overrides={"width": 32},
        description="InfoGAN on Fashion-MNIST: a 10-way code and 2 continuous codes, no labels.",
    ),
    "lapgan-fashion": dict(
        variant="lapgan",
        dataset="fashion-mnist",
        steps=4000,
        overrides={},
        description="LAPGAN on Fashion-MNIST: a 7 -> 14 -> 28 px Laplacian pyramid of generators.",
    ),
    "stackgan-fashion": dict(
        variant="stackgan",
        dataset="fashion-mnist",
        steps=4000,
        overrides={},
        description="StackGAN on Fashion-MNIST: a 14 px stage I refined to 28 px, per class.",
    ),
    "discogan-shoes": dict(
        variant="discogan",
        dataset="domains:fashion-mnist:7,5",
        steps=3000,
        overrides={},
        description="DiscoGAN between Fashion-MNIST sneakers and sandals, both directions.",
    ),
    # the Deblur page's x4 upscalers (bench/upscale.py): the pixel model, then the adversarial one fine-tuned
    # from the bundled pixel model (pretrain trains them in this order, so `--only srgan-photos
    # srgan-photos-gan` fine-tunes the one it just rebuilt; with --out-dir it still starts from the bundled one)
    "srgan-photos": dict(
        variant="srgan",
        dataset="lowres:photos",
        steps=6000,
        overrides=dict(_UPSCALER, adversarial_weight=0.0, lr_g=5e-4),
        description="x4 upscaler, pixel loss: the faithful one (above bicubic on photos it never saw).",
    ),
    "srgan-photos-gan": dict(
        variant="srgan",
        dataset="lowres:photos",
        steps=1000,
        overrides=dict(_UPSCALER, adversarial_weight=5e-2, init_from="demo:srgan-photos", lr_g=1e-4, lr_d=2e-4),
        description="x4 upscaler, adversarial: crisper texture, partly invented, so less faithful.",
    ),
    "toy-ring": dict(
        variant="toy",
        dataset="ring",
        steps=15000,
        overrides={},
        description="The 2D GAN on a ring of 8 Gaussians: every mode, tight.",
    ),
    "deblur-seed-photos": dict(
        variant="deblur-seed",
        dataset="blurred:photos",
        steps=3000,
        overrides={},
        description="The seed tutorial's 3-conv deblurring GAN on blurred photo crops.",
    ),
}


def pretrain(
    names: list[str] | None = None,
    minutes: float | None = None,
    seed: int = 0,
    log=print,
    steps: int | None = None,
    folder: Path | None = None,
) -> list[Path]:
    """Train each preset from scratch (seeded) for its step budget, or for `steps` / `minutes` when
    given, and bundle its generator into `folder` (default: the bundled demos' folder)."""
    from gandash.variants.configure import make_config

    names = names or list(PRESETS)
    unknown = [n for n in names if n not in PRESETS]
    if unknown:
        raise GandashError(f"unknown demo preset(s) {', '.join(unknown)}; choose from {', '.join(PRESETS)}.")
    names = [n for n in PRESETS if n in names]  # in PRESETS order: a fine-tune after the demo it starts from
    written = []
    for name in names:
        preset = PRESETS[name]
        budget = dict(max_steps=None, max_minutes=minutes) if minutes else dict(max_steps=steps or preset["steps"])
        config = make_config(
            preset["variant"],
            preset["dataset"],
            seed=seed,
            sample_every=10**6,
            checkpoint_every=10**6,
            log_every=100,
            cpu_threads=1,
            cpu_precision="fp32",
            eval_samples=0,
            **budget,
            **preset["overrides"],
        )
        with tempfile.TemporaryDirectory(prefix=f"gandash-pretrain-{name}-") as scratch:
            config.save(Path(scratch) / "config.json")
            what = f"{minutes:g} min" if minutes else f"{config.max_steps} steps"
            log(f"{name}: training {config.variant} on {config.dataset} for {what}")
            started = time.perf_counter()
            threads = torch.get_num_threads()
            try:
                status, message = training.train(config, Path(scratch), _Progress(name, log))
            finally:
                torch.set_num_threads(threads)
            if status != "completed":
                raise GandashError(f"pretraining {name} ended {status}: {message}")
            written.append(bundle(Path(scratch), name, preset["description"], folder))
        log(
            f"{name}: wrote {written[-1]} ({written[-1].stat().st_size / 1e6:.1f} MB) "
            f"in {(time.perf_counter() - started) / 60:.1f} min"
        )
    return written


class _Progress(Reporter):
    def __init__(self, name: str, log):
        self.name, self.log = name, log

    def metrics(self, step, values):
        if step % 200 == 0:
            shown = ("loss_d", "loss_g", "psnr_blurry", "psnr_restored")  # a pixel model has no D
            self.log(f"  {self.name} step {step}: " + " ".join(f"{k} {values[k]:.3f}" for k in shown if k in values))
