"""Checkpoint files: written atomically, listed newest first, loaded with weights_only=True.

A checkpoint describes itself (config, step, weights, optimizers, RNG states, data cursor),
holds only tensors and plain values, and so never needs pickle's code execution to load.

The newest `keep` checkpoints are kept, and the best one as well: the one written after the best
quality evaluation so far (`BestTracker`), named in checkpoints/best.json and never pruned.
"""

from __future__ import annotations

import io
import json
import re
from pathlib import Path

import torch

from gandash.core.errors import AllCheckpointsDamaged, GandashError
from gandash.core.paths import atomic_write_bytes

FORMAT = 1
_NAME = re.compile(r"^step_(\d+)\.pt$")


def folder(run_dir: Path) -> Path:
    return Path(run_dir) / "checkpoints"


def path_for(run_dir: Path, step: int) -> Path:
    return folder(run_dir) / f"step_{step:08d}.pt"


def save(run_dir: Path, step: int, state: dict, keep: int, best: dict | None = None) -> Path:
    """Write `state` for `step`, mark it best when `best` (its quality, see BestTracker) is given,
    then drop all but the newest `keep` checkpoints and the best one."""
    target = path_for(run_dir, step)
    target.parent.mkdir(parents=True, exist_ok=True)
    buffer = io.BytesIO()
    torch.save(dict(state, format=FORMAT, step=step), buffer)
    atomic_write_bytes(target, buffer.getvalue())
    if best is not None:  # after the checkpoint itself, so best.json never names a missing file
        atomic_write_bytes(folder(run_dir) / BEST, json.dumps(dict(best, step=step)).encode())
    kept_best = best_step(run_dir)
    for old in listing(run_dir)[keep:]:
        if step_of(old) != kept_best:
            old.unlink(missing_ok=True)
    return target


def remove_leftovers(run_dir: Path) -> None:
    """Temp files of writes that never finished (a worker killed mid-write). Only the run's worker, which
    holds its lease, calls this: no other process can be writing them."""
    for leftover in folder(run_dir).glob(".*.tmp"):
        leftover.unlink(missing_ok=True)


def step_of(path: Path) -> int:
    return int(_NAME.match(Path(path).name).group(1))


def listing(run_dir: Path) -> list[Path]:
    """Checkpoint files of a run, newest step first."""
    found = [(int(m.group(1)), p) for p in folder(run_dir).glob("step_*.pt") if (m := _NAME.match(p.name))]
    return [p for _, p in sorted(found, reverse=True)]


def load(path: Path, map_location="cpu") -> dict:
    try:
        state = torch.load(path, map_location=map_location, weights_only=True)
    except Exception as exc:  # torch raises many types for a bad file; each gets its own whole sentence
        raise GandashError(unreadable_reason(Path(path), exc)) from None
    if not isinstance(state, dict) or state.get("format") != FORMAT or "generator" not in state:
        raise GandashError(
            f"{Path(path).name} loads, but is not a gandash checkpoint (format {FORMAT} with a "
            "generator's weights); it was not written by gandash, or by a much older version."
        )
    return state


def unreadable_reason(path: Path, exc: Exception) -> str:
    """Why `path` did not load, in one whole sentence (torch's own messages run to a page of advice
    that, for weights_only, is to turn the safety off)."""
    text = str(exc)
    if "Weights only load failed" in text:
        found = re.search(r"GLOBAL ([\w.]+)", text)
        what = f" ({found.group(1)})" if found else ""
        return (
            f"{path.name} was refused: it holds Python objects{what}, not only weights, and loading it "
            "could run code. gandash loads checkpoints with weights_only=True and never turns that off; "
            "the file was not written by gandash, or was changed since."
        )
    if isinstance(exc, FileNotFoundError):
        return f"{path.name} is gone (deleted while it was being read)."
    if isinstance(exc, PermissionError):
        return f"{path.name} cannot be read: permission denied."
    if isinstance(exc, EOFError) or "central directory" in text or "zip archive" in text:
        return f"{path.name} is damaged: the file is empty or cut short (a write that never finished, or a copy)."
    first_line = text.strip().splitlines()[0] if text.strip() else "no detail"
    return f"{path.name} is damaged or not a checkpoint: it does not load ({type(exc).__name__}: {first_line})."


