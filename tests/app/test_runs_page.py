"""The Runs page and the sidebar with real runs: the table, its filters, running jobs, broken and busy stores."""

import os
import signal
import sqlite3
import time
from pathlib import Path

import pytest

from gandash.core.config import TrainConfig
from gandash.engine import checkpoints
from gandash.runs import jobs, lease
from gandash.runs.store import Store
from gandash.variants.configure import make_config
from tests.app.conftest import app
from tests.processes import wait_for


def table_ids(at) -> list[str]:
    return list(at.dataframe[0].value["id"])


def shown_step(at) -> str:
    return at.get("image")[0].proto.imgs[0].caption


@pytest.fixture
def running_toy(tiny_fashion):
    """A real background toy job, training (its worker is a separate process) when the test starts."""
    store = Store()
    run_id = jobs.create(
        make_config("toy", "ring", max_steps=100_000, width=16, batch_size=32, eval_samples=0, name="long toy"), store
    )
    wait_for(lambda: store.run(run_id)["status"] == "running" and store.run(run_id)["step"] > 0)
    yield run_id
    if store.run(run_id) and store.run(run_id)["status"] in ("starting", "running"):
        jobs.stop(run_id, store)


def test_filters_and_tag_search_really_filter_the_table(populated_fresh):
    toy, image = populated_fresh
    Store().update_run(toy, tags="ring,baseline")
    at = app("app_pages/runs.py")
    assert set(table_ids(at)) == {toy, image}
    assert list(at.dataframe[0].value["tags"]) == ["", "ring, baseline"]  # newest first: the image run
    at.multiselect(key="filter-variant").set_value(["dcgan"]).run()
    assert table_ids(at) == [image]
    at.multiselect(key="filter-variant").set_value([]).run()
    at.text_input(key="filter-text").set_value("baseline").run()  # a tag
    assert table_ids(at) == [toy]
    at.text_input(key="filter-text").set_value("").run()
    at.multiselect(key="filter-status").set_value(["crashed"]).run()
    assert not at.dataframe and any("No run matches" in i.value for i in at.info)
    assert not at.exception


def test_a_click_in_the_table_selects_the_run_for_the_whole_page(populated):
    toy, image = populated
    at = app("app_pages/runs.py", run=image)
    assert image in at.subheader[0].value and table_ids(at).index(image) == 0
    at.session_state["runs-table-0"] = {"selection": {"rows": [1], "columns": [], "cells": []}}  # a click on row 1
    at.run()
    assert toy in at.subheader[0].value and at.query_params["run"] == toy
    assert list(at.dataframe[0].value[""]) == ["", "▶"]  # the mark follows the selection
    assert any("toy on ring" in c.value for c in at.caption), "the live part shows the picked run too"


def test_settings_survive_a_reload_and_the_smoothing_window_is_shown(populated):
    toy, image = populated
    at = app("app_pages/runs.py", run=toy)
    assert any(c.value == "averages ≈ 2.5 points ≈ 13 steps" for c in at.caption)  # w 0.6, log_every 5
    at.slider(key="smoothing").set_value(0.9).run()
    assert any(c.value == "averages ≈ 10 points ≈ 50 steps" for c in at.caption)
    at.multiselect(key="filter-variant").set_value(["toy"]).run()
    at.radio(key="x-axis").set_value("wall time").run()
    reloaded = app("app_pages/runs.py", run=toy)  # a new session, as after a browser reload
    assert reloaded.slider(key="smoothing").value == 0.9
    assert reloaded.multiselect(key="filter-variant").value == ["toy"]
    assert reloaded.radio(key="x-axis").value == "wall time"
    compare = app("app_pages/compare.py")
    assert compare.slider(key="smoothing").value == 0.9
    compare.multiselect(key="compare-runs").set_value([toy]).run()
    assert app("app_pages/compare.py").multiselect(key="compare-runs").value == [toy]


