import streamlit as st

from gandash import jobs, variants
from gandash.errors import GandashError
from gandash.store import ACTIVE, RESUMABLE
from gandash.ui import common, run_view, toy_view

st.title("Runs")
store = common.store()
runs = store.runs()
if not runs:
    st.info("No runs yet. Start one on the Train page, or train a toy GAN in one click from Home.")
    st.page_link("app_pages/train.py", label="Go to Train", icon="▶️")
    st.stop()

# --- the table, with filters --------------------------------------------------------------------
left, middle, right = st.columns([2, 2, 3])
statuses = left.multiselect("Status", list(common.STATUS_ICONS), **common.keep("filter-status", []))
kinds = middle.multiselect("Variant", list(variants.REGISTRY), **common.keep("filter-variant", []))
text = right.text_input("Search", placeholder="name, id or dataset", **common.keep("filter-text", ""))
shown = [r for r in runs if (not statuses or r["status"] in statuses) and (not kinds or r["variant"] in kinds)
         and (not text or any(text.lower() in str(r[k]).lower() for k in ("id", "name", "dataset")))]


def _rate(run: dict) -> float | None:
    rows = store.metrics(run["id"], after_step=max(-1, run["step"] - 50), names=("images_per_sec",))
    return round(rows[-1][2]) if rows else None


table = [{"status": f"{common.STATUS_ICONS.get(r['status'], '')} {r['status']}", "name": r["name"] or "",
          "variant": r["variant"], "dataset": r["dataset"],
          "step": f"{r['step']}" + (f"/{r['total_steps']}" if r["total_steps"] else ""),
          "images/s": _rate(r), "started": common.age(r["started"] or r["created"]),
          "duration": common.duration(r["started"], r["ended"]), "id": r["id"]} for r in shown]
selection = st.dataframe(table, hide_index=True, on_select="rerun", selection_mode="single-row", key="runs-table",
                         height=min(38 + 35 * len(table), 300))
picked = selection.selection.rows if selection else []
if picked:
    common.select_run(shown[picked[0]]["id"])
run_id = common.selected_run()
if run_id not in {r["id"] for r in runs}:
    run_id = shown[0]["id"] if shown else runs[0]["id"]
    common.select_run(run_id)
run = next(r for r in runs if r["id"] == run_id)

# --- the selected run ---------------------------------------------------------------------------
st.divider()
st.subheader(f"{common.STATUS_ICONS.get(run['status'], '')} {run['name'] or run['id']}")
status_line = st.empty()  # filled by the live fragment below, so the step count moves while training

buttons = st.columns(5)
try:
    if buttons[0].button("Stop", icon=":material/stop:", disabled=run["status"] not in ACTIVE + ("queued",)):
        jobs.stop(run_id, store, wait=False)
        # a stop takes a step and a checkpoint: show it happen rather than a page that still says running
        with st.spinner("Stopping: the worker finishes its step and writes a checkpoint…"):
            jobs.wait_until_ended(run_id, store, timeout=20)
        st.rerun()
    if buttons[1].button("Resume", icon=":material/play_arrow:", disabled=run["status"] not in RESUMABLE
                         or run["status"] == "completed"):
        jobs.resume(run_id, store)
        st.rerun()
    if buttons[2].button("Duplicate with changes", icon=":material/content_copy:"):
        st.session_state["prefill"] = dict(run["config"])
        st.switch_page("app_pages/train.py")
    with buttons[3].popover("Delete", icon=":material/delete:", disabled=run["status"] in ACTIVE):
        st.write(f"Delete **{run['id']}** with its checkpoints and samples? This cannot be undone.")
        if st.button("Yes, delete it", type="primary", key=f"delete-{run_id}"):
            jobs.delete(run_id, store)
            common.select_run(None)
            st.rerun()
except GandashError as exc:
    st.error(str(exc))

active = run["status"] in ACTIVE + ("queued",)
settings = st.columns([3, 2, 5])
smoothing = settings[0].slider("Smoothing", 0.0, 0.99, step=0.01, **common.keep("smoothing", 0.6),
                               help="Debiased exponential moving average; the raw values stay faint behind.")
x_axis = settings[1].radio("x axis", ["step", "wall time"], horizontal=True, **common.keep("x-axis", "step"))


def status_header(current: dict) -> None:
    total = current["total_steps"]
    st.caption(f"{current['variant']} on {current['dataset']} · {current['status']} · step {current['step']}"
               + (f" of {total}" if total else "") + f" · {current['device']} · id `{current['id']}`")
    if current["status"] in ACTIVE and total:
        st.progress(min(current["step"] / total, 1.0))
    if current["message"] and current["status"] in ("crashed", "failed", "diverged"):
        st.error(current["message"])
    elif current["message"]:
        st.caption(current["message"])


# Live parts refresh every 3 s: with every 2 s (and the stepper every 1 s) a watched DCGAN job ran
# ~5% slower on a 2-core machine, the browser redrawing charts being most of the cost.
@st.fragment(run_every=3 if active else None)
def live() -> None:
    current = store.run(run_id)
    if current is None:
        st.warning("This run was deleted.")
        return
    with status_line.container():
        status_header(current)
    run_view.findings(run_id, store, run["config"])
    charts, samples = st.columns([3, 2])
    with charts:
        run_view.metric_charts(run_id, store, smoothing, "step" if x_axis == "step" else "time")
    with samples:
        if run["config"].get("image_size") == 0:
            toy_view.view(run_id, store)
        else:
            run_view.sample_timeline(run_id, store)
        st.markdown("**Events**")
        run_view.event_log(run_id, store)
    if active and current["status"] not in ACTIVE + ("queued",):
        st.rerun()  # the run ended: redraw the whole page (buttons, status)


if run["status"] in ACTIVE:
    paused = bool(run["phase"].get("paused"))

    @st.fragment(run_every=1 if paused else 3)  # quick while someone steps through Algorithm 1
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
    run_view.housekeeping(run, store)
with st.expander("Config"):
    st.json(run["config"])
