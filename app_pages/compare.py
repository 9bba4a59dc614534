from pathlib import Path

import streamlit as st

from gandash.core import images
from gandash.core.errors import GandashError
from gandash.ui import charts, common, run_view

st.title("Compare runs")
store = common.store()
runs = store.runs()
if len(runs) < 2:
    st.info("Comparing needs at least two runs. Train another one on the Train page.")
    st.stop()

labels = {run["id"]: f"{run['name'] or run['id']} ({run['variant']}, {run['status']})" for run in runs}
chosen = st.multiselect(
    "Runs (2 to 6)",
    list(labels),
    format_func=labels.get,
    max_selections=6,
    **common.keep("compare-runs", [run["id"] for run in runs[:2]], allowed=labels),
)
left, middle, _ = st.columns([2, 2, 4])
x_axis = left.radio("x axis", ["step", "wall time"], horizontal=True, **common.keep("x-axis", "step"))
smoothing = middle.slider("Smoothing", 0.0, 0.99, step=0.01, **common.keep("smoothing", 0.6))
log_every = {run["id"]: run["config"].get("log_every") for run in runs}
shared = {log_every[run_id] for run_id in chosen}
middle.caption(common.smoothing_window(smoothing, shared.pop() if len(shared) == 1 else None))
if len(chosen) < 2:
    st.warning("Pick at least two runs.")
    st.stop()

histories = [(run_id, run_view.history(run_id, store)) for run_id in chosen]
columns = st.columns(2)
for index, name in enumerate(("loss_d", "loss_g", "d_x", "d_g_z1", "grad_norm_g", "images_per_sec")):
    figure = charts.metric_figure(
        histories,
        (name,),
        charts.LABELS[name],
        smoothing,
        "step" if x_axis == "step" else "time",
        log_y=name.startswith("grad"),
    )
    columns[index % 2].plotly_chart(figure, key=f"compare-{name}", config={"displaylogo": False})

st.subheader("Latest samples")
grid = st.columns(len(chosen))
for column, run_id in zip(grid, chosen):
    samples = store.samples(run_id)
    with column:
        st.caption(labels[run_id])
        if not samples:
            st.info("no samples yet")
            continue
        step, path = samples[-1]
        try:
            picture = images.open_image(Path(path).read_bytes(), name=f"step {step}")
            column.image(picture, caption=f"step {step}", width="stretch")
        except (OSError, GandashError) as exc:
            st.warning(f"cannot show the sample: {exc}")
