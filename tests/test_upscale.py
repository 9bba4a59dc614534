"""x4 super-resolution: an untrained generator is bicubic and the bundled pixel model beats it on a photo
it never saw, the adversarial model is offered beside it, tiles equal one pass, weights of the first
generator still load, the CLI writes 4x the size at the input's depth with alpha, and the wrong models,
sizes and files are refused with a message."""

import re

import numpy as np
import pytest
import torch
from PIL import Image

from gandash import data
from gandash.__main__ import main
from gandash.core.config import TrainConfig
from gandash.core.errors import GandashError
from gandash.nets.srgan import LegacySRGenerator, SRGenerator
from gandash.quality import fidelity
from gandash.restore import deblur, kernel_estimate, upscale
from gandash.variants import demos, loading
from gandash.variants.configure import make_config
from tests.test_deblur import BAD_INPUTS, encoded

pytestmark = pytest.mark.usefixtures("one_thread")


@pytest.fixture(scope="module")
def random_srgan():
    """The default depth (its reach is what CONTEXT covers), narrow, with a random last conv: a trained
    net's output depends on every pixel it can see."""
    torch.manual_seed(0)
    generator = SRGenerator(3, width=8)
    torch.nn.init.normal_(generator.tail.weight, std=0.1)
    return generator.eval()


def scores(restored: np.ndarray, sharp: np.ndarray) -> tuple[float, float]:
    restored, sharp = restored.astype(np.float32) / 255, sharp.astype(np.float32) / 255
    return fidelity.psnr(restored, sharp), fidelity.ssim(restored, sharp)


def test_an_untrained_generator_is_bicubic():
    """The last conv starts at zero, so training starts from the baseline: Pillow's bicubic (up to the
    rounding to 8 bits, and near the borders, where tiling mirrors the photo and Pillow clips its filter)."""
    low = data.photo("rocket")[100:140, 200:260]
    ours = upscale.upscale(low, SRGenerator(3, width=8, blocks=2).eval()).astype(int)
    pillow = upscale.bicubic(low).astype(int)
    assert ours.shape == pillow.shape == (160, 240, 3)
    assert np.abs(ours - pillow)[8:-8, 8:-8].max() <= 1 and np.abs(ours - pillow).mean() < 0.3


def test_the_bundled_pixel_model_beats_bicubic_on_a_photo_it_never_saw():
    sharp, low = upscale.shrink(data.photo("coffee")[40:296, 120:376])  # held out of all training
    generator, label = upscale.load_model()
    assert label.startswith("SRGAN demo srgan-photos") and upscale.DEFAULT == "demo:srgan-photos"
    with torch.no_grad():
        ours, theirs = scores(upscale.upscale(low, generator), sharp), scores(upscale.bicubic(low), sharp)
    assert ours[0] > theirs[0] + 0.5 and ours[1] > theirs[1], (ours, theirs)


def test_the_adversarial_model_is_offered_beside_the_pixel_one_and_loads():
    choices = upscale.demo_choices()
    assert [model for model, _ in choices[:2]] == [upscale.DEFAULT, upscale.ADVERSARIAL]  # the pixel one first
    assert "pixel loss" in choices[0][1] and "adversarial" in choices[1][1] and "less faithful" in choices[1][1]
    pixel, adversarial = upscale.load_model(upscale.DEFAULT)[0], upscale.load_model(upscale.ADVERSARIAL)[0]
    low = data.photo("motorcycle")[200:232, 300:340]
    with torch.no_grad():
        a, b = upscale.upscale(low, pixel).astype(int), upscale.upscale(low, adversarial).astype(int)
    assert a.shape == b.shape == (128, 160, 3) and np.abs(a - b).mean() > 0.5  # another model, not a copy


