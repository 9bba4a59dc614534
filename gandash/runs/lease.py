"""A run's lease: an exclusive OS lock (`flock`) on RUN_DIR/worker.lease, held by its worker for its
whole life.

The kernel drops the lock when the process ends, however it ends (kill -9, out of memory, power
off), and keeps it while the process lives, however long it sleeps (SIGSTOP, a suspended laptop,
heavy swapping). So "the lease is held" is the truth about whether a run has a worker, where a pid
(reused by another program) or a heartbeat (stale after a suspend) can lie; and no second worker can
ever train the same run.

The file also records who holds it (pid, the kernel's start time of that process, its command line),
so `stop` signals a process only after checking it is that worker, never whatever now holds the pid.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import json
import os
import time
from pathlib import Path

LEASE_FILE = "worker.lease"
WAIT = 10.0  # seconds a new worker waits for the lease: a departing worker releases it just after its last write


class Lease:
    """A held lease; `release()` (or the process's end) gives it up."""

    def __init__(self, fd: int, path: Path, identity: dict):
        self.fd, self.path, self.identity = fd, path, identity

    def release(self) -> None:
        if self.fd >= 0:
            os.close(self.fd)  # closing the last descriptor drops the flock
            self.fd = -1

    def __enter__(self) -> Lease:
        return self

    def __exit__(self, *_) -> None:
        self.release()


def acquire(run_dir: Path, wait: float = WAIT) -> Lease | None:
    """Take the run's lease, or None if another process holds it for `wait` seconds. Retrying matters
    because `holder()` takes the lock for an instant to look, and a worker that is exiting holds it until
    just after its final write."""
    path = Path(run_dir) / LEASE_FILE
    fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
    deadline = time.monotonic() + wait
    while True:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            break
        except OSError as exc:
            if exc.errno not in (errno.EWOULDBLOCK, errno.EAGAIN) or time.monotonic() >= deadline:
                os.close(fd)
                if exc.errno in (errno.EWOULDBLOCK, errno.EAGAIN):
                    return None
                raise
            time.sleep(0.05)
    identity = own_identity()
    # written in place: a rename would put a new file (with no lock on it) under the name
    os.ftruncate(fd, 0)
    os.pwrite(fd, json.dumps(identity).encode(), 0)
    os.fsync(fd)
    return Lease(fd, path, identity)


def is_held(run_dir: Path) -> bool:
    """True while some process holds the run's lease. Looks by taking a shared lock for an instant."""
    path = Path(run_dir) / LEASE_FILE
    try:
        fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
    except FileNotFoundError:
        return False  # never leased: no worker ever started (or an older gandash made the run)
    try:
        fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
    except OSError as exc:
        if exc.errno in (errno.EWOULDBLOCK, errno.EAGAIN):
            return True
        raise
    finally:
        os.close(fd)  # also drops the shared lock if it was taken
    return False


def holder(run_dir: Path) -> dict | None:
    """The identity {pid, start, argv, host} recorded by the process holding the lease, or None if no
    process holds it. The record is written just after the lock is taken: a reader that comes in
    between sees an empty file for a moment, so it looks again."""
    for _ in range(50):
        if not is_held(run_dir):
            return None
        with contextlib.suppress(OSError, ValueError):
            identity = json.loads((Path(run_dir) / LEASE_FILE).read_text())
            if isinstance(identity, dict) and "pid" in identity:
                return identity
        time.sleep(0.02)
    return {"pid": None}  # held, by a process that never said who it is


# --- process identity ------------------------------------------------------------------------------


def own_identity() -> dict:
    pid = os.getpid()
    return {"pid": pid, "start": start_time(pid), "argv": command_line(pid), "host": os.uname().nodename}


def start_time(pid: int) -> int | None:
    """When the process started, in clock ticks since boot (/proc/PID/stat field 22): a reused pid
    has another start time, so (pid, start time) names one process for the life of the machine."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return int(fields[19])
    except (OSError, IndexError, ValueError):
        return None


def command_line(pid: int) -> list[str] | None:
    try:
        raw = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return None
    return [part.decode(errors="replace") for part in raw.split(b"\0") if part] or None


def is_process(identity: dict) -> bool:
    """True if the process `identity` describes still runs: same pid, same start time, same command line.
    Without /proc (not Linux) nothing can be verified, so nothing is."""
    pid = identity.get("pid")
    if not isinstance(pid, int) or pid <= 0 or identity.get("host") not in (None, os.uname().nodename):
        return False
    start = start_time(pid)
    return start is not None and start == identity.get("start") and command_line(pid) == identity.get("argv")


def is_worker_process(pid: int, run_dir: Path) -> bool:
    """True if `pid` is a `gandash worker RUN_DIR` process for this run (a worker not yet holding its lease)."""
    argv = command_line(pid) or []
    return "gandash" in argv and "worker" in argv and str(Path(run_dir)) in argv
