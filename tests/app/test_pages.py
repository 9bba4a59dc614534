"""Every page under streamlit's AppTest, with an empty store and with real short runs."""

import os

import pytest

from gandash.runs import jobs
from gandash.runs.store import Store
from tests.app.conftest import app, train_foreground  # noqa: F401  (other page tests import them from here)

PAGES = ["app_pages/home.py", "app_pages/train.py", "app_pages/runs.py", "app_pages/compare.py"]


@pytest.mark.parametrize("page", PAGES)
def test_every_page_renders_with_an_empty_store(home, page):
    at = app(page)
    assert not at.exception, at.exception


@pytest.mark.parametrize("page", PAGES)
def test_every_page_renders_with_real_runs(populated, page):
    at = app(page)
    assert not at.exception, at.exception


def test_home_shows_the_machine_and_the_one_click_toy_run(home):
    at = app()
    assert at.title[0].value.endswith("gandash")
    assert [m.label for m in at.metric] == ["Device", "Datasets here", "Runs"]
    assert at.metric[0].value == "CPU"
    at.button[0].click().run()  # train a toy GAN in one click
    runs = Store().runs()
    assert len(runs) == 1 and runs[0]["variant"] == "toy" and runs[0]["status"] in ("starting", "running")
    jobs.stop(runs[0]["id"])


def test_train_form_shows_validation_errors_next_to_the_form(tiny_fashion):
    at = app("app_pages/train.py")
    batch = next(n for n in at.number_input if n.label == "Batch size")
    batch.set_value(0).run()
    assert any("batch_size must be a whole number from 1 to 4096 (got 0)" in e.value for e in at.error)
    lr = next(n for n in at.number_input if n.label == "Discriminator learning rate")
    lr.set_value(0.0).run()
    assert any("lr_d must be a number above 0" in e.value for e in at.error)
    assert not at.exception


def test_train_form_start_creates_a_real_job(tiny_fashion):
    at = app("app_pages/train.py")
    at.selectbox(key="variant").set_value("toy").run()
    next(n for n in at.number_input if n.label == "Budget").set_value(40.0).run()
    next(r for r in at.radio if r.label == "Budget in").set_value("steps").run()
    at.button(key="start").click().run()
    runs = Store().runs()
    assert len(runs) == 1 and runs[0]["variant"] == "toy" and runs[0]["config"]["max_steps"] == 40
    jobs.stop(runs[0]["id"])


def test_runs_page_shows_the_selected_run_with_charts_and_samples(populated):
    toy, image = populated
    at = app("app_pages/runs.py", run=image)
    assert not at.exception
    assert image in at.subheader[0].value
    assert len(at.get("plotly_chart")) == 4
    assert at.get("image"), "the latest sample grid is shown"
    assert any("started on cpu" in c.value for c in at.code)


def test_runs_page_survives_a_run_folder_deleted_by_hand_and_a_corrupt_sample(populated_fresh):
    import shutil

    toy, image = populated_fresh
    store = Store()
    step, path = store.samples(image)[-1]
    with open(path, "wb") as handle:
        handle.write(b"not a png")
    at = app("app_pages/runs.py", run=image)
    assert not at.exception
    assert any("cannot be shown" in w.value for w in at.warning)
    shutil.rmtree(store.run(toy)["run_dir"])
    at = app("app_pages/runs.py", run=toy)
    assert not at.exception


def test_compare_overlays_two_runs(populated):
    toy, image = populated
    at = app("app_pages/compare.py")
    assert not at.exception
    assert set(at.multiselect(key="compare-runs").value) == {toy, image}
    assert len(at.get("plotly_chart")) >= 6
    assert len(at.get("image")) == 2


def test_rename_tag_and_roll_back_from_the_runs_page(populated_fresh):
    toy, image = populated_fresh
    at = app("app_pages/runs.py", run=image)
    at.text_input[-2].set_value("my first dcgan")
    at.text_input[-1].set_value("demo, small")
    next(b for b in at.button if b.label == "Save name and tags").click().run()
    run = Store().run(image)
    assert (run["name"], run["tags"]) == ("my first dcgan", "demo,small")
    rollback = [b for b in at.button if b.label == "Roll back here"]
    assert rollback, "older checkpoints can be rolled back to"
    rollback[0].click().run()
    run = Store().run(image)
    assert run["status"] == "stopped" and "rolled back" in run["message"]
    assert not at.exception


def test_upload_a_zip_on_the_train_page_then_train_on_it(home):
    from tests.test_uploads import image_zip

    at = app("app_pages/train.py")
    at.file_uploader(key="upload-file").set_value(("shoes.zip", image_zip(), "application/zip")).run()
    at.text_input(key="upload-name").set_value("shoes").run()
    at.button(key="upload-add").click().run()
    assert not at.exception
    assert any("Added **shoes**: 20 images in classes bags, shoes" in s.value for s in at.success)
    assert at.selectbox(key="dataset-dcgan").value == "folder:"
    assert at.selectbox(key="upload-folder:").value.endswith("/uploads/shoes")
    bad = app("app_pages/train.py")
    bad.file_uploader(key="upload-file").set_value(("x.zip", b"not a zip", "application/zip")).run()
    bad.text_input(key="upload-name").set_value("x").run()
    bad.button(key="upload-add").click().run()
    assert any("not a readable zip" in e.value for e in bad.error) and not bad.exception


