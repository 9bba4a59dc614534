"""TrainConfig: the one object that flows unchanged from the Train page or the CLI to the worker.

It is plain data (frozen, JSON round-trip, unknown keys rejected) and is validated once, with a
message for every bad value that says what is allowed. `make_config` applies the variant's
recipe and the dataset's shape, so config.json records the concrete values that were used.
"""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass, fields, replace
from pathlib import Path

from gandash import data, variants
from gandash.device import DEVICE_CHOICES, available_accelerators
from gandash.errors import GandashError
from gandash.losses import G_LOSSES, LOSS_FAMILIES
from gandash.paths import atomic_write_bytes, is_run_id

OPTIMIZERS = ("adam", "rmsprop")
LR_SCHEDULES = ("constant", "linear", "cosine")


@dataclass(frozen=True)
class TrainConfig:
    # what to train
    name: str = ""                  # a label for people; the run id is made separately
    variant: str = "dcgan"          # a key of variants.REGISTRY
    dataset: str = "fashion-mnist"  # a key of data.CATALOGUE, or folder:PATH / points:FILE
    data_dir: str | None = None     # looked in first for dataset files
    # shapes
    image_size: int = 28            # 0 for 2D point sets
    channels: int = 1               # 1 gray, 3 colour, 0 for points
    num_classes: int = 0            # > 0 only for conditional variants (from the dataset)
    z_dim: int = 100                # size of the latent vector z
    width: int = 64                 # base channels (ngf = ndf) or hidden units
    extra_convs: int = 0            # conv nets: 3x3 conv layers added at each inner resolution of G and D
                                    # (0 = the DCGAN paper's nets)
    # optimisation
    batch_size: int = 64
    lr_g: float = 2e-4
    lr_d: float = 2e-4
    beta1: float = 0.5              # Adam betas; DCGAN recipe (0.5, 0.999)
    beta2: float = 0.999
    d_steps: int = 1                # k discriminator steps per generator step (Algorithm 1)
    lr_schedule: str = "constant"   # constant | linear | cosine: both learning rates decay to 0 over the budget
    loss: str = "bce"               # bce | wasserstein | least-squares | hinge
    g_loss: str = "non-saturating"  # bce only: non-saturating -log D(G(z)) or minimax log(1 - D(G(z)))
    gp_weight: float = 0.0          # WGAN-GP gradient penalty weight (0 = off)
    r1_weight: float = 0.0          # R1 penalty on real data (0 = off)
    spectral_norm: bool = False     # spectral norm in the toy discriminator
    pack: int = 1                   # PacGAN packing for the toy discriminator
    generators: int = 1             # toy G: a mixture of this many generators (MGAN), picked by z's first coordinate
    ema_decay: float = 0.0          # EMA of G's weights for sampling (0 = off, 0.999 typical)
    loss_margin: int = 0            # image-to-image: border pixels of each crop left out of the losses (at most
                                    # a quarter of the crop's side)
    init_from: str = ""             # start G from trained weights: a run id, or "bundled" (deblur); "" = random
    # budget: training stops at the first one reached
    max_steps: int | None = 2000
    max_minutes: float | None = None
    epochs: float | None = None
    # bookkeeping
    seed: int = 0
    log_every: int = 10             # steps between metric rows
    sample_every: int = 200         # steps between fixed-noise sample grids
    checkpoint_every: int = 500     # steps between checkpoints (one is also written at stop)
    keep_checkpoints: int = 3
    eval_samples: int = 1000        # samples per quality evaluation during training (0 = off; <= 5% of the time)
    # hardware
    device: str = "auto"            # auto (cuda, then mps, then cpu) | cpu | cuda | mps
    cpu_threads: int = 0            # 0: the faster of 1 and a fair share of the cores, re-checked each minute;
                                    # N: always N (thread counts change float rounding: fix it for bit-exact runs)
    mixed_precision: bool = True    # bf16/fp16 autocast on CUDA; ignored on the CPU
    # the original WGAN's recipe (Arjovsky et al. 2017)
    optimizer: str = "adam"         # adam | rmsprop (RMSProp ignores beta1/beta2)
    clip_value: float = 0.0         # clip every D weight to [-c, c] after each D step (0 = off; WGAN: 0.01)

    def to_json(self) -> str:
        return json.dumps(asdict(self), indent=2)

    def save(self, path: Path) -> None:
        atomic_write_bytes(path, self.to_json().encode())

    @classmethod
    def from_dict(cls, values: dict) -> "TrainConfig":
        unknown = sorted(set(values) - {f.name for f in fields(cls)})
        if unknown:
            raise GandashError(f"unknown setting(s): {', '.join(unknown)}; known: {', '.join(field_names())}.")
        return cls(**values)

    @classmethod
    def load(cls, path: Path) -> "TrainConfig":
        try:
            values = json.loads(Path(path).read_text())
        except (OSError, json.JSONDecodeError) as exc:
            raise GandashError(f"{path} could not be read as a run config ({exc}).") from None
        return cls.from_dict(values)

    @property
    def total_steps(self) -> int | None:
        """Steps in the budget when it is counted in steps or epochs (None for a time budget only)."""
        candidates = [self.max_steps] if self.max_steps else []
        if self.epochs:
            candidates.append(max(1, math.ceil(self.epochs * self._epoch_size() / self.batch_size)))
        return min(candidates) if candidates else None

    def _epoch_size(self) -> int:
        return {"fashion-mnist": 60_000, "mnist": 60_000, "cifar10": 50_000}.get(self.dataset, data.TOY_POOL)


