import csv
import io
from pathlib import Path

from PIL import Image

from gandash.engine import checkpoints
from gandash.runs import export, jobs, worker
from gandash.runs.store import Store
from gandash.variants.configure import make_config


def test_metrics_csv_gif_and_rollback_on_a_real_run(home):
    store = Store()
    run_id = jobs.create(
        make_config(
            "toy", "ring", max_steps=40, log_every=10, sample_every=10, checkpoint_every=10, keep_checkpoints=5
        ),
        store,
        foreground=True,
    )
    worker.run(store.run(run_id)["run_dir"], store)
    rows = list(csv.DictReader(io.StringIO(export.metrics_csv(store, run_id).decode())))
    assert [int(r["step"]) for r in rows] == [10, 20, 30, 40] and float(rows[0]["loss_d"]) > 0
    gif = Image.open(io.BytesIO(export.timeline_gif([Path(p) for _, p in store.samples(run_id)])))
    assert gif.n_frames == 4

    run_dir = store.run(run_id)["run_dir"]
    jobs.rollback(run_id, 20, store)
    assert [checkpoints.step_of(p) for p in checkpoints.listing(run_dir)] == [20, 10]
    archived = sorted(p.name for p in (checkpoints.folder(run_dir) / "rolled-back").iterdir())
    assert archived == ["step_00000030.pt", "step_00000040.pt"]  # moved aside, not deleted
    assert store.run(run_id)["status"] == "stopped"
    jobs.resume(run_id, store, start=False)
    store.transition(run_id, ("queued",), status="starting")
    worker.run(run_dir, store)
    assert [step for step, *_ in store.metrics(run_id, names=("loss_d",))] == [10, 20, 30, 40]
    assert "resumed from the checkpoint of step 20" in " ".join(e["text"] for e in store.events(run_id))


def test_a_resumed_run_keeps_its_first_start_time(home):
    store = Store()
    run_id = jobs.create(
        make_config("toy", "ring", max_steps=10, width=16, batch_size=32, eval_samples=0), store, foreground=True
    )
    run_dir = store.run(run_id)["run_dir"]
    worker.run(run_dir, store)
    first = store.run(run_id)
    jobs.resume(run_id, store, start=False, max_steps=20)
    jobs.schedule(store)  # a real launch, then the real worker process continues the run
    assert jobs.wait_until_ended(run_id, store, timeout=60) == "completed"
    resumed = store.run(run_id)
    assert resumed["step"] == 20 and resumed["started"] == first["started"]
    assert resumed["ended"] > first["ended"] > first["started"]  # the duration spans both sessions


def test_the_best_checkpoint_is_kept_beside_the_last_few_and_can_be_rolled_back_to(home):
    from gandash.core.config import TrainConfig
    from gandash.variants import training

    store = Store()
    run_id = jobs.create(
        make_config("toy", "ring", width=16, batch_size=32, keep_checkpoints=2, eval_samples=0), store, foreground=True
    )
    run_dir = Path(store.run(run_id)["run_dir"])
    trainer = training.trainer_for(TrainConfig.load(run_dir / "config.json"), run_dir)

    def evaluated_then_saved(trainer, step: int, modes: int) -> None:
        while trainer.step < step:
            trainer.train_step()
        # what the evaluator reports for a ring (gandash.metrics.mode_coverage), then a checkpoint
        trainer.note_quality({"modes": float(modes), "modes_total": 8.0, "hq_percent": 50.0, "loss_d": 1.0})
        trainer.save_checkpoint()

    for step, modes in ((5, 3), (10, 7), (15, 5), (20, 6), (25, 2)):
        evaluated_then_saved(trainer, step, modes)
    assert [checkpoints.step_of(p) for p in checkpoints.listing(run_dir)] == [25, 20, 10]  # the last 2 and the best
    marked = checkpoints.best(run_dir)
    assert marked["step"] == 10 and marked["label"] == "7/8 modes, 50% high quality"

    resumed = training.trainer_for(TrainConfig.load(run_dir / "config.json"), run_dir)  # a resume knows the best so far
    resumed.load_state(checkpoints.load(checkpoints.listing(run_dir)[0]))
    evaluated_then_saved(resumed, 30, 6)
    assert checkpoints.best_step(run_dir) == 10 and [checkpoints.step_of(p) for p in checkpoints.listing(run_dir)] == [
        30,
        25,
        10,
    ]
    evaluated_then_saved(resumed, 35, 8)  # a new best: the old one may go now
    assert checkpoints.best_step(run_dir) == 35 and [checkpoints.step_of(p) for p in checkpoints.listing(run_dir)] == [
        35,
        30,
    ]

    store.update_run(run_id, status="stopped", step=35)
    jobs.rollback(run_id, 30, store)  # rolling back before the best moves it aside: no best is claimed
    assert checkpoints.best(run_dir) is None
