"""Soak test (issue #21): four background jobs, the app with the Runs page open in a real browser, and
chaos for --minutes: kill -9 a worker and resume it, SIGSTOP a worker for 90 s, restart the app server.
Prints one table: steps lost per kill, what pauses did, page exceptions, metric gaps and duplicates,
final states, and peak memory of the app and of each worker.

    .venv/bin/python bench/soak.py [--minutes 20] [--seed 0] [--home DIR] [--checkpoint-every 200]
                                   [--chaos-every 60 180]

Screenshots, the app server's log and results.json go to artifacts/soak/. The machine should be
otherwise idle: the jobs share its cores with the app and the browser, which is the point.
"""

from __future__ import annotations

import argparse
import collections
import json
import os
import random
import re
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
PYTHON = sys.executable
CHROMIUM = "/usr/bin/chromium"
OUT = ROOT / "artifacts" / "soak"
PAUSE_SECONDS = 90
# seconds each chaos action needs, so none is started that the soak's end would cut short
ACTION_NEEDS = {"kill": 90, "pause": PAUSE_SECONDS + 70, "restart": 90}


def log(text: str) -> None:
    print(f"{time.strftime('%H:%M:%S')} {text}", flush=True)


# --- the jobs, through the CLI as a user would start them ------------------------------------------


def job_specs(minutes: float, checkpoint_every: int) -> list[list[str]]:
    """Small variants so each of the four makes real progress on a shared 2-core CPU. The budget
    outlasts the soak so no run completes on its own; every step is a metrics row (log_every=1), so
    a lost or doubled row shows; no in-training evaluation, to keep the load on training."""
    common = [
        "--max-minutes",
        str(round(minutes * 3 + 30)),
        "--set",
        f"checkpoint_every={checkpoint_every}",
        "--set",
        "log_every=1",
        "--set",
        "eval_samples=0",
        "--background",
    ]
    return [
        ["--variant", "toy", "--dataset", "ring", *common],
        ["--variant", "toy", "--dataset", "grid", *common],
        ["--variant", "dcgan", "--dataset", "fashion-mnist", "--set", "width=16", *common],
        ["--variant", "lsgan", "--dataset", "fashion-mnist", "--set", "width=16", *common],
    ]


