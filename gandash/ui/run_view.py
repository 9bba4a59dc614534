"""The live parts of a run's monitor: charts, the sample timeline and the event log."""

from __future__ import annotations

import functools
import time
from pathlib import Path

import streamlit as st

from gandash.core import images
from gandash.core.errors import GandashError
from gandash.engine import checkpoints
from gandash.quality import diagnose
from gandash.runs import export, jobs, liveness
from gandash.runs.history import MetricHistory, speed_setting
from gandash.runs.store import ACTIVE, Store
from gandash.ui import charts, common

CHARTS = (
    ("Losses", ("loss_d", "loss_g"), False),
    ("Discriminator outputs", ("d_x", "d_g_z1", "d_g_z2"), False),
    ("Gradient norms", ("grad_norm_d", "grad_norm_g"), True),
    ("Throughput", ("images_per_sec",), False),
    # quality, measured every so often while training (gandash.evaluator); shown when present
    ("FID in the classifier's feature space (lower is better)", ("fid",), False),
    ("Precision, recall, coverage", ("precision", "recall", "coverage"), False),
    ("Classes covered", ("classes_covered",), False),
    ("Modes covered", ("modes",), False),
    ("High-quality samples (%)", ("hq_percent",), False),
)
QUALITY = ("fid", "precision", "classes_covered", "modes", "hq_percent")
SEVERITY_BOXES = {"error": st.error, "warning": st.warning, "info": st.info}


def history(run_id: str, store: Store) -> MetricHistory:
    """This session's copy of the run's metrics, topped up with only the new rows."""
    cache = st.session_state.setdefault("histories", {})
    if run_id not in cache:
        cache[run_id] = MetricHistory(run_id)
    cache[run_id].update(store)
    return cache[run_id]


def has_data(run_id: str, store: Store) -> bool:
    """Whether the run has logged metrics and saved a sample: what the live monitor waits for first."""
    return bool(history(run_id, store).columns) and bool(store.samples(run_id))


def metric_charts(run_id: str, store: Store, smoothing: float, x_axis: str) -> None:
    data = history(run_id, store)
    if not data.columns:
        st.info("No metrics yet: the first rows appear a few seconds after the worker starts.")
        return
    columns = st.columns(2)
    shown = [chart for chart in CHARTS if any(name in data.columns for name in chart[1])]
    for index, (title, names, log_y) in enumerate(shown):
        # quality is measured at few steps: smoothing would hide the trend it is there to show
        smoothing = 0.0 if names[0] in QUALITY else smoothing
        figure = charts.metric_figure([(run_id, data)], names, title, smoothing, x_axis, log_y=log_y)
        columns[index % 2].plotly_chart(figure, key=f"chart-{run_id}-{title}", config={"displaylogo": False})


def findings(run_id: str, store: Store, config: dict) -> None:
    """What diagnose.py sees in the run's metrics, in plain language, most severe first."""
    from gandash.core.config import TrainConfig

    data = history(run_id, store)
    found = diagnose.diagnose(
        {name: list(zip(steps, values)) for name, (steps, values, _) in data.columns.items()},
        TrainConfig.from_dict(config),
    )
    for finding in found:
        SEVERITY_BOXES.get(finding.severity, st.info)(
            f"**{finding.title}**  \n{finding.evidence}  \n*What to try:* {finding.advice}"
        )


def sample_timeline(run_id: str, store: Store) -> None:
    samples = store.samples(run_id)
    if not samples:
        st.info("No samples yet: a grid from the same fixed noise is saved every few hundred steps.")
        return
    step = common.timeline(
        "Sample step",
        [step for step, _ in samples],
        f"sample-step-{run_id}",
        help="The same noise every time, so you see how the generator changes.",
    )
    path = Path(dict(samples)[step])
    try:
        picture = images.open_image(path.read_bytes(), name=path.name)
    except (OSError, GandashError) as exc:
        st.warning(f"The sample of step {step} cannot be shown: {exc}")
        return
    st.image(picture, caption=f"step {step}", width=min(512, max(256, picture.width)))


def event_log(run_id: str, store: Store, lines: int = 12) -> None:
    events = store.events(run_id, limit=lines)
    if not events:
        st.caption("No events yet.")
        return
    import time

    text = "\n".join(
        f"{time.strftime('%H:%M:%S', time.localtime(e['time']))}  {e['level']:<7} {e['text']}" for e in events
    )
    st.code(text, language=None)