def latest(run_dir: Path, map_location="cpu") -> tuple[dict | None, list[str]]:
    """The newest checkpoint that loads, and a warning for each newer one that did not."""
    warnings = []
    for path in listing(run_dir):
        try:
            return load(path, map_location), warnings
        except GandashError as exc:
            warnings.append(f"skipped a damaged checkpoint: {exc}")
    return None, warnings


def all_damaged(run_dir: Path, run_id: str, warnings: list[str]) -> AllCheckpointsDamaged:
    """The refusal when a run has checkpoints and none loads: starting again from step 0 would throw away
    its progress and its history, so nothing is changed and the user decides."""
    reasons = " ".join(w.removeprefix("skipped a damaged checkpoint: ") for w in warnings)
    return AllCheckpointsDamaged(
        f"every checkpoint of run {run_id} is damaged, so it was not resumed and nothing was changed: its metrics "
        f"history and files are kept. {reasons} To train the same settings again from step 0, start over as a new "
        f"run (`python -m gandash resume {run_id} --start-over`, or Start over on the Runs page); this run stays "
        "as it is.",
        run_id,
    )


def check_resumable(run_dir: Path, run_id: str) -> None:
    """Refuse a resume that would silently start from step 0 (see all_damaged)."""
    if listing(run_dir):
        state, warnings = latest(run_dir)
        if state is None:
            raise all_damaged(run_dir, run_id, warnings)


# --- the best checkpoint ------------------------------------------------------------------------
BEST = "best.json"


def quality(values: dict) -> tuple[tuple, str, str] | None:
    """(score, metric, label) of an evaluation, the score higher-is-better, or None without one.
    Images: FID (lower is better). 2D mixtures with known modes: modes covered, then the share of
    high-quality samples; other 2D sets: the Frechet distance in the plane (lower is better)."""
    if "fid" in values:
        return (-values["fid"],), "fid", f"FID {values['fid']:.2f}"
    if "modes" in values:
        hq = values.get("hq_percent", 0.0)
        total = f"/{values['modes_total']:.0f}" if "modes_total" in values else ""
        return (values["modes"], hq), "modes", f"{values['modes']:.0f}{total} modes, {hq:.0f}% high quality"
    if "frechet" in values:
        return (-values["frechet"],), "frechet", f"Fréchet {values['frechet']:.3f}"
    return None


def best(run_dir: Path) -> dict | None:
    """{step, metric, score, label, evaluated_at} of the best checkpoint, if it is still on disk
    (a roll back to an earlier step moves it to checkpoints/rolled-back/)."""
    try:
        marked = json.loads((folder(run_dir) / BEST).read_text())
    except (OSError, ValueError):
        return None
    if not isinstance(marked, dict) or not path_for(run_dir, int(marked.get("step", -1))).is_file():
        return None
    return marked


def best_step(run_dir: Path) -> int | None:
    marked = best(run_dir)
    return int(marked["step"]) if marked else None


class BestTracker:
    """Follows a run's quality evaluations; `take()` gives the mark for the next checkpoint when an
    evaluation since the last one beat every earlier one (those of before a resume included)."""

    def __init__(self, run_dir: Path):
        marked = best(run_dir)
        self.score = tuple(marked["score"]) if marked else None
        self.pending: dict | None = None

    def offer(self, step: int, values: dict) -> None:
        found = quality(values)
        if found is None:
            return
        score, metric, label = found
        if self.score is None or score > self.score:
            self.score = score
            self.pending = {"metric": metric, "score": list(score), "label": label, "evaluated_at": step}

    def take(self) -> dict | None:
        pending, self.pending = self.pending, None
        return pending
