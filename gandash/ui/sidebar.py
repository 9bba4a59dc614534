"""The sidebar's job panel: running and queued jobs on every page, with progress and Stop."""

from __future__ import annotations

import streamlit as st

from gandash.runs import jobs
from gandash.ui import common


@st.fragment(run_every=common.STATUS_REFRESH)
@common.tolerate_busy
def jobs_panel() -> None:
    store = common.store()
    jobs.reconcile(store)  # notices dead workers and starts queued jobs, whoever has the app open
    active = store.runs(("starting", "running", "queued"))
    st.caption(f"**Jobs** · {len(active)} active" if active else "**Jobs** · none running")
    for run in active:
        total = run["total_steps"]
        fraction = min(run["step"] / total, 1.0) if total else 0.0
        label = f"{common.status_label(run).split(' ')[0]} {run['variant']} · {run['dataset']}"
        st.progress(fraction, text=f"{label} · step {run['step']}" + (f"/{total}" if total else ""))
        left, right = st.columns(2)
        if left.button("Open", key=f"open-{run['id']}", width="stretch"):
            common.select_run(run["id"])
            st.switch_page("app_pages/runs.py", query_params={"run": run["id"]})
        right.button("Stop", key=f"stop-{run['id']}", width="stretch", on_click=common.stop_job, args=(run["id"],))
    common.show_job_error()
