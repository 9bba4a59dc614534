"""A run's metric history for charts, read incrementally from the store (by step cursor) so a
page refresh costs only the rows that are new, and the smoothing people expect from TensorBoard."""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
from scipy.signal import lfilter

from gandash.store import Store


@dataclass
class MetricHistory:
    run_id: str
    cursor: int = -1  # the last step read
    columns: dict[str, tuple[list[int], list[float], list[float]]] = field(default_factory=dict)

    def update(self, store: Store) -> int:
        """Read rows newer than the cursor; start over if the run was rewound (resumed from an
        earlier checkpoint). Returns how many rows were read."""
        run = store.run(self.run_id)
        if run is not None and run["step"] < self.cursor:
            self.cursor, self.columns = -1, {}
        rows = store.metrics(self.run_id, after_step=self.cursor)
        for step, name, value, time in rows:
            steps, values, times = self.columns.setdefault(name, ([], [], []))
            steps.append(step)
            values.append(value)
            times.append(time)
        if rows:
            self.cursor = rows[-1][0]
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
