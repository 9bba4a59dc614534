"""The job process (`python -m gandash worker RUN_DIR`): runs the trainer and reports into the store.

It is the only writer of its run's rows: it holds the run's lease (gandash.lease) from before its first
write to after its last, and a second worker on the same run exits at once. Metrics are buffered and
committed about once a second; a heartbeat thread shows progress even during a long step; SIGTERM
(Stop) and Ctrl-C finish the current step, write a checkpoint and exit cleanly.

Started by torchrun (a run with processes > 1 or nodes > 1), each rank is such a process: the writer
(engine.parallel) holds the lease and writes as above, the other ranks only train, with their output in
RUN_DIR/logs/rank-N.log. A stop asked of the writer reaches every rank through the step's agreement; a
rank that dies ends the run as crashed, named with its last log lines.
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
from gandash.engine import parallel
from gandash.engine.reporter import Reporter, SilentReporter
from gandash.runs import jobs, lease, liveness
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


def _set_threads(config: TrainConfig, ranks_here: int = 1) -> int:
    """Train on this process's share of the cores (shared with the other ranks on this machine); returns
    the old setting."""
    if device.pick(config.device, config.mixed_precision).type != "cpu":
        return torch.get_num_threads()
    return device.use_fair_share_of_cores(
        small_net=config.image_size == 0, concurrent_jobs=jobs.max_jobs() * max(1, ranks_here)
    )


def run(run_dir: Path, store: Store | None = None, on_step=None, held: lease.Lease | None = None) -> str:
    """Train the run in `run_dir` in this process; returns its final status ('busy' if another worker
    holds the run's lease: then nothing is written)."""
    run_dir = Path(run_dir).resolve()
    environment = parallel.environment()
    if environment and environment["world"] > 1:
        return _run_rank(run_dir, store, on_step)
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


def _stop_on_signals() -> threading.Event:
    """SIGTERM (Stop) and Ctrl-C ask the loop to stop after its step."""
    stop = threading.Event()
    if threading.current_thread() is threading.main_thread():
        for signum in (signal.SIGTERM, signal.SIGINT):
            signal.signal(signum, lambda *_: stop.set())
        # a file-size limit then fails the write (EFBIG, reported like a full disk) instead of killing us
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    return stop


def _run_holding_lease(
    run_dir: Path, store: Store, on_step, team: parallel.Team = parallel.SOLO, config: TrainConfig | None = None
) -> str:
    run_id = run_dir.name
    stop = _stop_on_signals()
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
        config = config or TrainConfig.load(run_dir / "config.json")
        threads = _set_threads(config, team.local_world)
        try:
            status, message = training.train(config, run_dir, reporter, stop.is_set, team=team)
        finally:  # matters when run() is called in a longer-lived process (the CLI's foreground train, tests)
            torch.set_num_threads(threads)
    except GandashError as exc:
        status, message = "failed", str(exc)
        _report(reporter, "error", message)
    except Exception as exc:  # a bug: keep the traceback in worker.log, tell the user where it is
        traceback.print_exc()
        status, message = "failed", f"the worker crashed ({type(exc).__name__}: {exc}); details in worker.log"
        if team.distributed:  # most often another rank died, and the collective that waited for it failed
            status, message = _rank_failure(team, run_dir, exc) or (status, message)
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


# --- one rank of a data-parallel run (started by torchrun) ------------------------------------------


def _run_rank(run_dir: Path, store: Store | None, on_step) -> str:
    """One rank's life: join the team, the writer takes the lease and shares the config, everyone trains."""
    team = parallel.join()
    if not team.is_writer:
        _log_to_own_file(run_dir, team.rank)
    try:
        held, config, problem = None, None, ""
        if team.is_writer:
            held = lease.acquire(run_dir)
            if held is None:
                problem = f"another worker holds the lease of {run_dir.name}"
            else:
                try:
                    config = TrainConfig.load(run_dir / "config.json")
                except GandashError as exc:
                    problem = str(exc)
        config, problem = team.share((config, problem))
        identities = team.gather(lease.own_identity())
        if problem:
            print(f"rank {team.rank}: {problem}; exiting without training", file=sys.stderr, flush=True)
            return "busy"
        team = parallel.on_device(team, device.pick(config.device, config.mixed_precision).type)
        _RANKS[run_dir] = identities
        if not team.is_writer:
            return _train_rank(run_dir, config, team)
        try:
            return _run_holding_lease(run_dir, store or Store(), on_step, team, config)
        finally:
            held.release()
    finally:
        parallel.leave(team)


_RANKS: dict[Path, list[dict]] = {}  # the identity of every rank of the run this process trains in


def _train_rank(run_dir: Path, config: TrainConfig, team: parallel.Team) -> str:
    """A rank that is not the writer: it trains, and writes nothing but its log."""
    stop = _stop_on_signals()
    _set_threads(config, team.local_world)
    status, message = training.train(config, run_dir, SilentReporter(), stop.is_set, team=team)
    print(f"rank {team.rank}: {status} ({message})", file=sys.stderr, flush=True)
    return status


def _log_to_own_file(run_dir: Path, rank: int) -> None:
    """Point this rank's stdout and stderr at RUN_DIR/logs/rank-N.log (when this machine has the run's
    folder), so that the crash message can quote the rank that failed."""
    if not run_dir.is_dir():
        return
    folder = run_dir / "logs"
    folder.mkdir(exist_ok=True)
    fd = os.open(rank_log(run_dir, rank), os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
    sys.stdout.flush()
    sys.stderr.flush()
    os.dup2(fd, 1)
    os.dup2(fd, 2)
    os.close(fd)


def rank_log(run_dir: Path, rank: int) -> Path:
    return Path(run_dir) / "logs" / f"rank-{rank}.log"


def _rank_failure(team: parallel.Team, run_dir: Path, exc: Exception, wait: float = 3.0) -> tuple[str, str] | None:
    """("crashed", a message naming the rank that died) when the writer's error came from a rank ending
    (its collective found the peer gone); None when every rank this machine can see is alive."""
    identities = _RANKS.get(run_dir, [])
    here = os.uname().nodename
    deadline = time.monotonic() + wait
    while True:
        gone = [r for r, who in enumerate(identities) if who.get("host") == here and not lease.is_process(who)]
        if gone or time.monotonic() > deadline:
            break
        time.sleep(0.1)
    if not gone:
        remote = sorted({who.get("host") for who in identities if who.get("host") != here})
        if not remote:
            return None
        return (
            "crashed",
            f"a process of this run on {', '.join(remote)} ended or could not be reached "
            f"({str(exc).splitlines()[0][:160]}); resume continues from the last checkpoint.",
        )
    rank = gone[0]
    lines = liveness.last_log_lines(rank_log(run_dir, rank), 3)
    return (
        "crashed",
        f"rank {rank} of {team.world} (pid {identities[rank].get('pid')}) ended while the run trained, so every "
        "rank stopped; resume continues from the last checkpoint."
        + (f" Its last lines: {' | '.join(lines)}" if lines else " It wrote nothing before it ended (killed?)."),
    )
