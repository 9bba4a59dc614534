"""The latent page under AppTest, on a real tiny conditional run and on the bundled demos."""

import time

import pytest

from gandash.variants import demos
from tests.app.test_pages import app, train_foreground
from tests.conftest import make_fashion_files

PAGE = "app_pages/latent.py"


@pytest.fixture(scope="module")
def cgan_run(tmp_path_factory):
    root = tmp_path_factory.mktemp("latent-page") / "gandash-home"
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("GANDASH_HOME", str(root))
        make_fashion_files(root / "data" / "fashion-mnist")
        run_id = train_foreground(
            "cgan", "fashion-mnist", max_steps=4, width=8, batch_size=16, checkpoint_every=2, log_every=1
        )
        yield root, run_id


@pytest.fixture
def with_run(cgan_run, monkeypatch):
    root, run_id = cgan_run
    monkeypatch.setenv("GANDASH_HOME", str(root))
    return run_id


def test_a_trained_run_is_explored_with_every_tab(with_run):
    at = app(PAGE, run=with_run)
    assert not at.exception, at.exception
    assert at.selectbox[0].value.run_id == with_run
    assert at.selectbox(key="latent-class") is not None
    assert [t.label for t in at.tabs] == ["Interpolate", "Grid", "Directions", "Arithmetic", "Classes"]
    labels = [b.label for b in at.get("download_button")]
    assert labels == ["Strip (PNG)", "Animation (GIF)", "Latent vectors (.npy)"]
    at.text_input(key="latent-anchors").set_value("3, 4, 5").run()
    at.slider(key="latent-steps").set_value(5).run()
    at.checkbox(key="latent-closed").check().run()
    assert not at.exception and not at.error
    assert at.slider(key="latent-frame").max == 11  # 3 legs of 4 new frames each: every anchor once
    at.radio(key="latent-method").set_value("lerp").run()
    at.selectbox(key="latent-class").set_value(3).run()
    assert at.selectbox(key="latent-class").format_func(3) == "Dress"
    assert not at.exception and not at.error


def test_bad_anchor_text_gets_a_message_not_a_traceback(with_run):
    at = app(PAGE, run=with_run)
    at.text_input(key="latent-anchors").set_value("one, two").run()
    assert not at.exception
    assert "whole numbers" in at.error[0].value
    at.text_input(key="latent-anchors").set_value("7").run()
    assert "at least two" in at.error[0].value


def test_adding_a_sample_as_an_anchor(with_run):
    at = app(PAGE, run=with_run)
    at.button(key="add-103").click().run()
    assert at.text_input(key="latent-anchors").value == "1, 2, 103"


def test_only_the_open_tab_runs_and_each_tab_renders(with_run):
    at = app(PAGE, run=with_run)
    assert at.slider(key="latent-steps") is not None and not any(s.key == "latent-dir-0" for s in at.slider)
    for tab, widget in (
        ("Grid", "latent-grid-size"),
        ("Directions", "latent-dir-0"),
        ("Arithmetic", None),
        ("Classes", "latent-class-steps"),
    ):
        at.session_state["latent-tab"] = tab
        at.run()
        assert not at.exception and not at.error, tab
        assert not any(s.key == "latent-steps" for s in at.slider), f"{tab}: the Interpolate tab did not run"
        if widget:
            assert at.slider(key=widget) is not None
        if tab == "Grid":
            assert [b.label for b in at.get("download_button")] == ["Grid (PNG)"]


def test_nearest_training_image_button(with_run):
    at = app(PAGE, run=with_run)
    at.session_state["latent-tab"] = "Directions"
    at.run()
    next(b for b in at.button if b.label == "Find the nearest training image").click().run()
    assert not at.exception and not at.error
    captions = [caption.caption for image in at.get("image") for caption in image.proto.imgs]
    assert any(c.startswith("training image #") and "RMS difference" in c for c in captions), captions
    at.radio(key="latent-nearest-space").set_value("classifier features").run()
    next(b for b in at.button if b.label == "Find the nearest training image").click().run()
    assert not at.exception and not at.error
    captions = [caption.caption for image in at.get("image") for caption in image.proto.imgs]
    assert any("feature distance" in c for c in captions), captions


def test_without_runs_the_page_uses_the_bundled_demos_and_says_so(home):
    at = app(PAGE)
    assert not at.exception, at.exception
    if demos.available():
        assert "bundled demo models" in at.info[0].value
        assert at.selectbox[0].value.demo
    else:
        assert "No image model yet" in at.info[0].value


