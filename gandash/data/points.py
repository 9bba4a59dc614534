"""Reading the user's own 2D points (points:FILE) from an .npy or .csv.

The file may come from the browser, so it is hostile until proven otherwise: messages give row and
column numbers, never the file's contents, and an .npy's header is checked before its array is
allocated (no pickles, no huge or lying shapes)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from gandash.core.errors import GandashError

MAX_POINTS = 10_000_000  # 80 MB as float32; far more than a 2D toy needs


def read_points_file(path: Path) -> np.ndarray:
    """float32 (N, 2), finite, from an .npy or a .csv (.txt is read as CSV)."""
    suffix = path.suffix.lower()
    if suffix not in (".npy", ".csv", ".txt"):
        raise GandashError(f"{path.name}: points must be a .npy or .csv file.")
    try:
        points = _read_npy_points(path) if suffix == ".npy" else _read_csv_points(path)
    except OSError as exc:
        raise GandashError(f"{path.name} could not be read ({exc.strerror or type(exc).__name__}).") from None
    _check_points_shape(path, points.shape)
    with np.errstate(over="ignore", invalid="ignore"):  # values beyond float32 become inf, refused below
        points = points.astype(np.float32)
    finite = np.isfinite(points)
    if not finite.all():
        row, column = np.argwhere(~finite)[0] + 1
        raise GandashError(
            f"{path.name}: point {row}, column {column} is NaN, infinite or beyond float32's range "
            "(±3.4e38); fix or drop that point."
        )
    return points


def _check_points_shape(path: Path, shape: tuple) -> None:
    if len(shape) != 2 or shape[1] != 2:
        # a hostile header's shape can be anything; only a modest one is worth showing
        shown = f" (its shape is {shape})" if len(shape) <= 4 and all(0 <= d < 10**9 for d in shape) else ""
        raise GandashError(
            f"{path.name} is not an array of 2D points{shown}; points must be (N, 2): "
            "one row per point, two columns x and y."
        )
    if shape[0] < 10:
        raise GandashError(f"{path.name} has {max(shape[0], 0)} points; give at least 10.")
    if shape[0] > MAX_POINTS:
        raise GandashError(f"{path.name} has more than {MAX_POINTS:,} points; give fewer (a sample is plenty).")


_NOT_NUMBERS = {
    "V": "records (a structured array)",
    "O": "Python objects",
    "U": "text",
    "S": "bytes",
    "b": "true/false values",
    "c": "complex numbers",
    "M": "dates",
    "m": "time spans",
}


def _read_npy_points(path: Path) -> np.ndarray:
    """The array of an .npy file, after its header has shown a numeric (N, 2) the file really holds."""
    unreadable = GandashError(
        f"{path.name} could not be read as 2D points: it is not an .npy file numpy can "
        "read. Save it with numpy.save(file, points) from an (N, 2) float array."
    )
    with open(path, "rb") as handle:
        try:
            version = np.lib.format.read_magic(handle)
            if version not in ((1, 0), (2, 0)):  # numpy writes 3.0 only for non-Latin field names
                raise unreadable
            read_header = (
                np.lib.format.read_array_header_1_0 if version == (1, 0) else np.lib.format.read_array_header_2_0
            )
            shape, _, dtype = read_header(handle)
        except (ValueError, TypeError, SyntaxError, EOFError):  # numpy's messages quote the header: not shown
            raise unreadable from None
        if dtype.kind not in "iuf":  # objects would mean unpickling; the rest are not coordinates
            what = _NOT_NUMBERS.get(dtype.kind, "values that are not plain numbers")
            raise GandashError(
                f"{path.name} holds {what}; points must be an (N, 2) array of numbers "
                "(numpy.save(file, points.astype('float32')))."
            )
        _check_points_shape(path, shape)
        needed, available = shape[0] * 2 * dtype.itemsize, path.stat().st_size - handle.tell()
    if available < needed:
        raise GandashError(
            f"{path.name} is truncated: its header promises {shape[0]:,} points ({needed:,} bytes) "
            f"but {available:,} bytes follow it. Save it again."
        )
    try:
        return np.load(path, allow_pickle=False)
    except (ValueError, EOFError):
        raise unreadable from None


def _read_csv_points(path: Path) -> np.ndarray:
    """A CSV of two numeric columns; a header row is skipped if it is not numeric."""
    with open(path, encoding="utf-8", errors="replace") as handle:
        first = handle.readline(10_000)
    try:
        [float(v) for v in first.replace(";", ",").split(",")]
        skip = 0
    except ValueError:
        skip = 1
    try:
        # one row more than allowed, so that too many is seen without reading them all
        return np.loadtxt(path, delimiter=",", skiprows=skip, ndmin=2, max_rows=MAX_POINTS + 1)
    except ValueError:
        raise GandashError(
            f"{path.name} could not be read as 2D points: {_first_bad_cell(path, skip)}. Give two "
            "numeric columns (x, y); one header row is allowed."
        ) from None


def _first_bad_cell(path: Path, skip: int) -> str:
    """Where a CSV stops being two columns of numbers, by line and column (numpy's own message quotes
    the offending text and counts rows its own way)."""
    with open(path, encoding="utf-8", errors="replace") as handle:
        for number, line in enumerate(handle, 1):
            text = line.split("#")[0]  # '#' starts a comment, as for numpy.loadtxt
            if number <= skip or not text.strip():
                continue
            cells = text.split(",")
            if len(cells) != 2:
                return f"line {number} has {len(cells)} columns"
            for column, cell in enumerate(cells, 1):
                try:
                    float(cell)
                except ValueError:
                    return f"line {number}, column {column} is not a number"
    return "its contents are not plain-text numbers"
