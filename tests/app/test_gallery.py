"""The Gallery page under AppTest: every card, the family filters, Train-this and Explore; and the gallery
package itself (its cards read without torch, its pictures shipped)."""

import subprocess
import sys
from dataclasses import asdict

import pytest
from PIL import Image

from gandash import gallery, variants
from gandash.engine import checkpoints
from gandash.gallery import pictures
from gandash.variants import demos, training
from gandash.variants.configure import make_config
from tests.app.test_pages import app

PAGE = "app_pages/gallery.py"


pytestmark = pytest.mark.usefixtures("one_thread")


def card_names(at) -> list[str]:
    return [b.key.removeprefix("train-") for b in at.button if (b.key or "").startswith("train-")]


def captions(at) -> list[str]:
    return [img.caption for element in at.get("image") for img in element.proto.imgs]


# the data each variant's stand-in demo is drawn on in these tests (all on this machine: the tiny
# Fashion-MNIST of GANDASH_HOME, scikit-image's photos, a toy mixture)
TEST_DATA = {
    "toy": "ring",
    "deblur-seed": "blurred:photos",
    "deblur": "blurred:photos",
    "discogan": "domains:fashion-mnist:7,5",
    "srgan": "lowres:fashion-mnist",
}


@pytest.fixture
def a_demo_for_every_variant(tiny_fashion, tmp_path, monkeypatch):
    """gandash/weights/demos/ as it will be once every variant has a demo: one per variant, made by
    demos.bundle from a real checkpoint of freshly initialised nets (the page does not judge weights)."""
    monkeypatch.setattr(demos, "FOLDER", tmp_path / "demos")
    for name in variants.REGISTRY:
        config = make_config(name, TEST_DATA.get(name, "fashion-mnist"), width=8)
        run = tmp_path / "runs" / name
        run.mkdir(parents=True)
        config.save(run / "config.json")
        generator, _ = variants.get(name).build(config)
        checkpoints.save(run, 0, {"generator": generator.state_dict(), "config": asdict(config)}, keep=1)
        demos.bundle(run, f"{name}-test", "an untrained stand-in")
    return {name: f"{name}-test" for name in variants.REGISTRY}


def test_every_variant_has_a_card_with_objective_table_and_buttons(home):
    at = app(PAGE)
    assert not at.exception, at.exception
    assert card_names(at) == list(variants.REGISTRY)
    headers = {
        name: next(m.value for m in at.markdown if m.value.startswith(f"### {variants.get(name).title}  ·  `{name}`"))
        for name in variants.REGISTRY
    }
    for name, header in headers.items():  # each card's objective, typeset as display math (KaTeX) across the card
        assert f"$$\n{variants.get(name).objective}\n$$" in header, name
    assert f"$$\n{gallery.NON_SATURATING}\n$$" in headers["vanilla"]  # the minimax objective and the fix
    assert len(at.dataframe) == 0  # layer tables are built only when their expander is opened
    for name in variants.REGISTRY:
        at.session_state[f"arch-open-{name}"] = True
    at.run()
    assert not at.exception, at.exception
    assert len(at.dataframe) == 2 * len(variants.REGISTRY)  # a computed G and D table per card
    shown = captions(at)
    for name in variants.REGISTRY:  # what its bundled model does, or how to make one
        samples = gallery.samples_for(name)
        if samples:
            assert samples.caption in shown, name
        elif gallery.preset_for(name):
            assert any(f"pretrain --only {gallery.preset_for(name)}" in i.value for i in at.info), name
    assert not at.warning, [w.value for w in at.warning]


def test_the_deblur_card_shows_the_bundled_weights_before_and_after(home):
    """gandash/weights/deblur.pt ships with gandash, so the card shows what it does, never 'no demo'."""
    at = app(PAGE)
    assert any(
        c.startswith("the Deblur page's bundled U-Net") and "blurred | restored | sharp" in c for c in captions(at)
    ), captions(at)
    assert not any("No bundled demo" in i.value for i in at.info if "deblur`" in i.value)


def test_every_card_with_a_demo_shows_its_pictures(a_demo_for_every_variant):
    at = app(PAGE)
    assert not at.exception, at.exception
    assert not at.info and not at.warning, [m.value for m in (*at.info, *at.warning)]
    shown = captions(at)
    for name, demo in a_demo_for_every_variant.items():
        assert any(f"the bundled demo '{demo}'" in c for c in shown), (name, shown)
    explorable = [b.key for b in at.button if (b.key or "").startswith("explore-") and not b.disabled]
    assert {f"explore-{n}" for n, v in variants.REGISTRY.items() if v.data_kind == "image"} <= set(explorable)


def test_filters_show_only_the_chosen_families(home):
    at = app(PAGE)
    at.button_group(key="gallery-families").set_value(["image-to-image"]).run()
    assert not at.exception
    assert card_names(at) == [n for n, v in variants.REGISTRY.items() if v.family == "image-to-image"]
    at.button_group(key="gallery-families").set_value(["conditional"]).run()
    assert card_names(at) and all(
        variants.get(n).conditional or variants.get(n).family == "conditional" for n in card_names(at)
    )
    assert "cgan" in card_names(at)


