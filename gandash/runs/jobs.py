"""Background jobs: each run is its own OS process, in its own session, so closing the browser
or restarting the app leaves it running. Queued runs start when a slot on their device is free
(GANDASH_MAX_JOBS per device, default 1). `reconcile` marks runs whose worker died as crashed.

A worker holds its run's lease (gandash.lease) for its whole life: "alive" means "the lease is held",
whatever the pid or the heartbeat say. The heartbeat measures progress only: a worker paused by a
suspend or heavy swapping is alive and keeps its run. Signals go only to a process verified to be the
run's worker (same pid, start time and command line as it recorded), never to whatever reused a pid.
"""

from __future__ import annotations

import contextlib
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

from gandash.core import paths
from gandash.core.config import TrainConfig
from gandash.core.errors import GandashError
from gandash.runs import lease, liveness
from gandash.runs.store import ACTIVE, RESUMABLE, Store

PROJECT_ROOT = paths.PROJECT_ROOT


def max_jobs() -> int:
    try:
        return max(1, int(os.environ.get("GANDASH_MAX_JOBS", "1")))
    except ValueError:
        raise GandashError("GANDASH_MAX_JOBS must be a whole number (jobs at a time per device).") from None


def new_run_id(config: TrainConfig) -> str:
    dataset = (
        config.dataset.split(":", 1)[-1].rstrip("/").rsplit("/", 1)[-1] if ":" in config.dataset else config.dataset
    )
    slug = re.sub(r"[^a-z0-9]+", "-", f"{config.variant}-{dataset}".lower()).strip("-")[:40]
    return f"{slug}-{time.strftime('%m%d-%H%M%S')}-{secrets.token_hex(2)}"


def create(config: TrainConfig, store: Store | None = None, start: bool = True, foreground: bool = False) -> str:
    """Make the run's folder, config.json and store row; queue it (and start it if a slot is free).
    A foreground run is marked 'starting' with this process's pid so no scheduler launches it."""
    from gandash.core.device import available_accelerators, resolve_device_type
    from gandash.variants.configure import check

    check(config)
    store = store or Store()
    run_id = new_run_id(config)
    run_dir = paths.run_dir(run_id)
    run_dir.mkdir(parents=True)
    config.save(run_dir / "config.json")
    device = resolve_device_type(config.device, available_accelerators())
    store.create_run(
        run_id, asdict(config), run_dir, "starting" if foreground else "queued", device, config.total_steps
    )
    if foreground:
        store.update_run(run_id, pid=os.getpid(), started=time.time(), heartbeat=time.time())
    elif start:
        schedule(store)
    return run_id


def schedule(store: Store | None = None) -> list[str]:
    """Start queued runs, oldest first, while their device has a free slot. The slots are counted and
    claimed in one write transaction, so two schedulers at once (two tabs, the app and the CLI) never
    both take the last one."""
    store = store or Store()
    started = []
    for run in store.claim_queued(max_jobs()):
        _launch(store, run)
        started.append(run["id"])
    return started


def worker_command(config: TrainConfig, run_dir: Path) -> list[str]:
    """The job's command: the worker itself, or for a data-parallel run PyTorch's launcher (torchrun) starting
    `processes` workers here, alone (--standalone) or as one node of `nodes` meeting at rdzv_endpoint."""
    worker = ["-m", "gandash", "worker", str(run_dir)]
    if config.processes == 1 and config.nodes == 1:
        return [sys.executable, *worker]
    launcher = [sys.executable, "-m", "torch.distributed.run", "--nproc-per-node", str(config.processes)]
    if config.nodes == 1:
        launcher.append("--standalone")
    else:
        launcher += ["--nnodes", str(config.nodes), "--node-rank", str(config.node_rank)]
        launcher += ["--rdzv-backend", "c10d", "--rdzv-endpoint", config.rdzv_endpoint, "--rdzv-id", run_dir.name]
    return launcher + worker