def status_header(run: dict, store: Store) -> None:
    """The run's title and one-line state (live; with the precision and threads a CPU run chose), its
    progress, and what went wrong when it ended badly."""
    total = run["total_steps"]
    speed = speed_setting(store, run)
    st.subheader(f"{common.STATUS_ICONS.get(run['status'], '')} {run['name'] or run['id']}")
    st.caption(
        f"{run['variant']} on {run['dataset']} · {run['status']} · step {run['step']}"
        + (f" of {total}" if total else "")
        + f" · {run['device']}"
        + (f" · {speed}" if speed else "")
        + f" · id `{run['id']}`"
    )
    if run["status"] in ("starting", "running") and total:
        st.progress(min(run["step"] / total, 1.0))
    stalled = liveness.stalled_for(run)
    if stalled:
        st.warning(f"No heartbeat for {stalled:.0f} s: {liveness.STALLED}", icon=":material/pause_circle:")
    if run["message"] and run["status"] in ("crashed", "failed", "diverged"):
        st.error(run["message"])
    elif run["message"]:
        st.caption(run["message"])


def confirm_delete(run: dict, store: Store) -> bool:
    """The Delete popover's body; True once the run is gone. A running job is refused: its worker
    would go on writing into a folder that no longer exists."""
    if run["status"] in ("starting", "running"):
        st.warning("This run is training: stop it first, then delete it.")
        return False
    st.write(f"Delete **{run['id']}** with its checkpoints and samples? This cannot be undone.")
    if not st.button("Yes, delete it", type="primary", key=f"delete-{run['id']}"):
        return False
    jobs.delete(run["id"], store)
    return True


def housekeeping(run: dict, store: Store, folder_gone: bool = False) -> None:
    """Rename and tag, downloads (metrics CSV, grid PNG, timeline GIF, checkpoint), roll back."""
    run_id = run["id"]
    left, right = st.columns(2)
    with left.form(f"label-{run_id}", border=False):
        name = st.text_input("Name", value=run["name"], max_chars=100)
        tags = st.text_input("Tags (comma separated)", value=run["tags"])
        if st.form_submit_button("Save name and tags"):
            try:
                store.update_run(
                    run_id, name=name.strip(), tags=",".join(t.strip() for t in tags.split(",") if t.strip())
                )
            except GandashError as exc:
                common.show_error(exc)
            else:
                st.rerun()
    with right:  # data as callables: files are read or built only when the user clicks
        st.download_button(
            "Metrics (CSV)",
            lambda: export.metrics_csv(store, run_id),
            f"{run_id}-metrics.csv",
            "text/csv",
            icon=":material/table:",
            key=f"csv-{run_id}",
            on_click="ignore",
        )
        samples = [] if folder_gone else store.samples(run_id)
        if samples:
            step, latest = samples[-1]
            st.download_button(
                "Latest sample grid (PNG)",
                lambda: Path(latest).read_bytes(),
                f"{run_id}-step{step}.png",
                "image/png",
                icon=":material/image:",
                key=f"png-{run_id}",
                on_click="ignore",
            )
            st.download_button(
                "Sample timeline (GIF)",
                lambda: export.timeline_gif([Path(p) for _, p in samples]),
                f"{run_id}-timeline.gif",
                "image/gif",
                icon=":material/movie:",
                key=f"gif-{run_id}",
                on_click="ignore",
            )
    if folder_gone:
        st.caption("No checkpoints: they were in the deleted folder.")
        return
    checkpoint_list(run, store)


def checkpoint_list(run: dict, store: Store) -> None:
    """The kept checkpoints, newest first, the best one marked; download any, roll back to an older one."""
    run_id, run_dir = run["id"], Path(run["run_dir"])
    saved = checkpoints.listing(run_dir)
    if not saved:
        st.caption("No checkpoints yet.")
        return
    best = checkpoints.best(run_dir)
    st.markdown("**Checkpoints**" + (f" · ★ best: step {best['step']} ({best['label']})" if best else ""))
    for path in saved:
        step = checkpoints.step_of(path)
        try:
            size = path.stat().st_size
        except FileNotFoundError:
            continue  # the worker pruned it since the listing: it is simply no longer kept
        a, b, c = st.columns([3, 2, 2])
        mark = f" · ★ best ({best['label']})" if best and best["step"] == step else ""
        a.write(f"step {step} · {size / 1e6:.1f} MB{mark}")
        b.download_button(
            "Download",
            functools.partial(_read_or_explain, path),
            path.name,
            "application/octet-stream",
            key=f"ckpt-{run_id}-{step}",
            on_click="ignore",
        )
        if path != saved[0] and c.button(
            "Roll back here",
            key=f"rollback-{run_id}-{step}",
            disabled=run["status"] in ("starting", "running", "queued"),
        ):
            try:
                jobs.rollback(run_id, step, store)
            except GandashError as exc:
                common.show_error(exc)
            else:
                st.rerun()


