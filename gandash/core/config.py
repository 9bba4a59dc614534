"""TrainConfig: the one object that flows unchanged from the Train page or the CLI to the worker.

It is plain data (frozen, JSON round-trip, unknown keys rejected) and imports nothing heavy: the
pages, the CLI and the store read it without torch. It is validated once, with a message for every
bad value that says what is allowed, by variants.configure (which knows the variants and the datasets);
`make_config` there applies the variant's recipe and the dataset's shape, so config.json records the
concrete values that were used.
"""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import Literal

from gandash.core.errors import GandashError
from gandash.core.paths import atomic_write_bytes

OPTIMIZERS = ("adam", "rmsprop")
LR_SCHEDULES = ("constant", "linear", "cosine")
CPU_PRECISIONS = ("auto", "fp32", "bf16")
LR_SCALINGS = ("none", "sqrt", "linear")
PAIRS = ("camera", "clean")  # data.degrade.MIXES
# What a dataset holds, and so which variants train on it: images (optionally labelled), 2D points,
# blurred/sharp pairs, two unpaired image domains, or low-resolution/original pairs.
DataKind = Literal["image", "points", "paired", "domains", "lowres"]
IMAGE_KINDS: tuple[DataKind, ...] = ("image", "paired", "domains", "lowres")
TOY_POOL = 50_000  # points drawn once per toy run; plenty for a 2D mixture
EPOCH_SIZES = {"fashion-mnist": 60_000, "mnist": 60_000, "cifar10": 50_000}  # others: TOY_POOL


