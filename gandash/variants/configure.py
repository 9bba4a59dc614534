"""Making and checking a TrainConfig: the variant's recipe and the dataset's shape applied to the defaults,
then every value validated with a message that says what is allowed."""

from __future__ import annotations

import math
from dataclasses import replace

from gandash import data
from gandash.core.config import (
    CPU_PRECISIONS,
    IMAGE_KINDS,
    LR_SCALINGS,
    LR_SCHEDULES,
    OPTIMIZERS,
    PAIRS,
    TrainConfig,
    field_names,
)
from gandash.core.device import DEVICE_CHOICES, available_accelerators, resolve_device_type
from gandash.core.errors import GandashError
from gandash.core.paths import is_run_id
from gandash.engine.losses import G_LOSSES, LOSS_FAMILIES
from gandash.variants import registry as variants


def make_config(variant: str | None = None, dataset: str = "fashion-mnist", **overrides) -> TrainConfig:
    """Defaults <- the variant's recipe <- the dataset's shape <- the user's overrides; then validated."""
    meta = data.info(dataset)
    recipe = variants.get(variant or variants.default_for(meta.kind))
    values = dict(recipe.defaults, variant=recipe.name, dataset=dataset)
    if meta.kind in IMAGE_KINDS:  # paired sets of photos leave the crop size to the recipe
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

    def real(value) -> bool:
        """A finite number, not a boolean (which Python counts as 0 or 1: a hand-edited config.json's true)."""
        return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)

    def whole(value) -> bool:
        return isinstance(value, int) and not isinstance(value, bool)

    def positive_number(key: str, value, upper: float | None = None, hint: str = "") -> None:
        good = real(value) and value > 0
        need(
            good and (upper is None or value <= upper),
            f"{key} must be a number above 0{f' and at most {upper:g}' if upper else ''} (got {value!r}){hint}.",
        )

    def number_from(value, low: float, high: float, below_high: bool = False) -> bool:
        return real(value) and low <= value and (value < high if below_high else value <= high)

    def integer(key: str, value, low: int, high: int) -> None:
        good = whole(value) and low <= value <= high
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
        need(
            recipe.data_kind == meta.kind,
            f"variant '{c.variant}' trains on {recipe.data_kind} data but '{c.dataset}' is {meta.kind} data; "
            f"use variant '{variants.default_for(meta.kind)}' or another dataset.",
        )
        if recipe.conditional and meta.kind == "image":
            need(
                meta.num_classes > 1,
                f"variant '{c.variant}' is conditional and needs labels, but '{c.dataset}' "
                "has none; pick a labelled dataset (fashion-mnist, mnist, cifar10, a folder of class sub-folders).",
            )
            need(
                meta.num_classes <= 1 or c.num_classes == meta.num_classes,
                f"num_classes must be {meta.num_classes} for '{c.dataset}' (got {c.num_classes}).",
            )
        if recipe.data_kind == meta.kind and meta.kind in IMAGE_KINDS:
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
        need(number_from(value, 0, 1, below_high=True), f"{key} must be in [0, 1) (got {value!r}).")
    integer("d_steps", c.d_steps, 1, 100)
    need(c.loss in LOSS_FAMILIES, f"loss '{c.loss}' is unknown; choose one of {', '.join(LOSS_FAMILIES)}.")
    need(c.g_loss in G_LOSSES, f"g_loss '{c.g_loss}' is unknown; choose one of {', '.join(G_LOSSES)}.")
    for key in ("gp_weight", "r1_weight"):
        value = getattr(c, key)
        need(number_from(value, 0, 1000), f"{key} must be from 0 to 1000 (got {value!r}).")
    integer("pack", c.pack, 1, 16)
    integer("generators", c.generators, 1, 256)
    need(
        c.lr_schedule in LR_SCHEDULES,
        f"lr_schedule '{c.lr_schedule}' is unknown; choose one of {', '.join(LR_SCHEDULES)}.",
    )
    need(c.optimizer in OPTIMIZERS, f"optimizer '{c.optimizer}' is unknown; choose one of {', '.join(OPTIMIZERS)}.")
    need(
        number_from(c.clip_value, 0, 1),
        f"clip_value must be from 0 (off) to 1; the original WGAN clips to 0.01 (got {c.clip_value!r}).",
    )
    need(
        not isinstance(c.batch_size, int) or not isinstance(c.pack, int) or c.pack < 1 or c.batch_size % c.pack == 0,
        f"batch_size ({c.batch_size}) must be a multiple of pack ({c.pack}).",
    )
    need(
        number_from(c.ema_decay, 0, 1, below_high=True),
        f"ema_decay must be in [0, 1): 0 turns EMA off, 0.999 is typical (got {c.ema_decay!r}).",
    )
    integer("loss_margin", c.loss_margin, 0, 64)
    need(c.pairs in PAIRS, f"pairs '{c.pairs}' is unknown; choose one of {', '.join(PAIRS)}.")
    need(
        number_from(c.traced_kernels, 0, 1),
        f"traced_kernels must be a fraction from 0 to 1 (got {c.traced_kernels!r}).",
    )
    need(
        number_from(c.traced_spread, 0, 3),
        f"traced_spread must be from 0 to 3 px (got {c.traced_spread!r}).",
    )
    need(
        number_from(c.adversarial_weight, 0, 1),
        f"adversarial_weight must be from 0 (the pixel loss alone) to 1; SRGAN's is 1e-3 "
        f"(got {c.adversarial_weight!r}).",
    )
    need(
        isinstance(c.init_from, str)
        and (c.init_from in ("", "bundled") or is_run_id(c.init_from.removeprefix("demo:"))),
        f"init_from must be empty, 'bundled', a run id or demo:NAME (lowercase letters, digits, dashes; got "
        f"{c.init_from!r}).",
    )
    need(
        c.init_from != "bundled" or c.variant == "deblur",
        f"init_from 'bundled' is the bundled deblurring U-Net: variant deblur only (got {c.variant!r}).",
    )
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
    problems += _parallel_problems(c)
    need(
        c.cpu_precision in CPU_PRECISIONS,
        f"cpu_precision '{c.cpu_precision}' is unknown; choose one of {', '.join(CPU_PRECISIONS)} "
        "(auto: bf16 when a timed probe finds it faster).",
    )
    need(
        whole(c.eval_samples) and (c.eval_samples == 0 or 100 <= c.eval_samples <= 10_000),
        f"eval_samples must be 0 (off) or a whole number from 100 to 10000 (got {c.eval_samples!r}).",
    )
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