def _read_or_explain(path: Path) -> bytes:
    """A checkpoint's bytes; pruned by the worker after the page listed it, a note saying so instead
    (a download that fails silently is worse)."""
    try:
        return path.read_bytes()
    except FileNotFoundError:
        return (
            f"{path.name} was removed after this page listed it (the run keeps only its newest "
            "checkpoints and the best one). Reload the page for the current list.\n"
        ).encode()


ALGORITHM = (
    "for number of training iterations do",
    "    for k steps do",
    "        sample m noise samples z ~ p_z and m examples x ~ p_data",
    "        update D by ascending  ∇ 1/m Σ [log D(x) + log(1 − D(G(z)))]",
    "    end for",
    "    sample m noise samples z ~ p_z",
    "    update G by descending ∇ 1/m Σ log(1 − D(G(z)))   (or ascending log D(G(z)))",
    "end for",
)


def algorithm_text(phase: dict) -> str:
    """Algorithm 1 of Goodfellow et al. with the line that runs next marked ▶."""
    k, done = phase.get("k", 1), phase.get("d_done", 0)
    next_line = 3 if done < k else 6
    lines = []
    for number, line in enumerate(ALGORITHM):
        mark = "▶" if number == next_line else " "
        note = f"      ← D step {done + 1} of {k}" if number == 3 and done < k else ""
        lines.append(f"{mark} {line}{note}")
    return "\n".join(lines)


def wait_for_pause_state(run_id: str, store: Store, paused: bool, seconds: float = 3.0) -> None:
    """Redraw the page once the worker has paused or resumed, so the stepper refreshes at the matching
    rate at once (the status line would notice within a few seconds anyway, if the worker is slow)."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        current = store.run(run_id)
        if current is None or current["status"] not in ACTIVE:
            return
        if bool((current.get("phase") or {}).get("paused")) == paused:
            st.rerun()
        time.sleep(0.1)


def stepper(run: dict, store: Store) -> None:
    """Pause a running job and advance it one D or G step at a time (commands go through the store)."""
    phase = run.get("phase") or {}
    paused = phase.get("paused", False)
    buttons = st.columns(5)
    commands = []
    if buttons[0].button("Pause", key="step-pause", disabled=paused, icon=":material/pause:"):
        commands.append("pause")
    if buttons[1].button(
        "Next line",
        key="step-next",
        disabled=not paused,
        type="primary",
        help="The next line of Algorithm 1: k D steps, then one G step.",
    ):
        commands.append("step")
    if buttons[2].button("One D step", key="step-d", disabled=not paused):
        commands.append("step-d")
    if buttons[3].button("One G step", key="step-g", disabled=not paused):
        commands.append("step-g")
    if buttons[4].button("Continue", key="step-continue", disabled=not paused, icon=":material/play_arrow:"):
        commands.append("continue")
    for command in commands:
        try:
            jobs.send(run["id"], command, store)
        except GandashError as exc:
            st.error(str(exc))
    if commands and commands[-1] in ("pause", "continue"):
        wait_for_pause_state(run["id"], store, commands[-1] == "pause")
    if paused or commands:
        st.code(algorithm_text(phase), language=None)
        data = history(run["id"], store)
        left, middle, right = st.columns(3)
        for column, name in ((left, "d_x"), (middle, "d_g_z1"), (right, "d_g_z2")):
            value = data.latest(name)
            column.metric(charts.LABELS[name], "–" if value is None else f"{value:.3f}")
    else:
        st.caption(
            "Pause the job to walk through Algorithm 1 one discriminator or generator step at a time, "
            "watching D(x), D(G(z)) and the samples change."
        )