@dataclass(frozen=True)
class TrainConfig:
    # what to train
    name: str = ""  # a label for people; the run id is made separately
    variant: str = "dcgan"  # a key of variants.REGISTRY
    dataset: str = "fashion-mnist"  # a key of data.CATALOGUE, or folder:PATH / points:FILE
    data_dir: str | None = None  # looked in first for dataset files
    # shapes
    image_size: int = 28  # 0 for 2D point sets
    channels: int = 1  # 1 gray, 3 colour, 0 for points
    num_classes: int = 0  # > 0 only for conditional variants (from the dataset)
    z_dim: int = 100  # size of the latent vector z
    width: int = 64  # base channels (ngf = ndf) or hidden units
    extra_convs: int = 0  # conv nets: 3x3 conv layers added at each inner resolution of G and D
    # (0 = the DCGAN paper's nets)
    # optimisation
    batch_size: int = 64
    lr_g: float = 2e-4
    lr_d: float = 2e-4
    beta1: float = 0.5  # Adam betas; DCGAN recipe (0.5, 0.999)
    beta2: float = 0.999
    d_steps: int = 1  # k discriminator steps per generator step (Algorithm 1)
    lr_schedule: str = "constant"  # constant | linear | cosine: both learning rates decay to 0 over the budget
    loss: str = "bce"  # bce | wasserstein | least-squares | hinge
    g_loss: str = "non-saturating"  # bce only: non-saturating -log D(G(z)) or minimax log(1 - D(G(z)))
    gp_weight: float = 0.0  # WGAN-GP gradient penalty weight (0 = off)
    r1_weight: float = 0.0  # R1 penalty on real data (0 = off)
    spectral_norm: bool = False  # spectral norm in the toy discriminator
    pack: int = 1  # PacGAN packing for the toy discriminator
    generators: int = 1  # toy G: a mixture of this many generators (MGAN), picked by z's first coordinate
    ema_decay: float = 0.0  # EMA of G's weights for sampling (0 = off, 0.999 typical)
    loss_margin: int = 0  # image-to-image: border pixels of each crop left out of the losses (at most
    # a quarter of the crop's side)
    pairs: str = "camera"  # image-to-image training pairs: camera (shake, sensor noise, JPEG as photos have
    # them) | clean (blur with now and then mild noise: the bundled U-Net's first stages)
    traced_kernels: float = 0.5  # deblur: of the blurred crops, how many G is given the true kernel (as a trace
    # finds it: kernel_grid.as_traced) rather than what the spectrum estimator would name
    traced_spread: float = 0.0  # deblur: those traced kernels widened by a Gaussian of sigma up to this (px)
    adversarial_weight: float = 1e-3  # srgan: the adversarial term beside the pixel loss (Ledig et al.:
    # 1e-3); 0 = the pixel loss alone, D not trained (the most faithful enlargement, the paper's SRResNet)
    init_from: str = ""  # start G from trained weights: a run id, "demo:NAME" (a bundled demo of the same
    # variant) or "bundled" (deblur); "" = random
    # budget: training stops at the first one reached
    max_steps: int | None = 2000
    max_minutes: float | None = None
    epochs: float | None = None
    # bookkeeping
    seed: int = 0
    log_every: int = 10  # steps between metric rows
    sample_every: int = 200  # steps between fixed-noise sample grids
    checkpoint_every: int = 500  # steps between checkpoints (one is also written at stop)
    keep_checkpoints: int = 3
    eval_samples: int = 1000  # samples per quality evaluation during training (0 = off; <= 5% of the time)
    # hardware
    device: str = "auto"  # auto (cuda, then mps, then cpu) | cpu | cuda | mps
    cpu_threads: int = 0  # 0: the faster of 1 and a fair share of the cores, re-checked each minute;
    # N: always N (thread counts change float rounding: fix it for bit-exact runs)
    mixed_precision: bool = True  # bf16/fp16 autocast on CUDA (on the CPU: cpu_precision)
    cpu_precision: str = "auto"  # auto: bf16 autocast if a timed probe finds it faster, else fp32 | fp32 | bf16
    # (fix it, and cpu_threads, for bit-exact runs)
    # data-parallel training (torchrun + DistributedDataParallel): batch_size is per process, so the
    # global batch is batch_size x processes x nodes
    processes: int = 1  # training processes on this machine (CPU: each on its share of the cores; CUDA: one GPU each)
    nodes: int = 1  # machines; more than 1 needs rdzv_endpoint, and the other machines started by hand
    node_rank: int = 0  # this machine's place among the nodes (c10d rendezvous orders them itself)
    rdzv_endpoint: str = ""  # HOST:PORT of the rendezvous for nodes > 1 ("" = this machine alone)
    lr_scaling: str = "none"  # how lr_g and lr_d follow the global batch: none | sqrt | linear (x processes)
    sync_batchnorm: bool = False  # CUDA, processes > 1: BatchNorm statistics over the global batch
    # the original WGAN's recipe (Arjovsky et al. 2017)
    optimizer: str = "adam"  # adam | rmsprop (RMSProp ignores beta1/beta2)
    clip_value: float = 0.0  # clip every D weight to [-c, c] after each D step (0 = off; WGAN: 0.01)

    def to_json(self) -> str:
        return json.dumps(asdict(self), indent=2)

    def save(self, path: Path) -> None:
        atomic_write_bytes(path, self.to_json().encode())

    @classmethod
    def from_dict(cls, values: dict) -> TrainConfig:
        unknown = sorted(set(values) - {f.name for f in fields(cls)})
        if unknown:
            raise GandashError(f"unknown setting(s): {', '.join(unknown)}; known: {', '.join(field_names())}.")
        return cls(**values)

    @classmethod
    def load(cls, path: Path) -> TrainConfig:
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
            global_batch = self.batch_size * self.processes * self.nodes
            candidates.append(max(1, math.ceil(self.epochs * self._epoch_size() / global_batch)))
        return min(candidates) if candidates else None

    def _epoch_size(self) -> int:
        return EPOCH_SIZES.get(self.dataset, TOY_POOL)


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


def world_size(config: TrainConfig) -> int:
    return config.processes * config.nodes


def global_batch(config: TrainConfig) -> int:
    """Images (or points) per step over all the processes."""
    return config.batch_size * world_size(config)


def lr_scale(scaling: str, world: int) -> float:
    """The factor on both learning rates for `world` processes: none keeps them (GAN recipes are tuned
    for their batch and Adam is less sensitive to it than SGD), sqrt and linear follow the global batch
    (Krizhevsky 2014; Goyal et al. 2017)."""
    return {"none": 1.0, "sqrt": world**0.5, "linear": float(world)}[scaling]


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