def lr_factor(config: TrainConfig, step: int, seconds: float) -> float:
    """How far the learning rates have decayed (1 = not at all) at this point of the budget; a run
    budgeted in both steps and minutes decays with whichever is further along."""
    if config.lr_schedule == "constant":
        return 1.0
    progress = 0.0
    if config.total_steps:
        progress = step / config.total_steps
    if config.max_minutes:
        progress = max(progress, seconds / (config.max_minutes * 60))
    progress = min(max(progress, 0.0), 1.0)
    if config.lr_schedule == "linear":
        return 1.0 - progress
    return 0.5 * (1.0 + math.cos(math.pi * progress))


def field_names() -> list[str]:
    return [f.name for f in fields(TrainConfig)]


def _field_type(name: str) -> str:
    return next(f.type for f in fields(TrainConfig) if f.name == name)


def parse_value(key: str, text: str):
    """Turn the string of `--set key=value` into the field's type, with a clear message."""
    if key not in field_names():
        raise GandashError(f"unknown setting '{key}'; known: {', '.join(field_names())}.")
    kind = _field_type(key)
    if "None" in kind and text.strip().lower() in ("none", "null", ""):
        return None
    try:
        if kind.startswith("bool"):
            if text.lower() not in ("true", "false", "1", "0", "yes", "no", "on", "off"):
                raise ValueError
            return text.lower() in ("true", "1", "yes", "on")
        if kind.startswith("int"):
            return int(text)
        if kind.startswith("float"):
            return float(text)
    except ValueError:
        raise GandashError(f"{key}={text}: expected {kind.replace(' | None', '')}.") from None
    return text


def parse_overrides(pairs: list[str]) -> dict:
    values = {}
    for pair in pairs:
        key, sep, text = pair.partition("=")
        if not sep:
            raise GandashError(f"'{pair}' is not key=value (for example --set lr_g=1e-4).")
        values[key.strip()] = parse_value(key.strip(), text.strip())
    return values


