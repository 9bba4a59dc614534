"""Faults injected on purpose into real jobs: real worker processes, a real SQLite file, real signals.

Each of these failed before runs got a lease (gandash.lease), verified signals and atomic slot claims:
kill -9 at random moments, a worker paused past the stale-heartbeat time, a reused pid, every checkpoint
damaged, a full disk (a file-size limit), two schedulers racing for one slot."""

import json
import os
import random
import resource
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch

from gandash.engine import checkpoints
from gandash.runs import jobs, lease, worker
from gandash.runs.store import Store
from gandash.variants.configure import make_config
from tests.processes import ROOT, cli, wait_for

pytestmark = pytest.mark.e2e
# a small toy run whose steps are cheap and deterministic on one thread; no evaluation (it is timed)
TOY = dict(
    width=16,
    batch_size=32,
    log_every=1,
    checkpoint_every=50,
    sample_every=10**6,
    eval_samples=0,
    cpu_threads=1,
    cpu_precision="fp32",
    generators=4,
)


def loss_steps(store, run_id):
    return [row[0] for row in store.metrics(run_id, names=("loss_d",))]


def final_generator(run_dir):
    state, _ = checkpoints.latest(Path(run_dir))
    return state["step"], state["generator"]


def foreground(config, store):
    run_id = jobs.create(config, store, foreground=True)
    run_dir = Path(store.run(run_id)["run_dir"])
    assert worker.run(run_dir, store) == "completed"
    return run_id, run_dir


def test_kill_9_at_three_random_moments_loses_nothing_and_ends_bit_identical(home):
    store = Store()
    config = make_config("toy", "ring", max_steps=500, **TOY)
    reference_id = cli(
        "train",
        "--variant",
        "toy",
        "--dataset",
        "ring",
        "--max-steps",
        "500",
        *[f"--set={k}={v}" for k, v in TOY.items()],
        "--background",
    ).stdout.strip()
    wait_for(lambda: store.run(reference_id)["status"] == "completed", what="the uninterrupted run")

    run_id = jobs.create(config, store)
    run_dir = Path(store.run(run_id)["run_dir"])
    rng = random.Random()  # different moments every time: the guarantee holds for all of them
    # Each kill lands a random few milliseconds after the worker wrote a checkpoint chosen at random: somewhere
    # in the steps that follow it, whatever this machine's speed (moments on the wall clock let a fast machine
    # finish the run before the first one came).
    for target in sorted(rng.sample(range(50, 400, 50), 3)):
        holder = wait_for(lambda: lease.holder(run_dir), what="the worker to take its lease")
        wait_for(lambda t=target: checkpoints.path_for(run_dir, t).exists(), what=f"checkpoint {target}", every=0.002)
        time.sleep(rng.uniform(0.0, 0.03))
        os.kill(holder["pid"], signal.SIGKILL)
        wait_for(lambda: not lease.is_held(run_dir), what="the kernel to drop the dead worker's lease")
        assert jobs.reconcile(store) == [run_id] and store.run(run_id)["status"] == "crashed"
        jobs.resume(run_id, store)
    wait_for(lambda: store.run(run_id)["status"] == "completed", what="the run to complete")

    steps = loss_steps(store, run_id)
    assert steps == list(range(1, 501)), (set(range(1, 501)) - set(steps), len(steps) - len(set(steps)))
    reference, resumed = final_generator(store.run(reference_id)["run_dir"]), final_generator(run_dir)
    assert reference[0] == resumed[0] == 500
    for name, tensor in reference[1].items():
        assert torch.equal(tensor, resumed[1][name]), name