def _launch(store: Store, run: dict) -> None:
    """Start the worker of a run claimed as 'starting' (the claim put the launch time in `heartbeat`)."""
    run_dir = Path(run["run_dir"])
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(filter(None, [str(PROJECT_ROOT), os.environ.get("PYTHONPATH")])))
    env[paths.WRITER_ENV] = "1"  # of a data-parallel run, this machine's ranks write: the store is here
    try:
        with open(run_dir / "worker.log", "ab") as log:
            process = subprocess.Popen(
                worker_command(TrainConfig.from_dict(run["config"]), run_dir),
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
                cwd=PROJECT_ROOT,
                env=env,
            )
    except OSError as exc:
        store.transition(
            run["id"],
            ("starting",),
            status="failed",
            ended=time.time(),
            message=f"the worker could not be started ({exc.strerror or exc})",
        )
        return
    store.transition(run["id"], ("starting",), pid=process.pid)


def get(run_id: str, store: Store) -> dict:
    paths.run_dir(run_id)  # checks the id's form
    run = store.run(run_id)
    if run is None:
        raise GandashError(f"no run '{run_id}'; see `python -m gandash runs`.")
    return run


def stop(run_id: str, store: Store | None = None, wait: bool = True, grace: float = 60.0) -> str:
    """SIGTERM: the worker finishes its step, checkpoints and exits; SIGKILL after `grace` seconds.
    Only a process verified to be this run's worker is signalled."""
    store = store or Store()
    run = get(run_id, store)
    if run["status"] == "queued" and store.transition(
        run_id, ("queued",), status="stopped", message="removed from the queue"
    ):
        return "stopped"
    if run["status"] not in ACTIVE:
        raise GandashError(f"run {run_id} is {run['status']}, not running.")
    if run["status"] == "starting" and store.transition(
        run_id,
        ("starting",),
        status="stopped",
        pid=None,
        ended=time.time(),
        message="stopped before its worker started; resume starts it from the last checkpoint",
    ):
        # a worker on its way finds the run stopped and leaves without training (it may not be recognisable
        # yet: between fork and exec its command line is its parent's); one already recognisable is told now
        with contextlib.suppress(GandashError):
            target = liveness.worker_process(run)
            if target is not None:
                liveness.send_signal(target, signal.SIGTERM)
        return "stopped"
    run = get(run_id, store)  # the worker may have started meanwhile: then it is the lease's holder
    target = liveness.worker_process(run)
    if target is not None:
        liveness.send_signal(target, signal.SIGTERM)
        # a worker paused with SIGSTOP would only see the SIGTERM once woken
        liveness.send_signal(target, signal.SIGCONT)
        deadline = time.monotonic() + grace
        while wait and lease.is_process(target) and time.monotonic() < deadline:
            liveness.reap(target["pid"])
            time.sleep(0.2)
        if wait and lease.is_process(target):
            liveness.send_signal(target, signal.SIGKILL)
            store.add_event(run_id, "warning", f"the worker did not stop within {grace:.0f}s and was killed")
    if not wait:
        return run["status"]
    if target is not None:
        liveness.wait_gone(target, 10.0)
    if not lease.is_held(Path(run["run_dir"])):  # the worker ended without saying so (killed, or still starting)
        store.transition(
            run_id,
            ACTIVE,
            status="stopped",
            pid=None,
            ended=time.time(),
            message="stopped before its worker could checkpoint; resume continues from the last checkpoint",
        )
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
    liveness.refuse_if_leased(run, "resumed")
    run_dir = Path(run["run_dir"])
    from gandash.engine import checkpoints

    checkpoints.check_resumable(run_dir, run_id)
    changes = {key: value for key, value in budget.items() if value is not None}
    if changes:
        from gandash.variants.configure import with_changes

        config = with_changes(TrainConfig.load(run_dir / "config.json"), **changes)
        config.save(run_dir / "config.json")
        store.update_run(run_id, config=config.to_json(), total_steps=config.total_steps)
    elif run["status"] == "completed":
        raise GandashError(
            f"run {run_id} already used its whole budget; give a larger --max-steps "
            "or --max-minutes to train it further."
        )
    store.transition(run_id, RESUMABLE, status="queued", ended=None, message="queued to resume")
    store.add_event(run_id, "info", "queued to resume from the last checkpoint")
    if start:
        schedule(store)


