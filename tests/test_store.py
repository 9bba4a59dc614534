import subprocess
import sys
import time

import pytest

from gandash.runs.store import Store, StoreBusy

WRITER = """
import sys, time
from gandash.runs.store import Store, StoreBusy
store = Store(sys.argv[1])
for step in range(200):
    now = time.time()
    store.write_batch("r1", [(step, "loss_d", float(step), now)], [], [], {"step": step, "heartbeat": now})
"""


def test_create_read_update_and_claim(tmp_path):
    store = Store(tmp_path / "s.sqlite")
    store.create_run("r1", {"variant": "dcgan", "dataset": "mnist", "name": "x"}, tmp_path, "queued", "cpu", 100)
    assert store.run("r1")["config"]["variant"] == "dcgan" and store.run("nope") is None
    assert store.transition("r1", ("queued",), status="starting") is True
    assert store.transition("r1", ("queued",), status="starting") is False  # only one launcher wins
    store.write_batch(
        "r1",
        [(1, "loss_d", 0.5, 1.0), (2, "loss_d", 0.4, 2.0), (3, "loss_g", 1.0, 3.0)],
        [(2, "s.png")],
        [(1.0, "info", "hello")],
        {"step": 3},
    )
    assert store.metrics("r1", after_step=1) == [(2, "loss_d", 0.4, 2.0), (3, "loss_g", 1.0, 3.0)]
    assert store.metrics("r1", names=("loss_g",)) == [(3, "loss_g", 1.0, 3.0)]
    assert store.samples("r1") == [(2, "s.png")] and store.events("r1")[0]["text"] == "hello"
    store.truncate_after("r1", 1)
    assert [row[0] for row in store.metrics("r1")] == [1] and store.samples("r1") == []
    assert [run["id"] for run in store.runs(("starting",))] == ["r1"]
    store.delete_run("r1")
    assert store.runs() == [] and store.metrics("r1") == []


def test_a_reader_holding_a_snapshot_never_blocks_the_writer_process(tmp_path):
    """WAL: a page mid-read must not stall a worker; the writer is a real separate process."""
    path = tmp_path / "s.sqlite"
    store = Store(path)
    store.create_run("r1", {"variant": "dcgan", "dataset": "mnist"}, tmp_path, "running", "cpu", None)
    reader = store._db()
    reader.execute("BEGIN")
    before = reader.execute("SELECT COUNT(*) FROM metrics").fetchone()[0]
    started = time.monotonic()
    writer = subprocess.run([sys.executable, "-c", WRITER, str(path)], timeout=60, capture_output=True, text=True)
    assert writer.returncode == 0, writer.stderr
    assert time.monotonic() - started < 30
    assert reader.execute("SELECT COUNT(*) FROM metrics").fetchone()[0] == before == 0  # a stable snapshot
    reader.execute("COMMIT")
    assert len(store.metrics("r1")) == 200 and store.run("r1")["step"] == 199


def test_reading_while_a_writer_process_writes(tmp_path):
    path = tmp_path / "s.sqlite"
    store = Store(path)
    store.create_run("r1", {"variant": "dcgan", "dataset": "mnist"}, tmp_path, "running", "cpu", None)
    writer = subprocess.Popen([sys.executable, "-c", WRITER, str(path)])
    seen, cursor = [], -1
    while writer.poll() is None or cursor < 199:
        rows = store.metrics("r1", after_step=cursor)  # incremental, by step cursor
        seen += rows
        cursor = rows[-1][0] if rows else cursor
        time.sleep(0.005)
    assert writer.returncode == 0
    assert [row[0] for row in seen] == list(range(200))


def test_debiased_ema_matches_its_definition_with_and_without_gaps():
    import math

    from gandash.runs.history import debiased_ema

    values = [1.0, 3.0, 2.0, 5.0, 4.0]
    expected, last = [], 0.0
    for count, value in enumerate(values, 1):
        last = 0.6 * last + 0.4 * value
        expected.append(last / (1 - 0.6**count))
    assert debiased_ema(values, 0.6) == pytest.approx(expected)
    assert debiased_ema(values, 0.0) == pytest.approx(values)
    gappy = debiased_ema([1.0, float("nan"), 3.0], 0.5)
    assert gappy[0] == 1.0 and math.isnan(gappy[1]) and gappy[2] == pytest.approx((0.25 + 1.5) / 0.75)


