"""Load a trained run's generator and draw samples from it (the CLI's `sample`, benchmarks,
the latent explorer)."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import torch

from gandash import checkpoints, images, variants
from gandash.config import TrainConfig
from gandash.errors import GandashError
from gandash.paths import atomic_write_bytes

MAX_SAMPLES = 100_000


def load_generator(run_dir: Path, ema: bool = True, checkpoint: Path | None = None, notes: list[str] | None = None
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
            raise GandashError(f"run {run_dir.name} has no checkpoint yet; one is written every "
                               f"{config.checkpoint_every} steps and when the run stops.")
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
    try:
        generator.load_state_dict(weights)
    except (RuntimeError, TypeError, AttributeError) as exc:
        raise GandashError(f"the checkpoint does not fit a {config.variant} generator with this run's "
                           f"settings ({str(exc).splitlines()[0]}).") from None
    return generator.eval()


@torch.no_grad()
def sample(generator: torch.nn.Module, config: TrainConfig, n: int, seed: int = 0,
           label: int | None = None, batch: int = 500) -> dict[str, np.ndarray]:
    """n samples from seeded noise: {'images' uint8 (N,H,W[,3]), 'labels'} or {'points' (N, 2)}."""
    if not 1 <= n <= MAX_SAMPLES:
        raise GandashError(f"--n must be from 1 to {MAX_SAMPLES} (got {n}).")
    if label is not None and not config.num_classes:
        raise GandashError(f"run is a {config.variant} run without classes; drop --class.")
    if label is not None and not 0 <= label < config.num_classes:
        raise GandashError(f"--class must be from 0 to {config.num_classes - 1} (got {label}).")
    z = torch.randn(n, config.z_dim, generator=torch.Generator().manual_seed(seed))
    labels = None
    if config.num_classes:
        labels = torch.full((n,), label) if label is not None else torch.arange(n) % config.num_classes
    outputs = [generator(z[i:i + batch], None if labels is None else labels[i:i + batch]) for i in range(0, n, batch)]
    out = torch.cat(outputs)
    if config.image_size == 0:
        return {"points": out.float().numpy()}
    result = {"images": images.to_uint8(out)}
    if labels is not None:
        result["labels"] = labels.numpy()
    return result


def write_npz(path: Path, arrays: dict[str, np.ndarray]) -> None:
    path = Path(path)
    if path.suffix != ".npz":
        raise GandashError(f"--out must end in .npz (got {path.name}).")
    if not path.parent.is_dir():
        raise GandashError(f"folder {path.parent} does not exist.")
    buffer = io.BytesIO()
    np.savez_compressed(buffer, **arrays)
    atomic_write_bytes(path, buffer.getvalue())
