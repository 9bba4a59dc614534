"""The live parts of a run's monitor: charts, the sample timeline and the event log."""

from __future__ import annotations

from pathlib import Path

import streamlit as st

from gandash import images
from gandash.errors import GandashError
from gandash.history import MetricHistory
from gandash.store import Store
from gandash.ui import charts

CHARTS = (("Losses", ("loss_d", "loss_g"), False), ("Discriminator outputs", ("d_x", "d_g_z1", "d_g_z2"), False),
          ("Gradient norms", ("grad_norm_d", "grad_norm_g"), True), ("Throughput", ("images_per_sec",), False))


def history(run_id: str, store: Store) -> MetricHistory:
    """This session's copy of the run's metrics, topped up with only the new rows."""
    cache = st.session_state.setdefault("histories", {})
    if run_id not in cache:
        cache[run_id] = MetricHistory(run_id)
    cache[run_id].update(store)
    return cache[run_id]


def metric_charts(run_id: str, store: Store, smoothing: float, x_axis: str) -> None:
    data = history(run_id, store)
    if not data.columns:
        st.info("No metrics yet: the first rows appear a few seconds after the worker starts.")
        return
    columns = st.columns(2)
    for index, (title, names, log_y) in enumerate(CHARTS):
        figure = charts.metric_figure([(run_id, data)], names, title, smoothing, x_axis, log_y=log_y)
        columns[index % 2].plotly_chart(figure, key=f"chart-{run_id}-{title}", config={"displaylogo": False})


def sample_timeline(run_id: str, store: Store, live: bool) -> None:
    samples = store.samples(run_id)
    if not samples:
        st.info("No samples yet: a grid from the same fixed noise is saved every few hundred steps.")
        return
    steps = [step for step, _ in samples]
    key = f"sample-step-{run_id}"
    if live or st.session_state.get(key) not in steps:
        st.session_state[key] = steps[-1]  # follow the newest grid while training
    step = st.select_slider("Sample step", options=steps, key=key,
                            help="The same noise every time, so you see how the generator changes.") \
        if len(steps) > 1 else steps[0]
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

    text = "\n".join(f"{time.strftime('%H:%M:%S', time.localtime(e['time']))}  {e['level']:<7} {e['text']}"
                     for e in events)
    st.code(text, language=None)
