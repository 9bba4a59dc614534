"""GAN Lab-style view of a 2D run: the discriminator's decision surface as a heatmap, real points,
generated points, and arrows showing where the generator moved the same noise since the last snapshot."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import plotly.graph_objects as go
import streamlit as st

from gandash.store import Store
from gandash.ui import common

ARROWS = 120  # enough to see the flow without hiding the points


@st.cache_data(show_spinner=False, max_entries=64)
def _snapshot(path: str) -> dict | None:
    try:
        with np.load(path, allow_pickle=False) as loaded:
            return {key: loaded[key] for key in loaded.files}
    except (OSError, ValueError):
        return None


def snapshots(run_id: str, store: Store) -> list[tuple[int, str]]:
    return [(step, str(Path(path).with_suffix(".npz"))) for step, path in store.samples(run_id)
            if Path(path).with_suffix(".npz").is_file()]


def figure(current: dict, previous: dict | None, step: int) -> go.Figure:
    extent = float(current["extent"])
    surface = current["surface"]
    axis = np.linspace(-extent, extent, surface.shape[0])
    fig = go.Figure()
    fig.add_trace(go.Heatmap(x=axis, y=axis, z=surface, zmin=0, zmax=1, colorscale="RdBu", opacity=0.55,
                             colorbar=dict(title="D(x)", thickness=12), hovertemplate="D=%{z:.2f}<extra></extra>"))
    real, fake = current["real"], current["points"]
    fig.add_trace(go.Scattergl(x=real[:, 0], y=real[:, 1], mode="markers", name="real",
                               marker=dict(size=4, color="#2e7d32", opacity=0.6)))
    fig.add_trace(go.Scattergl(x=fake[:, 0], y=fake[:, 1], mode="markers", name="generated",
                               marker=dict(size=4, color="#6a1b9a", opacity=0.8)))
    if previous is not None and len(previous["points"]) == len(fake):
        start = previous["points"][:ARROWS]
        xs = np.column_stack([start[:, 0], fake[:ARROWS, 0], np.full(len(start), np.nan)]).ravel()
        ys = np.column_stack([start[:, 1], fake[:ARROWS, 1], np.full(len(start), np.nan)]).ravel()
        fig.add_trace(go.Scatter(x=xs, y=ys, mode="lines", name="generator moved",
                                 line=dict(color="#212121", width=1), opacity=0.6, hoverinfo="skip"))
    fig.update_layout(height=520, title=f"step {step}", uirevision="toy", margin=dict(l=10, r=10, t=40, b=10),
                      legend=dict(orientation="h", yanchor="bottom", y=1.0, x=0.3),
                      xaxis=dict(range=[-extent, extent], constrain="domain"),
                      yaxis=dict(range=[-extent, extent], scaleanchor="x"))
    return fig


def view(run_id: str, store: Store) -> None:
    shots = snapshots(run_id, store)
    if not shots:
        st.info("No snapshots yet: the first one appears after the first sample interval.")
        return
    steps = [step for step, _ in shots]
    step = common.timeline("Timeline", steps, f"toy-step-{run_id}")
    index = steps.index(step)
    current = _snapshot(shots[index][1])
    previous = _snapshot(shots[index - 1][1]) if index > 0 else None
    if current is None or "surface" not in current:
        st.warning(f"The snapshot of step {step} cannot be read.")
        return
    st.plotly_chart(figure(current, previous, step), key=f"toy-{run_id}", config={"displaylogo": False})
    st.caption("Background: the discriminator's belief that a point is real (blue = real, red = fake). "
               "Green: real data. Purple: the generator's samples from fixed noise; the lines show where each "
               "moved since the previous snapshot — it follows the gradient of D toward the blue regions.")
