"""First render time of every page in a real browser, with a big store.

Fills a fresh GANDASH_HOME with 50 runs and 100 000 metric rows (half of them in the newest run,
the one the monitor opens), starts `streamlit run`, and times each page in headless Chromium from
navigation until the script has finished and the page's title is drawn. Goal: < 2 s per page.
It also times the floor: a one-line Streamlit page (st.title) served the same way, which is what
a new browser session costs in Streamlit itself (loading its frontend, opening the websocket).

    .venv/bin/python bench/page_render.py [--runs 50] [--rows 100000] [--warm] [--pages home gallery]
"""

import argparse
import io
import os
import random
import re
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from PIL import Image

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
PAGES = {
    "home": ("/", "gandash"),
    "train": ("/train", "Train a GAN"),
    "runs": ("/runs", "Runs"),
    "compare": ("/compare", "Compare runs"),
    "latent": ("/latent", "Latent space"),
    "gallery": ("/gallery", "Gallery"),
}
# the Gallery is drawn when every card and every bundled model's picture is (Streamlit gives a keyed
# container the class st-key-KEY; the cards are keyed card-NAME)
GALLERY_DRAWN = """(cards) => {
  const drawn = document.querySelectorAll('[class*="st-key-card-"]');
  const images = [...document.querySelectorAll('[class*="st-key-card-"] [data-testid=stImage] img')];
  return drawn.length === cards && images.every(img => img.complete && img.naturalWidth > 0);
}"""
NAMES = ("loss_d", "loss_g", "d_x", "d_g_z1", "d_g_z2", "grad_norm_d", "grad_norm_g", "images_per_sec")


def fill(home: Path, runs: int, rows: int) -> None:
    os.environ["GANDASH_HOME"] = str(home)
    from gandash.runs.store import Store
    from gandash.variants.configure import make_config

    store = Store()
    rng = random.Random(0)
    shares = [rows // 2] + [rows // 2 // (runs - 1)] * (runs - 1)
    for index in range(runs):
        variant, dataset = rng.choice([("dcgan", "fashion-mnist"), ("toy", "ring"), ("wgan-gp", "fashion-mnist")])
        config = make_config(variant, dataset, name=f"bench run {index}")
        run_id = f"bench-{index:03d}"
        run_dir = home / "runs" / run_id
        (run_dir / "samples").mkdir(parents=True)
        store.create_run(run_id, config.__dict__, run_dir, "completed", "cpu", config.total_steps)
        steps = shares[len(shares) - 1 - index] // len(NAMES)  # the newest run (created last) is the biggest
        now = time.time()
        metrics = [(step, name, rng.random(), now - (steps - step)) for step in range(1, steps + 1) for name in NAMES]
        samples = []
        for step in (steps // 2, steps):
            path = run_dir / "samples" / f"step_{step:08d}.png"
            buffer = io.BytesIO()
            Image.fromarray(np.random.default_rng(step).integers(0, 255, (242, 242), dtype=np.uint8)).save(
                buffer, "PNG"
            )
            path.write_bytes(buffer.getvalue())
            samples.append((step, str(path)))
        store.write_batch(run_id, metrics, samples, [(now, "info", "benchmark run")], {"step": steps})
        store.update_run(run_id, started=now - 600, ended=now)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def time_page(browser, url: str, title: str) -> float:
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    started = time.perf_counter()
    page.goto(url)
    page.get_by_role("heading", name=re.compile(title)).first.wait_for(timeout=60_000)
    page.wait_for_function("() => !document.querySelector('[data-testid=\"stStatusWidget\"]')", timeout=60_000)
    if "/gallery" in url:
        from gandash import variants

        page.wait_for_function(GALLERY_DRAWN, arg=len(variants.REGISTRY), timeout=120_000, polling=50)
    elapsed = time.perf_counter() - started
    assert page.locator(".stException").count() == 0, f"{url} shows an exception"
    page.close()
    return elapsed


def start_server(script: str | Path, home: Path, warm: bool = False) -> tuple[subprocess.Popen, int]:
    port = free_port()
    command = ["-m", "gandash", "app"] if warm else ["-m", "streamlit", "run", str(script)]
    server = subprocess.Popen(
        [sys.executable, *command, "--server.port", str(port)],
        cwd=ROOT,
        env=dict(os.environ, GANDASH_HOME=str(home)),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    return server, port


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=50)
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--pages", nargs="+", choices=PAGES, default=list(PAGES), help="only these pages")
    parser.add_argument(
        "--warm",
        action="store_true",
        help="start the app as ./run.sh app does (python -m gandash "
        "app: torch imported before the first visitor) instead of plain streamlit run",
    )
    args = parser.parse_args()
    home = Path(tempfile.mkdtemp()) / "home"
    started = time.perf_counter()
    fill(home, args.runs, args.rows)
    print(f"filled a store with {args.runs} runs and {args.rows} metric rows in {time.perf_counter() - started:.1f} s")
    server, port = start_server("streamlit_app.py", home, warm=args.warm)
    floor_script = home / "floor.py"
    floor_script.write_text("import streamlit as st\nst.title('Floor')\n")
    floor_server, floor_port = start_server(floor_script, home)
    from playwright.sync_api import sync_playwright

    try:
        time.sleep(8 if args.warm else 3)  # the warm server imports torch before it listens
        with sync_playwright() as driver:
            browser = driver.chromium.launch(
                executable_path="/usr/bin/chromium",
                args=["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"],
            )
            floor = [time_page(browser, f"http://localhost:{floor_port}/", "Floor") for _ in range(args.repeats + 1)][
                1:
            ]
            print(
                f"floor: a one-line Streamlit page: median {statistics.median(floor):.2f} s "
                f"(all: {', '.join(f'{t:.2f}' for t in floor)})"
            )
            floor_server.terminate()
            cold = time_page(browser, f"http://localhost:{port}/", "gandash")
            print(
                f"the server's first page ("
                f"{'warmed up: torch imported at start' if args.warm else 'plain streamlit run: imports torch now'}"
                f"): {cold:.2f} s"
            )
            for name in args.pages:
                path, title = PAGES[name]
                times = [time_page(browser, f"http://localhost:{port}{path}", title) for _ in range(args.repeats)]
                print(
                    f"{name:<8} first render: median {statistics.median(times):.2f} s  "
                    f"(all: {', '.join(f'{t:.2f}' for t in times)})"
                )
            browser.close()
    finally:
        for process in (server, floor_server):
            process.terminate()
            process.wait(timeout=20)


if __name__ == "__main__":
    main()
