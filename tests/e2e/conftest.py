"""A real app server (`python -m gandash app`, what `./run.sh app` starts) and Debian's Chromium driven by
playwright, shared by the browser tests. Screenshots land in artifacts/screenshots/ and each server's output
in artifacts/, so a failure on CI can be read afterwards."""

import os
import socket
import subprocess
import sys
import time

import pytest

from tests.e2e.helpers import ARTIFACTS, CHROMIUM, ROOT, SHOTS


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item, call):
    """Remember each phase's outcome on the test item, so the page fixture can see a failure."""
    report = yield
    setattr(item, f"report_{report.when}", report)
    return report


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def server(home, request):
    """The app on a free localhost port with the test's GANDASH_HOME; its output goes to a file (a
    pipe nobody reads would stall the server once full)."""
    port = free_port()
    env = dict(os.environ, GANDASH_HOME=str(home), PYTHONUNBUFFERED="1")  # the log is read while it runs
    ARTIFACTS.mkdir(exist_ok=True)
    log_path = ARTIFACTS / f"server-{request.node.name[:80]}.log"
    with open(log_path, "wb") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "gandash", "app", "--server.port", str(port), "--server.headless", "true"],
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
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
    from gandash.runs import jobs
    from gandash.runs.store import Store

    store = Store(home / "gandash.sqlite")
    for run in store.runs(("starting", "running", "queued")):
        jobs.stop(run["id"], store)


@pytest.fixture
def page(server, request):
    playwright = pytest.importorskip("playwright.sync_api")
    if not os.path.exists(CHROMIUM):
        pytest.skip("Debian's chromium is not installed (./run.sh test installs it)")
    with playwright.sync_playwright() as driver:
        browser = driver.chromium.launch(
            executable_path=CHROMIUM,
            args=["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"],
        )
        tab = browser.new_page(viewport={"width": 1400, "height": 1600}, accept_downloads=True)
        tab.set_default_timeout(90_000)
        console: list[str] = []  # the browser's errors, for the failure report
        tab.on(
            "console",
            lambda message: (
                console.append(f"{message.type}: {message.text}") if message.type in ("error", "warning") else None
            ),
        )
        tab.on("pageerror", lambda error: console.append(f"page error: {error}"))
        yield tab
        failed = getattr(request.node, "report_call", None)
        if failed is not None and failed.failed:  # what the page showed when the test gave up
            SHOTS.mkdir(parents=True, exist_ok=True)
            tab.screenshot(path=str(SHOTS / f"FAILED-{request.node.name[:80]}.png"), full_page=True)
            # CI keeps only the test output: say there what the page and the server showed
            text = tab.evaluate("document.body ? document.body.innerText : ''")
            log = ARTIFACTS / f"server-{request.node.name[:80]}.log"
            tail = "\n".join(log.read_text(errors="replace").splitlines()[-60:]) if log.exists() else ""
            with request.config.pluginmanager.getplugin("capturemanager").global_and_fixture_disabled():
                print(
                    f"\n--- {request.node.name}: the page at {tab.url} showed:\n{text[-3000:]}\n"
                    f"--- the server's output ended with:\n{tail}\n"
                    "--- the browser's console:\n" + "\n".join(console[-40:]),
                    flush=True,
                )
        browser.close()