def test_the_sidebar_opens_and_stops_a_running_job_and_delete_waits_for_the_stop(running_toy):
    at = app()
    assert any("toy · ring · step" in p.proto.text for p in at.sidebar.get("progress"))
    at.sidebar.button(key=f"open-{running_toy}").click().run()
    assert at.query_params["run"] == running_toy and at.title[0].value == "Runs"
    assert "long toy" in at.subheader[0].value
    assert not [b for b in at.button if b.label == "Yes, delete it"], "a running job cannot be deleted"
    assert any("stop it first" in w.value for w in at.warning)
    at.sidebar.button(key=f"stop-{running_toy}").click().run()
    assert Store().run(running_toy)["status"] == "stopped"
    assert not at.sidebar.button and any("none running" in c.value for c in at.sidebar.caption)
    run_dir = Path(Store().run(running_toy)["run_dir"])
    at.button(key=f"delete-{running_toy}").click().run()
    assert Store().run(running_toy) is None and not run_dir.exists()
    assert not at.exception


def test_a_crashed_run_says_what_happened(tiny_fashion):
    store = Store()
    run_id = jobs.create(make_config("toy", "ring", max_steps=100_000, width=16, batch_size=32, eval_samples=0), store)
    wait_for(lambda: store.run(run_id)["status"] == "running" and store.run(run_id)["step"] > 0)
    pid = store.run(run_id)["pid"]
    os.kill(pid, signal.SIGKILL)
    wait_for(lambda: not lease.is_held(store.run(run_id)["run_dir"]), what="the killed worker to go")
    assert jobs.reconcile(store) == [run_id]
    at = app("app_pages/runs.py", run=run_id)
    assert not at.exception
    assert any("the worker stopped without finishing" in e.value for e in at.error)
    assert not next(b for b in at.button if b.label == "Resume").disabled, "a crashed run can be resumed"


def test_a_run_folder_deleted_by_hand_is_said_plainly(populated_fresh):
    import shutil

    toy, image = populated_fresh
    shutil.rmtree(Store().run(toy)["run_dir"])
    at = app("app_pages/runs.py", run=toy)
    assert not at.exception
    assert any("This run's folder is gone" in e.value for e in at.error)
    assert not any("No snapshots yet" in i.value for i in at.info)
    assert next(b for b in at.button if b.label == "Resume").disabled
    assert len(at.get("plotly_chart")) >= 4, "the metrics in the store are still charted"


