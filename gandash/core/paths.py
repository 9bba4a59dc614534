"""The one place that owns gandash's folder on disk (GANDASH_HOME, default ~/.gandash)."""

from __future__ import annotations

import contextlib
import errno
import os
import re
import shutil
import tempfile
from pathlib import Path

from gandash.core.errors import GandashError, StorageError

PACKAGE = Path(__file__).resolve().parents[1]  # gandash/
WEIGHTS = PACKAGE / "weights"  # bundled weights (and the Gallery's pictures of them), shipped with the code
PROJECT_ROOT = PACKAGE.parent
_RUN_ID = re.compile(r"^[a-z0-9][a-z0-9-]{0,63}$")
# Set by runs.jobs on the process it launches. In a data-parallel run, the ranks started from that
# launcher are the ones on the machine with the run store, so one of them writes (engine.parallel).
WRITER_ENV = "GANDASH_WRITER"


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
            f"'{run_id}' is not a run id: ids are lowercase letters, digits and dashes (see `python -m gandash runs`)."
        )
    return runs_dir() / run_id


def atomic_write_bytes(path: Path, data: bytes) -> None:
    """Write to a temp file beside the target, fsync, rename, fsync the folder: readers and crashes see
    the old file or the new one, never half of one, and the rename itself survives a power cut. Each call
    has its own temp name (threads writing one file at once each rename a whole file), and the temp
    file is removed on any failure. A failed write raises StorageError naming the file and the free space."""
    path = Path(path)
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    except OSError as exc:
        raise storage_error(path, exc) from None
    try:
        os.fchmod(fd, 0o666 & ~_UMASK)  # mkstemp makes 0600; a written file gets the usual permissions
        with open(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException as exc:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        if isinstance(exc, OSError) and not isinstance(exc, GandashError):
            raise storage_error(path, exc) from None
        raise
    _fsync_folder(path.parent)


def storage_error(path: Path, exc: OSError) -> StorageError:
    """A write failure in words: which file, why, and how much room is left on its disk."""
    reason = exc.strerror or str(exc)
    if exc.errno == errno.EFBIG:
        reason = "File too large: the process's file-size limit (ulimit -f) was reached"
    try:
        free = f"; {_size(shutil.disk_usage(path.parent).free)} free on that disk"
    except OSError:
        free = ""
    return StorageError(
        f"could not write {path.name} in {path.parent} ({reason}{free}). Free some space "
        "(or raise the limit) and try again; files written before are unchanged.",
        exc.errno,
    )


def _size(count: int) -> str:
    for unit, scale in (("GB", 1024**3), ("MB", 1024**2), ("kB", 1024)):
        if count >= scale:
            return f"{count / scale:.1f} {unit}"
    return f"{count} bytes"


def _fsync_folder(folder: Path) -> None:
    try:
        fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY)
    except OSError:
        return  # not every platform opens folders; the file itself is already synced
    try:
        os.fsync(fd)
    except OSError:
        pass  # some file systems refuse fsync on a folder; nothing more can be done there
    finally:
        os.close(fd)


def _read_umask() -> int:
    """Once, at import: reading it means setting it, which is not safe while other threads create files."""
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


_UMASK = _read_umask()
