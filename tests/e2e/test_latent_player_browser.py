"""The latent page's player in a real browser: Play shows the walk as a GIF the browser animates and
moves the frame slider along (a fragment on a timer, which AppTest does not run), stops at the last frame
unless Loop is on, and Pause holds it."""

import re
import time

import pytest
from PIL import Image

from tests.e2e.helpers import settle, shoot

pytestmark = pytest.mark.e2e


def frame_slider(tab, playing: bool = False):
    """The frame slider; while playing it is a disabled one that only shows where the walk is."""
    return tab.locator("input[type=range][aria-label='Frame']" + ("[disabled]" if playing else ":not([disabled])"))


def frame(tab, playing: bool = False) -> int:
    return int(frame_slider(tab, playing).first.input_value())


def wait_for_frame(tab, at_least: int, seconds: float = 30) -> None:
    deadline = time.monotonic() + seconds
    while frame(tab, playing=True) < at_least:
        assert time.monotonic() < deadline, f"the frame slider stayed at {frame(tab, playing=True)}"
        tab.wait_for_timeout(100)


def test_play_animates_the_walk_in_the_page(server, page, tmp_path):
    page.goto(server + "/latent")
    settle(page)
    frame_slider(page).wait_for(state="attached")
    assert frame(page) == 0
    page.get_by_text("Loop", exact=True).click()  # off: play once to the end
    settle(page)
    page.get_by_role("button", name=re.compile("Play")).click()
    page.locator("img[src$='.gif']").first.wait_for(timeout=30_000)  # the browser plays the walk itself
    wait_for_frame(page, 2)  # and the slider follows it
    shoot(page, "latent-player-playing")
    # 16 frames at 8 a second: the end comes within a few seconds; then the button says Play again
    page.get_by_role("button", name=re.compile("^.?Play$")).wait_for(timeout=30_000)
    settle(page)
    page.locator("img[src$='.gif']").first.wait_for(state="detached", timeout=10_000)  # a still picture again
    assert frame(page) == 15
    page.wait_for_timeout(1000)
    assert frame(page) == 15, "stopped at the last frame"
    shoot(page, "latent-player-end")

    page.get_by_text("Loop", exact=True).click()
    settle(page)
    page.get_by_role("button", name=re.compile("Play")).click()  # at the end: starts again from the first frame
    page.locator("img[src$='.gif']").first.wait_for(timeout=30_000)
    page.wait_for_timeout(600)
    page.get_by_role("button", name=re.compile("Pause")).click()
    settle(page)
    page.locator("img[src$='.gif']").first.wait_for(state="detached", timeout=10_000)
    held = frame(page)
    page.wait_for_timeout(1200)
    assert frame(page) == held, "Pause holds the frame"

    # the animation file is made when its button is pressed (not on every slider move): it still arrives
    with page.expect_download() as download:
        page.get_by_role("button", name=re.compile("Animation \\(GIF\\)")).click()
    saved = tmp_path / "walk.gif"
    download.value.save_as(saved)
    with Image.open(saved) as gif:
        assert gif.n_frames == 2 * 16 - 2  # there and back