def make_config(variant: str | None = None, dataset: str = "fashion-mnist", **overrides) -> TrainConfig:
    """Defaults <- the variant's recipe <- the dataset's shape <- the user's overrides; then validated."""
    meta = data.info(dataset)
    recipe = variants.get(variant or variants.default_for(meta.kind))
    values = dict(recipe.defaults, variant=recipe.name, dataset=dataset)
    if meta.kind in ("image", "paired", "domains", "lowres"):  # paired sets of photos leave the crop size to the recipe
        values.update(channels=meta.channels or 3, image_size=meta.image_size or recipe.defaults.get("image_size", 64))
        values["num_classes"] = meta.num_classes if recipe.conditional else 0
    else:
        values.update(channels=0, image_size=0, num_classes=0)
    unknown = sorted(set(overrides) - set(field_names()))
    if unknown:
        raise GandashError(f"unknown setting(s): {', '.join(unknown)}; known: {', '.join(field_names())}.")
    values.update(overrides)
    config = TrainConfig(**values)
    check(config)
    return config


def check(config: TrainConfig) -> None:
    problems = validate(config)
    if problems:
        raise GandashError("invalid settings:\n- " + "\n- ".join(problems))


def validate(config: TrainConfig) -> list[str]:
    """Every problem with `config`, each saying what is allowed. Empty when it can be trained."""
    c, problems = config, []

    def need(ok: bool, message: str) -> None:
        if not ok:
            problems.append(message)

    def positive_number(key: str, value, upper: float | None = None, hint: str = "") -> None:
        good = isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value) and value > 0
        need(good and (upper is None or value <= upper),
             f"{key} must be a number above 0{f' and at most {upper:g}' if upper else ''} (got {value!r}){hint}.")

    def integer(key: str, value, low: int, high: int) -> None:
        good = isinstance(value, int) and not isinstance(value, bool) and low <= value <= high
        need(good, f"{key} must be a whole number from {low} to {high} (got {value!r}).")

    recipe = None
    if c.variant not in variants.REGISTRY:
        problems.append(f"variant '{c.variant}' is unknown; choose one of {', '.join(variants.REGISTRY)}.")
    else:
        recipe = variants.REGISTRY[c.variant]
    meta = None
    try:
        meta = data.info(c.dataset)
    except GandashError as exc:
        problems.append(str(exc))
    if recipe and meta:
        need(recipe.data_kind == meta.kind,
             f"variant '{c.variant}' trains on {recipe.data_kind} data but '{c.dataset}' is {meta.kind} data; "
             f"use variant '{variants.default_for(meta.kind)}' or another dataset.")
        if recipe.conditional and meta.kind == "image":
            need(meta.num_classes > 1, f"variant '{c.variant}' is conditional and needs labels, but '{c.dataset}' "
                 "has none; pick a labelled dataset (fashion-mnist, mnist, cifar10, a folder of class sub-folders).")
            need(meta.num_classes <= 1 or c.num_classes == meta.num_classes,
                 f"num_classes must be {meta.num_classes} for '{c.dataset}' (got {c.num_classes}).")
        if recipe.data_kind == meta.kind and meta.kind in ("image", "paired", "domains", "lowres"):
            need(c.channels in (1, 3), f"channels must be 1 (gray) or 3 (colour) (got {c.channels!r}).")
            integer("image_size", c.image_size, 4, 256)
            if isinstance(c.image_size, int) and 4 <= c.image_size <= 256:
                message = recipe.size_check(c.image_size)
                need(message is None, f"{message}")
    integer("z_dim", c.z_dim, 1, 1024)
    integer("width", c.width, 4, 1024)
    integer("extra_convs", c.extra_convs, 0, 4)
    integer("batch_size", c.batch_size, 1, 4096)
    positive_number("lr_g", c.lr_g, 1.0, " (typical: 1e-4 to 1e-3)")
    positive_number("lr_d", c.lr_d, 1.0, " (typical: 1e-4 to 1e-3)")
    for key in ("beta1", "beta2"):
        value = getattr(c, key)
        need(isinstance(value, (int, float)) and 0 <= value < 1, f"{key} must be in [0, 1) (got {value!r}).")
    integer("d_steps", c.d_steps, 1, 100)
    need(c.loss in LOSS_FAMILIES, f"loss '{c.loss}' is unknown; choose one of {', '.join(LOSS_FAMILIES)}.")
    need(c.g_loss in G_LOSSES, f"g_loss '{c.g_loss}' is unknown; choose one of {', '.join(G_LOSSES)}.")
    for key in ("gp_weight", "r1_weight"):
        value = getattr(c, key)
        need(isinstance(value, (int, float)) and 0 <= value <= 1000, f"{key} must be from 0 to 1000 (got {value!r}).")
    integer("pack", c.pack, 1, 16)
    integer("generators", c.generators, 1, 256)
    need(c.lr_schedule in LR_SCHEDULES,
         f"lr_schedule '{c.lr_schedule}' is unknown; choose one of {', '.join(LR_SCHEDULES)}.")
    need(c.optimizer in OPTIMIZERS, f"optimizer '{c.optimizer}' is unknown; choose one of {', '.join(OPTIMIZERS)}.")
    need(isinstance(c.clip_value, (int, float)) and 0 <= c.clip_value <= 1,
         f"clip_value must be from 0 (off) to 1; the original WGAN clips to 0.01 (got {c.clip_value!r}).")
    need(not isinstance(c.batch_size, int) or not isinstance(c.pack, int) or c.pack < 1
         or c.batch_size % c.pack == 0, f"batch_size ({c.batch_size}) must be a multiple of pack ({c.pack}).")
    need(isinstance(c.ema_decay, (int, float)) and 0 <= c.ema_decay < 1,
         f"ema_decay must be in [0, 1): 0 turns EMA off, 0.999 is typical (got {c.ema_decay!r}).")
    integer("loss_margin", c.loss_margin, 0, 64)
    need(isinstance(c.init_from, str) and (c.init_from in ("", "bundled") or is_run_id(c.init_from)),
         f"init_from must be empty, 'bundled' or a run id (lowercase letters, digits, dashes; got {c.init_from!r}).")
    need(c.init_from != "bundled" or c.variant == "deblur",
         f"init_from 'bundled' is the bundled deblurring U-Net: variant deblur only (got {c.variant!r}).")
    if c.max_steps is None and c.max_minutes is None and c.epochs is None:
        problems.append("set a budget: max_steps, max_minutes or epochs.")
    if c.max_steps is not None:
        integer("max_steps", c.max_steps, 1, 100_000_000)
    if c.max_minutes is not None:
        positive_number("max_minutes", c.max_minutes, 60 * 24 * 30)
    if c.epochs is not None:
        positive_number("epochs", c.epochs, 100_000)
    integer("seed", c.seed, 0, 2**63 - 1)
    for key in ("log_every", "sample_every", "checkpoint_every"):
        integer(key, getattr(c, key), 1, 10_000_000)
    integer("keep_checkpoints", c.keep_checkpoints, 1, 1000)
    integer("cpu_threads", c.cpu_threads, 0, 256)
    need(c.eval_samples == 0 or 100 <= c.eval_samples <= 10_000,
         f"eval_samples must be 0 (off) or from 100 to 10000 (got {c.eval_samples}).")
    if c.device not in DEVICE_CHOICES:
        problems.append(f"device '{c.device}' is unknown; choose one of {', '.join(DEVICE_CHOICES)}.")
    elif c.device in ("cuda", "mps") and not available_accelerators()[c.device]:
        problems.append(f"device '{c.device}' was asked for but none is visible on this machine; use auto or cpu.")
    need(isinstance(c.name, str) and len(c.name) <= 100, "name must be text of at most 100 characters.")
    if recipe and not problems:  # a variant's own rules assume the generic ones hold
        problems += recipe.config_check(c)
    return problems


def with_changes(config: TrainConfig, **changes) -> TrainConfig:
    """A validated copy with some values changed (Duplicate-with-changes, resume with a new budget)."""
    updated = replace(config, **changes)
    check(updated)
    return updated
