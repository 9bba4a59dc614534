"""The job process (`python -m gandash worker RUN_DIR`): runs the trainer and reports into the store.

It is the only writer of its run's rows: it holds the run's lease (gandash.lease) from before its first
write to after its last, and a second worker on the same run exits at once. Metrics are buffered and
committed about once a second; a heartbeat thread shows progress even during a long step; SIGTERM
(Stop) and Ctrl-C finish the current step, write a checkpoint and exit cleanly.
"""

from __future__ import annotations

import json
import os
import signal
import sys
import threading
import time
import traceback
from pathlib import Path

import torch

from gandash.core import device
from gandash.core.config import TrainConfig
from gandash.core.errors import GandashError
from gandash.engine.reporter import Reporter
from gandash.runs import jobs, lease
from gandash.runs.store import ACTIVE, Store
from gandash.variants import training

HEARTBEAT_EVERY = 5.0  # seconds; liveness.HEARTBEAT_STALE is several times this


class StoreReporter(Reporter):
    def __init__(self, store: Store, run_id: str, flush_every: float = 1.0, on_step=None):
        self.store, self.run_id, self.flush_every, self.on_step = store, run_id, flush_every, on_step
        self._metrics, self._samples, self._events = [], [], []
        self._step: int | None = None
        self._last_flush = time.monotonic()
        self._last_poll = 0.0

    def metrics(self, step: int, values: dict[str, float]) -> None:
        now = time.time()
        self._metrics += [(step, name, float(value), now) for name, value in values.items()]
        self._step = step
        if self.on_step:
            self.on_step(step, values)
        if time.monotonic() - self._last_flush >= self.flush_every:
            self.flush()

    def sample(self, step: int, path: Path) -> None:
        self._samples.append((step, str(path)))

    def before_checkpoint(self, step: int) -> None:
        self.flush()

    def checkpoint(self, step: int, path: Path) -> None:
        self._step = step
        self.flush()

    def event(self, level: str, text: str) -> None:
        self._events.append((time.time(), level, text))
        self.flush()

    def rewind(self, step: int) -> None:
        self.flush()
        self.store.truncate_after(self.run_id, step)
        self._step = step
        self.flush()

    def commands(self) -> list[str]:
        """Pending pause/step/continue commands, polled at most every 0.2 s so a fast loop stays fast."""
        now = time.monotonic()
        if now - self._last_poll < 0.2:
            return []
        self._last_poll = now
        return self.store.take_commands(self.run_id)

    def phase(self, state: dict) -> None:
        self.flush()
        self.store.update_run(self.run_id, phase=json.dumps(state))

    def flush(self) -> None:
        run_values = {"heartbeat": time.time()}
        if self._step is not None:
            run_values["step"] = self._step
        self.store.write_batch(self.run_id, self._metrics, self._samples, self._events, run_values)
        self._metrics, self._samples, self._events = [], [], []
        self._last_flush = time.monotonic()


def _beat(store: Store, run_id: str, done: threading.Event) -> None:
    """Beat until done. A store that is busy or failing (a full disk) costs a beat, not the thread: it
    says so in worker.log and tries again at the next beat."""
    while not done.wait(HEARTBEAT_EVERY):
        try:
            store.update_run(run_id, heartbeat=time.time())
        except Exception as exc:  # noqa: BLE001 - the thread must outlive any one failed write
            print(f"heartbeat not written ({type(exc).__name__}: {exc}); trying again", file=sys.stderr, flush=True)


def _set_threads(config: TrainConfig) -> int:
    """Train on this process's share of the cores; returns the old setting."""
    if device.pick(config.device, config.mixed_precision).type != "cpu":
        return torch.get_num_threads()
    return device.use_fair_share_of_cores(small_net=config.image_size == 0, concurrent_jobs=jobs.max_jobs())


def run(run_dir: Path, store: Store | None = None, on_step=None, held: lease.Lease | None = None) -> str:
    """Train the run in `run_dir` in this process; returns its final status ('busy' if another worker
    holds the run's lease: then nothing is written)."""
    run_dir = Path(run_dir).resolve()
    held = held or lease.acquire(run_dir)
    if held is None:
        print(
            f"another worker holds the lease of {run_dir.name}; this one exits without touching the run",
            file=sys.stderr,
            flush=True,
        )
        return "busy"
    try:
        return _run_holding_lease(run_dir, store or Store(), on_step)
    finally:
        held.release()  # after the last write, so a worker started next never overlaps with this one


def _run_holding_lease(run_dir: Path, store: Store, on_step) -> str:
    run_id = run_dir.name
    stop = threading.Event()
    if threading.current_thread() is threading.main_thread():
        for signum in (signal.SIGTERM, signal.SIGINT):
            signal.signal(signum, lambda *_: stop.set())
        # a file-size limit then fails the write (EFBIG, reported like a full disk) instead of killing us
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    # `started` is the first start: a resumed run keeps it, so its age and wall time stay truthful
    first_start = (store.run(run_id) or {}).get("started") or time.time()
    if not store.transition(
        run_id,
        ACTIVE + ("queued",),
        status="running",
        pid=os.getpid(),
        started=first_start,
        heartbeat=time.time(),
        ended=None,
        message="",
        phase="",
    ):
        status = (store.run(run_id) or {}).get("status", "deleted")
        print(f"run {run_id} is {status}, not waiting for a worker; exiting", file=sys.stderr, flush=True)
        return status
    reporter = StoreReporter(store, run_id, on_step=on_step)
    done = threading.Event()
    threading.Thread(target=_beat, args=(store, run_id, done), daemon=True).start()
    try:
        config = TrainConfig.load(run_dir / "config.json")
        threads = _set_threads(config)
        try:
            status, message = training.train(config, run_dir, reporter, stop.is_set)
        finally:  # matters when run() is called in a longer-lived process (the CLI's foreground train, tests)
            torch.set_num_threads(threads)
    except GandashError as exc:
        status, message = "failed", str(exc)
        _report(reporter, "error", message)
    except Exception as exc:  # a bug: keep the traceback in worker.log, tell the user where it is
        traceback.print_exc()
        status, message = "failed", f"the worker crashed ({type(exc).__name__}: {exc}); details in worker.log"
        _report(reporter, "error", message)
    finally:
        done.set()
    try:
        reporter.flush()
        store.update_run(run_id, status=status, ended=time.time(), pid=None, message=message, phase="")
    except GandashError as exc:  # the store itself cannot be written (a full disk): the log keeps the outcome
        print(
            f"run {run_id} ended as {status} ({message}), but the store could not record it: {exc}",
            file=sys.stderr,
            flush=True,
        )
        return status
    jobs.schedule(store)  # a slot is free: start the next queued job
    return status


def _report(reporter: StoreReporter, level: str, text: str) -> None:
    """An event that must not hide the error it reports if the store fails too: worker.log has it then."""
    try:
        reporter.event(level, text)
    except GandashError as exc:
        print(f"{level}: {text} (not recorded in the store: {exc})", file=sys.stderr, flush=True)
