"""The Gallery in a real browser (a `streamlit run` server and Debian's Chromium): every card drawn, with
its objective typeset and its bundled model's pictures, also when reached from another page (how
long that takes is measured by bench/page_render.py, not asserted here); screenshots of the page and of a few
cards land in artifacts/screenshots/ for a person to look at."""

import time
from pathlib import Path

import pytest

from gandash import gallery, variants
from tests.e2e.helpers import SHOTS, settle, shoot

pytestmark = pytest.mark.e2e

# Streamlit gives a keyed container the class st-key-KEY; the cards are keyed card-NAME
ALL_DRAWN = """([cards, pictures]) => {
  const drawn = document.querySelectorAll('[class*="st-key-card-"]');
  const images = [...document.querySelectorAll('[class*="st-key-card-"] [data-testid=stImage] img')];
  return drawn.length === cards && images.length === pictures
    && images.every(img => img.complete && img.naturalWidth > 0)
    && document.querySelectorAll('[class*="st-key-card-"] .katex').length >= cards
    && !document.querySelector('[data-testid="stStatusWidget"]');
}"""


@pytest.fixture(autouse=True)
def _fashion(request):
    """The image-to-image demos draw on their dataset: Debian's Fashion-MNIST, else a tiny stand-in."""
    if not Path("/usr/share/datasets/fashion-mnist").is_dir():
        request.getfixturevalue("tiny_fashion")


def expected() -> list[int]:
    """[cards, pictures]: a card per variant, a picture on each that has a bundled model."""
    return [len(variants.REGISTRY), sum(gallery.samples_for(name) is not None for name in variants.REGISTRY)]


def load_gallery(page, server: str) -> float:
    """Seconds from loading /gallery afresh (Streamlit's own start-up included) until every card and
    picture is drawn and the script is done."""
    started = time.perf_counter()
    page.goto(server + "/gallery")
    page.wait_for_function(ALL_DRAWN, arg=expected(), timeout=120_000, polling=50)
    return time.perf_counter() - started


def navigate_to_gallery(page) -> float:
    """Seconds from clicking Gallery in the sidebar (on another page) until every card and picture is drawn:
    the page's own render, what someone moving around the app waits for."""
    page.get_by_role("link", name="Compare").click()
    page.locator("h1").filter(has_text="Compare runs").first.wait_for()
    settle(page)
    started = time.perf_counter()
    page.get_by_role("link", name="Gallery").click()
    page.wait_for_function(ALL_DRAWN, arg=expected(), timeout=60_000, polling=50)
    return time.perf_counter() - started


def test_the_gallery_draws_every_card_with_its_pictures_on_a_visit_and_from_another_page(server, page):
    cold = load_gallery(page, server)  # the first visit makes the pictures (then cached in memory and on disk)
    settle(page)
    page.set_viewport_size({"width": 1400, "height": 12_000})  # the page scrolls inside its own container
    page.wait_for_timeout(500)
    shoot(page, "gallery-every-card")
    page.set_viewport_size({"width": 1400, "height": 1600})
    reload = load_gallery(page, server)
    moving = navigate_to_gallery(page)
    print(f"gallery: first visit {cold:.2f} s; reloaded {reload:.2f} s; from another page {moving:.2f} s")

    settle(page)
    for name in ("vanilla", "cgan", "deblur", "discogan"):
        page.locator(f".st-key-card-{name}").screenshot(path=str(SHOTS / f"gallery-card-{name}.png"))
    deblur_card = page.locator(".st-key-card-deblur")
    assert "blurred | restored | sharp" in deblur_card.inner_text()
    assert "No bundled demo" not in deblur_card.inner_text()

    # a layer table is built when its expander opens
    card = page.locator(".st-key-card-dcgan")
    card.get_by_text("Architecture (computed from the modules)").click()
    card.locator("[data-testid=stDataFrame]").first.wait_for()
    settle(page)
    card.screenshot(path=str(SHOTS / "gallery-card-dcgan-architecture.png"))
    assert page.locator(".stException").count() == 0
