"""The Deblur page under AppTest: the example with the comparison table for every kind of blur, real
uploads (good and bad, each bad one with its message), 8-bit gray, 16-bit colour and CMYK uploads whose
downloads are right, the x4 upscale mode with bicubic beside it, and only the right runs in each picker."""

import io
import re
from pathlib import Path

import numpy as np
import pytest
import tifffile
from PIL import Image
from streamlit.testing.v1 import AppTest

from gandash.variants import demos
from tests.app.test_pages import train_foreground
from tests.test_deblur import BAD_INPUTS, assert_cmyk_colours, cmyk_tiff, encoded
from tests.test_photo import decode_png16, smooth16

ROOT = Path(__file__).resolve().parents[2]
PAGE = "app_pages/deblur.py"


def deblur_page(task: str = "Deblur", source: str = "Example", **state) -> AppTest:
    """The page, with its task, photo source and any other widget state set before its first run (so
    an upload test does not restore the example first)."""
    at = AppTest.from_file(str(ROOT / "streamlit_app.py"), default_timeout=120)
    at.session_state["deblur-task"], at.session_state["deblur-source"] = task, source
    for key, value in state.items():
        at.session_state[key.replace("_", "-")] = value
    at.run()
    at.switch_page(PAGE)
    return at.run()


def upload(at: AppTest | str, name: str, content: bytes) -> AppTest:
    """Upload `content` as `name` on the page (or on a new page of task `at`)."""
    at = deblur_page(at, "Upload your own") if isinstance(at, str) else at
    at.get("file_uploader")[0].set_value((name, content, "application/octet-stream"))
    return at.run()


def download(at: AppTest) -> Image.Image:
    """The bytes behind the download button, as an image."""
    return Image.open(io.BytesIO(at.session_state["deblur-result"]["png"]))


def test_the_example_is_blurred_restored_and_scored_against_classical_methods(home):
    at = deblur_page()
    assert not at.exception, at.exception
    assert "Restored 640×427" in at.success[0].value
    assert "Blur read from the photo: **Gaussian blur" in at.info[0].value  # the example's blur: sigma 1.5
    table = at.dataframe[0].value
    assert list(table["method"]) == [
        "Blurry input",
        "Unsharp mask",
        "Wiener (known kernel)",
        "Richardson–Lucy (known kernel)",
        "GAN (blind)",
    ]
    psnr = dict(zip(table["method"], table["PSNR (dB)"]))
    assert psnr["GAN (blind)"] > psnr["Blurry input"]
    seconds = at.session_state["deblur-result"]["seconds"]
    at.slider(key="deblur-split").set_value(80).run()  # moving the view does not deblur again
    at.slider(key="deblur-zoom-x").set_value(0).run()
    assert not at.exception and at.session_state["deblur-result"]["seconds"] == seconds
    assert len(at.get("download_button")) == 1 and download(at).size == (640, 427)


def test_motion_and_defocus_blur_are_made_and_compared_too(home):
    # set before the first run: one restoration per kind
    at = deblur_page(deblur_kind="motion", deblur_strength_motion=15.0)
    assert not at.exception, at.exception
    assert not at.slider(key="deblur-angle").disabled  # the angle is motion's alone
    motion = dict(zip(at.dataframe[0].value["method"], at.dataframe[0].value["PSNR (dB)"]))
    at.selectbox(key="deblur-kind").set_value("defocus").run()
    assert not at.exception and at.slider(key="deblur-angle").disabled
    defocus = dict(zip(at.dataframe[0].value["method"], at.dataframe[0].value["PSNR (dB)"]))
    assert motion["Blurry input"] != defocus["Blurry input"]  # each kind really blurred the photo its way
    for psnr in (motion, defocus):
        assert psnr["Wiener (known kernel)"] > psnr["Blurry input"]
        assert psnr["GAN (blind)"] > psnr["Blurry input"] - 0.5  # blind, and trained mostly on milder blur


def test_the_zoom_is_a_crop_at_100_percent_where_the_sliders_point():
    from gandash.ui import deblur_view as view

    pixels = np.random.default_rng(0).integers(0, 255, (300, 500, 3), dtype=np.uint8)
    assert np.array_equal(np.asarray(view.crop(pixels, 0, 0)), pixels[:256, :256])
    assert np.array_equal(np.asarray(view.crop(pixels, 100, 100)), pixels[-256:, -256:])
    assert np.array_equal(np.asarray(view.crop(pixels, 50, 50)), pixels[22:278, 122:378])
    assert np.asarray(view.crop(pixels[:40, :60], 50, 50)).shape == (40, 60, 3)  # smaller than the window: all
    gray16 = pixels[..., :1].astype(np.uint16) * 257
    assert np.array_equal(np.asarray(view.crop(gray16, 0, 0)), pixels[:256, :256, 0])  # shown as 8 bits


