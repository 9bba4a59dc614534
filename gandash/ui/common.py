"""Helpers every page uses: the store, error display, run selection that survives reloads."""

from __future__ import annotations

import time

import streamlit as st

from gandash import paths
from gandash.store import Store


@st.cache_resource(show_spinner=False)
def _store(path: str) -> Store:
    return Store(path)


def store() -> Store:
    """The run store of this GANDASH_HOME (one per path, shared by sessions; connections are per thread)."""
    return _store(str(paths.db_path()))


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


STATUS_ICONS = {"running": "🟢", "starting": "🟡", "queued": "⏳", "stopped": "⏹️", "completed": "✅",
                "crashed": "💥", "failed": "❌", "diverged": "⚠️"}


def keep(key: str, default) -> dict:
    """Widget kwargs that make a setting survive page switches: Streamlit forgets a widget's state
    when a page without it runs, so a shadow copy is kept under another key and restored."""
    shadow = f"_kept_{key}"
    if key not in st.session_state:
        st.session_state[key] = st.session_state.get(shadow, default)

    def remember() -> None:
        st.session_state[shadow] = st.session_state[key]

    return {"key": key, "on_change": remember}


def timeline(label: str, steps: list[int], key: str, help: str | None = None) -> int:
    """A step slider that follows the newest step while training, unless the user has moved it back
    to look at an earlier one."""
    newest = f"_{key}_newest"
    if st.session_state.get(key) not in steps or st.session_state.get(key) == st.session_state.get(newest):
        st.session_state[key] = steps[-1]
    st.session_state[newest] = steps[-1]
    return st.select_slider(label, options=steps, key=key, help=help) if len(steps) > 1 else steps[0]
