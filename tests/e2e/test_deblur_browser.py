"""The Deblur page end to end: a real `streamlit run` server and Debian's Chromium driven by playwright.
Screenshots land in artifacts/screenshots/ for a person to look at."""
import os
import re
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

pytestmark = pytest.mark.e2e
ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
SHOTS = ROOT / "artifacts" / "screenshots"
playwright = pytest.importorskip("playwright.sync_api")
if not os.path.exists(CHROMIUM):
    pytest.skip("Debian's chromium is not installed (./run.sh test installs it)", allow_module_level=True)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def server(home):
    port = free_port()
    env = dict(os.environ, GANDASH_HOME=str(home))
    process = subprocess.Popen([sys.executable, "-m", "streamlit", "run", "streamlit_app.py", "--server.port",
                                str(port), "--server.headless", "true"], cwd=ROOT, env=env,
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("localhost", port), timeout=1).close()
            break
        except OSError:
            time.sleep(0.3)
    yield f"http://localhost:{port}"
    process.terminate()
    process.wait(timeout=20)


@pytest.fixture
def page(server):
    with playwright.sync_playwright() as driver:
        browser = driver.chromium.launch(executable_path=CHROMIUM, args=[
            "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"])
        tab = browser.new_page(viewport={"width": 1400, "height": 1600}, accept_downloads=True)
        tab.set_default_timeout(90_000)
        yield tab
        browser.close()


def settle(tab) -> None:
    """Wait until the script has run: the sidebar's job panel is drawn and nothing is still running."""
    tab.get_by_text(re.compile(r"Jobs ·")).first.wait_for()
    tab.wait_for_function("() => !document.querySelector('[data-testid=\"stStatusWidget\"]')", timeout=90_000)
    tab.wait_for_timeout(500)


def shoot(tab, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    tab.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)
    assert tab.locator(".stException").count() == 0, f"{name} shows an exception"


def test_deblur_an_example_then_an_upload_then_a_bad_file(server, page, tmp_path):
    page.goto(server + "/deblur")
    settle(page)
    page.get_by_text(re.compile(r"Restored 640×427 px")).first.wait_for()
    page.get_by_text("How close to the original").wait_for()
    shoot(page, "deblur-example")
    page.locator("[data-testid=stDataFrame]").first.wait_for()  # the baselines have run
    settle(page)
    page.get_by_text("How close to the original").scroll_into_view_if_needed()
    shoot(page, "deblur-example-table")

    page.get_by_test_id("stRadioGroup").get_by_text("Upload your own").click()
    settle(page)
    from gandash import blur, data

    sharp = data.photo("coffee").astype(np.float32)  # held out: the model never trained on it
    blurry = blur.blur_array(sharp, blur.gaussian_kernel(2.0)).clip(0, 255).astype(np.uint8)
    photo = tmp_path / "blurry-coffee.jpg"
    Image.fromarray(blurry).save(photo, quality=92)
    page.locator("input[type=file]").set_input_files(str(photo))
    page.get_by_text(re.compile(r"Restored 600×400 px")).first.wait_for()
    settle(page)
    with page.expect_download() as download:
        page.get_by_text("Download the restored photo").click()
    saved = tmp_path / "restored.png"
    download.value.save_as(saved)
    assert Image.open(saved).size == (600, 400)
    shoot(page, "deblur-upload")

    notes = tmp_path / "notes.png"
    notes.write_text("not a picture at all\n" * 50)
    page.locator("input[type=file]").set_input_files(str(notes))
    page.get_by_text(re.compile(r"notes.png is not an image: its contents")).first.wait_for()
    settle(page)
    shoot(page, "deblur-bad-file")

