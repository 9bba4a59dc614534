"""What the training loop tells the world, and asks of it: the `Reporter` protocol.

The worker's reporter (runs.worker.StoreReporter) writes to the store; the CLI's foreground run adds a
progress bar; tests and benchmarks collect rows in memory. Each method has a do-nothing default, so a
reporter implements only what it needs.
"""

from __future__ import annotations

from pathlib import Path
from typing import Protocol


class Reporter(Protocol):
    def metrics(self, step: int, values: dict[str, float]) -> None: ...
    def sample(self, step: int, path: Path) -> None: ...
    def before_checkpoint(self, step: int) -> None: ...  # make everything logged so far durable first
    def checkpoint(self, step: int, path: Path) -> None: ...
    def event(self, level: str, text: str) -> None: ...
    def rewind(self, step: int) -> None: ...  # resuming: forget what was logged after `step`
    def phase(self, state: dict) -> None: ...  # step-by-step mode: where in Algorithm 1 we are

    def commands(self) -> list[str]:  # pause | continue | step | step-d | step-g
        return []


class SilentReporter(Reporter):
    """Hears everything, keeps nothing: for runs whose only output is their checkpoints."""