def test_an_uploaded_photo_with_transparency_is_restored_at_full_size(home):
    rgba = Image.fromarray(np.random.default_rng(0).integers(0, 255, (90, 120, 4), dtype=np.uint8), "RGBA")
    at = upload("Deblur", "logo.png", encoded(rgba, "PNG"))
    assert not at.exception, at.exception
    assert "Restored 120×90" in at.success[0].value
    # random noise has no blur to read: whatever the estimator guesses, the page says what it used
    assert re.match(
        r"(No blur found in this photo|Blur read from the photo: \*\*.+\*\* \(\d+% sure\))", at.info[0].value
    ), at.info[0].value
    assert "with transparency" in at.caption[0].value
    assert not at.dataframe  # nothing to compare with unless the page blurred it
    out = download(at)
    assert out.mode == "RGBA" and np.array_equal(np.asarray(out)[..., 3], np.asarray(rgba)[..., 3])


@pytest.mark.parametrize("name", BAD_INPUTS)
def test_bad_uploads_show_what_is_wrong_not_a_traceback(home, name):
    import re

    make, message = BAD_INPUTS[name]
    at = upload("Deblur", name, make())
    assert not at.exception, at.exception
    assert len(at.error) == 1 and not at.success
    assert re.search(message, at.error[0].value), at.error[0].value


def test_a_cmyk_tiff_upload_is_restored_in_the_colours_it_prints_in(home):
    at = upload("Deblur", "print.tif", cmyk_tiff())
    assert not at.exception and "Restored 144×96" in at.success[0].value
    assert_cmyk_colours(np.asarray(download(at).convert("RGB")))


def test_an_8_bit_gray_upload_stays_gray(home):
    gray = Image.fromarray(np.random.default_rng(2).integers(0, 255, (64, 80), dtype=np.uint8))
    at = upload("Deblur", "scan.png", encoded(gray, "PNG"))
    assert not at.exception and "gray · 8-bit" in at.caption[0].value
    assert download(at).mode == "L" and download(at).size == (80, 64)


def test_a_16_bit_colour_upload_is_restored_and_offered_at_16_bits(home):
    buffer = io.BytesIO()
    tifffile.imwrite(buffer, smooth16(48, 64), photometric="rgb", compression="zlib")
    at = upload("Deblur", "scan.tif", buffer.getvalue())
    assert not at.exception and "colour · 16-bit" in at.caption[0].value
    assert "16-bit PNG" in at.get("download_button")[0].proto.label
    kind, samples = decode_png16(at.session_state["deblur-result"]["png"])
    assert kind == (16, 2) and samples.shape == (48, 64, 3) and (samples % 257 != 0).mean() > 0.9


def test_upscale_shrinks_the_example_and_compares_the_gan_with_bicubic(home):
    at = deblur_page("Upscale ×4")
    assert not at.exception, at.exception
    assert "Upscaled to 640×424 px from 160×106 px" in at.success[0].value
    assert at.selectbox(key="deblur-model-Upscale ×4").value == "demo:srgan-photos"
    assert list(at.dataframe[0].value["method"]) == ["Bicubic ×4", "Upscaler ×4 (pixel loss)"]  # not called a GAN
    assert any(
        "`lowres:photos`" in caption.value and "above bicubic" in caption.value for caption in at.caption
    )  # says what the demo learned from, and how far to trust it
    picker = at.selectbox(key="deblur-model-Upscale ×4")
    assert picker.options[:2] == [
        f"Bundled: {demos.describe('srgan-photos')['description']}",
        f"Bundled: {demos.describe('srgan-photos-gan')['description']}",
    ]  # the faithful model by default, the adversarial one labelled beside it
    picker.set_value("demo:srgan-photos-gan").run()
    assert not at.exception, at.exception
    assert any("trades fidelity for crisp texture" in caption.value for caption in at.caption)
    assert "SRGAN demo srgan-photos-gan" in at.success[0].value
    table = at.dataframe[0].value
    assert list(table["method"]) == ["Bicubic ×4", "GAN ×4 (adversarial)"]
    assert all(np.isfinite(table["PSNR (dB)"]))
    assert download(at).size == (640, 424)
    assert "640×424" in at.get("download_button")[0].proto.label