def most_processes(device_type: str) -> int:
    """Training processes this machine can run for one job: one per core on the CPU, one per GPU on CUDA."""
    import os

    if device_type == "cuda":
        import torch

        return max(1, torch.cuda.device_count())
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)


def _parallel_problems(c: TrainConfig) -> list[str]:
    problems = []
    if not isinstance(c.processes, int) or not isinstance(c.nodes, int) or not isinstance(c.node_rank, int):
        return ["processes, nodes and node_rank must be whole numbers."]
    try:
        kind = resolve_device_type(c.device, available_accelerators())
    except GandashError:  # an unknown or absent device: said once, by validate
        kind = "cpu"
    most = most_processes(kind)
    if not 1 <= c.processes <= most:
        where = f"{most} GPU(s)" if kind == "cuda" else f"{most} CPU core(s)"
        problems.append(f"processes must be from 1 to {most}: this machine has {where} (got {c.processes}).")
    if not 1 <= c.nodes <= 1024:
        problems.append(f"nodes must be from 1 to 1024 (got {c.nodes}).")
    elif not 0 <= c.node_rank < c.nodes:
        problems.append(f"node_rank must be from 0 to nodes - 1 = {c.nodes - 1} (got {c.node_rank}).")
    host, _, port = (c.rdzv_endpoint or "").rpartition(":")
    if c.nodes > 1 and not (host and port.isdigit() and 0 < int(port) < 65536):
        problems.append(
            "more than one node needs rdzv_endpoint HOST:PORT, a machine and free port every node can reach "
            f"(got {c.rdzv_endpoint!r})."
        )
    if c.lr_scaling not in LR_SCALINGS:
        problems.append(f"lr_scaling '{c.lr_scaling}' is unknown; choose one of {', '.join(LR_SCALINGS)}.")
    if c.sync_batchnorm and kind != "cuda":
        problems.append("sync_batchnorm needs CUDA: PyTorch's SyncBatchNorm does not run on CPU processes.")
    return problems