def test_a_worker_paused_past_the_heartbeat_timeout_stays_the_only_writer(home, monkeypatch):
    monkeypatch.setenv("GANDASH_HEARTBEAT_STALE", "1")
    store = Store()
    run_id = cli(
        "train",
        "--variant",
        "toy",
        "--dataset",
        "ring",
        "--max-steps",
        "1500",
        *[f"--set={k}={v}" for k, v in TOY.items()],
        "--background",
    ).stdout.strip()
    run_dir = Path(store.run(run_id)["run_dir"])
    wait_for(lambda: store.run(run_id)["step"] > 20, what="training")
    pid = lease.holder(run_dir)["pid"]
    os.kill(pid, signal.SIGSTOP)  # a laptop suspend, heavy swapping, a long evaluation
    try:
        time.sleep(worker.HEARTBEAT_EVERY + 2.5)  # the heartbeat is stale by any measure now
        assert jobs.reconcile(store) == [] and store.run(run_id)["status"] == "running"
        assert "no heartbeat for" in cli("show", run_id).stdout
        refused = cli("resume", run_id, check=False)
        assert refused.returncode == 2 and "already running" in refused.stderr
        store.update_run(run_id, status="crashed")  # as an older gandash marked it: resume must still refuse
        refused = cli("resume", run_id, check=False)
        assert refused.returncode == 2 and "still alive and holds the run's lease" in refused.stderr
        store.update_run(run_id, status="running")
        rows_before = len(store.metrics(run_id))
        second = subprocess.run(
            [sys.executable, "-m", "gandash", "worker", str(run_dir)],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert second.returncode == 3 and "another worker holds the lease" in second.stderr
        assert len(store.metrics(run_id)) == rows_before and store.run(run_id)["pid"] == pid  # it wrote nothing
    finally:
        os.kill(pid, signal.SIGCONT)
    wait_for(lambda: store.run(run_id)["status"] == "completed", timeout=120, what="the paused worker to finish")
    steps = loss_steps(store, run_id)
    assert steps == list(range(1, 1501))  # one writer: no duplicates, the step never goes back


def test_stop_never_signals_an_unrelated_process_that_reused_the_pid(home):
    store = Store()
    run_id = jobs.create(make_config("toy", "ring", **TOY), store, start=False)
    run_dir = Path(store.run(run_id)["run_dir"])
    bystander = subprocess.Popen(["sleep", "120"])
    try:
        # a stale row: the worker died long ago and its pid now belongs to another program, which is also
        # what its old lease file records
        (run_dir / lease.LEASE_FILE).write_text(json.dumps({"pid": bystander.pid, "start": 1, "argv": ["x"]}))
        store.update_run(run_id, status="running", pid=bystander.pid, heartbeat=time.time())
        assert cli("stop", run_id).stdout.strip().endswith("stopped")
        time.sleep(0.3)
        assert bystander.poll() is None  # alive: nobody signalled it
        store.update_run(run_id, status="starting", pid=bystander.pid, heartbeat=time.time() - 3600)
        cli("runs")  # reconcile: a long-launched 'starting' whose pid is not its worker is crashed, unsignalled
        assert store.run(run_id)["status"] == "crashed" and bystander.poll() is None
    finally:
        bystander.kill()
        bystander.wait()


def test_stop_reaches_a_paused_worker_and_only_it(home):
    store = Store()
    run_id = cli(
        "train",
        "--variant",
        "toy",
        "--dataset",
        "ring",
        "--max-minutes",
        "5",
        *[f"--set={k}={v}" for k, v in TOY.items()],
        "--background",
    ).stdout.strip()
    run_dir = Path(store.run(run_id)["run_dir"])
    wait_for(lambda: store.run(run_id)["step"] > 10, what="training")
    holder = lease.holder(run_dir)
    os.kill(holder["pid"], signal.SIGSTOP)
    assert cli("stop", run_id).stdout.strip().endswith("stopped")  # woken to hear it, it checkpointed
    assert not lease.is_held(run_dir) and not lease.is_process(holder)
    run = store.run(run_id)
    assert checkpoints.step_of(checkpoints.listing(run_dir)[0]) == run["step"] > 10


def damage(path: Path, how: str) -> None:
    if how == "truncated":
        path.write_bytes(path.read_bytes()[:1000])
    elif how == "empty":
        path.write_bytes(b"")
    else:  # a file that would run code if loaded without weights_only: a real torch.save of a non-weight object
        import fractions

        torch.save({"format": 1, "generator": {}, "note": fractions.Fraction(1, 3)}, path)


def test_every_checkpoint_damaged_is_refused_and_the_history_kept(home, tmp_path):
    store = Store()
    run_id, run_dir = foreground(make_config("toy", "ring", max_steps=150, keep_checkpoints=3, **TOY), store)
    saved = checkpoints.listing(run_dir)
    assert len(saved) == 3
    damage(saved[0], "truncated")
    out = tmp_path / "s.npz"
    fell_back = cli("sample", run_id, "--n", "10", "--out", str(out))
    assert (
        "note: used the checkpoint of step 100, the newest that loads: step_00000150.pt is damaged" in fell_back.stderr
    )
    evaluated = cli("eval", run_id, "--n", "200")
    assert "note: used the checkpoint of step 100" in evaluated.stderr and "at step 100" in evaluated.stdout

    damage(saved[1], "empty")
    damage(saved[2], "code")
    rows = len(store.metrics(run_id))
    store.update_run(run_id, status="crashed")
    refused = cli("resume", run_id, check=False)
    assert refused.returncode == 2 and "Traceback" not in refused.stderr
    message = refused.stderr
    assert "every checkpoint of run" in message and "nothing was changed" in message and "--start-over" in message
    for name in (
        "step_00000150.pt is damaged",
        "step_00000100.pt is damaged",
        "step_00000050.pt was refused: it holds Python objects (fractions.Fraction)",
    ):
        assert name in message
    assert "weights_only=True and never turns that off" in message
    assert store.run(run_id)["status"] == "crashed" and len(store.metrics(run_id)) == rows

    # a resume queued before the damage: its worker refuses in the same words and keeps the history too
    store.update_run(run_id, status="queued")
    assert worker.run(run_dir, store) == "failed"
    assert "every checkpoint of run" in store.run(run_id)["message"] and len(store.metrics(run_id)) == rows
    sample = cli("sample", run_id, "--n", "10", "--out", str(out), check=False)
    assert (
        sample.returncode == 2
        and "every checkpoint of run" in sample.stderr
        and "no checkpoint yet" not in sample.stderr
    )

    fresh = cli("resume", run_id, "--start-over").stdout.strip()
    assert fresh != run_id and store.run(fresh)["config"]["max_steps"] == 150
    assert len(store.metrics(run_id)) == rows and len(checkpoints.listing(run_dir)) == 3  # the old run as it was
    jobs.stop(fresh, store)


def test_a_full_disk_ends_the_run_with_a_clear_message_and_loses_no_checkpoint(home):
    store = Store()
    # 50 generators: a checkpoint (2 MB) well larger than the store, so a limit between them fails only it
    run_id, run_dir = foreground(
        make_config("toy", "ring", max_steps=100, **{**TOY, "generators": 50, "width": 128}), store
    )
    jobs.resume(run_id, store, start=False, max_steps=200)
    kept = checkpoints.listing(run_dir)
    limit = kept[0].stat().st_size // 2  # the next checkpoint does not fit; the store and the log do
    assert (home / "gandash.sqlite").stat().st_size < limit
    store.update_run(run_id, status="starting")

    def small_files():
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))

    with open(run_dir / "worker.log", "ab") as log:
        result = subprocess.run(
            [sys.executable, "-m", "gandash", "worker", str(run_dir)],
            cwd=ROOT,
            stdout=log,
            stderr=subprocess.STDOUT,
            preexec_fn=small_files,
            timeout=120,
        )
    run = store.run(run_id)
    assert result.returncode == 1 and run["status"] == "failed"
    assert "could not write step_00000150.pt" in run["message"] and "file-size limit" in run["message"]
    assert "free on that disk" in run["message"] and "the checkpoint of step 100 is kept" in run["message"]
    assert "Traceback" not in (run_dir / "worker.log").read_text()
    assert not [p for p in (run_dir / "checkpoints").iterdir() if p.name.endswith(".tmp")]
    assert [checkpoints.load(p)["step"] for p in checkpoints.listing(run_dir)] == [100, 50]
    assert any("could not write" in e["text"] for e in store.events(run_id))


