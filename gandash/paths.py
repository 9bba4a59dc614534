"""The one place that owns gandash's folder on disk (GANDASH_HOME, default ~/.gandash)."""

from __future__ import annotations

import os
import re
from pathlib import Path

from gandash.errors import GandashError

_RUN_ID = re.compile(r"^[a-z0-9][a-z0-9-]{0,63}$")


def home() -> Path:
    root = Path(os.environ.get("GANDASH_HOME") or Path.home() / ".gandash").expanduser()
    root.mkdir(parents=True, exist_ok=True)
    return root


def runs_dir() -> Path:
    path = home() / "runs"
    path.mkdir(exist_ok=True)
    return path


def data_dir() -> Path:
    return home() / "data"


def db_path() -> Path:
    return home() / "gandash.sqlite"


def is_run_id(text: str) -> bool:
    return isinstance(text, str) and _RUN_ID.match(text) is not None


def run_dir(run_id: str) -> Path:
    """The folder of a run; the id is checked so no user string walks out of runs/."""
    if not is_run_id(run_id):
        raise GandashError(
            f"'{run_id}' is not a run id: ids are lowercase letters, digits and dashes "
            "(see `python -m gandash runs`)."
        )
    return runs_dir() / run_id


def atomic_write_bytes(path: Path, data: bytes) -> None:
    """Write to a temp file beside the target, fsync, then rename: readers and crashes
    see the old file or the new one, never half of one."""
    path = Path(path)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    with open(tmp, "wb") as handle:
        handle.write(data)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(tmp, path)
