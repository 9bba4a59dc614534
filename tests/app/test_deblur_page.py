"""The Deblur page under AppTest: the example with the comparison table, real uploads (good and bad),
and a deblur run the user trained appearing in the model picker."""
import io
import os

import numpy as np
import pytest
from PIL import Image
from streamlit.testing.v1 import AppTest

from tests.test_deblur import BAD_INPUTS, encoded

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
PAGE = "app_pages/deblur.py"


def deblur_page() -> AppTest:
    at = AppTest.from_file(os.path.join(ROOT, "streamlit_app.py"), default_timeout=120)
    at.run()
    at.switch_page(PAGE)
    at.run()
    return at


def upload(at: AppTest, name: str, content: bytes) -> AppTest:
    at.radio(key="deblur-source").set_value("Upload your own").run()
    at.get("file_uploader")[0].set_value((name, content, "application/octet-stream"))
    return at.run()


def test_the_example_is_blurred_restored_and_scored_against_classical_methods(home):
    at = deblur_page()
    assert not at.exception, at.exception
    assert "Restored 640×427" in at.success[0].value
    table = at.dataframe[0].value
    assert list(table["method"]) == ["Blurry input", "Unsharp mask", "Wiener (known kernel)",
                                     "Richardson–Lucy (known kernel)", "GAN (blind)"]
    psnr = dict(zip(table["method"], table["PSNR (dB)"]))
    assert psnr["GAN (blind)"] > psnr["Blurry input"]
    at.slider(key="deblur-split").set_value(80).run()  # moving the view does not deblur again
    assert not at.exception and "Restored" in at.success[0].value
    assert len(at.get("download_button")) == 1


def test_an_uploaded_photo_with_transparency_is_restored_at_full_size(home):
    rgba = Image.fromarray(np.random.default_rng(0).integers(0, 255, (90, 120, 4), dtype=np.uint8), "RGBA")
    at = upload(deblur_page(), "logo.png", encoded(rgba, "PNG"))
    assert not at.exception, at.exception
    assert "Restored 120×90" in at.success[0].value
    assert "with transparency" in at.caption[0].value
    assert not at.dataframe  # nothing to compare with unless the page blurred it


PAGE_BAD = {name: make for name, (make, _) in BAD_INPUTS.items() if not name.endswith(".gif")}
PAGE_BAD["animated.webp"] = lambda: encoded(Image.new("RGB", (40, 40), "red"), "WEBP", save_all=True,
                                            append_images=[Image.new("RGB", (40, 40), "blue")])


@pytest.mark.parametrize("name", PAGE_BAD)
def test_bad_uploads_show_a_message_not_a_traceback(home, name):
    at = upload(deblur_page(), name, PAGE_BAD[name]())
    assert not at.exception, at.exception
    assert at.error and not at.success
    assert "Traceback" not in at.error[0].value


def test_a_cmyk_tiff_upload_is_converted_and_restored(home):
    cmyk = Image.fromarray(np.random.default_rng(1).integers(0, 255, (40, 60, 4), dtype=np.uint8), "CMYK")
    buffer = io.BytesIO()
    cmyk.save(buffer, format="TIFF")
    at = upload(deblur_page(), "print.tif", buffer.getvalue())
    assert not at.exception and "Restored 60×40" in at.success[0].value


def test_a_deblur_run_the_user_trained_can_be_picked(home):
    from tests.app.test_pages import train_foreground

    run_id = train_foreground("deblur-seed", "blurred:photos", max_steps=2, width=8, batch_size=2,
                              checkpoint_every=2)
    at = deblur_page()
    picker = at.selectbox(key="deblur-model")
    assert any(option.startswith(run_id) for option in picker.options)  # options show the labels
    picker.set_value(run_id).run()
    assert not at.exception, at.exception
    assert f"deblur-seed run {run_id}" in at.success[0].value