def test_each_upscaler_s_result_is_named_by_what_it_was_trained_for(home):
    """The pixel model is not called a GAN: the name follows the config's adversarial_weight, for the bundled
    upscalers and for the user's runs (an old run's config without it trained with SRGAN's 1e-3)."""
    from gandash.core import paths

    assert upscale.result_names() == upscale.result_names(upscale.DEFAULT) == ("Upscaler", "Upscaler ×4 (pixel loss)")
    assert upscale.result_names(upscale.ADVERSARIAL) == ("GAN", "GAN ×4 (adversarial)")
    for run_id, weight in (("pixel", 0.0), ("adversarial", 5e-2)):
        paths.run_dir(run_id).mkdir(parents=True)
        make_config("srgan", "lowres:photos", adversarial_weight=weight).save(paths.run_dir(run_id) / "config.json")
    assert upscale.result_names("pixel")[1] == "Upscaler ×4 (pixel loss)"
    assert upscale.result_names("adversarial")[1] == "GAN ×4 (adversarial)"
    old = paths.run_dir("old")
    old.mkdir(parents=True)
    (old / "config.json").write_text('{"variant": "srgan", "dataset": "lowres:photos"}')
    assert upscale.result_names("old")[1] == "GAN ×4 (adversarial)"


def test_the_bundled_restoration_weights_fit_their_budget():
    """Deblurring, the kernel estimator and the upscalers together stay within 10 MB."""
    files = [deblur.BUNDLED, deblur.BUNDLED_CLEAN, kernel_estimate.BUNDLED]
    files += [demos.path_for(name) for name in upscale.srgan_demos()]
    assert len(files) == 5 and sum(path.stat().st_size for path in files) <= 10e6


def test_a_run_can_start_from_a_bundled_demo_of_its_variant():
    """How the adversarial model is made: init_from demo:srgan-photos fine-tunes the pixel model."""
    weights = loading.initial_weights(make_config("srgan", "lowres:photos", init_from=upscale.DEFAULT, width=48))
    assert torch.equal(weights["tail.weight"], upscale.load_model()[0].tail.weight)
    with pytest.raises(GandashError, match="init_from: demo 'dcgan-fashion' is a dcgan model; this run is srgan"):
        loading.initial_weights(make_config("srgan", "lowres:photos", init_from="demo:dcgan-fashion"))


def test_weights_of_the_first_srgan_generator_still_load():
    """Runs trained before the generator added its output to bicubic's load into the net they were trained as."""
    old = LegacySRGenerator(3, width=8, blocks=4).eval()
    config = TrainConfig(variant="srgan", dataset="lowres:photos", channels=3, width=8, image_size=32)
    loaded = loading.generator_from_state({"generator": old.state_dict(), "config": {"variant": "srgan"}}, config)
    assert type(loaded) is LegacySRGenerator
    low = torch.rand(1, 3, 8, 8) * 2 - 1
    with torch.no_grad():
        assert torch.equal(loaded(low), old(low))
    new = SRGenerator(3, width=8)
    assert new.matching(new.state_dict()) is new


def test_tiles_match_a_single_pass(random_srgan):
    pixels = np.random.default_rng(0).random((50, 70, 3)).astype(np.float32)
    whole = upscale.upscale(pixels, random_srgan, tile=256)
    tiled = upscale.upscale(pixels, random_srgan, tile=32)  # 2 x 3 tiles
    assert whole.shape == tiled.shape == (200, 280, 3)
    assert np.abs(whole - tiled).max() < 1e-4  # the context covers the generator's whole reach


def test_progress_counts_the_tiles(random_srgan):
    seen = []
    upscale.upscale(np.zeros((50, 70, 3), np.uint8), random_srgan, tile=32, progress=seen.append)
    assert seen == [pytest.approx(i / 6) for i in range(1, 7)]


def test_bicubic_is_pillows_bicubic_at_every_depth():
    rgb = np.random.default_rng(1).integers(0, 255, (10, 12, 3), dtype=np.uint8)
    expected = np.asarray(Image.fromarray(rgb).resize((48, 40), Image.Resampling.BICUBIC))
    assert np.array_equal(upscale.bicubic(rgb), expected)
    deep = upscale.bicubic(rgb.astype(np.uint16) * 257)
    assert deep.dtype == np.uint16 and deep.shape == (40, 48, 3)
    assert np.abs(deep / 257.0 - expected).max() <= 1.5  # the same filter on the 16-bit samples
    sharp, low = upscale.shrink(np.zeros((43, 50, 1), np.uint8))
    assert sharp.shape == (40, 48, 1) and low.shape == (10, 12, 1)