def test_a_store_locked_by_another_program_gives_a_warning_not_a_30_s_hang(populated_fresh):
    """A second real connection holds the write lock while the page needs to write (the sidebar marks
    a dead worker's run crashed; Save name and tags): the page says the store is busy within seconds."""
    toy, image = populated_fresh
    store = Store()
    store.update_run(toy, status="running", pid=None, heartbeat=time.time() - 3600)  # its worker is long gone
    holder = sqlite3.connect(store.path, isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")
    holder.execute("UPDATE runs SET message = message")
    try:
        started = time.monotonic()
        at = app("app_pages/runs.py", run=image)
        assert not at.exception, at.exception
        assert any("The run store is busy" in w.value for w in at.sidebar.warning)
        next(b for b in at.button if b.label == "Save name and tags").click().run()
        assert not at.exception and any("The run store is busy" in w.value for w in at.warning)
        assert time.monotonic() - started < 20  # a few 1 s waits, never the workers' 30 s
    finally:
        holder.execute("COMMIT")
        holder.close()
    at = app("app_pages/runs.py", run=image)
    assert not at.warning and Store().run(toy)["status"] == "crashed"


def test_a_checkpoint_pruned_while_the_page_lists_it_is_skipped(populated_fresh):
    toy, image = populated_fresh
    run_dir = Path(Store().run(image)["run_dir"])
    (checkpoints.folder(run_dir) / "step_00000001.pt").symlink_to(run_dir / "pruned-meanwhile.pt")  # listed, gone
    at = app("app_pages/runs.py", run=image)
    assert not at.exception
    assert not any("step 1 ·" in m.value for m in at.markdown)


def test_the_best_checkpoint_is_marked_and_can_be_rolled_back_to(home):
    from gandash.variants import training

    store = Store()
    run_id = jobs.create(
        make_config("toy", "ring", width=16, batch_size=32, keep_checkpoints=1, eval_samples=0), store, foreground=True
    )
    run_dir = Path(store.run(run_id)["run_dir"])
    trainer = training.trainer_for(TrainConfig.load(run_dir / "config.json"), run_dir)
    for step, modes in ((5, 6), (10, 4)):  # what the evaluator reported at each step, then a checkpoint
        while trainer.step < step:
            trainer.train_step()
        trainer.note_quality({"modes": float(modes), "modes_total": 8.0, "hq_percent": 80.0})
        trainer.save_checkpoint()
    store.update_run(run_id, status="stopped", step=10)
    at = app("app_pages/runs.py", run=run_id)
    assert any("step 5 · " in m.value and "★ best (6/8 modes, 80% high quality)" in m.value for m in at.markdown)
    at.button(key=f"rollback-{run_id}-5").click().run()
    assert store.run(run_id)["step"] == 5 and "rolled back to the checkpoint of step 5" in store.run(run_id)["message"]
    assert not at.exception


def test_the_sample_timeline_follows_the_newest_step_until_moved_back(populated):
    toy, image = populated
    at = app("app_pages/runs.py", run=image)
    assert shown_step(at) == "step 6"
    at.select_slider(key=f"sample-step-{image}-6").set_value(3).run()  # the user looks back
    assert shown_step(at) == "step 3"
    at.run()  # a live refresh keeps the step the user picked
    assert shown_step(at) == "step 3"
    at.select_slider(key=f"sample-step-{image}-pinned").set_value(6).run()  # back at the newest: follow again
    assert shown_step(at) == "step 6" and at.select_slider(key=f"sample-step-{image}-6")


def test_step_by_step_pauses_a_real_job_steps_it_and_lets_it_run_again(running_toy):
    at = app("app_pages/runs.py", run=running_toy)
    assert any("Pause the job to walk through Algorithm 1" in c.value for c in at.caption)
    at.button(key="step-pause").click().run()  # the page waits for the worker to pause, then redraws
    store = Store()
    assert store.run(running_toy)["phase"]["paused"]
    assert at.button(key="step-pause").disabled and not at.button(key="step-next").disabled
    phase = lambda: store.run(running_toy)["phase"]  # noqa: E731 - what the worker reports while paused
    paused_at = phase()["step"]
    at.button(key="step-d").click().run()
    wait_for(lambda: phase().get("d_done") == 1 and phase()["last"] == "step-d", what="one D step")
    assert phase()["step"] == paused_at, "a D step alone is not a training step"
    at.button(key="step-g").click().run()
    wait_for(lambda: phase()["step"] == paused_at + 1, what="the G step that ends the step")
    assert phase()["d_done"] == 0
    at.button(key="step-continue").click().run()
    assert not store.run(running_toy)["phase"]["paused"] and not at.button(key="step-pause").disabled
    wait_for(lambda: store.run(running_toy)["step"] > paused_at + 50, what="training to go on")
    assert not at.exception


def test_the_chart_refresh_setting_is_offered_and_kept(populated):
    toy, _ = populated
    at = app("app_pages/runs.py", run=toy)
    assert at.radio(key="chart-refresh").value == 10  # the default: a few percent of a watched job's speed
    at.radio(key="chart-refresh").set_value(0).run()
    assert app("app_pages/runs.py", run=toy).radio(key="chart-refresh").value == 0
    assert not at.exception


def test_a_paused_worker_shows_as_stalled_not_crashed_in_table_sidebar_and_header(running_toy, monkeypatch):
    """A worker stopped with SIGSTOP (a suspend) keeps its lease: the page says it is stalled, and the
    sidebar's reconcile leaves it running."""
    monkeypatch.setenv("GANDASH_HEARTBEAT_STALE", "1")
    store = Store()
    run_dir = store.run(running_toy)["run_dir"]
    pid = lease.holder(run_dir)["pid"]
    os.kill(pid, signal.SIGSTOP)
    try:
        store.update_run(running_toy, heartbeat=time.time() - 5)  # as if it had been asleep a while
        at = app("app_pages/runs.py", run=running_toy)
        assert not at.exception
        assert list(at.dataframe[0].value["status"]) == ["⏸️ running, stalled"]
        assert any("No heartbeat for" in w.value and "holds the run's lease" in w.value for w in at.warning)
        assert store.run(running_toy)["status"] == "running"
    finally:
        os.kill(pid, signal.SIGCONT)