def test_metrics_since_reads_rows_that_share_a_step_and_skips_nothing(tmp_path):
    store = Store(tmp_path / "s.sqlite")
    store.create_run("r1", {"variant": "toy", "dataset": "ring"}, tmp_path, "running", "cpu", None)
    store.write_batch("r1", [(5, "d_x", 0.5, 1.0)], [], [], {})
    first = store.metrics_since("r1")
    assert [(step, name) for step, _, name, _, _ in first] == [(5, "d_x")]
    store.write_batch("r1", [(5, "d_x", 0.6, 2.0), (5, "loss_d", 1.0, 2.0)], [], [], {})  # a D step: same step
    later = store.metrics_since("r1", first[-1][:2])
    assert [(step, name, value) for step, _, name, value, _ in later] == [(5, "d_x", 0.6), (5, "loss_d", 1.0)]
    assert store.metrics_since("r1", later[-1][:2]) == []


def test_history_sees_every_step_by_step_d_step_of_a_real_paused_toy_run(home):
    """Step-by-step D steps do not advance trainer.step; each one must still reach the D(x) tile."""
    from gandash.core.config import TrainConfig
    from gandash.engine.stepper import Stepper
    from gandash.runs import jobs
    from gandash.runs.history import MetricHistory
    from gandash.runs.worker import StoreReporter
    from gandash.variants import training
    from gandash.variants.configure import make_config

    store = Store()
    run_id = jobs.create(make_config("toy", "ring", width=16, batch_size=32, eval_samples=0), store, foreground=True)
    run_dir = store.run(run_id)["run_dir"]
    trainer = training.trainer_for(TrainConfig.load(f"{run_dir}/config.json"), run_dir)
    reporter = StoreReporter(store, run_id, flush_every=0)
    stepper, history = Stepper(trainer, reporter), MetricHistory(run_id)
    stepper.handle(["pause", "step-d", "step-g"])  # one D step and one G step: now at step 1
    history.update(store)
    assert trainer.step == 1 and len(history.series("d_x")[1]) == 1
    for count in range(2, 5):  # three more D steps, all logged at step 1
        stepper.handle(["step-d"])
        history.update(store)
        rows = store.metrics(run_id, names=("d_x",))
        assert len(history.series("d_x")[1]) == count == len(rows)
        assert history.latest("d_x") == rows[-1][2] and history.series("d_x")[0][-1] == 1
    store.truncate_after(run_id, 0)  # a resume from step 0 rewrites the rows after it: the history starts over
    store.write_batch(run_id, [(1, "d_x", 0.25, 1.0)], [], [], {})
    history.update(store)
    assert history.series("d_x")[0] == [0, 1] and history.latest("d_x") == 0.25  # the first D step was at 0


def test_a_held_write_lock_makes_a_short_timeout_store_say_busy_quickly(tmp_path):
    """A second real connection holds the write lock: reads still work (WAL), and a write with the
    pages' short timeout fails within about that timeout with StoreBusy instead of waiting 30 s."""
    import sqlite3

    path = tmp_path / "s.sqlite"
    Store(path).create_run("r1", {"variant": "toy", "dataset": "ring"}, tmp_path, "stopped", "cpu", None)
    holder = sqlite3.connect(path, isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")
    holder.execute("UPDATE runs SET name = 'held'")
    page = Store(path, timeout=0.5)
    assert page.run("r1")["name"] == ""  # readers see the last commit
    started = time.monotonic()
    with pytest.raises(StoreBusy, match="locked by another program"):
        page.update_run("r1", name="mine")
    assert time.monotonic() - started < 3
    holder.execute("COMMIT")
    page.update_run("r1", name="mine")
    assert page.run("r1")["name"] == "mine"


OPENER = """
import sys, time
from gandash.runs.store import Store
start = float(sys.argv[2])
while time.time() < start:  # every process opens the new store at the same moment
    pass
store = Store(sys.argv[1])
print(len(store.runs()))
"""


def test_processes_opening_a_new_store_at_the_same_moment_all_get_it(tmp_path):
    """Two `gandash train` started together on a fresh home once failed: both made the schema, and one
    added a column the other had just added, or found the store locked."""
    for round_ in range(8):
        path = tmp_path / f"race{round_}.sqlite"
        start = time.time() + 1.0
        openers = [
            subprocess.Popen(
                [sys.executable, "-c", OPENER, str(path), str(start)],
                text=True,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
            )
            for _ in range(6)
        ]
        results = [opener.communicate(timeout=60) for opener in openers]
        assert all(opener.returncode == 0 and out.strip() == "0" for opener, (out, _) in zip(openers, results)), [
            err for _, err in results if err
        ]
