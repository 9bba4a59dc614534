"""The latent page under AppTest, on a real tiny conditional run and on the bundled demos."""
import pytest

from gandash import demos
from tests.app.test_pages import app, train_foreground
from tests.conftest import make_fashion_files

PAGE = "app_pages/latent.py"


@pytest.fixture(scope="module")
def cgan_run(tmp_path_factory):
    root = tmp_path_factory.mktemp("latent-page") / "gandash-home"
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("GANDASH_HOME", str(root))
        make_fashion_files(root / "data" / "fashion-mnist")
        run_id = train_foreground("cgan", "fashion-mnist", max_steps=4, width=8, batch_size=16,
                                  checkpoint_every=2, log_every=1)
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
    for tab, widget in (("Grid", "latent-grid-size"), ("Directions", "latent-dir-0"), ("Arithmetic", None),
                        ("Classes", "latent-class-steps")):
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
