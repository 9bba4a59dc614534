"""What the browser tests do to a page: wait for the script to finish, take a screenshot."""
import re
import shutil
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
ARTIFACTS = ROOT / "artifacts"
SHOTS = ARTIFACTS / "screenshots"


def settle(tab) -> None:
    """Wait until the script has run: the sidebar's job panel is drawn and nothing is still running."""
    tab.get_by_text(re.compile(r"Jobs ·")).first.wait_for()
    tab.wait_for_function("() => !document.querySelector('[data-testid=\"stStatusWidget\"]')", timeout=90_000)
    tab.wait_for_timeout(500)


def shoot(tab, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    tab.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)
    assert tab.locator(".stException").count() == 0, f"{name} shows an exception"
