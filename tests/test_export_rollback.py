import csv
import io

from PIL import Image

from gandash import checkpoints, export, jobs, worker
from gandash.config import make_config
from gandash.store import Store


def test_metrics_csv_gif_and_rollback_on_a_real_run(home):
    store = Store()
    run_id = jobs.create(make_config("toy", "ring", max_steps=40, log_every=10, sample_every=10,
                                     checkpoint_every=10, keep_checkpoints=5), store, foreground=True)
    worker.run(store.run(run_id)["run_dir"], store)
    rows = list(csv.DictReader(io.StringIO(export.metrics_csv(store, run_id).decode())))
    assert [int(r["step"]) for r in rows] == [10, 20, 30, 40] and float(rows[0]["loss_d"]) > 0
    gif = Image.open(io.BytesIO(export.timeline_gif([__import__("pathlib").Path(p) for _, p in store.samples(run_id)])))
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
