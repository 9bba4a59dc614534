"""The app end to end: a real `streamlit run` server and Debian's Chromium driven by playwright.
Screenshots of every page land in artifacts/screenshots/ for a person to look at."""

import re
import time

import pytest

from tests.e2e.helpers import settle, shoot

pytestmark = pytest.mark.e2e


@pytest.fixture(autouse=True)
def _fashion(tiny_fashion):
    """The Home page lists fashion-mnist as present."""


def caption_step(tab) -> int:
    text = tab.get_by_text(re.compile(r"toy on ring · \w+ · step \d+")).first.inner_text()
    return int(re.search(r"step (\d+)", text).group(1))


EMPTY_PAGES = (
    ("/", "home", "gandash", "Start in one click"),
    ("/train", "train", "Train a GAN", "Start training"),
    ("/runs", "runs-empty", "Runs", "No runs yet"),
    ("/compare", "compare-empty", "Compare runs", "Comparing needs at least two runs"),
)


def table_cells(tab) -> str:
    """The text of the runs table's cells (the grid draws on a canvas; its accessible copy is in the DOM)."""
    return tab.locator("[data-testid=stDataFrame] table").first.inner_text()


def test_every_page_then_train_watch_stop_resume_a_toy_run(server, page):
    for path, name, title, content in EMPTY_PAGES:
        page.goto(server + path)
        settle(page, title, content)
        shoot(page, name)

    page.goto(server + "/train?variant=toy&dataset=ring")
    settle(page, "Train a GAN", "Start training")
    page.get_by_text("Small MLP G and D on 2D point clouds").first.wait_for()  # the toy variant is prefilled
    page.get_by_role("button", name=re.compile("Start training")).click()
    page.wait_for_url(re.compile(r"/runs\?run=toy-ring-"))
    settle(page, "Runs")
    first = caption_step(page)
    deadline = time.monotonic() + 90
    while caption_step(page) <= first + 100 and time.monotonic() < deadline:
        page.wait_for_timeout(1000)  # the monitor refreshes itself; we only watch
    assert caption_step(page) > first + 100, "the step count grows while we watch"
    seen = table_cells(page)
    deadline = time.monotonic() + 45  # the table refreshes every 5 s while a job trains (slower on a busy CI box)
    while table_cells(page) == seen and time.monotonic() < deadline:
        page.wait_for_timeout(1000)
    assert table_cells(page) != seen and "running" in table_cells(page), "the runs table is live too"
    page.wait_for_timeout(1000)
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


def test_compare_two_runs_the_gallery_and_a_finished_toy_run(server, page):
    from tests.app.conftest import make_runs

    toy, image = make_runs()  # real short runs, in the server's GANDASH_HOME
    page.goto(server + "/compare")
    settle(page, "Compare runs", "Latest samples")
    page.locator("[data-testid=stImage] img").nth(1).wait_for()  # both runs' latest samples
    shoot(page, "compare-two-runs")
    page.goto(server + f"/runs?run={toy}")
    settle(page, "Runs", "toy on ring · completed")
    page.locator(".js-plotly-plot").first.wait_for()
    shoot(page, "runs-toy-finished")
    page.goto(server + "/gallery")
    settle(page, "Gallery", "Train this")
    shoot(page, "gallery")


def test_latent_page_walks_between_seeds_of_a_bundled_demo(server, page):
    page.goto(server + "/latent")
    settle(page, "Latent space")
    page.get_by_text("bundled demo models").first.wait_for()
    # the interpolation strip (16 frames side by side) is drawn and visible
    page.wait_for_function(
        "() => [...document.querySelectorAll('[data-testid=stImage] img')]"
        ".some(img => img.naturalWidth > 1000 && img.offsetParent !== null)",
        timeout=60_000,
    )
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


def test_the_app_server_listens_on_localhost_only(server):
    """`python -m gandash app` (./run.sh app) runs with .streamlit/config.toml's server.address: its port
    is bound to 127.0.0.1, not to every interface."""
    port = int(server.rsplit(":", 1)[1])
    bound = {
        line.split()[1] for line in open("/proc/net/tcp").read().splitlines()[1:] if line.split()[3] == "0A"
    }  # listening sockets, as ADDR:PORT in hex
    assert f"0100007F:{port:04X}" in bound and f"00000000:{port:04X}" not in bound, bound