def test_train_this_carries_the_variant_to_the_train_page(home):
    at = app(PAGE)
    at.button(key="train-infogan").click().run()
    assert not at.exception, at.exception
    assert at.selectbox(key="variant").value == "infogan"
    assert at.selectbox(key="dataset-infogan").value == "fashion-mnist"
    assert at.title[0].value == "Train a GAN"


def test_train_this_picks_the_listed_dataset_of_an_image_to_image_variant(home):
    at = app(PAGE)
    at.button(key="train-srgan").click().run()
    assert not at.exception, at.exception
    assert at.selectbox(key="variant").value == "srgan"
    assert at.selectbox(key="dataset-srgan").value == gallery.prefill("srgan")["dataset"] == "lowres:photos"


def test_a_seed_preset_prefills_the_train_page(home):
    at = app(PAGE)
    at.button(key="preset-deblur-seed").click().run()
    assert not at.exception, at.exception
    assert at.selectbox(key="variant").value == "deblur-seed"
    assert at.selectbox(key="dataset-deblur-seed").value == "blurred:photos"


def test_the_dcgan_preset_is_the_pytorch_examples_shape():
    preset = dict(gallery.seed_presets()["DCGAN 64×64 z=100 (pytorch/examples)"])
    config = make_config(preset.pop("variant"), preset.pop("dataset"), **preset)
    assert (config.image_size, config.z_dim, config.width, config.lr_g, config.beta1) == (64, 100, 64, 2e-4, 0.5)
    assert (config.batch_size, config.ema_decay, config.lr_schedule) == (64, 0.0, "constant")  # not the CPU recipe


@pytest.mark.parametrize("name", ["dcgan", "lapgan"])
def test_explore_opens_the_latent_page_on_the_demo(name, a_demo_for_every_variant):
    at = app(PAGE)
    at.button(key=f"explore-{name}").click().run()
    assert not at.exception, at.exception
    assert at.title[0].value == "Latent space"
    assert at.selectbox[0].value.demo == gallery.demo_for(name) == a_demo_for_every_variant[name]
    assert at.query_params["demo"] == a_demo_for_every_variant[name]
    assert not at.error and at.get("image")


def test_image_to_image_demos_stay_out_of_the_latent_explorer(home, tiny_fashion, tmp_path, monkeypatch):
    """They have no z to explore: a bundled discogan demo must not reach the latent page's model list."""
    from gandash.runs.store import Store
    from gandash.ui import latent_view
    from gandash.variants import configure, demos
    from tests.test_trainer import Recorder

    monkeypatch.setattr(demos, "FOLDER", tmp_path / "demos")
    for name, dataset in (("discogan", "domains:fashion-mnist:7,5"), ("wgan", "fashion-mnist")):
        settings = configure.make_config(name, dataset, max_steps=1, width=8, batch_size=8)
        (tmp_path / name).mkdir()
        settings.save(tmp_path / name / "config.json")
        training.train(settings, tmp_path / name, Recorder())
        demos.bundle(tmp_path / name, f"{name}-test", "")
    _, bundled = latent_view.sources(Store())
    assert [source.demo for source in bundled] == ["wgan-test"]


def test_an_infogan_run_is_explored_code_by_code(tiny_fashion):
    from tests.app.test_pages import train_foreground

    run_id = train_foreground("infogan", "fashion-mnist", max_steps=2, width=8, batch_size=8, checkpoint_every=2)
    at = app("app_pages/latent.py", run=run_id)
    assert not at.exception, at.exception
    assert [t.label for t in at.tabs][-1] == "Codes"
    at.session_state["latent-tab"] = "Codes"
    at.run()
    captions = [img.caption for element in at.get("image") for img in element.proto.imgs]
    assert {"category: each category", "c1: -2 … 2", "c2: -2 … 2"} <= set(captions)
    at.slider(key="latent-code-span").set_value(1.0).run()
    assert not at.exception and not at.error


def test_every_bundled_models_picture_is_shipped_and_used_without_drawing(home):
    """A new install's first Gallery visit draws nothing: each bundled model's card picture ships beside
    the weights, named by their content (`python -m gandash pretrain` rewrites them)."""
    for name in variants.REGISTRY:
        found = gallery.samples_for(name)
        if found is None:
            continue
        shipped = pictures.shipped_card(found.path)
        assert shipped.is_file(), f"{shipped.name} is missing: run gallery.write_shipped_cards()"
        assert pictures.cached_png(found) == shipped.read_bytes()
        with Image.open(shipped) as picture:
            assert picture.width >= 100 and max(picture.convert("L").getextrema()) > 100, name
    assert not (home / "cache" / "gallery").exists(), "nothing was drawn into the home cache"


def test_the_cards_are_read_without_loading_torch():
    """gallery.cards is plain data: importing the package and reading a card's text loads no torch (~1.5 s);
    the pictures' names stay reachable through the package (`pretrain` calls gallery.write_shipped_cards)."""
    code = (
        "import sys; from gandash import gallery; from gandash.gallery import cards; "
        "assert gallery.card('dcgan') is cards.CARDS['dcgan']; print('torch' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "False"
    assert gallery.write_shipped_cards is pictures.write_shipped_cards
    assert gallery.sample_png is pictures.sample_png and gallery.demo_frames is pictures.demo_frames
    assert not hasattr(gallery, "no_such_name")
