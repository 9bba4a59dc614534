"""Background jobs: each run is its own OS process, in its own session, so closing the browser
or restarting the app leaves it running. Queued runs start when a slot on their device is free
(GANDASH_MAX_JOBS per device, default 1). `reconcile` marks runs whose worker died as crashed.
"""

from __future__ import annotations

import os
import re
import secrets
import shutil
import signal
import subprocess
import sys
import time
from dataclasses import asdict
from pathlib import Path
from typing import TYPE_CHECKING

from gandash import paths
from gandash.errors import GandashError
from gandash.store import ACTIVE, RESUMABLE, Store

if TYPE_CHECKING:
    from gandash.config import TrainConfig

HEARTBEAT_STALE = 60.0  # seconds without a heartbeat before a live-looking worker counts as dead
START_GRACE = 30.0  # seconds a 'starting' run may take to report its pid
PROJECT_ROOT = Path(__file__).resolve().parent.parent


def max_jobs() -> int:
    try:
        return max(1, int(os.environ.get("GANDASH_MAX_JOBS", "1")))
    except ValueError:
        raise GandashError("GANDASH_MAX_JOBS must be a whole number (jobs at a time per device).") from None


def new_run_id(config: TrainConfig) -> str:
    dataset = config.dataset.split(":", 1)[-1].rstrip("/").rsplit("/", 1)[-1] if ":" in config.dataset \
        else config.dataset
    slug = re.sub(r"[^a-z0-9]+", "-", f"{config.variant}-{dataset}".lower()).strip("-")[:40]
    return f"{slug}-{time.strftime('%m%d-%H%M%S')}-{secrets.token_hex(2)}"


def create(config: TrainConfig, store: Store | None = None, start: bool = True, foreground: bool = False) -> str:
    """Make the run's folder, config.json and store row; queue it (and start it if a slot is free).
    A foreground run is marked 'starting' with this process's pid so no scheduler launches it."""
    from gandash.config import check
    from gandash.device import available_accelerators, resolve_device_type

    check(config)
    store = store or Store()
    run_id = new_run_id(config)
    run_dir = paths.run_dir(run_id)
    run_dir.mkdir(parents=True)
    config.save(run_dir / "config.json")
    device = resolve_device_type(config.device, available_accelerators())
    store.create_run(run_id, asdict(config), run_dir, "starting" if foreground else "queued", device,
                     config.total_steps)
    if foreground:
        store.update_run(run_id, pid=os.getpid(), started=time.time(), heartbeat=time.time())
    elif start:
        schedule(store)
    return run_id


def schedule(store: Store | None = None) -> list[str]:
    """Start queued runs, oldest first, while their device has a free slot."""
    store = store or Store()
    limit, started = max_jobs(), []
    busy: dict[str, int] = {}
    for run in store.runs(ACTIVE):
        busy[run["device"]] = busy.get(run["device"], 0) + 1
    for run in sorted(store.runs(("queued",)), key=lambda r: r["created"]):
        if busy.get(run["device"], 0) < limit and _launch(store, run):
            busy[run["device"]] = busy.get(run["device"], 0) + 1
            started.append(run["id"])
    return started


def _launch(store: Store, run: dict) -> bool:
    # the launch time goes in `heartbeat` (worker_alive's grace); `started` keeps the run's first start
    if not store.transition(run["id"], ("queued",), status="starting", started=run["started"] or time.time(),
                            heartbeat=time.time(), pid=None, message=""):
        return False  # another process claimed it first
    run_dir = Path(run["run_dir"])
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(filter(None, [str(PROJECT_ROOT),
                                                                    os.environ.get("PYTHONPATH")])))
    with open(run_dir / "worker.log", "ab") as log:
        process = subprocess.Popen([sys.executable, "-m", "gandash", "worker", str(run_dir)],
                                   stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                                   start_new_session=True, cwd=PROJECT_ROOT, env=env)
    store.transition(run["id"], ("starting",), pid=process.pid)
    return True


def get(run_id: str, store: Store) -> dict:
    paths.run_dir(run_id)  # checks the id's form
    run = store.run(run_id)
    if run is None:
        raise GandashError(f"no run '{run_id}'; see `python -m gandash runs`.")
    return run


def stop(run_id: str, store: Store | None = None, wait: bool = True, grace: float = 60.0) -> str:
    """SIGTERM: the worker finishes its step, checkpoints and exits; SIGKILL after `grace` seconds."""
    store = store or Store()
    run = get(run_id, store)
    if run["status"] == "queued" and store.transition(run_id, ("queued",), status="stopped",
                                                      message="removed from the queue"):
        return "stopped"
    if run["status"] not in ACTIVE:
        raise GandashError(f"run {run_id} is {run['status']}, not running.")
    pid = run["pid"]
    if pid and process_alive(pid):
        os.kill(pid, signal.SIGTERM)
        deadline = time.monotonic() + grace
        while wait and process_alive(pid) and time.monotonic() < deadline:
            time.sleep(0.2)
        if wait and process_alive(pid):
            os.kill(pid, signal.SIGKILL)
            store.add_event(run_id, "warning", f"the worker did not stop within {grace:.0f}s and was killed")
    if wait:
        reconcile(store)
    return (store.run(run_id) or run)["status"]