RACER = """
import sys, time
from gandash.runs import jobs
from gandash.runs.store import Store
store = Store()
time.sleep(max(0.0, float(sys.argv[1]) - time.time()))
print(len(jobs.schedule(store)))
"""


def test_two_schedulers_at_once_never_overfill_a_device(home, monkeypatch):
    monkeypatch.setenv("GANDASH_MAX_JOBS", "1")
    store = Store()
    for attempt in range(3):
        queued = [
            jobs.create(make_config("toy", "ring", max_minutes=5, max_steps=None, **TOY), store, start=False)
            for _ in range(3)
        ]
        moment = time.time() + 2.0  # both are up and waiting by then
        racers = [
            subprocess.Popen(
                [sys.executable, "-c", RACER, str(moment)],
                cwd=ROOT,
                stdout=subprocess.PIPE,
                text=True,
                env=dict(os.environ, PYTHONPATH=str(ROOT)),
            )
            for _ in range(3)
        ]
        launched = sum(int(racer.communicate(timeout=60)[0]) for racer in racers)
        active = [r for r in store.runs(("starting", "running")) if r["id"] in queued]
        assert launched == 1 and len(active) == 1, (
            attempt,
            launched,
            [(r["id"], r["status"], r["message"]) for r in store.runs()],
        )
        for run in sorted(map(store.run, queued), key=lambda run: run["status"] != "queued"):
            jobs.stop(run["id"], store)  # the queued first: the stopped worker would start the next one


def test_the_heartbeat_thread_outlives_a_busy_store(home, monkeypatch, capfd):
    import sqlite3
    import threading

    monkeypatch.setattr(worker, "HEARTBEAT_EVERY", 0.05)
    store = Store(timeout=0.1)
    run_id = jobs.create(make_config("toy", "ring", **TOY), store, start=False)
    done = threading.Event()
    beat = threading.Thread(target=worker._beat, args=(store, run_id, done), daemon=True)
    beat.start()
    blocker = sqlite3.connect(store.path, isolation_level=None)
    blocker.execute("BEGIN EXCLUSIVE")  # another program holds the write lock for a while
    time.sleep(0.6)
    locked_at = time.time()
    blocker.execute("COMMIT")
    blocker.close()
    wait_for(lambda: (store.run(run_id)["heartbeat"] or 0) > locked_at, timeout=5, what="beats after the lock")
    assert beat.is_alive() and "heartbeat not written" in capfd.readouterr().err
    done.set()