def image_urls(at) -> dict[str, str]:
    """caption -> media URL of every captioned picture; the URL is a hash of the PNG's bytes, so two
    pictures with the same URL are the same image."""
    return {img.caption: img.url for element in at.get("image") for img in element.proto.imgs if img.caption}


def frame_url(at) -> str:
    return next(url for caption, url in image_urls(at).items() if caption.startswith("frame "))


def test_the_chosen_model_and_checkpoint_survive_a_reload(with_run):
    at = app(PAGE)
    assert at.selectbox(key="latent-model").value.run_id == with_run  # the user's run comes before the demos
    assert at.query_params.get("run") == with_run and "step" not in at.query_params  # the newest: no step
    assert at.selectbox(key="latent-checkpoint").options == ["4", "2"]
    at.selectbox(key="latent-checkpoint").set_value(2).run()
    assert any("step 2 ·" in c.value for c in at.caption)
    assert at.query_params.get("step") == "2"
    again = app(PAGE, **at.query_params)  # a reload: a new session with the same URL
    assert again.selectbox(key="latent-model").value.run_id == with_run
    assert again.selectbox(key="latent-checkpoint").value == 2 and any("step 2 ·" in c.value for c in again.caption)
    if not demos.available():
        return
    picker = again.selectbox(key="latent-model")
    picker.select_index(next(i for i, label in enumerate(picker.options) if label.startswith("demo"))).run()
    demo = again.selectbox(key="latent-model").value.demo
    assert again.query_params == {"demo": demo}
    reloaded = app(PAGE, **again.query_params)
    assert reloaded.selectbox(key="latent-model").value.demo == demo
    assert not reloaded.exception and not reloaded.error


def test_a_run_without_a_checkpoint_says_so_and_opens_once_one_is_written(tiny_fashion):
    """?run= of a run that has not checkpointed yet opens that run (not another model) and says when it
    can be explored; when its first checkpoint is written the page shows its generator."""
    from gandash.runs import jobs, worker
    from gandash.runs.store import Store
    from gandash.variants import configure

    store = Store()
    run_id = jobs.create(
        configure.make_config(
            "dcgan", "fashion-mnist", max_steps=2, width=8, batch_size=16, checkpoint_every=2, log_every=1
        ),
        store,
        foreground=True,
    )
    if demos.available():  # asked for nothing, the page opens something it can draw, and lists the run
        at = app(PAGE)
        assert at.selectbox(key="latent-model").value.demo and "bundled demo models" in at.info[0].value
        assert any(label.endswith("no checkpoint yet") for label in at.selectbox(key="latent-model").options)
    at = app(PAGE, run=run_id)
    assert not at.exception, at.exception
    assert at.selectbox(key="latent-model").value.run_id == run_id
    assert "no checkpoint yet" in at.info[-1].value and "every 2 steps" in at.info[-1].value
    assert not at.get("image") and not at.tabs  # nothing drawn from some other model
    worker.run(store.run(run_id)["run_dir"], store)  # it trains and writes its checkpoint
    at.run()
    assert not at.exception and not at.error
    assert at.selectbox(key="latent-model").value.run_id == run_id
    assert at.selectbox(key="latent-checkpoint").value == 2 and at.get("image")
    assert not any("no checkpoint yet" in i.value for i in at.info)


def test_a_queued_run_and_a_run_with_no_latent_space_get_a_plain_message(tiny_fashion):
    from gandash.runs import jobs
    from gandash.runs.store import Store
    from gandash.variants import configure

    store = Store()
    # a foreground run holds the one job slot, so the app's scheduler starts no worker for the runs below
    jobs.create(configure.make_config("dcgan", "fashion-mnist", width=8), store, foreground=True)
    queued = jobs.create(
        configure.make_config("dcgan", "fashion-mnist", width=8, checkpoint_every=50), store, start=False
    )
    at = app(PAGE, run=queued)
    assert "is queued" in at.info[-1].value and "every 50 steps" in at.info[-1].value
    toy = jobs.create(configure.make_config("toy", "ring"), store, start=False)
    at = app(PAGE, run=toy)
    assert "cannot be explored here" in at.warning[0].value and "toy run" in at.warning[0].value
    at = app(PAGE, run="dcgan-nothing-like-this")
    assert "no such run" in at.warning[0].value
    assert {run["status"] for run in store.runs()} == {"starting", "queued"}  # no worker was started