def resume(run_id: str, store: Store | None = None, start: bool = True, **budget) -> None:
    """Queue a stopped, crashed, failed or diverged run to continue from its last checkpoint.
    `budget` (max_steps, max_minutes, epochs) may extend a completed run."""
    store = store or Store()
    run = get(run_id, store)
    if run["status"] in ACTIVE + ("queued",):
        raise GandashError(f"run {run_id} is already {run['status']}.")
    if run["status"] not in RESUMABLE:
        raise GandashError(f"run {run_id} is {run['status']} and cannot be resumed.")
    changes = {key: value for key, value in budget.items() if value is not None}
    run_dir = Path(run["run_dir"])
    if changes:
        from gandash.config import TrainConfig, with_changes

        config = with_changes(TrainConfig.load(run_dir / "config.json"), **changes)
        config.save(run_dir / "config.json")
        store.update_run(run_id, config=config.to_json(), total_steps=config.total_steps)
    elif run["status"] == "completed":
        raise GandashError(f"run {run_id} already used its whole budget; give a larger --max-steps "
                           "or --max-minutes to train it further.")
    store.transition(run_id, RESUMABLE, status="queued", ended=None, message="queued to resume")
    store.add_event(run_id, "info", "queued to resume from the last checkpoint")
    if start:
        schedule(store)


def wait_until_ended(run_id: str, store: Store, timeout: float) -> str:
    """Poll the store until the run's worker has exited (or `timeout` seconds pass); the status."""
    deadline = time.monotonic() + timeout
    while True:
        run = store.run(run_id)
        if run is None or run["status"] not in ACTIVE or time.monotonic() >= deadline:
            return run["status"] if run else "deleted"
        time.sleep(0.2)


STEP_COMMANDS = ("pause", "continue", "step", "step-d", "step-g")


def send(run_id: str, command: str, store: Store | None = None) -> None:
    """Step-by-step mode: a command the running worker picks up within a fraction of a second."""
    store = store or Store()
    run = get(run_id, store)
    if command not in STEP_COMMANDS:
        raise GandashError(f"'{command}' is not a command; use one of {', '.join(STEP_COMMANDS)}.")
    if run["status"] not in ACTIVE:
        raise GandashError(f"run {run_id} is {run['status']}; step-by-step needs a running job.")
    store.add_command(run_id, command)


def process_alive(pid: int) -> bool:
    """True while `pid` runs; reaps it if it is our own finished child (else it stays a zombie)."""
    try:
        finished, _ = os.waitpid(pid, os.WNOHANG)
        if finished == pid:
            return False
    except ChildProcessError:
        pass  # not our child: fine, look it up below
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
        return state != "Z"
    except (OSError, IndexError):
        return True


def worker_alive(run: dict, now: float | None = None) -> bool:
    now = now or time.time()
    if run["pid"] is None:  # launched, not yet reporting: the launch set the heartbeat
        return now - (run["heartbeat"] or run["started"] or run["created"]) < START_GRACE
    return process_alive(run["pid"]) and now - (run["heartbeat"] or 0) < HEARTBEAT_STALE


def reconcile(store: Store | None = None) -> list[str]:
    """Mark runs whose worker is gone as crashed (app restart, kill -9, reboot), then fill free slots."""
    store = store or Store()
    crashed = []
    for run in store.runs(ACTIVE):
        if not worker_alive(run) and store.transition(
                run["id"], ACTIVE, status="crashed", pid=None, ended=time.time(),
                message="the worker stopped without finishing (killed, out of memory or a restart); "
                        "resume it to continue from its last checkpoint"):
            store.add_event(run["id"], "error", "the worker process is gone; marked crashed")
            crashed.append(run["id"])
    schedule(store)
    return crashed


def rollback(run_id: str, step: int, store: Store | None = None) -> None:
    """Make the checkpoint of `step` the newest, so resume continues from there. Newer checkpoints
    are moved to checkpoints/rolled-back/, never deleted: nothing trained is lost."""
    from gandash import checkpoints

    store = store or Store()
    run = get(run_id, store)
    if run["status"] in ACTIVE + ("queued",):
        raise GandashError(f"run {run_id} is {run['status']}; stop it before rolling it back.")
    run_dir = Path(run["run_dir"])
    target = checkpoints.path_for(run_dir, step)
    if not target.is_file():
        raise GandashError(f"run {run_id} has no checkpoint of step {step}.")
    archive = checkpoints.folder(run_dir) / "rolled-back"
    archive.mkdir(exist_ok=True)
    for path in checkpoints.listing(run_dir):
        if checkpoints.step_of(path) > step:
            path.replace(archive / path.name)
    store.transition(run_id, RESUMABLE, status="stopped", step=step,
                     message=f"rolled back to the checkpoint of step {step}; resume to continue from there")
    store.add_event(run_id, "info", f"rolled back to step {step}")


def delete(run_id: str, store: Store | None = None) -> None:
    store = store or Store()
    run = get(run_id, store)
    if run["status"] in ACTIVE:
        raise GandashError(f"run {run_id} is {run['status']}; stop it before deleting it.")
    folder = paths.run_dir(run_id)
    if folder.exists():
        shutil.rmtree(folder)
    store.delete_run(run_id)
