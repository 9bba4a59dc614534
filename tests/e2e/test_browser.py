"""The app end to end: a real `streamlit run` server and Debian's Chromium driven by playwright.
Screenshots of every page land in artifacts/screenshots/ for a person to look at."""
import os
import re
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

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
def server(home, tiny_fashion):
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
    from gandash import jobs
    from gandash.store import Store

    for run in Store(home / "gandash.sqlite").runs(("starting", "running", "queued")):
        jobs.stop(run["id"], Store(home / "gandash.sqlite"))


@pytest.fixture
def page(server):
    with playwright.sync_playwright() as driver:
        browser = driver.chromium.launch(executable_path=CHROMIUM, args=[
            "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"])
        tab = browser.new_page(viewport={"width": 1400, "height": 1600})
        tab.set_default_timeout(60_000)
        yield tab
        browser.close()


def settle(tab) -> None:
    """Wait until the script has run: the sidebar's job panel is drawn and nothing is still running."""
    tab.get_by_text(re.compile(r"Jobs ·")).first.wait_for()
    tab.wait_for_function("() => !document.querySelector('[data-testid=\"stStatusWidget\"]')", timeout=60_000)
    tab.wait_for_timeout(500)


def shoot(tab, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    tab.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)
    assert tab.locator(".stException").count() == 0, f"{name} shows an exception"


def caption_step(tab) -> int:
    text = tab.get_by_text(re.compile(r"toy on ring · \w+ · step \d+")).first.inner_text()
    return int(re.search(r"step (\d+)", text).group(1))


def test_every_page_then_train_watch_stop_resume_a_toy_run(server, page):
    for path, name in (("/", "home"), ("/train", "train"), ("/runs", "runs-empty"), ("/compare", "compare-empty")):
        page.goto(server + path)
        settle(page)
        shoot(page, name)

    page.goto(server + "/train?variant=toy&dataset=ring")
    settle(page)
    page.get_by_text("Small MLP G and D on 2D point clouds").first.wait_for()  # the toy variant is prefilled
    page.get_by_role("button", name=re.compile("Start training")).click()
    page.wait_for_url(re.compile(r"/runs\?run=toy-ring-"))
    settle(page)
    first = caption_step(page)
    deadline = time.monotonic() + 90
    while caption_step(page) <= first + 100 and time.monotonic() < deadline:
        page.wait_for_timeout(1000)  # the monitor refreshes itself; we only watch
    assert caption_step(page) > first + 100, "the step count grows while we watch"
    page.wait_for_timeout(2500)
    shoot(page, "runs-live")

    page.get_by_role("button", name=re.compile("^.?Stop$")).last.click()
    page.get_by_text(re.compile(r"toy on ring · stopped · step")).first.wait_for(timeout=60_000)
    stopped_at = caption_step(page)
    page.get_by_role("button", name=re.compile("Resume")).click()
    page.get_by_text(re.compile(r"toy on ring · running · step")).first.wait_for(timeout=60_000)
    deadline = time.monotonic() + 60
    while caption_step(page) <= stopped_at and time.monotonic() < deadline:
        page.wait_for_timeout(1000)
    assert caption_step(page) > stopped_at, "the resumed run continues from its checkpoint"
    shoot(page, "runs-resumed")


def test_latent_page_walks_between_seeds_of_a_bundled_demo(server, page):
    page.goto(server + "/latent")
    settle(page)
    page.get_by_text("bundled demo models").first.wait_for()
    # the interpolation strip (16 frames side by side) is drawn and visible
    page.wait_for_function("() => [...document.querySelectorAll('[data-testid=stImage] img')]"
                           ".some(img => img.naturalWidth > 1000 && img.offsetParent !== null)", timeout=60_000)
    page.get_by_label("Anchor seeds", exact=True).fill("11, 12, 13")
    page.get_by_label("Anchor seeds", exact=True).press("Enter")
    settle(page)
    shoot(page, "latent-interpolate")
    page.get_by_role("tab", name="Grid").click()
    page.get_by_text("Axes").first.wait_for()
    page.locator("[data-testid=stImage] img:visible").first.wait_for()
    settle(page)
    assert page.locator("[data-testid=stImage] img:visible").count() == 1, "the grid of the open tab only"
    shoot(page, "latent-grid")
