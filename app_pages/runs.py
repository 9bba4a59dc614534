from pathlib import Path

import streamlit as st

from gandash.core.errors import GandashError
from gandash.runs.store import ACTIVE, RESUMABLE
from gandash.ui import common, run_view, runs_table, toy_view

st.title("Runs")
store = common.store()
runs = store.runs()
if not runs:
    st.info("No runs yet. Start one on the Train page, or train a toy GAN in one click from Home.")
    st.page_link("app_pages/train.py", label="Go to Train", icon="▶️")
    st.stop()

# --- the table, with filters: live while any run trains ---------------------------------------
chosen = runs_table.filters()
run_id = common.selected_run()
if run_id not in {r["id"] for r in runs}:
    run_id = next((r["id"] for r in runs if chosen.match(r)), runs[0]["id"])
    common.select_run(run_id)
anything_active = any(r["status"] in ACTIVE + ("queued",) for r in runs)


@st.fragment(run_every=common.STATUS_REFRESH if anything_active else None)
@common.tolerate_busy
def table() -> None:
    current = store.runs()
    clicked = runs_table.table(current, store, chosen, run_id)
    if clicked and clicked != run_id:
        common.select_run(clicked)
        st.rerun()  # the whole page shows the picked run, not just this fragment
    if anything_active and not any(r["status"] in ACTIVE + ("queued",) for r in current):
        st.rerun()  # the last job ended: redraw once without the refresh timer


table()
run = next(r for r in runs if r["id"] == run_id)
folder_gone = not Path(run["run_dir"]).is_dir()

# --- the selected run ---------------------------------------------------------------------------
st.divider()
active = run["status"] in ACTIVE + ("queued",)


# Its own fragment: a fragment that writes into a container outside itself (this header was once
# filled by `live` below) makes Streamlit's frontend crash to a white page under load. It is also what
# notices the run ending or being paused, so the slower chart refresh can be turned off.
@st.fragment(run_every=common.STATUS_REFRESH if active else None)
@common.tolerate_busy
def status_line() -> None:
    current = store.run(run_id) or run
    run_view.status_header(current, store)
    if active and (
        current["status"] not in ACTIVE + ("queued",)
        or bool(current["phase"].get("paused")) != bool(run["phase"].get("paused"))
    ):
        st.rerun()  # ended, paused or resumed: redraw the page (buttons, stepper, refresh timers)


status_line()
if folder_gone:
    st.error(
        f"This run's folder is gone: `{run['run_dir']}` was deleted outside gandash. Its metrics and "
        "events are still in the store, but its samples and checkpoints went with the folder, so it "
        "cannot be resumed or rolled back. Delete the run to tidy up."
    )

buttons = st.columns(5)
common.show_job_error()
buttons[0].button(
    "Stop",
    icon=":material/stop:",
    disabled=run["status"] not in ACTIVE + ("queued",),
    on_click=common.stop_job,
    args=(run_id,),
    key=f"stop-page-{run_id}",
    help="The worker finishes its step, writes a checkpoint and exits.",
)
buttons[1].button(
    "Resume",
    icon=":material/play_arrow:",
    disabled=run["status"] not in RESUMABLE or run["status"] == "completed" or folder_gone,
    on_click=common.resume_job,
    args=(run_id,),
    key=f"resume-page-{run_id}",
    help="Continue from the last checkpoint.",
)
try:
    if buttons[2].button("Duplicate with changes", icon=":material/content_copy:"):
        st.session_state["prefill"] = dict(run["config"])
        st.switch_page("app_pages/train.py")
    with buttons[3].popover("Delete", icon=":material/delete:", disabled=run["status"] in ACTIVE):
        if run_view.confirm_delete(run, store):
            common.select_run(None)
            st.rerun()
except GandashError as exc:
    common.show_error(exc)

settings = st.columns([3, 2, 3, 2])
smoothing = settings[0].slider(
    "Smoothing",
    0.0,
    0.99,
    step=0.01,
    **common.keep("smoothing", 0.6),
    help="Debiased exponential moving average; the raw values stay faint behind.",
)
settings[0].caption(common.smoothing_window(smoothing, run["config"].get("log_every")))
x_axis = settings[1].radio("x axis", ["step", "wall time"], horizontal=True, **common.keep("x-axis", "step"))
refresh = settings[2].radio(
    "Charts refresh",
    common.CHART_REFRESH,
    horizontal=True,
    format_func=lambda seconds: f"{seconds} s" if seconds else "off",
    **common.keep("chart-refresh", 10, allowed=common.CHART_REFRESH),
    help="How often the charts, samples and events redraw while the job trains. "
    "The browser redrawing charts takes CPU from training on the same machine: "
    "a watched DCGAN job trained about 2% slower with every 10 s, 7% with every 3 s (bench/monitor_overhead.py). "
    "The status line above stays live either way.",
)


# The browser redrawing plotly charts is most of what a watched job loses (bench/monitor_overhead.py).
# A job that has not logged its first metrics and sample yet is looked at every 3 s whatever the
# setting: nobody should stare at an empty monitor for 30 s.
waiting_for_data = active and not run_view.has_data(run_id, store)
live_every = 3 if waiting_for_data else refresh


@st.fragment(run_every=live_every if active and live_every else None)
@common.tolerate_busy
def live() -> None:
    current = store.run(run_id)
    if current is None:
        st.warning("This run was deleted.")
        return
    if waiting_for_data and run_view.has_data(run_id, store):
        st.rerun()  # the first data is in: redraw with the chosen refresh
    run_view.findings(run_id, store, run["config"])
    charts, samples = st.columns([3, 2])
    with charts:
        run_view.metric_charts(run_id, store, smoothing, "step" if x_axis == "step" else "time")
    with samples:
        if folder_gone:
            st.caption("No samples: they were in the deleted folder.")
        elif run["config"].get("image_size") == 0:
            toy_view.view(run_id, store)
        else:
            run_view.sample_timeline(run_id, store)
        st.markdown("**Events**")
        run_view.event_log(run_id, store)


# step-by-step mode is for runs of one process (each step would wait for every rank)
one_process = run["config"].get("processes", 1) * run["config"].get("nodes", 1) == 1
if run["status"] in ACTIVE and one_process:
    paused = bool(run["phase"].get("paused"))

    # Quick while someone steps through Algorithm 1; still otherwise (status_line notices a pause).
    @st.fragment(run_every=1 if paused else None)
    @common.tolerate_busy
    def step_by_step() -> None:
        current = store.run(run_id)
        if current is not None and current["status"] in ACTIVE:
            if bool(current["phase"].get("paused")) != paused:
                st.rerun()  # paused or resumed: redraw the page with the matching refresh rate
            with st.expander("Step by step (Algorithm 1)", expanded=bool(current["phase"].get("paused"))):
                run_view.stepper(current, store)

    step_by_step()
live()
with st.expander("Name, tags, downloads and checkpoints"):
    run_view.housekeeping(run, store, folder_gone)
with st.expander("Config"):
    st.json(run["config"])
