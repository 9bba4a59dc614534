"""Does watching slow training down? Images/s of a running background job with the Runs page open
in a real browser versus with no page open. Goal: < 5% slower.

One DCGAN job on Fashion-MNIST runs throughout; the script alternates windows without and with the
monitor open and compares the job's own images/s rows in the store for each window. It also prints
the CPU time the app server and the browser used in each window (what the page costs).

    .venv/bin/python bench/monitor_overhead.py [--window 60] [--rounds 2] [--refresh 10]

--refresh is the page's "Charts refresh" setting in seconds (0: off; the status line stays live).
"""

import argparse
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def rate(store, run_id: str, start: float, end: float) -> float:
    rows = [value for _, _, value, t in store.metrics(run_id, names=("images_per_sec",)) if start <= t <= end]
    return statistics.mean(rows) if rows else float("nan")


def cpu_seconds(pids) -> float:
    """User + system CPU time of these processes so far (the ones that have gone count nothing)."""
    ticks = os.sysconf("SC_CLK_TCK")
    total = 0.0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += (int(fields[11]) + int(fields[12])) / ticks
    return total


def browser_pids() -> list[int]:
    pids = []
    for entry in Path("/proc").iterdir():
        try:
            if entry.name.isdigit() and "chrom" in (entry / "comm").read_text():
                pids.append(int(entry.name))
        except OSError:
            pass
    return pids


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--window", type=float, default=60.0, help="seconds per measurement window")
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--variant", default="dcgan")
    parser.add_argument("--refresh", type=int, default=10, help="the Runs page's chart refresh, seconds (0: off)")
    args = parser.parse_args()
    os.environ["GANDASH_HOME"] = str(Path(tempfile.mkdtemp()) / "home")
    from gandash.runs import jobs
    from gandash.runs.store import Store
    from gandash.variants.configure import make_config

    store = Store()
    (Path(os.environ["GANDASH_HOME"]) / "ui-settings.json").write_text(json.dumps({"chart-refresh": args.refresh}))
    minutes = (2 * args.rounds * args.window + 120) / 60
    run_id = jobs.create(
        make_config(args.variant, "fashion-mnist", max_steps=None, max_minutes=minutes, log_every=5), store
    )
    port = free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "streamlit", "run", "streamlit_app.py", "--server.port", str(port)],
        cwd=ROOT,
        env=dict(os.environ),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    from playwright.sync_api import sync_playwright

    without, with_page = [], []
    try:
        while store.run(run_id)["step"] < 20:
            time.sleep(1)
        time.sleep(10)  # let the job settle
        with sync_playwright() as driver:
            browser = driver.chromium.launch(
                executable_path="/usr/bin/chromium",
                args=["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"],
            )
            for round_ in range(args.rounds):
                start = time.time()
                time.sleep(args.window)
                without.append(rate(store, run_id, start + 2, time.time()))
                page = browser.new_page(viewport={"width": 1400, "height": 1000})
                page.goto(f"http://localhost:{port}/runs?run={run_id}")
                page.get_by_text("Losses").first.wait_for(timeout=60_000)
                start = time.time()
                server_before, browser_before = cpu_seconds([server.pid]), cpu_seconds(browser_pids())
                time.sleep(args.window)
                server_cpu = cpu_seconds([server.pid]) - server_before
                browser_cpu = cpu_seconds(browser_pids()) - browser_before
                with_page.append(rate(store, run_id, start + 2, time.time()))
                page.close()
                print(
                    f"round {round_ + 1}: {without[-1]:.1f} images/s without the page, "
                    f"{with_page[-1]:.1f} with the monitor open; while open the server used "
                    f"{100 * server_cpu / args.window:.0f}% of a core and the browser "
                    f"{100 * browser_cpu / args.window:.0f}%"
                )
            browser.close()
    finally:
        jobs.stop(run_id, store)
        server.terminate()
        server.wait(timeout=20)
    slowdown = 1 - statistics.mean(with_page) / statistics.mean(without)
    print(f"charts refresh every {args.refresh} s" if args.refresh else "charts refresh off")
    print(
        f"mean without {statistics.mean(without):.1f} images/s, with the monitor {statistics.mean(with_page):.1f}: "
        f"slowdown {100 * slowdown:.1f}%"
    )


if __name__ == "__main__":
    main()