def test_the_cli_writes_4x_the_size_with_the_bundled_demo_and_keeps_alpha(tmp_path, capsys):
    rgba = np.dstack([data.photo("coffee")[:30, :40], np.full((30, 40), 200, np.uint8)])
    Image.fromarray(rgba, "RGBA").save(tmp_path / "logo.png")
    assert main(["upscale", str(tmp_path / "logo.png"), "--out", str(tmp_path / "big.png")]) == 0
    assert "(40x30 -> 160x120, SRGAN demo srgan-photos (step" in capsys.readouterr().out
    big = Image.open(tmp_path / "big.png")
    assert big.mode == "RGBA" and big.size == (160, 120)
    assert (np.asarray(big)[..., 3] == 200).all()  # a flat alpha stays flat through bicubic
    Image.fromarray(data.photo("coffee")[:30, :40, 0]).save(tmp_path / "gray.png")
    assert main(["upscale", str(tmp_path / "gray.png"), "--out", str(tmp_path / "gray-big.png")]) == 0
    assert Image.open(tmp_path / "gray-big.png").mode == "L"


def test_the_cli_keeps_16_bit_colour_at_16_bits(tmp_path, capsys):
    import tifffile

    from tests.test_photo import decode_png16, smooth16

    tifffile.imwrite(tmp_path / "scan.tif", smooth16(12, 16), photometric="rgb")
    assert main(["upscale", str(tmp_path / "scan.tif"), "--out", str(tmp_path / "big.png")]) == 0
    kind, samples = decode_png16((tmp_path / "big.png").read_bytes())
    assert kind == (16, 2) and samples.shape == (48, 64, 3) and (samples % 257 != 0).mean() > 0.9


def test_the_wrong_models_sizes_and_files_are_refused_with_what_to_do(home, tmp_path, capsys):
    from tests.app.test_pages import train_foreground

    photo = tmp_path / "photo.png"
    Image.fromarray(data.photo("coffee")[:32, :32]).save(photo)
    seed = train_foreground("deblur-seed", "blurred:photos", max_steps=2, width=8, batch_size=2, checkpoint_every=2)
    out = str(tmp_path / "big.png")
    Image.new("RGB", (1100, 1000)).save(tmp_path / "large.png")
    for argv, message in (
        (
            [str(photo), "--model", seed],
            f"run '{seed}' is a run of deblur-seed .*which does not upscale. It works "
            f"with `python -m gandash deblur IN --out OUT --model {seed}`",
        ),
        (
            [str(photo), "--model", "demo:dcgan-fashion"],
            "demo 'dcgan-fashion' is a dcgan model, which does not "
            "upscale; the bundled upscalers? (is|are) demo:srgan-photos",
        ),
        ([str(photo), "--model", "demo:nothing-here"], "there is no demo model 'nothing-here'"),
        ([str(photo), "--tile", "8"], "at least 32 pixels"),
        (
            [str(tmp_path / "large.png")],
            r"large\.png is 1100x1000 \(1 megapixels\); the limit is 1 megapixels to "
            "upscale",
        ),
    ):
        assert main(["upscale", *argv, "--out", out]) == 2
        error = capsys.readouterr().err
        assert re.search(message, error), error
    assert not (tmp_path / "big.png").exists()


@pytest.mark.parametrize("name", ["notes.png", "holiday.jpg", "empty.png", "animated.gif"])
def test_bad_files_get_the_same_messages_as_for_deblurring(tmp_path, capsys, name):
    make, message = BAD_INPUTS[name]
    (tmp_path / name).write_bytes(make())
    assert main(["upscale", str(tmp_path / name), "--out", str(tmp_path / "big.png")]) == 2
    assert re.search(message.replace("deblur works", "upscale works"), capsys.readouterr().err)


def test_a_thumbnail_smaller_than_deblurring_allows_is_upscaled():
    photo = upscale.read_photo(encoded(Image.new("L", (7, 7), 128), "PNG"), "tiny.png")
    assert photo.size == (7, 7)
    with pytest.raises(GandashError, match="at least 4 pixels to upscale"):
        upscale.read_photo(encoded(Image.new("L", (3, 50)), "PNG"), "sliver.png")
