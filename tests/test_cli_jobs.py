"""Real background jobs through the real CLI: separate OS processes, a real SQLite file."""

import os
import signal
import time

import numpy as np
import pytest

from gandash.runs.store import Store
from tests.processes import cli, wait_for

pytestmark = pytest.mark.e2e


def metric_rows(run_id):
    return Store().metrics(run_id)


SMALL = ["--set", "width=8", "--set", "batch_size=16", "--set", "log_every=1", "--set", "checkpoint_every=20"]


def test_background_job_start_stop_resume_crash_resume_sample(tiny_fashion, tmp_path):
    run_id = cli(
        "train", "--variant", "dcgan", "--dataset", "fashion-mnist", "--max-minutes", "5", *SMALL, "--background"
    ).stdout.strip()
    store = Store()
    wait_for(lambda: len(metric_rows(run_id)) > 0, what="metrics rows in the SQLite file")
    assert store.run(run_id)["status"] == "running"
    first_pid = store.run(run_id)["pid"]

    stopped = cli("stop", run_id)
    assert "stopped" in stopped.stdout
    run = store.run(run_id)
    assert run["status"] == "stopped" and run["pid"] is None
    steps_at_stop = run["step"]
    run_dir = run["run_dir"]
    assert any(name.startswith("step_") for name in os.listdir(os.path.join(run_dir, "checkpoints")))

    cli("resume", run_id)
    wait_for(
        lambda: store.run(run_id)["status"] == "running" and store.run(run_id)["step"] > steps_at_stop + 5,
        what="the resumed run to make progress",
    )
    pid = store.run(run_id)["pid"]
    assert pid != first_pid
    os.kill(pid, signal.SIGKILL)
    wait_for(lambda: run_id in cli("runs").stdout and store.run(run_id)["status"] == "crashed", what="crashed")
    assert "crashed" in cli("runs").stdout
    assert "marked crashed" in cli("logs", run_id).stdout

    cli("resume", run_id)
    # the worker says "running" as it starts, and "resumed from ..." once it has read the checkpoint
    wait_for(
        lambda: sum("resumed from the checkpoint of step" in e["text"] for e in store.events(run_id)) >= 2,
        what="the second resume to load its checkpoint",
    )
    assert store.run(run_id)["status"] == "running"
    cli("stop", run_id)

    out = tmp_path / "samples.npz"
    cli("sample", run_id, "--n", "12", "--out", str(out), "--seed", "3")
    arrays = np.load(out)
    assert arrays["images"].shape == (12, 28, 28) and arrays["images"].dtype == np.uint8
    again = tmp_path / "again.npz"
    cli("sample", run_id, "--n", "12", "--out", str(again), "--seed", "3")
    assert np.array_equal(np.load(again)["images"], arrays["images"])  # same seed, same images
    show = cli("show", run_id).stdout
    assert "status   stopped" in show and "loss_d=" in show


def test_jobs_queue_one_at_a_time_per_device(home):
    first = cli("train", "--variant", "toy", "--dataset", "ring", "--max-minutes", "5", "--background").stdout.strip()
    second = cli("train", "--variant", "toy", "--dataset", "ring", "--max-steps", "30", "--background").stdout.strip()
    store = Store()
    assert store.run(second)["status"] == "queued"
    wait_for(lambda: store.run(first)["status"] == "running", what="first running")
    cli("stop", first)
    # the stopping worker starts the next queued job itself
    wait_for(lambda: store.run(second)["status"] in ("running", "completed"), what="queued job to start")
    wait_for(lambda: store.run(second)["status"] == "completed", what="queued job to finish")


