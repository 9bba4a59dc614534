"""What the browser tests do to a page: wait for the script to finish, take a screenshot."""

import re
import shutil
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
ARTIFACTS = ROOT / "artifacts"
SHOTS = ARTIFACTS / "screenshots"


def settle(tab, title: str | None = None, content: str | re.Pattern | None = None) -> None:
    """Wait until the page has drawn and its script has finished: the sidebar's job panel, then the
    page's own title (and `content`, a text only the finished page shows), then no running status.
    The sidebar alone is not enough: it is drawn before the page, and a screenshot taken then shows
    an empty page."""
    tab.get_by_text(re.compile(r"Jobs ·")).first.wait_for()
    if title:
        tab.locator("h1").filter(has_text=title).first.wait_for()
    if content:
        tab.get_by_text(content).first.wait_for()
    tab.wait_for_function("() => !document.querySelector('[data-testid=\"stStatusWidget\"]')", timeout=90_000)
    tab.wait_for_timeout(500)


def shoot(tab, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    tab.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)
    assert tab.locator(".stException").count() == 0, f"{name} shows an exception"
