"""Every demo model bundled in gandash/weights/demos/ (whichever are there: more are added over time)
loads with weights_only=True, draws outputs of the shape its config declares, and makes its gallery
card's picture; those that draw Fashion-MNIST from noise cover at least 8 of its 10 classes."""

import io

import pytest
import torch
from PIL import Image

from gandash import gallery, latent, variants
from gandash.quality import features
from gandash.variants import architecture, demos

BUNDLED = demos.available()


pytestmark = pytest.mark.usefixtures("one_thread")


def test_demo_models_are_bundled():
    assert "dcgan-fashion" in BUNDLED and "cgan-fashion" in BUNDLED  # the latent explorer opens on these
    total = sum(demos.path_for(name).stat().st_size for name in BUNDLED)
    assert total < 20e6, f"the bundled demos weigh {total / 1e6:.1f} MB; the budget is 20 MB"


@pytest.mark.parametrize("name", BUNDLED)
def test_a_bundled_demo_loads_and_draws_its_declared_shape(name):
    info = demos.describe(name)
    model = latent.load(demo=name)
    config = model.config
    assert config.variant == info["variant"] in variants.REGISTRY
    if variants.get(config.variant).data_kind == "image":
        z = latent.with_prior_codes(model, torch.randn(6, config.z_dim, generator=torch.Generator().manual_seed(0)))
        out = latent.render(model, z, torch.arange(6) % model.classes if model.classes else None)
        declared = (config.channels, config.image_size, config.image_size)
    else:  # image-to-image and 2D models: their own inputs (a low-resolution image, a blurred one, z)
        inputs, _ = architecture.dummy_inputs(config, model.generator)
        with torch.no_grad():
            out = model.generator(*(x.repeat(2, *[1] * (x.dim() - 1)) for x in inputs if x is not None))
        declared = (2,) if config.image_size == 0 else (config.channels, config.image_size, config.image_size)
    assert tuple(out.shape[1:]) == declared and torch.isfinite(out).all()
    if config.image_size:
        assert out.abs().max() <= 1 + 1e-5  # images in [-1, 1]


@pytest.mark.parametrize("name", BUNDLED)
def test_a_bundled_demo_makes_its_gallery_picture(name, tiny_fashion):
    found = gallery.samples_for(demos.describe(name)["variant"])
    assert found is not None and found.demo is not None
    with Image.open(io.BytesIO(gallery.sample_png(found))) as picture:
        assert picture.width >= 100 and picture.height >= 60
        assert max(picture.convert("L").getextrema()) > 100  # not a blank picture


@pytest.mark.parametrize(
    "name",
    [
        n
        for n in BUNDLED
        if demos.describe(n)["dataset"] == "fashion-mnist"
        and variants.get(demos.describe(n)["variant"]).data_kind == "image"
    ],
)
def test_a_fashion_demo_draws_most_kinds_of_garment(name):
    """The issue's bar: samples of each bundled model cover at least 8 of the 10 classes, as the bundled
    Fashion-MNIST classifier sees them."""
    model = latent.load(demo=name)
    z = latent.with_prior_codes(
        model,
        torch.randn(500, model.config.z_dim, generator=torch.Generator().manual_seed(0)),
        torch.Generator().manual_seed(1),
    )
    labels = torch.arange(500) % model.classes if model.classes else None
    seen = features.load("fashion-mnist").logits(latent.render(model, z, labels)).argmax(1)
    counts = torch.bincount(seen, minlength=10)
    assert (counts > 0).sum() >= 8, f"{name} draws {(counts > 0).sum()} of 10 classes: {counts.tolist()}"


def test_every_preset_is_a_valid_config_and_pretrain_rebuilds_a_demo_the_same_way_twice(tmp_path):
    import subprocess
    import sys
    from pathlib import Path

    from gandash.variants.configure import make_config

    for preset in demos.PRESETS.values():  # every preset can be trained as written
        make_config(preset["variant"], preset["dataset"], max_steps=preset["steps"], **preset["overrides"])
    root = Path(__file__).resolve().parents[1]
    bundled_before = {p.name: p.stat().st_mtime_ns for p in demos.FOLDER.glob("*.pt")}
    for out in ("a", "b"):
        (tmp_path / out).mkdir()
        result = subprocess.run(
            [
                sys.executable,
                "-m",
                "gandash",
                "pretrain",
                "--only",
                "toy-ring",
                "--steps",
                "40",
                "--out-dir",
                str(tmp_path / out),
            ],
            cwd=root,
            capture_output=True,
            text=True,
            timeout=180,
        )
        assert result.returncode == 0, result.stderr
        assert "toy-ring: wrote" in result.stdout
    a, b = (torch.load(tmp_path / out / "toy-ring.pt", weights_only=True) for out in ("a", "b"))
    assert a["step"] == 40 and a["config"]["variant"] == "toy"
    assert all(torch.equal(a["generator"][key], b["generator"][key]) for key in a["generator"])  # seeded
    assert {p.name: p.stat().st_mtime_ns for p in demos.FOLDER.glob("*.pt")} == bundled_before  # --out-dir
    bad = subprocess.run(
        [sys.executable, "-m", "gandash", "pretrain", "--only", "nope"],
        cwd=root,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert bad.returncode == 2 and "unknown demo preset(s) nope" in bad.stderr


def test_every_bundled_weights_file_loads_through_its_own_loader():
    """The files shipped in gandash/weights/ (made before the code moved into packages) load with
    weights_only=True through the loaders the app uses: each classifier, the deblurring U-Net and the
    blur-kernel estimator, and each demo (above)."""
    from gandash.core import paths
    from gandash.restore import deblur, kernel_estimate

    shipped = {p.name for p in paths.WEIGHTS.glob("*.pt")}
    assert shipped == {
        "classifier-fashion-mnist.pt",
        "classifier-mnist.pt",
        "deblur.pt",
        "deblur-clean.pt",
        "kernel-estimator.pt",
    }
    for dataset in ("fashion-mnist", "mnist"):
        classifier = features.load(dataset)
        assert classifier.features_and_logits(torch.zeros(2, 1, 28, 28))[1].shape == (2, 10)
    for unet in (deblur.bundled_model().camera, deblur.bundled_model().clean):
        assert unet(torch.zeros(1, 3, 32, 32), torch.ones(1, 1, 1)).shape == (1, 3, 32, 32)
    estimator = kernel_estimate.bundled_estimator()
    assert estimator(torch.zeros(1, 1, 64, 64)).shape[1] == len(kernel_estimate.GRID)