def start_over(run_id: str, store: Store | None = None, start: bool = True) -> str:
    """A new run with the settings of `run_id`, from step 0; `run_id` stays as it is (its history and its
    files, damaged checkpoints included). Returns the new run's id."""
    from gandash.variants.configure import with_changes

    store = store or Store()
    run = get(run_id, store)
    config = TrainConfig.load(Path(run["run_dir"]) / "config.json")
    name = f"{config.name or run_id} (started over)"[:100]
    new_id = create(with_changes(config, name=name), store, start=start)
    store.add_event(run_id, "info", f"started over as run {new_id}")
    return new_id


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
    config = TrainConfig.from_dict(run["config"])
    if config.processes * config.nodes > 1:
        raise GandashError(
            f"run {run_id} trains in {config.processes * config.nodes} processes; step-by-step mode is for "
            "runs of one process (each step would have to wait for every rank)."
        )
    store.add_command(run_id, command)


def reconcile(store: Store | None = None) -> list[str]:
    """Mark runs whose worker is gone as crashed (app restart, kill -9, reboot), then fill free slots."""
    store = store or Store()
    crashed = []
    for run in store.runs(ACTIVE):
        if liveness.worker_alive(run):
            continue
        last = liveness.last_log_line(Path(run["run_dir"]))
        if store.transition(
            run["id"],
            ACTIVE,
            status="crashed",
            pid=None,
            ended=time.time(),
            message="the worker stopped without finishing (killed, out of memory or a restart)"
            + (f"; its log ends: {last}" if last else "")
            + "; resume it to continue from its last checkpoint",
        ):
            store.add_event(run["id"], "error", "the worker process is gone; marked crashed")
            crashed.append(run["id"])
    schedule(store)
    return crashed


def rollback(run_id: str, step: int, store: Store | None = None) -> None:
    """Make the checkpoint of `step` the newest, so resume continues from there. Newer checkpoints
    are moved to checkpoints/rolled-back/, never deleted: nothing trained is lost."""
    from gandash.engine import checkpoints

    store = store or Store()
    run = get(run_id, store)
    if run["status"] in ACTIVE + ("queued",):
        raise GandashError(f"run {run_id} is {run['status']}; stop it before rolling it back.")
    liveness.refuse_if_leased(run, "rolled back")
    run_dir = Path(run["run_dir"])
    target = checkpoints.path_for(run_dir, step)
    if not target.is_file():
        raise GandashError(f"run {run_id} has no checkpoint of step {step}.")
    archive = checkpoints.folder(run_dir) / "rolled-back"
    archive.mkdir(exist_ok=True)
    for path in checkpoints.listing(run_dir):
        if checkpoints.step_of(path) > step:
            path.replace(archive / path.name)
    store.transition(
        run_id,
        RESUMABLE,
        status="stopped",
        step=step,
        message=f"rolled back to the checkpoint of step {step}; resume to continue from there",
    )
    store.add_event(run_id, "info", f"rolled back to step {step}")


def delete(run_id: str, store: Store | None = None) -> None:
    store = store or Store()
    run = get(run_id, store)
    if run["status"] in ACTIVE:
        raise GandashError(f"run {run_id} is {run['status']}; stop it before deleting it.")
    liveness.refuse_if_leased(run, "deleted")
    folder = paths.run_dir(run_id)
    if folder.exists():
        shutil.rmtree(folder)
    store.delete_run(run_id)
