"""A trained generator back from its weights: a run's checkpoint (the newest that loads, or one asked for),
rebuilt as its variant's net; and the weights a config's init_from names, to fine-tune from."""

from __future__ import annotations

from pathlib import Path

import torch

from gandash.core import paths
from gandash.core.config import TrainConfig
from gandash.core.errors import GandashError
from gandash.engine import checkpoints
from gandash.variants import registry as variants


def load_generator(
    run_dir: Path, ema: bool = True, checkpoint: Path | None = None, notes: list[str] | None = None
) -> tuple[torch.nn.Module, TrainConfig, int]:
    """(generator in eval mode on the CPU, its config, the checkpoint's step) from the newest
    checkpoint that loads, or from `checkpoint`; EMA weights if asked and kept. When newer checkpoints
    are damaged and an older one is used, `notes` receives a sentence saying so."""
    run_dir = Path(run_dir)
    config = TrainConfig.load(run_dir / "config.json")
    if checkpoint is not None:
        state = checkpoints.load(checkpoint)
    else:
        state, warnings = checkpoints.latest(run_dir)
        if state is None and warnings:
            raise checkpoints.all_damaged(run_dir, run_dir.name, warnings)
        if state is None:
            raise GandashError(
                f"run {run_dir.name} has no checkpoint yet; one is written every "
                f"{config.checkpoint_every} steps and when the run stops."
            )
        if warnings and notes is not None:
            reasons = " ".join(w.removeprefix("skipped a damaged checkpoint: ") for w in warnings)
            notes.append(f"used the checkpoint of step {int(state['step'])}, the newest that loads: {reasons}")
    return generator_from_state(state, config, ema), config, int(state["step"])


def generator_from_state(state: dict, config: TrainConfig, ema: bool = True) -> torch.nn.Module:
    """Build the config's generator and load the checkpoint's weights into it, or say why they do not fit."""
    saved_variant = (state.get("config") or {}).get("variant", config.variant)
    if saved_variant != config.variant:
        raise GandashError(f"the checkpoint is of variant '{saved_variant}', but the run is '{config.variant}'.")
    generator, _ = variants.get(config.variant).build(config)
    weights = state["ema"] if ema and state.get("ema") is not None else state["generator"]
    if hasattr(generator, "matching"):  # a net whose earlier layout is still loaded (nets.srgan)
        generator = generator.matching(weights)
    try:
        generator.load_state_dict(weights)
    except (RuntimeError, TypeError, AttributeError) as exc:
        raise GandashError(
            f"the checkpoint does not fit a {config.variant} generator with this run's "
            f"settings ({str(exc).splitlines()[0]})."
        ) from None
    return generator.eval()


def initial_weights(config: TrainConfig) -> dict:
    """The generator weights config.init_from names: the variant's bundled weights (the deblur U-Net), a
    bundled demo of the same variant (demo:NAME), or the newest checkpoint (EMA weights when kept) of a run
    of the same variant."""
    if config.init_from.startswith("demo:"):
        from gandash.variants import demos  # demos builds its nets through this module

        name = config.init_from.removeprefix("demo:")
        variant = demos.describe(name)["variant"]
        if variant != config.variant:
            raise GandashError(f"init_from: demo '{name}' is a {variant} model; this run is {config.variant}.")
        return demos.load_generator(name)[0].state_dict()
    if config.init_from == "bundled":
        bundled = variants.get(config.variant).bundled_weights
        if bundled is None or not bundled.is_file():
            raise GandashError(f"init_from: variant {config.variant} has no bundled weights here ({bundled}).")
        return torch.load(bundled, map_location="cpu", weights_only=True)
    source = paths.run_dir(config.init_from)
    if not (source / "config.json").is_file():
        raise GandashError(f"init_from: there is no run '{config.init_from}' (see `python -m gandash runs`).")
    variant = TrainConfig.load(source / "config.json").variant
    if variant != config.variant:
        raise GandashError(f"init_from: run '{config.init_from}' is a {variant} run; this one is {config.variant}.")
    return load_generator(source, ema=True)[0].state_dict()