def test_an_uploaded_photo_is_upscaled_to_4x_its_size_and_a_large_one_is_refused(home):
    at = upload(
        "Upscale ×4",
        "thumb.png",
        encoded(Image.fromarray(np.random.default_rng(3).integers(0, 255, (40, 60, 3), dtype=np.uint8)), "PNG"),
    )
    assert not at.exception, at.exception
    assert "Upscaled to 240×160 px from 60×40 px" in at.success[0].value and not at.dataframe
    assert download(at).size == (240, 160)
    at = upload("Upscale ×4", "photo.jpg", encoded(Image.new("RGB", (1200, 1000), "olive"), "JPEG"))
    assert not at.exception and not at.success
    assert "photo.jpg is 1200x1000 (1 megapixels); the limit is 1 megapixels to upscale" in at.error[0].value


def test_each_task_offers_only_its_own_runs(home, tiny_fashion):
    small = dict(max_steps=2, width=8, batch_size=2, checkpoint_every=2)
    seed = train_foreground("deblur-seed", "blurred:photos", **small)
    srgan = train_foreground("srgan", "lowres:photos", image_size=32, **small)
    disco = train_foreground("discogan", "domains:fashion-mnist:7,5", **small)
    at = deblur_page()
    picker = at.selectbox(key="deblur-model-Deblur")
    assert picker.options[0].startswith("Bundled U-Net")
    assert [o for o in picker.options[1:]] == [o for o in picker.options[1:] if o.startswith(seed)]
    assert len(picker.options) == 2  # not the srgan or discogan run
    picker.set_value(seed).run()
    assert not at.exception, at.exception
    assert f"deblur-seed run {seed}" in at.success[0].value

    at.radio(key="deblur-task").set_value("Upscale ×4").run()
    picker = at.selectbox(key="deblur-model-Upscale ×4")
    assert [o.startswith("Bundled: x4 upscaler") for o in picker.options] == [True, True, False]
    assert picker.options[2].startswith(srgan) and not any(o.startswith((seed, disco)) for o in picker.options)
    picker.set_value(srgan).run()
    assert not at.exception, at.exception
    assert f"srgan run {srgan}" in at.success[0].value
    assert at.dataframe[0].value["method"][1] == "GAN ×4 (adversarial)"  # by its config's adversarial_weight


def test_camera_shake_noise_and_jpeg_are_made_and_read_back_from_the_photo(home):
    """Blur it for me as a camera would: a random shake path, sensor noise, a JPEG; the page then says what
    it reads from the photo besides the blur: the noise level and the JPEG blocks."""
    at = deblur_page()
    at.selectbox(key="deblur-kind").set_value("shake").run()
    assert not at.exception and at.slider(key="deblur-pattern").value == 7
    at.slider(key="deblur-noise").set_value(2.0).run()
    assert not at.exception, at.exception
    note = at.info[0].value
    assert "Also read from the photo: sensor noise σ ≈" in note and "not a JPEG" in note, note
    # JPEG's quantisation takes most of that noise away with the detail: the blocks are what is left to read
    at.select_slider(key="deblur-jpeg").set_value(75).run()
    assert "compressed as a JPEG once" in at.info[0].value, at.info[0].value
    at.select_slider(key="deblur-jpeg").set_value("PNG").run()
    at.slider(key="deblur-noise").set_value(0.0).run()
    assert "no visible sensor noise; not a JPEG" in at.info[0].value, at.info[0].value


def test_a_blurred_noisy_jpeg_upload_is_restored_with_what_was_read_from_it(home):
    """Issue #22: a photo as phones save them; the page says the blur, the noise and the JPEG quality."""
    from gandash import data
    from gandash.data import degrade

    blurry = degrade.camera_array(data.photo("coffee"), degrade.gaussian_kernel(2.0), noise=0.01, quality=None)
    at = upload("Deblur", "phone.jpg", encoded(Image.fromarray(blurry), "JPEG", quality=85))
    assert not at.exception, at.exception
    assert "Restored 600×400" in at.success[0].value
    note = at.info[0].value
    assert re.search(r"Blur read from the photo: \*\*Gaussian blur, σ (1\.5|1\.75|2|2\.25) px\*\*", note), note
    assert "its result is then held to the photo" in note, note
    assert "JPEG quality 85 (from the file's quantisation table: certain)" in note, note
    assert download(at).size == (600, 400)
