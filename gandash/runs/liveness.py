"""Whether a run's worker is alive, and reaching it safely.

The lease (runs.lease) decides: a run is alive while its lease is held, whatever its pid or heartbeat say;
the heartbeat only tells whether it is progressing (a worker paused by a suspend is alive but stalled).
A worker is signalled only once verified to be the run's worker (same pid, start time and command line as
it recorded), never whatever process reused a pid.
"""

from __future__ import annotations

import contextlib
import os
import time
from pathlib import Path

from gandash.core.errors import GandashError
from gandash.runs import lease

HEARTBEAT_STALE = 60.0  # seconds without a heartbeat before a live worker is shown as stalled (paused, busy)
START_GRACE = 30.0  # seconds a launched worker may take to start before only a verified process keeps it alive


def refuse_if_leased(run: dict, doing: str) -> None:
    """A run whose lease is held has a live worker, whatever its status says: it may only be paused."""
    holder = lease.holder(Path(run["run_dir"]))
    if holder is not None:
        raise GandashError(
            f"run {run['id']} cannot be {doing}: its worker (pid {holder.get('pid')}) is still "
            "alive and holds the run's lease. It may be paused (a suspended machine, heavy "
            "swapping, a long evaluation) and will carry on; stop it first, or wait for it."
        )


def worker_alive(run: dict, now: float | None = None) -> bool:
    """The lease decides. A launched worker that has not taken it yet is given START_GRACE seconds, and
    after that lives as long as its process (verified by its command line) does."""
    run_dir = Path(run["run_dir"])
    if lease.is_held(run_dir):
        return True
    if run["status"] != "starting":
        return False
    now = now or time.time()
    launched = run["heartbeat"] or run["started"] or run["created"]
    pid = run["pid"]
    reap(pid)
    if now - launched < START_GRACE:
        return pid is None or lease.start_time(pid) is not None
    return bool(pid) and lease.is_worker_process(pid, run_dir)


STALLED = (
    "the worker is alive (it holds the run's lease) but not progressing: paused, suspended or very busy. "
    "It carries on when it can; Stop ends it."
)


def stalled_for(run: dict, now: float | None = None) -> float:
    """Seconds since a running worker's last heartbeat when that is over HEARTBEAT_STALE, else 0: it is
    alive (it holds its lease) but not progressing, e.g. paused by a suspend."""
    if run["status"] != "running" or not run["heartbeat"]:
        return 0.0
    silent = (now or time.time()) - run["heartbeat"]
    return silent if silent > float(os.environ.get("GANDASH_HEARTBEAT_STALE") or HEARTBEAT_STALE) else 0.0


def worker_process(run: dict) -> dict | None:
    """The identity of the run's worker, verified, or None if it has none. The lease's holder is the
    worker; a worker launched but not yet holding its lease is known by its pid and command line."""
    run_dir = Path(run["run_dir"])
    holder = lease.holder(run_dir)
    if holder is not None:
        if not lease.is_process(holder):
            raise GandashError(
                f"run {run['id']}'s lease is held by a process that cannot be verified as its "
                f"worker (recorded pid {holder.get('pid')}); nothing was signalled. If no gandash "
                "worker runs, a program may have inherited the lock: end it, then stop again."
            )
        return holder
    pid = run["pid"]
    if run["status"] == "starting" and pid and lease.is_worker_process(pid, run_dir):
        return {"pid": pid, "start": lease.start_time(pid), "argv": lease.command_line(pid), "host": None}
    return None


def send_signal(target: dict, signum: int) -> None:
    """Signal the verified process, and its process group when it leads one (a background worker does:
    it runs in its own session; a foreground `gandash train` does not, and its shell must not be hit)."""
    pid = target["pid"]
    if not lease.is_process(target):
        return  # it ended (or was replaced) since it was verified
    try:
        if os.getpgid(pid) == pid:
            os.killpg(pid, signum)
        else:
            os.kill(pid, signum)
    except ProcessLookupError:
        pass


def wait_gone(target: dict, seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while lease.is_process(target) and time.monotonic() < deadline:
        reap(target["pid"])
        time.sleep(0.05)
    reap(target["pid"])


def reap(pid: int | None) -> None:
    """Collect our own finished child, so it does not linger as a zombie (not our child: nothing to do)."""
    if pid:
        with contextlib.suppress(ChildProcessError, OSError):
            os.waitpid(pid, os.WNOHANG)


def last_log_line(run_dir: Path, limit: int = 200) -> str:
    """The last non-empty line of worker.log (say, the error that killed it), shortened."""
    lines = last_log_lines(Path(run_dir) / "worker.log", 1, limit)
    return lines[-1] if lines else ""


def last_log_lines(path: Path, count: int, limit: int = 200) -> list[str]:
    """The last `count` non-empty lines of a log file, each shortened to `limit` characters."""
    try:
        with open(path, "rb") as handle:
            handle.seek(0, os.SEEK_END)
            handle.seek(max(0, handle.tell() - 4096))
            lines = [line.strip() for line in handle.read().decode(errors="replace").splitlines() if line.strip()]
    except OSError:
        return []
    return [line[:limit] for line in lines[-count:]]
