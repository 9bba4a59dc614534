"""A run's metric history for charts, read incrementally from the store (by a (step, rowid) cursor) so
a page refresh costs only the rows that are new, and the smoothing people expect from TensorBoard."""

from __future__ import annotations

import math
import statistics
from dataclasses import asdict, dataclass, field

import numpy as np

from gandash.core.config import TrainConfig, global_batch
from gandash.runs.store import Store


@dataclass
class MetricHistory:
    run_id: str
    # (step, rowid) of the last row read: step-by-step D steps log several rows at one step, so the
    # step alone would skip the ones that arrive after the first read of that step
    cursor: tuple[int, int] = (-1, 0)
    rewinds: int | None = None  # the run's truncation count when the rows were read
    columns: dict[str, tuple[list[int], list[float], list[float]]] = field(default_factory=dict)

    def update(self, store: Store) -> int:
        """Read rows newer than the cursor; start over if the run's metrics were truncated since
        (a resume from an earlier checkpoint rewrites the rows after it). Returns how many rows were read."""
        run = store.run(self.run_id)
        rewinds = run["rewinds"] if run is not None else self.rewinds
        if rewinds != self.rewinds:
            self.cursor, self.columns, self.rewinds = (-1, 0), {}, rewinds
        rows = store.metrics_since(self.run_id, self.cursor)
        for step, _, name, value, time in rows:
            steps, values, times = self.columns.setdefault(name, ([], [], []))
            steps.append(step)
            values.append(value)
            times.append(time)
        if rows:
            self.cursor = rows[-1][:2]
        return len(rows)

    def series(self, name: str) -> tuple[list[int], list[float], list[float]]:
        return self.columns.get(name, ([], [], []))

    def latest(self, name: str) -> float | None:
        values = self.series(name)[1]
        return values[-1] if values else None


def debiased_ema(values: list[float], weight: float) -> list[float]:
    """Exponential moving average with bias correction (as TensorBoard and Adam do), so the first
    points are not dragged toward 0. weight 0 = raw values, 0.99 = very smooth. Non-finite values
    are passed through and do not poison the average."""
    if not 0 <= weight < 1:
        raise ValueError("weight must be in [0, 1)")
    array = np.asarray(values, dtype=float)
    if len(array) and np.isfinite(array).all():  # the common case, as one C loop (charts refresh every 2 s)
        from scipy.signal import lfilter  # here: scipy.signal takes over a second to import

        averaged = lfilter([1 - weight], [1, -weight], array)
        return list(averaged / (1 - weight ** np.arange(1, len(array) + 1)))
    smoothed, last, count = [], 0.0, 0
    for value in values:
        if not math.isfinite(value):
            smoothed.append(value)
            continue
        count += 1
        last = last * weight + (1 - weight) * value
        smoothed.append(last / (1 - weight**count))
    return smoothed


SHAPE_KEYS = (
    "variant",
    "image_size",
    "channels",
    "width",
    "extra_convs",
    "z_dim",
    "batch_size",
    "d_steps",
    "device",
    "processes",
    "nodes",
)


def step_seconds(config: TrainConfig, store: Store) -> float | None:
    """Median seconds per step of this machine's finished runs of the same shape, from their images/s (in
    total over their processes; None without any): what a step will really take here, evaluation and
    logging included."""
    defaults = asdict(TrainConfig())  # runs made before a setting existed had its default
    rates = []
    for run in store.runs(("completed", "stopped")):
        if all(run["config"].get(key, defaults[key]) == getattr(config, key) for key in SHAPE_KEYS):
            rates += [value for _, _, value, _ in store.metrics(run["id"], names=("images_per_sec",))][-20:]
    if not rates:
        return None
    return global_batch(config) * config.d_steps / statistics.median(rates)


def speed_setting(store: Store, run: dict) -> str:
    """How the run trains now, from its last metric rows (engine.loop logs `threads`, `bf16` and `processes`
    with every row): "bf16 autocast · 2 threads", "fp32 · 1 thread · 2 processes (gloo)"; "" before the first
    row. Threads and precision are the CPU's; off the CPU only the processes are said."""
    rows = store.metrics(run["id"], after_step=max(-1, run["step"] - 200), names=("threads", "bf16", "processes"))
    latest = {name: value for _, name, value, _ in rows}
    parts = []
    if "threads" in latest:
        threads = int(latest["threads"])
        parts += ["bf16 autocast" if latest.get("bf16") else "fp32", f"{threads} thread{'s' if threads > 1 else ''}"]
    if latest.get("processes", 1) > 1:
        backend = "nccl" if run["device"] == "cuda" else "gloo"
        parts.append(f"{int(latest['processes'])} processes ({backend})")
    return " · ".join(parts)
