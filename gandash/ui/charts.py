"""Plotly figures for metric histories: raw values faint, the smoothed line over them."""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go

from gandash.runs.history import MetricHistory, debiased_ema

MAX_POINTS = 1500  # per line: a chart is ~1000 px wide; SVG lines this short need no WebGL context
PALETTE = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b")
LABELS = {
    "loss_d": "loss D",
    "loss_g": "loss G",
    "d_x": "D(x)",
    "d_g_z1": "D(G(z)) before G step",
    "d_g_z2": "D(G(z)) after G step",
    "grad_norm_d": "‖∇D‖",
    "grad_norm_g": "‖∇G‖",
    "images_per_sec": "images/s",
}


def metric_figure(
    histories: list[tuple[str, MetricHistory]],
    names: tuple[str, ...],
    title: str,
    smoothing: float,
    x_axis: str = "step",
    log_y: bool = False,
    height: int = 280,
) -> go.Figure:
    """One line per (run, metric); `uirevision` keeps the user's zoom across live refreshes."""
    figure = go.Figure()
    colour = 0
    for label, history in histories:
        for name in names:
            steps, values, times = history.series(name)
            if not steps:
                continue
            # wall time is minutes since the run's first row, so runs started at different times overlay
            x = np.asarray(steps, dtype=float) if x_axis == "step" else (np.asarray(times) - times[0]) / 60
            y = np.asarray(values, dtype=float)
            smooth = np.asarray(debiased_ema(values, smoothing)) if smoothing > 0 else y
            keep = thin(len(x))  # smoothing sees every point; the browser gets at most MAX_POINTS
            tint = PALETTE[colour % len(PALETTE)]
            colour += 1
            legend = LABELS.get(name, name) + (f" · {label}" if len(histories) > 1 else "")
            if smoothing > 0:
                figure.add_trace(
                    go.Scatter(
                        x=x[keep],
                        y=y[keep],
                        mode="lines",
                        line=dict(color=tint, width=1),
                        opacity=0.25,
                        showlegend=False,
                        hoverinfo="skip",
                    )
                )
            figure.add_trace(
                go.Scatter(
                    x=x[keep],
                    y=smooth[keep],
                    mode="lines+markers" if len(x) < 30 else "lines",
                    name=legend,
                    line=dict(color=tint, width=2),
                    marker=dict(size=5),
                )
            )
    figure.update_layout(
        title=dict(text=title, font=dict(size=14)),
        height=height,
        uirevision=title,
        margin=dict(l=10, r=10, t=36, b=10),
        legend=dict(orientation="h", yanchor="top", y=-0.12, x=0),
        xaxis=dict(title=None if x_axis == "step" else "minutes", ticksuffix=""),
    )
    if log_y:
        figure.update_yaxes(type="log")
    return figure


def thin(count: int, limit: int = MAX_POINTS) -> np.ndarray:
    """Indices of at most `limit` evenly spaced points, always keeping the first and the newest."""
    if count <= limit:
        return np.arange(count)
    return np.unique(np.linspace(0, count - 1, limit).round().astype(int))
