"""Helpers every page uses: the store, error display, run selection and page settings that survive
reloads."""

from __future__ import annotations

import functools
import json
import time

import streamlit as st

from gandash.core import paths
from gandash.core.errors import AllCheckpointsDamaged, GandashError
from gandash.runs import jobs, liveness
from gandash.runs.store import Store, StoreBusy

# Seconds a page waits for a store lock. A worker holds it for a few milliseconds per flush; anything
# longer is another program, and a page that says so beats one frozen for the workers' 30 s.
PAGE_LOCK_TIMEOUT = 1.0
SETTINGS_FILE = "ui-settings.json"


@st.cache_resource(show_spinner=False)
def _store(path: str) -> Store:
    return Store(path, timeout=PAGE_LOCK_TIMEOUT)


def store() -> Store:
    """The run store of this GANDASH_HOME (one per path, shared by sessions; connections are per thread)."""
    return _store(str(paths.db_path()))


def busy_warning() -> None:
    st.warning(
        "The run store is busy: another program holds its lock. What could not be read is missing "
        "here; retrying on the next refresh.",
        icon=":material/hourglass_top:",
    )


def show_error(exc: GandashError) -> None:
    """A user-fixable problem as st.error; a busy store (nobody's fault, it passes) as a warning."""
    if isinstance(exc, StoreBusy):
        busy_warning()
    else:
        st.error(str(exc))


def tolerate_busy(function):
    """For live fragments: a busy store shows the warning and the next refresh tries again."""

    @functools.wraps(function)
    def wrapper(*args, **kwargs):
        try:
            return function(*args, **kwargs)
        except StoreBusy:
            busy_warning()

    return wrapper


def selected_run() -> str | None:
    """The run the user is looking at: the URL's ?run= (so reloads and links keep it), else the session's."""
    run = st.query_params.get("run") or st.session_state.get("run")
    if run:
        st.session_state["run"] = run
    return run


def select_run(run_id: str | None) -> None:
    st.session_state["run"] = run_id
    if run_id:
        st.query_params["run"] = run_id
    elif "run" in st.query_params:
        del st.query_params["run"]


def age(timestamp: float | None) -> str:
    if not timestamp:
        return ""
    seconds = time.time() - timestamp
    for unit, size in (("d", 86400), ("h", 3600), ("min", 60)):
        if seconds >= size:
            return f"{seconds / size:.0f} {unit} ago"
    return f"{seconds:.0f} s ago"


def duration(start: float | None, end: float | None) -> str:
    if not start:
        return ""
    seconds = (end or time.time()) - start
    return f"{seconds / 60:.1f} min" if seconds >= 60 else f"{seconds:.0f} s"


# Live refresh, in seconds. Every redraw costs the browser and the server CPU that a job training on
# the same cores then lacks: status lines and tables are cheap, charts are not (bench/monitor_overhead.py).
STATUS_REFRESH = 5
CHART_REFRESH = (3, 10, 30, 0)  # 0: off
STATUS_ICONS = {
    "running": "🟢",
    "starting": "🟡",
    "queued": "⏳",
    "stopped": "⏹️",
    "completed": "✅",
    "crashed": "💥",
    "failed": "❌",
    "diverged": "⚠️",
}


def status_label(run: dict) -> str:
    """The status with its icon; a running job that has not beaten for a while says it is stalled (alive,
    holding its lease, but paused or very busy)."""
    if liveness.stalled_for(run):
        return "⏸️ running, stalled"
    return f"{STATUS_ICONS.get(run['status'], '')} {run['status']}"


def keep(key: str, default, allowed=None) -> dict:
    """Widget kwargs that make a setting survive page switches and reloads. Streamlit forgets a widget's
    state when a page without it runs, so a shadow copy is kept under another key and restored; a
    reload starts a new session, so the value is also saved in GANDASH_HOME/ui-settings.json and read
    back as the default. `allowed`: the values that may come back (runs get deleted, lists change)."""
    shadow = f"_kept_{key}"
    if key not in st.session_state:
        value = st.session_state.get(shadow, saved_settings().get(key, default))
        st.session_state[key] = _only_allowed(value, default, allowed)
    elif allowed is not None:  # e.g. a run picked earlier in this session and deleted since
        st.session_state[key] = _only_allowed(st.session_state[key], default, allowed)

    def remember() -> None:
        st.session_state[shadow] = st.session_state[key]
        save_setting(key, st.session_state[key])

    return {"key": key, "on_change": remember}


