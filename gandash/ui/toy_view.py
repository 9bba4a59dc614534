"""GAN Lab-style view of a 2D run: the discriminator's decision surface as a heatmap, real points,
generated points, the generator's image of a regular z-grid (the "manifold" mesh) and lines showing
where the generator moved the same noise since the last snapshot."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import plotly.graph_objects as go
import streamlit as st

from gandash.runs.store import Store
from gandash.ui import common

ARROWS = 120  # enough to see the flow without hiding the points


@st.cache_data(show_spinner=False, max_entries=64)
def _load(path: str, mtime: float) -> dict | None:
    """Keyed on the file's mtime as well: a D step while paused rewrites the same step's snapshot."""
    try:
        with np.load(path, allow_pickle=False) as loaded:
            return {key: loaded[key] for key in loaded.files}
    except (OSError, ValueError):
        return None


def _snapshot(path: str) -> dict | None:
    try:
        mtime = Path(path).stat().st_mtime
    except OSError:
        return None
    return _load(path, mtime)


def snapshots(run_id: str, store: Store) -> list[tuple[int, str]]:
    return [
        (step, str(Path(path).with_suffix(".npz")))
        for step, path in store.samples(run_id)
        if Path(path).with_suffix(".npz").is_file()
    ]


def mesh_lines(grid: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """x and y of every row and column of a (lines, lines, 2) grid, or of each grid of a mixture's
    (generators, lines, lines, 2), as one trace broken by NaNs."""
    if grid.ndim == 4:
        meshes = [mesh_lines(one) for one in grid]
        return np.concatenate([x for x, _ in meshes]), np.concatenate([y for _, y in meshes])
    gap = np.full((1, 2), np.nan)
    pieces = [np.vstack([line, gap]) for line in grid] + [np.vstack([line, gap]) for line in grid.transpose(1, 0, 2)]
    joined = np.vstack(pieces)
    return joined[:, 0], joined[:, 1]


def figure(current: dict, previous: dict | None, step: int) -> go.Figure:
    extent = float(current["extent"])
    surface = current["surface"]
    axis = np.linspace(-extent, extent, surface.shape[0])
    fig = go.Figure()
    fig.add_trace(
        go.Heatmap(
            x=axis,
            y=axis,
            z=surface,
            zmin=0,
            zmax=1,
            colorscale="RdBu",
            opacity=0.45,
            colorbar=dict(title="D(x)", thickness=12),
            hovertemplate="D=%{z:.2f}<extra></extra>",
        )
    )
    if "manifold" in current and current["manifold"].ndim in (3, 4):
        xs, ys = mesh_lines(current["manifold"])
        fig.add_trace(
            go.Scatter(
                x=xs,
                y=ys,
                mode="lines",
                name="G(z-grid)",
                hoverinfo="skip",
                line=dict(color="#616161", width=1),
                opacity=0.55,
            )
        )
    real, fake = current["real"], current["points"]
    # the real points are big green rings drawn first, so the smaller generated dots on top never hide them
    fig.add_trace(
        go.Scattergl(
            x=real[:, 0],
            y=real[:, 1],
            mode="markers",
            name="real",
            marker=dict(size=8, color="rgba(46,125,50,0.25)", line=dict(color="#1b5e20", width=1.5)),
        )
    )
    fig.add_trace(
        go.Scattergl(
            x=fake[:, 0],
            y=fake[:, 1],
            mode="markers",
            name="generated",
            marker=dict(size=4, color="#6a1b9a", opacity=0.85),
        )
    )
    if previous is not None and len(previous["points"]) == len(fake):
        start = previous["points"][:ARROWS]
        xs = np.column_stack([start[:, 0], fake[:ARROWS, 0], np.full(len(start), np.nan)]).ravel()
        ys = np.column_stack([start[:, 1], fake[:ARROWS, 1], np.full(len(start), np.nan)]).ravel()
        fig.add_trace(
            go.Scatter(
                x=xs,
                y=ys,
                mode="lines",
                name="generator moved",
                line=dict(color="#212121", width=1),
                opacity=0.6,
                hoverinfo="skip",
            )
        )
    fig.update_layout(
        height=520,
        title=f"step {step}",
        uirevision="toy",
        margin=dict(l=10, r=10, t=40, b=10),
        legend=dict(orientation="h", yanchor="bottom", y=1.0, x=0.2),
        xaxis=dict(range=[-extent, extent], constrain="domain"),
        yaxis=dict(range=[-extent, extent], scaleanchor="x"),
    )
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
    st.caption(
        "Background: the discriminator's belief that a point is real (blue = real, red = fake). "
        "Green rings: real data. Purple dots: the generator's samples from fixed noise; the black lines "
        "show where each moved since the previous snapshot — it follows the gradient of D toward the blue "
        "regions. Grey mesh: a regular grid of noise z as the generator maps it, stretched and folded "
        "onto the data (for a mixture, one small mesh per generator over its own noise)."
    )