def test_duplicate_with_changes_prefills_the_train_form(populated):
    toy, image = populated
    at = app("app_pages/runs.py", run=image)
    next(b for b in at.button if b.label == "Duplicate with changes").click().run()
    assert not at.exception
    assert at.selectbox(key="variant").value == "dcgan"
    assert next(n for n in at.number_input if n.label == "Batch size").value == 16
    assert next(n for n in at.number_input if n.label == "Width (channels / units)").value == 8


def test_chart_settings_and_filters_survive_a_trip_to_another_page(populated):
    at = app("app_pages/runs.py")
    at.slider(key="smoothing").set_value(0.9).run()
    at.multiselect(key="filter-variant").set_value(["toy"]).run()
    at.switch_page("app_pages/home.py").run()
    at.switch_page("app_pages/runs.py").run()
    assert at.slider(key="smoothing").value == 0.9
    assert at.multiselect(key="filter-variant").value == ["toy"]
    assert not at.exception


def test_the_monitor_says_in_plain_words_when_the_discriminator_wins(home, capsys):
    """A real run steered into failure (a plain GAN: one generator, minimax loss, D 10x faster, 3 D
    steps): the monitor and `gandash show` both name the problem and what to try."""
    run_id = train_foreground(
        "toy",
        "ring",
        max_steps=300,
        width=32,
        batch_size=64,
        log_every=5,
        generators=1,
        z_dim=2,
        g_loss="minimax",
        lr_d=1e-2,
        lr_g=1e-3,
        d_steps=3,
        eval_samples=0,
    )
    at = app("app_pages/runs.py", run=run_id)
    assert not at.exception, at.exception
    boxes = [e.value for e in at.error]
    assert any("The discriminator wins outright" in text and "non-saturating" in text for text in boxes), boxes
    from gandash.__main__ import main

    assert main(["show", run_id]) == 0
    assert "The discriminator wins outright" in capsys.readouterr().out


def test_upload_points_on_the_train_page_then_start_a_run_on_them(home):
    import io

    import numpy as np

    angles = np.linspace(0, 2 * np.pi, 300, endpoint=False)
    buffer = io.BytesIO()
    np.save(buffer, np.column_stack([np.cos(angles), np.sin(angles)]).astype(np.float32))
    at = app("app_pages/train.py")
    at.file_uploader(key="upload-file").set_value(("circle.npy", buffer.getvalue(), "application/octet-stream")).run()
    at.text_input(key="upload-name").set_value("circle").run()
    at.button(key="upload-add").click().run()
    assert any("Added **circle.npy**: 300 points" in s.value for s in at.success), [s.value for s in at.success]
    assert at.selectbox(key="variant").value == "toy" and at.selectbox(key="dataset-toy").value == "points:"
    next(n for n in at.number_input if n.label == "Packing (PacGAN)").set_value(2).run()  # toy's own setting
    next(r for r in at.radio if r.label == "Budget in").set_value("steps").run()
    next(n for n in at.number_input if n.label == "Budget").set_value(30.0).run()
    at.button(key="start").click().run()
    assert not at.exception and not at.error
    runs = Store().runs()
    assert len(runs) == 1 and runs[0]["dataset"].endswith("/uploads/circle.npy")
    assert runs[0]["config"]["pack"] == 2 and runs[0]["config"]["max_steps"] == 30
    jobs.wait_until_ended(runs[0]["id"], Store(), timeout=60)


@pytest.mark.parametrize(
    "variant, own",
    [
        ("wgan-gp", {"Gradient penalty λ": 10.0, "Extra 3x3 convs": 0}),
        ("wgan", {"Weight clipping c": 0.01, "Optimizer": "rmsprop", "Extra 3x3 convs": 0}),
        ("toy", {"Packing (PacGAN)": 1, "Generators (MGAN)": 50, "Spectral norm in D": False}),
        ("dcgan", {"Extra 3x3 convs": 1}),
        ("vanilla", {}),
    ],
)
def test_the_train_form_shows_the_settings_particular_to_the_variant(tiny_fashion, variant, own):
    at = app("app_pages/train.py")
    at.selectbox(key="variant").set_value(variant).run()
    assert not at.exception
    particular = [m.value for m in at.markdown if m.value.startswith("**Particular to")]
    assert bool(particular) == bool(own)
    widgets = {w.label: w.value for kind in ("number_input", "selectbox", "checkbox") for w in getattr(at, kind)}
    for label, value in own.items():
        assert widgets[label] == pytest.approx(value) if isinstance(value, float) else widgets[label] == value
    if variant in ("dcgan", "vanilla"):  # Algorithm 1's step reads the penalties: offered under Advanced
        assert "R1 penalty γ" in widgets and "Packing (PacGAN)" not in widgets


def test_home_links_to_every_page(home):
    at = app()
    linked = {link.proto.page for link in at.get("page_link")}
    assert {"train", "runs", "compare", "latent", "gallery", "deblur"} <= linked


@pytest.mark.skipif(len(os.sched_getaffinity(0)) < 2, reason="two processes need two cores")
def test_the_train_form_offers_processes_and_says_the_global_batch(tiny_fashion):
    at = app("app_pages/train.py")
    processes = next(n for n in at.number_input if n.label == "Processes")
    assert processes.max == len(os.sched_getaffinity(0))  # one per core on the CPU
    processes.set_value(2).run()
    assert not at.exception
    estimate = next(i.value for i in at.info if "ms per step" in i.value)
    assert "in each of 2 processes: **128 images per step** (64 × 2)" in estimate, estimate
    assert "images/s in total" in estimate and "learning rates × 1" in estimate
    at.button(key="start").click().run()
    run = Store().runs()[0]
    assert run["config"]["processes"] == 2
    jobs.stop(run["id"])
