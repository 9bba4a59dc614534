"""Checkpoint files: written atomically, listed newest first, loaded with weights_only=True.

A checkpoint describes itself (config, step, weights, optimizers, RNG states, data cursor),
holds only tensors and plain values, and so never needs pickle's code execution to load.
"""

from __future__ import annotations

import io
import re
from pathlib import Path

import torch

from gandash.errors import GandashError
from gandash.paths import atomic_write_bytes

FORMAT = 1
_NAME = re.compile(r"^step_(\d+)\.pt$")


def folder(run_dir: Path) -> Path:
    return Path(run_dir) / "checkpoints"


def path_for(run_dir: Path, step: int) -> Path:
    return folder(run_dir) / f"step_{step:08d}.pt"


def save(run_dir: Path, step: int, state: dict, keep: int) -> Path:
    """Write `state` for `step`, then drop all but the newest `keep` checkpoints."""
    target = path_for(run_dir, step)
    target.parent.mkdir(parents=True, exist_ok=True)
    buffer = io.BytesIO()
    torch.save(dict(state, format=FORMAT, step=step), buffer)
    atomic_write_bytes(target, buffer.getvalue())
    for old in listing(run_dir)[keep:]:
        old.unlink(missing_ok=True)
    return target


def step_of(path: Path) -> int:
    return int(_NAME.match(Path(path).name).group(1))


def listing(run_dir: Path) -> list[Path]:
    """Checkpoint files of a run, newest step first."""
    found = [(int(m.group(1)), p) for p in folder(run_dir).glob("step_*.pt") if (m := _NAME.match(p.name))]
    return [p for _, p in sorted(found, reverse=True)]


def load(path: Path, map_location="cpu") -> dict:
    try:
        state = torch.load(path, map_location=map_location, weights_only=True)
    except Exception as exc:  # torch raises many types for a bad file; all mean "not a checkpoint"
        raise GandashError(f"{Path(path).name} is not a readable gandash checkpoint ({type(exc).__name__}: "
                           f"{str(exc)[:200]}).") from None
    if not isinstance(state, dict) or state.get("format") != FORMAT or "generator" not in state:
        raise GandashError(f"{Path(path).name} is not a gandash checkpoint (format {FORMAT}).")
    return state


def latest(run_dir: Path, map_location="cpu") -> tuple[dict | None, list[str]]:
    """The newest checkpoint that loads, and a warning for each newer one that did not."""
    warnings = []
    for path in listing(run_dir):
        try:
            return load(path, map_location), warnings
        except GandashError as exc:
            warnings.append(f"skipped a damaged checkpoint: {exc}")
    return None, warnings
