"""The Deblur page end to end: a real `streamlit run` server and Debian's Chromium driven by playwright.
Screenshots land in artifacts/screenshots/ for a person to look at."""

import re

import pytest
from PIL import Image

from tests.e2e.helpers import settle, shoot

pytestmark = pytest.mark.e2e


def test_deblur_an_example_then_an_upload_then_a_bad_file(server, page, tmp_path):
    page.goto(server + "/deblur")
    settle(page)
    page.get_by_text(re.compile(r"Restored 640×427 px")).first.wait_for()
    page.get_by_text("How close to the original").wait_for()
    # the example is blurred by a Gaussian of sigma 1.5: the page says what blur it read
    page.get_by_text(re.compile(r"Blur read from the photo: Gaussian blur, σ 1\.(25|5|75) px")).wait_for()
    shoot(page, "deblur-example")
    page.locator("[data-testid=stDataFrame]").first.wait_for()  # the baselines have run
    settle(page)
    page.get_by_text("How close to the original").scroll_into_view_if_needed()
    shoot(page, "deblur-example-table")

    page.get_by_test_id("stRadioGroup").get_by_text("Upload your own").click()
    settle(page)
    from gandash import data
    from gandash.data import degrade

    # as a phone saves it (issue #22): blurred, with sensor noise, as a JPEG; held out from training
    blurry = degrade.camera_array(data.photo("coffee"), degrade.gaussian_kernel(2.0), noise=0.01, quality=None)
    photo = tmp_path / "blurry-coffee.jpg"
    Image.fromarray(blurry).save(photo, quality=85)
    page.locator("input[type=file]").set_input_files(str(photo))
    page.get_by_text(re.compile(r"Restored 600×400 px")).first.wait_for()
    page.get_by_text(re.compile(r"Blur read from the photo: Gaussian blur, σ (1\.5|1\.75|2|2\.25) px")).wait_for()
    page.get_by_text(re.compile(r"its result is then held to the photo")).wait_for()
    page.get_by_text(re.compile(r"JPEG quality 85 \(from the file's quantisation table")).wait_for()
    settle(page)
    with page.expect_download() as download:
        page.get_by_text("Download the restored photo").click()
    saved = tmp_path / "restored.png"
    download.value.save_as(saved)
    assert Image.open(saved).size == (600, 400)
    settle(page)
    shoot(page, "deblur-upload")

    notes = tmp_path / "notes.png"
    notes.write_text("not a picture at all\n" * 50)
    page.locator("input[type=file]").set_input_files(str(notes))
    page.get_by_text(re.compile(r"notes.png is not an image: its contents")).first.wait_for()
    settle(page)
    shoot(page, "deblur-bad-file")


def test_upscale_the_shrunk_example_then_an_upload_with_its_progress(server, page, tmp_path):
    page.goto(server + "/deblur")
    settle(page)
    page.get_by_text(re.compile(r"Restored 640×427 px")).first.wait_for()
    page.get_by_test_id("stRadioGroup").get_by_text("Upscale ×4").click()
    page.get_by_text(re.compile(r"Upscaled to 640×424 px from 160×106 px")).first.wait_for()
    page.locator("[data-testid=stDataFrame]").first.wait_for()  # GAN vs bicubic against the original
    settle(page)
    shoot(page, "upscale-example")

    page.get_by_test_id("stRadioGroup").get_by_text("Upload your own").click()
    settle(page)
    from gandash import data

    photo = tmp_path / "coffee.png"  # 600x400: enough tiles that the progress bar shows, fast as the model is
    Image.fromarray(data.photo("coffee")).save(photo)
    page.locator("input[type=file]").set_input_files(str(photo))
    page.get_by_text(re.compile(r"Upscaling ×4… \d+%")).first.wait_for()  # the progress bar counts the tiles
    page.get_by_text(re.compile(r"Upscaled to 2400×1600 px from 600×400 px")).first.wait_for()
    settle(page)
    with page.expect_download() as download:
        page.get_by_text("Download the upscaled photo").click()
    saved = tmp_path / "x4.png"
    download.value.save_as(saved)
    assert Image.open(saved).size == (2400, 1600)  # the full x4 result, not the preview
    settle(page)
    page.get_by_text("Zoom: 100%").scroll_into_view_if_needed()
    shoot(page, "upscale-upload")
