"""What a user can take away from a run: metrics as CSV, the sample timeline as a GIF."""

from __future__ import annotations

import csv
import io
from pathlib import Path

from PIL import Image

from gandash.core.errors import GandashError
from gandash.runs.store import Store


def metrics_csv(store: Store, run_id: str) -> bytes:
    """One row per step, one column per metric (wide, the shape spreadsheets and pandas expect)."""
    rows: dict[int, dict] = {}
    names: list[str] = []
    for step, name, value, time in store.metrics(run_id):
        row = rows.setdefault(step, {"step": step, "time": time})
        row[name] = value
        if name not in names:
            names.append(name)
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=["step", "time", *names])
    writer.writeheader()
    writer.writerows(rows[step] for step in sorted(rows))
    return buffer.getvalue().encode()


def timeline_gif(paths: list[Path], seconds_per_frame: float = 0.4, max_frames: int = 100) -> bytes:
    """The sample grids as an animated GIF; unreadable frames are skipped, at most `max_frames` kept."""
    if len(paths) > max_frames:  # keep the first and last, evenly in between
        step = (len(paths) - 1) / (max_frames - 1)
        paths = [paths[round(i * step)] for i in range(max_frames)]
    frames = []
    for path in paths:
        try:
            with Image.open(path) as image:
                frames.append(image.convert("RGB").quantize(colors=255))
        except OSError:
            continue
    if not frames:
        raise GandashError("this run has no readable sample images yet.")
    buffer = io.BytesIO()
    frames[0].save(
        buffer, format="GIF", save_all=True, append_images=frames[1:], duration=int(seconds_per_frame * 1000), loop=0
    )
    return buffer.getvalue()