def test_a_damaged_checkpoint_or_one_of_another_variant_shows_the_error(tiny_fashion):
    import torch

    from gandash.engine import checkpoints
    from gandash.runs.store import Store

    run_id = train_foreground(
        "dcgan", "fashion-mnist", max_steps=2, width=8, batch_size=16, checkpoint_every=1, log_every=1
    )
    run_dir = Store().run(run_id)["run_dir"]
    newest, older = checkpoints.listing(run_dir)[:2]
    state = checkpoints.load(older)
    state["config"]["variant"] = "cgan"
    torch.save(state, older)  # a checkpoint of a cgan run copied into this dcgan run
    newest.write_bytes(b"this is no checkpoint" * 100)
    at = app(PAGE, run=run_id)
    assert not at.exception, at.exception
    assert "is damaged or not a checkpoint" in at.error[0].value
    at.selectbox(key="latent-checkpoint").set_value(1).run()
    assert not at.exception, at.exception
    assert "the checkpoint is of variant 'cgan', but the run is 'dcgan'" in at.error[0].value


def playing_url(at) -> str | None:
    return next((url for caption, url in image_urls(at).items() if caption.startswith("playing from frame")), None)


def test_play_animates_the_walk_stops_at_the_end_or_loops_and_pause_holds_the_frame(with_run):
    at = app(PAGE, run=with_run)
    at.slider(key="latent-steps").set_value(8).run()  # anchors 1, 2: frames 0..7
    at.toggle(key="latent-frame-loop").set_value(False).run()
    at.select_slider(key="latent-frame-fps").set_value(2).run()  # 3.5 s to the last frame
    still = frame_url(at)
    at.button(key="latent-frame-play").click().run()
    assert at.button(key="latent-frame-play").label == "Pause"
    animation = playing_url(at)
    assert animation and animation.endswith(".gif") and animation != still  # the browser plays it
    time.sleep(0.6)
    at.run()  # what the fragment's timer does in the browser: the slider follows the animation
    assert 1 <= at.slider(key="latent-frame-progress").value < 7 and playing_url(at) == animation
    deadline = time.monotonic() + 30
    while at.button(key="latent-frame-play").label == "Pause":  # the fragment's ticks
        assert time.monotonic() < deadline, "the animation never ended"
        time.sleep(0.5)
        at.run()
    assert at.slider(key="latent-frame").value == 7, "stopped at the last frame"
    assert playing_url(at) is None and frame_url(at) != still  # a still picture again
    at.run()
    assert at.slider(key="latent-frame").value == 7  # stays stopped

    at.toggle(key="latent-frame-loop").set_value(True).run()
    at.button(key="latent-frame-play").click().run()  # Play at the end starts again from the first frame
    assert "playing from frame 0 of 7" in image_urls(at)  # (the slider may have moved on already)
    time.sleep(1.1)
    at.button(key="latent-frame-play").click().run()  # Pause
    held = at.slider(key="latent-frame").value
    assert at.button(key="latent-frame-play").label == "Play" and held >= 2
    time.sleep(0.6)
    at.run()
    assert at.slider(key="latent-frame").value == held and frame_url(at) and not at.exception  # held

    at.slider(key="latent-frame").set_value(5).run()
    at.button(key="latent-frame-play").click().run()  # from the frame picked
    assert at.slider(key="latent-frame-progress").disabled  # while playing it only shows where the walk is
    assert playing_url(at) != animation  # a walk from frame 5 on


def test_truncation_zero_draws_the_mean_image_in_every_frame(with_run):
    at = app(PAGE, run=with_run)
    at.slider(key="latent-frame").set_value(5).run()
    far = frame_url(at)
    at.slider(key="latent-frame").set_value(0).run()
    assert frame_url(at) != far  # psi = 1: the walk changes the image
    at.slider(key="latent-psi").set_value(0.0).run()
    start = frame_url(at)
    at.slider(key="latent-frame").set_value(5).run()
    assert frame_url(at) == start  # psi = 0 scales every z to the mean, 0: one image
    at.slider(key="latent-psi").set_value(0.5).run()
    assert frame_url(at) not in (start, far)


def test_the_arithmetic_tab_draws_a_minus_b_plus_c(with_run):
    at = app(PAGE, run=with_run)
    at.session_state["latent-tab"] = "Arithmetic"
    at.run()
    urls = image_urls(at)
    assert {"a", "b", "c", "a − b + c"} <= set(urls)
    at.number_input(key="latent-arith-c").set_value(7).run()
    changed = image_urls(at)
    assert changed["a"] == urls["a"] and changed["c"] != urls["c"] and changed["a − b + c"] != urls["a − b + c"]
    assert not at.exception and not at.error