def _only_allowed(value, default, allowed):
    if allowed is None:
        return value
    if isinstance(default, list):
        return [item for item in value if item in allowed] if isinstance(value, list) else default
    return value if value in allowed else default


def saved_settings() -> dict:
    """The page settings saved by keep(); {} when there are none or the file is unreadable (it is only
    a convenience: a damaged file must not break a page)."""
    try:
        values = json.loads((paths.home() / SETTINGS_FILE).read_text())
    except (OSError, ValueError):
        return {}
    return values if isinstance(values, dict) else {}


def save_setting(key: str, value) -> None:
    values = saved_settings()
    values[key] = value
    paths.atomic_write_bytes(paths.home() / SETTINGS_FILE, json.dumps(values, indent=1).encode())


def smoothing_window(weight: float, log_every: int | None = None) -> str:
    """What an EMA weight means in data: it averages about 1/(1 - w) of the latest points."""
    if weight <= 0:
        return "raw values (no smoothing)"
    points = 1 / (1 - weight)
    text = f"averages ≈ {_about(points)} points"
    return text + (f" ≈ {_about(points * log_every)} steps" if log_every else "")


def _about(number: float) -> str:
    return f"{int(number + 0.5):,}" if number >= 10 else f"{number:.1f}"


def timeline(label: str, steps: list[int], key: str, help: str | None = None) -> int:
    """A step slider that follows the newest step while training, unless the user has moved it back
    to look at an earlier one (then it stays there until they move it to the newest again).

    The server never writes the slider's value: following, the slider gets a new key for each newest
    step, with that step as its default. Writing the value into session state raced with the page's
    other live fragments, whose refresh requests could carry the slider's previous value back and
    leave it stuck on an old step while the run trained on."""
    if len(steps) == 1:
        return steps[0]
    pinned_key, following = f"_{key}_pinned", st.session_state.get(f"_{key}_following")
    if following in st.session_state and st.session_state[following] != int(following.rsplit("-", 1)[1]):
        st.session_state[pinned_key] = st.session_state[following]  # the user moved the following slider
    pinned = st.session_state.get(pinned_key)
    if pinned is not None:
        current = st.session_state.get(f"{key}-pinned", pinned)
        if current in steps and current != steps[-1]:
            st.session_state[f"_{key}_following"] = None
            return st.select_slider(label, options=steps, value=current, key=f"{key}-pinned", help=help)
        st.session_state.pop(pinned_key, None)  # back at the newest (or that step is gone): follow again
        st.session_state.pop(f"{key}-pinned", None)
    st.session_state[f"_{key}_following"] = f"{key}-{steps[-1]}"
    return st.select_slider(label, options=steps, value=steps[-1], key=f"{key}-{steps[-1]}", help=help)


# Job controls run as on_click callbacks: Streamlit runs a callback before the script, so the click
# takes effect even when a live fragment's refresh interrupts the rerun the click started (under load,
# with four fragments refreshing, a plain `if st.button(...)` Stop was lost and the job ran on).
_JOB_ERROR = "_job_error"


def stop_job(run_id: str) -> None:
    try:
        jobs.stop(run_id, store(), wait=False)
        jobs.wait_until_ended(run_id, store(), timeout=10)  # a step and a checkpoint: then the page says stopped
    except GandashError as exc:
        st.session_state[_JOB_ERROR] = exc


def resume_job(run_id: str) -> None:
    try:
        jobs.resume(run_id, store())
    except GandashError as exc:
        st.session_state[_JOB_ERROR] = exc


def start_over_job(run_id: str) -> None:
    try:
        select_run(jobs.start_over(run_id, store()))
    except GandashError as exc:
        st.session_state[_JOB_ERROR] = exc


def show_job_error() -> None:
    """The message of a Stop or Resume that could not be done, once, where the buttons are; a run whose
    checkpoints are all damaged is offered a fresh start as a new run."""
    exc = st.session_state.pop(_JOB_ERROR, None)
    if exc is not None:
        show_error(exc)
        if isinstance(exc, AllCheckpointsDamaged):
            run_id = exc.run_id
            st.button(
                "Start over as a new run",
                icon=":material/restart_alt:",
                on_click=start_over_job,
                args=(run_id,),
                key=f"start-over-{run_id}",
                help="Same settings, from step 0; this run stays as it is, with its history.",
            )