def cli(env: dict, *args: str, timeout: float = 180) -> subprocess.CompletedProcess:
    return subprocess.run(
        [PYTHON, "-m", "gandash", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def start_jobs(env: dict, specs: list[list[str]]) -> list[str]:
    run_ids = []
    for spec in specs:
        done = cli(env, "train", *spec)
        if done.returncode != 0:
            raise SystemExit(f"train {' '.join(spec)} failed: {done.stderr}")
        run_ids.append(done.stdout.split()[0])
        log(f"started {run_ids[-1]}")
    return run_ids


def latest_step(store, run_id: str) -> int:
    """The newest step with a loss_d row in the store (the worker commits about once a second)."""
    run = store.run(run_id)
    rows = store.metrics(run_id, after_step=max(-1, run["step"] - 5000), names=("loss_d",))
    return max((row[0] for row in rows), default=0)


def live_worker(run: dict) -> dict | None:
    from gandash.runs import lease

    holder = lease.holder(Path(run["run_dir"]))
    return holder if holder and holder.get("pid") else None


# --- the app server ---------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for_port(port: int, seconds: float = 90) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("localhost", port), timeout=1).close()
            return True
        except OSError:
            time.sleep(0.3)
    return False


class AppServer:
    """`python -m gandash app` on one port, restartable; its output appends to artifacts/soak/server.log
    (a pipe nobody reads would stall it)."""

    def __init__(self, port: int, env: dict):
        self.port, self.env, self.process = port, env, None
        self.starts = 0

    def start(self) -> None:
        with open(OUT / "server.log", "ab") as out:
            self.process = subprocess.Popen(
                [PYTHON, "-m", "gandash", "app", "--server.port", str(self.port), "--server.headless", "true"],
                cwd=ROOT,
                env=self.env,
                stdout=out,
                stderr=subprocess.STDOUT,
            )
        self.starts += 1
        if not wait_for_port(self.port):
            raise SystemExit("the app server did not open its port within 90 s; see artifacts/soak/server.log")

    def kill(self) -> None:
        """kill -9: the harshest end, as a crash or an OOM kill would be; jobs must not notice."""
        self.process.kill()
        self.process.wait(timeout=30)

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.kill()


# --- peak memory ------------------------------------------------------------------------------------


def proc_field(pid: int, field: str) -> int | None:
    """A kB field of /proc/PID/status (VmHWM, VmRSS), or None if the process is gone."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1])
    except (OSError, ValueError):
        return None
    return None


def process_children() -> dict[int, list[int]]:
    """Every process's children, from /proc (read once per sampling round)."""
    children = collections.defaultdict(list)
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                parent = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            children[parent].append(int(entry.name))
    return children


def descendants(pid: int, children: dict[int, list[int]]) -> list[int]:
    """pid and every process below it (the app could spawn helpers; a worker might fork loaders)."""
    tree, todo = [], [pid]
    while todo:
        current = todo.pop()
        tree.append(current)
        todo += children.get(current, [])
    return tree


class MemorySampler(threading.Thread):
    """Every few seconds, each watched process tree's summed VmHWM (the kernel's own peak RSS, so a
    spike between samples still counts). Keyed by name ('app' or a run id) and by process life: a
    restarted app or a resumed worker is a new process, and its peak is kept beside the old ones."""

    def __init__(self, app: AppServer, store_path: Path, run_ids: list[str], every: float = 3.0):
        super().__init__(daemon=True)
        self.app, self.store_path, self.run_ids, self.every = app, store_path, run_ids, every
        self.peaks: dict[str, dict[int, int]] = collections.defaultdict(dict)  # name -> {pid: kB}
        self.done = threading.Event()

    def run(self) -> None:
        from gandash.runs.store import Store

        store = Store(self.store_path)  # a connection of this thread's own
        while not self.done.wait(self.every):
            children = process_children()
            self.sample("app", self.app.process.pid if self.app.process else None, children)
            for run_id in self.run_ids:
                holder = live_worker(store.run(run_id))
                self.sample(run_id, holder["pid"] if holder else None, children)

    def sample(self, name: str, pid: int | None, children: dict[int, list[int]]) -> None:
        if pid is None:
            return
        total = sum(proc_field(p, "VmHWM") or 0 for p in descendants(pid, children))
        if total:
            self.peaks[name][pid] = max(total, self.peaks[name].get(pid, 0))

    def peak_mb(self, name: str) -> tuple[float, int]:
        lives = self.peaks.get(name, {})
        return (max(lives.values(), default=0) / 1024, len(lives))


# --- the browser ------------------------------------------------------------------------------------


class PageWatcher:
    """The Runs page in headless Chromium, loaded again every 10-20 s on the next run in turn (the
    URL's ?run= selects it), checked for Streamlit's exception box and for showing the run asked for."""

    def __init__(self, playwright, base: str, run_ids: list[str]):
        self.browser = playwright.chromium.launch(
            executable_path=CHROMIUM,
            args=["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"],
        )
        self.tab = self.browser.new_page(viewport={"width": 1400, "height": 1600})
        self.tab.set_default_timeout(60_000)
        self.base, self.run_ids = base, run_ids
        self.checks = self.exceptions = self.load_failures = self.unsettled = self.wrong_run = 0
        self.render_seconds: list[float] = []  # from navigation to the page fully drawn
        self.notes: list[str] = []
        self.console: list[str] = []
        self.tab.on("pageerror", lambda error: self.console.append(f"{time.strftime('%H:%M:%S')} {error}"))

    def check(self, label: str, reload: bool = False, shot: bool = False, run_id: str | None = None) -> None:
        run_id = run_id or self.run_ids[self.checks % len(self.run_ids)]
        self.checks += 1
        began = time.monotonic()
        try:
            if reload:  # the same URL again, as a user pressing F5 after the server came back
                self.tab.reload(wait_until="domcontentloaded")
                run_id = self.tab.url.split("run=")[-1] if "run=" in self.tab.url else run_id
            else:
                self.tab.goto(f"{self.base}/runs?run={run_id}", wait_until="domcontentloaded")
            self.tab.locator("h1").filter(has_text="Runs").first.wait_for(timeout=60_000)
        except Exception as exc:  # noqa: BLE001 - a page that does not load is counted, not fatal
            self.load_failures += 1
            self.notes.append(f"{label}: the page did not load ({type(exc).__name__}: {str(exc)[:150]})")
            self.screenshot(f"{label}-noload")
            return
        drawn = self.settle(began)
        found = self.tab.locator(".stException")
        if found.count():
            self.exceptions += 1
            text = found.first.inner_text()[:600].replace("\n", " | ")
            self.notes.append(f"{label}: exception on the page of {run_id}: {text}")
            log(f"EXCEPTION on the page of {run_id}: {text}")
            shot = True
        if run_id not in self.tab.inner_text("body"):
            self.wrong_run += 1
            self.notes.append(f"{label}: the page did not show {run_id}")
        log(
            f"page {label} {run_id}: "
            + (f"drawn in {drawn:.1f} s" if drawn else "NOT fully drawn in 90 s")
            + f", {found.count()} exceptions"
        )
        if shot:
            self.screenshot(f"{label}-{run_id[:24]}")

    def settle(self, began: float) -> float | None:
        """Seconds until the page is fully drawn, or None after 90 s (then it is checked as it is).
        Streamlit's running-man widget is no sign: it can be gone while the script still builds the
        charts (a run with many metric rows takes seconds). The expander below the charts is the
        script's last element; then the charts and samples replace their placeholders (skeletons)."""
        try:
            self.tab.get_by_text("Name, tags, downloads and checkpoints").first.wait_for(timeout=90_000)
            self.tab.wait_for_function("() => !document.querySelector('[data-testid=\"stSkeleton\"]')", timeout=30_000)
        except Exception:  # noqa: BLE001 - playwright's TimeoutError
            self.unsettled += 1
            return None
        seconds = time.monotonic() - began
        self.render_seconds.append(seconds)
        self.tab.wait_for_timeout(1000)  # plotly lays its charts out just after they arrive
        return seconds

    def screenshot(self, name: str) -> None:
        try:
            self.tab.screenshot(path=str(OUT / f"{name}.png"), full_page=True)
        except Exception as exc:  # noqa: BLE001 - a screenshot is evidence, not the test
            self.notes.append(f"screenshot {name} failed: {exc}")

    def idle(self, seconds: float) -> None:
        """Sleep while letting the open page run its fragments (playwright works in this thread)."""
        self.tab.wait_for_timeout(seconds * 1000)


# --- chaos --------------------------------------------------------------------------------------------


class Chaos(threading.Thread):
    """Every 1-3 minutes (seeded) one action; all three come round in a shuffled order each round so a
    short soak still sees each. Runs in its own thread: the browser (playwright) owns the main one."""

    def __init__(
        self,
        env: dict,
        app: AppServer,
        run_ids: list[str],
        deadline: float,
        seed: int,
        every: tuple[float, float],
        restarted: threading.Event,
    ):
        super().__init__(daemon=True)
        self.env, self.app, self.run_ids, self.deadline = env, app, run_ids, deadline
        self.rng, self.every, self.restarted = random.Random(seed), every, restarted
        self.kills: list[dict] = []
        self.pauses: list[dict] = []
        self.restarts: list[dict] = []
        self.errors: list[str] = []
        self.last_killed: str | None = None
        self.paused: tuple[str, float] | None = None  # (run id, since when), for the page watcher

    def run(self) -> None:
        from gandash.runs.store import Store

        self.store = Store(Path(self.env["GANDASH_HOME"]) / "gandash.sqlite")
        queue: list[str] = []
        while True:
            wait = self.rng.uniform(*self.every)
            if time.monotonic() + wait >= self.deadline:
                return
            time.sleep(wait)
            if not queue:
                queue = self.rng.sample(["kill", "pause", "restart"], 3)
            remaining = self.deadline - time.monotonic()
            fitting = [a for a in queue if ACTION_NEEDS[a] <= remaining]
            if not fitting:
                return
            action = fitting[0]
            queue.remove(action)
            try:
                getattr(self, action)()
            except Exception as exc:  # noqa: BLE001 - report the failed action, keep soaking
                self.errors.append(f"{action}: {type(exc).__name__}: {exc}")
                log(f"chaos {action} failed: {exc}")

    def live_runs(self, exclude: str | None = None) -> list[tuple[dict, dict]]:
        found = []
        for run_id in self.run_ids:
            run = self.store.run(run_id)
            holder = live_worker(run)
            if run["status"] == "running" and holder and run_id != exclude:
                found.append((run, holder))
        return found

    def kill(self) -> None:
        """kill -9 a worker; once the app (its sidebar reconciles every 5 s) or else the CLI has marked
        the run crashed, resume it through the CLI; steps lost = step at the kill - step resumed from."""
        run, holder = self.rng.choice(self.live_runs())
        run_id = run["id"]
        step_at_kill = latest_step(self.store, run_id)
        killed_at = time.time()
        os.kill(holder["pid"], signal.SIGKILL)
        self.last_killed = run_id
        log(f"kill -9 {run_id} (pid {holder['pid']}) at step {step_at_kill}")
        marked_by = self.wait_status(run_id, ("crashed",), 30)
        if marked_by is None:  # the app did not notice in 30 s: the CLI's reconcile should
            cli(self.env, "runs")
            marked_by = "cli" if self.store.run(run_id)["status"] == "crashed" else None
        newest = self.checkpoint_step(run_id)
        resumed = cli(self.env, "resume", run_id)
        resumed_from = self.wait_resumed_event(run_id, killed_at, 120)
        record = {
            "run": run_id,
            "step_at_kill": step_at_kill,
            "newest_checkpoint": newest,
            "marked_crashed_by": marked_by or "nobody",
            "resume_rc": resumed.returncode,
            "resume_out": (resumed.stdout + resumed.stderr).strip()[:300],
            "resumed_from": resumed_from,
            "steps_lost": None if resumed_from is None else step_at_kill - resumed_from,
        }
        self.kills.append(record)
        log(f"kill: {record}")

    def wait_status(self, run_id: str, statuses: tuple[str, ...], seconds: float) -> str | None:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            if self.store.run(run_id)["status"] in statuses:
                return "app"
            time.sleep(1)
        return None

    def checkpoint_step(self, run_id: str) -> int | None:
        from gandash.engine import checkpoints

        kept = checkpoints.listing(Path(self.store.run(run_id)["run_dir"]))
        return checkpoints.step_of(kept[0]) if kept else None

    def wait_resumed_event(self, run_id: str, since: float, seconds: float) -> int | None:
        """The step the new worker says it resumed from: 'resumed from the checkpoint of step N', or
        'started on ...' (step 0) when the kill came before the run's first checkpoint."""
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            for event in self.store.events(run_id, limit=50):
                found = re.search(r"resumed from the checkpoint of step (\d+)|^started on ", event["text"])
                if found and event["time"] > since:
                    return int(found.group(1) or 0)
            time.sleep(1)
        return None

    def pause(self) -> None:
        """SIGSTOP a worker (not the one just killed) for 90 s: the lease stays held, so the run must
        stay 'running' through every reconcile, resume must be refused, and after SIGCONT it carries on."""
        run, holder = self.rng.choice(self.live_runs(exclude=self.last_killed) or self.live_runs())
        run_id, pid = run["id"], holder["pid"]
        step_before = latest_step(self.store, run_id)
        os.kill(pid, signal.SIGSTOP)
        self.paused = (run_id, time.monotonic())
        log(f"SIGSTOP {run_id} (pid {pid}) at step {step_before}")
        statuses, refusals = [], []
        started = time.monotonic()
        while time.monotonic() - started < PAUSE_SECONDS:
            time.sleep(10)
            cli(self.env, "runs")  # the CLI's reconcile must not take a stopped worker for a dead one
            statuses.append(self.store.run(run_id)["status"])
            if len(statuses) in (4, 8):  # at ~40 s, and ~80 s (past the 60 s heartbeat staleness)
                done = cli(self.env, "resume", run_id)
                refusals.append((done.returncode, (done.stdout + done.stderr).strip()[:200]))
        os.kill(pid, signal.SIGCONT)
        self.paused = None
        carried_on = self.wait_progress(run_id, step_before, 90)
        record = {
            "run": run_id,
            "statuses": sorted(set(statuses)),
            "stayed_running": set(statuses) == {"running"},
            "resume_refused": all(rc != 0 for rc, _ in refusals),
            "resume_answers": refusals,
            "carried_on": carried_on,
            "step_before": step_before,
            "step_after": latest_step(self.store, run_id),
        }
        self.pauses.append(record)
        log(f"pause: {record}")

    def wait_progress(self, run_id: str, step: int, seconds: float) -> bool:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            if self.store.run(run_id)["status"] == "running" and latest_step(self.store, run_id) > step:
                return True
            time.sleep(2)
        return False

    def restart(self) -> None:
        """kill -9 the app server and start it on the same port; every job must train on through it."""
        before = {run["id"]: latest_step(self.store, run["id"]) for run, _ in self.live_runs()}
        self.app.kill()
        log("app server killed; starting it again")
        down_at = time.monotonic()
        self.app.start()
        back_after = time.monotonic() - down_at
        self.restarted.set()  # the browser reloads the page
        time.sleep(20)
        kept_training = {
            run_id: self.store.run(run_id)["status"] == "running" and latest_step(self.store, run_id) > step
            for run_id, step in before.items()
        }
        record = {"back_after_s": round(back_after, 1), "kept_training": kept_training}
        self.restarts.append(record)
        log(f"restart: {record}")


# --- the end: stop everything, check the metrics ----------------------------------------------------


def stop_all(env: dict, store, run_ids: list[str]) -> dict[str, str]:
    """Stop each run through the CLI; the right end is 'stopped' (it checkpointed), not crashed/failed."""
    ends = {}
    for run_id in run_ids:
        done = cli(env, "stop", run_id)
        ends[run_id] = store.run(run_id)["status"]
        log(f"stop {run_id}: rc {done.returncode} {(done.stdout + done.stderr).strip()[:200]} -> {ends[run_id]}")
    return ends


def metric_gaps(store, run_id: str) -> dict:
    """loss_d rows of a run against its final step: every step 1..final exactly once (log_every=1)."""
    final = store.run(run_id)["step"]
    steps = [row[0] for row in store.metrics(run_id, names=("loss_d",))]
    counts = collections.Counter(steps)
    return {
        "final_step": final,
        "rows": len(steps),
        "duplicates": sum(n - 1 for n in counts.values() if n > 1),
        "missing": sum(1 for step in range(1, final + 1) if step not in counts),
        "beyond_final": sum(1 for step in counts if step > final or step < 1),
    }


# --- the report ---------------------------------------------------------------------------------------


def yes(flag: bool | None) -> str:
    return "yes" if flag else "no"


def table(results: dict, checkpoint_every: int) -> str:
    kills, pauses, restarts, gaps = results["kills"], results["pauses"], results["restarts"], results["gaps"]
    lost = [k["steps_lost"] for k in kills]
    known = [n for n in lost if n is not None]
    unknown = f" ({len(lost) - len(known)} unknown)" if len(known) < len(lost) else ""
    kept = ", ".join(f"{sum(r['kept_training'].values())}/{len(r['kept_training'])}" for r in restarts)
    ends = results["ends"].values()
    app_mb, app_lives = results["memory"]["app"]
    seconds = sorted(results["render_seconds"])
    render = f"{seconds[len(seconds) // 2]:.1f} / {seconds[-1]:.1f}" if seconds else "-"
    rows = [
        ("soak", f"{results['minutes']} min, seed {results['seed']}, checkpoint_every={checkpoint_every}"),
        ("kills", str(len(kills))),
        ("steps lost per kill", ", ".join("?" if n is None else str(n) for n in lost) or "-"),
        ("max steps lost vs interval", f"{max(known) if known else '-'} vs {checkpoint_every}{unknown}"),
        ("pauses", str(len(pauses))),
    ]
    for i, p in enumerate(pauses, 1):
        rows.append(
            (
                f"  pause {i}",
                (
                    f"stayed running {yes(p['stayed_running'])}, resume refused "
                    f"{yes(p['resume_refused'])}, carried on {yes(p['carried_on'])}"
                ),
            )
        )
    rows += [
        ("app restarts", f"{len(restarts)}" + (f" (jobs that kept training: {kept})" if restarts else "")),
        ("duplicate metric steps", str(sum(g["duplicates"] for g in gaps.values()))),
        ("missing metric steps", str(sum(g["missing"] for g in gaps.values()))),
        ("runs ending in the right state", f"{sum(s == 'stopped' for s in ends)} of {len(results['ends'])}"),
        ("page checks", str(results["page_checks"])),
        ("pages with an exception", str(results["page_exceptions"])),
        ("page drawn in s (median / max)", render),
        ("pages not drawn within 90 s", str(results["pages_unsettled"])),
        ("peak memory, app", f"{app_mb:.0f} MB (max of {app_lives} server processes)"),
    ]
    for run_id in results["run_ids"]:
        mb, lives = results["memory"][run_id]
        g = gaps[run_id]
        rows.append(
            (
                f"peak memory, {run_id}",
                (
                    f"{mb:.0f} MB (max of {lives} worker lives); final step "
                    f"{g['final_step']}, dup {g['duplicates']}, missing {g['missing']}"
                ),
            )
        )
    width = max(len(name) for name, _ in rows)
    return "\n".join(f"{name:<{width}}  {value}" for name, value in rows)


# --- the soak ------------------------------------------------------------------------------------------


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--minutes", type=float, default=20)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--home", help="GANDASH_HOME to use (default: a fresh temporary folder)")
    parser.add_argument("--checkpoint-every", type=int, default=200)
    parser.add_argument(
        "--chaos-every",
        type=float,
        nargs=2,
        metavar=("MIN", "MAX"),
        help="seconds between chaos actions, drawn uniformly (default 60 180; 15 25 for a "
        "soak under 10 minutes, so a quick check still sees some chaos)",
    )
    args = parser.parse_args()
    args.chaos_every = args.chaos_every or ((60, 180) if args.minutes >= 10 else (15, 25))
    return args


def prepare_output() -> None:
    """A clean artifacts/soak/ so its screenshots and log are this soak's only."""
    OUT.mkdir(parents=True, exist_ok=True)
    for old in list(OUT.glob("*.png")) + [OUT / "server.log", OUT / "results.json"]:
        old.unlink(missing_ok=True)


def watch_pages(
    watcher: PageWatcher, deadline: float, chaos: Chaos, restarted: threading.Event, rng: random.Random
) -> None:
    """Until the deadline and the chaos thread's last action: check a page every 10-20 s, reload at
    once after an app restart, a screenshot every fifth check, and one of a paused run's page once its
    heartbeat is stale (over 60 s), to see how the app shows a stalled worker."""
    shot_pause = None
    while time.monotonic() < deadline or chaos.is_alive():
        paused = chaos.paused
        if restarted.is_set():
            restarted.clear()
            watcher.check(f"after-restart-{chaos.app.starts - 1}", reload=True, shot=True)
        elif paused and paused != shot_pause and time.monotonic() - paused[1] > 65:
            shot_pause = paused
            watcher.check(f"paused-{len(chaos.pauses) + 1}", shot=True, run_id=paused[0])
        else:
            watcher.check(f"check-{watcher.checks + 1:03d}", shot=watcher.checks % 5 == 0)
        watcher.idle(rng.uniform(10, 20))


def main() -> int:
    args = parse_args()
    prepare_output()
    home = Path(args.home) if args.home else Path(tempfile.mkdtemp(prefix="gandash-soak-"))
    home.mkdir(parents=True, exist_ok=True)
    env = dict(os.environ, GANDASH_HOME=str(home), GANDASH_MAX_JOBS="4", PYTHONUNBUFFERED="1")
    os.environ.update(GANDASH_HOME=str(home), GANDASH_MAX_JOBS="4")  # this process reads the same store
    from gandash.runs.store import Store

    store = Store(home / "gandash.sqlite")
    log(f"GANDASH_HOME={home}")
    run_ids = start_jobs(env, job_specs(args.minutes, args.checkpoint_every))
    app = AppServer(free_port(), env)
    app.start()
    log(f"app on http://localhost:{app.port}")
    memory = MemorySampler(app, home / "gandash.sqlite", run_ids)
    memory.start()
    deadline = time.monotonic() + args.minutes * 60
    restarted = threading.Event()
    chaos = Chaos(env, app, run_ids, deadline, args.seed, tuple(args.chaos_every), restarted)
    chaos.start()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        watcher = PageWatcher(playwright, f"http://localhost:{app.port}", run_ids)
        watch_pages(watcher, deadline, chaos, restarted, random.Random(args.seed + 1))
        chaos.join()
        watcher.check("final", shot=True)
        ends = stop_all(env, store, run_ids)
        watcher.check("after-stop", shot=True)
        watcher.browser.close()
    memory.done.set()
    memory.join()
    app.stop()
    results = {
        "minutes": args.minutes,
        "seed": args.seed,
        "home": str(home),
        "run_ids": run_ids,
        "kills": chaos.kills,
        "pauses": chaos.pauses,
        "restarts": chaos.restarts,
        "chaos_errors": chaos.errors,
        "ends": ends,
        "gaps": {run_id: metric_gaps(store, run_id) for run_id in run_ids},
        "page_checks": watcher.checks,
        "page_exceptions": watcher.exceptions,
        "page_load_failures": watcher.load_failures,
        "pages_unsettled": watcher.unsettled,
        "pages_wrong_run": watcher.wrong_run,
        "render_seconds": watcher.render_seconds,
        "page_notes": watcher.notes,
        "browser_errors": watcher.console[-40:],
        "memory": {name: memory.peak_mb(name) for name in ["app", *run_ids]},
        "memory_lives_kb": {name: lives for name, lives in memory.peaks.items()},
    }
    (OUT / "results.json").write_text(json.dumps(results, indent=2, default=str))
    print()
    print(table(results, args.checkpoint_every))
    print(
        f"\npage loads failed {watcher.load_failures}, pages not showing their run {watcher.wrong_run}; "
        f"chaos errors {len(chaos.errors)}"
    )
    for note in watcher.notes + chaos.errors:
        print(f"  {note}")
    print(f"details: {OUT / 'results.json'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