def test_sample_contract_for_conditional_and_toy_runs(tiny_fashion, tmp_path):
    cgan = cli("train", "--variant", "cgan", "--dataset", "fashion-mnist", "--max-steps", "3", *SMALL)
    run_id = cgan.stderr.split("run ", 1)[1].split()[0]
    out = tmp_path / "c.npz"
    cli("sample", run_id, "--n", "20", "--out", str(out))
    arrays = np.load(out)
    assert arrays["images"].shape == (20, 28, 28) and list(arrays["labels"][:11]) == list(range(10)) + [0]
    cli("sample", run_id, "--n", "5", "--class", "7", "--out", str(out))
    assert set(np.load(out)["labels"]) == {7}
    bad = cli("sample", run_id, "--n", "5", "--class", "12", "--out", str(out), check=False)
    assert bad.returncode == 2 and "--class must be from 0 to 9" in bad.stderr and "Traceback" not in bad.stderr

    toy = cli("train", "--variant", "toy", "--dataset", "ring", "--max-steps", "5")
    toy_id = toy.stderr.split("run ", 1)[1].split()[0]
    cli("sample", toy_id, "--n", "30", "--out", str(out))
    arrays = np.load(out)
    assert arrays["points"].shape == (30, 2) and arrays["points"].dtype == np.float32


@pytest.mark.parametrize(
    "args, message",
    [
        (["train", "--variant", "dcgan", "--set", "batch_size=0"], "batch_size must be a whole number"),
        (["train", "--variant", "nope"], "variant 'nope' is unknown"),
        (["train", "--set", "lr"], "is not key=value"),
        (["show", "../../etc"], "is not a run id"),
        (["show", "missing-run"], "no run 'missing-run'"),
        (["stop", "missing-run"], "no run 'missing-run'"),
        (["sample", "missing-run", "--out", "x.npz"], "no run 'missing-run'"),
    ],
)
def test_bad_input_exits_2_with_one_line(home, args, message):
    result = cli(*args, check=False)
    assert result.returncode == 2
    assert message in result.stderr and "Traceback" not in result.stderr


def test_variants_and_datasets_listings(home):
    assert "wgan-gp" in cli("variants").stdout
    listing = cli("datasets").stdout
    assert "ring" in listing and "folder:" in listing


def test_step_by_step_pause_step_d_step_g_continue(home):
    """Pause a running worker, advance it one D step then one G step, then let it run again."""
    run_id = cli(
        "train",
        "--variant",
        "toy",
        "--dataset",
        "ring",
        "--max-minutes",
        "5",
        "--set",
        "d_steps=2",
        "--set",
        "log_every=1",
        "--background",
    ).stdout.strip()
    store = Store()
    wait_for(lambda: store.run(run_id)["status"] == "running" and store.run(run_id)["step"] > 20, what="running")
    cli("control", run_id, "pause")
    wait_for(lambda: store.run(run_id)["phase"].get("paused"), what="paused")
    paused_at = store.run(run_id)["phase"]["step"]
    time.sleep(1.0)
    assert store.run(run_id)["phase"]["step"] == paused_at  # nothing trains while paused
    rows_before = len(store.metrics(run_id, names=("d_x",)))

    cli("control", run_id, "step")  # the next line of Algorithm 1 is a D step
    wait_for(lambda: store.run(run_id)["phase"].get("d_done") == 1, what="one D step")
    assert len(store.metrics(run_id, names=("d_x",))) == rows_before + 1
    cli("control", run_id, "step")
    wait_for(lambda: store.run(run_id)["phase"].get("d_done") == 2, what="k=2 D steps")
    cli("control", run_id, "step")  # after k D steps comes the G step
    wait_for(lambda: store.run(run_id)["phase"].get("last") == "step-g", what="the G step")
    phase = store.run(run_id)["phase"]
    assert phase["step"] == paused_at + 1 and phase["d_done"] == 0
    assert store.metrics(run_id, names=("d_g_z2",))[-1][0] == paused_at + 1

    cli("control", run_id, "continue")
    wait_for(lambda: store.run(run_id)["step"] > paused_at + 20, what="training to go on")
    cli("stop", run_id)
    bad = cli("control", run_id, "pause", check=False)
    assert bad.returncode == 2 and "step-by-step needs a running job" in bad.stderr
