"""A `folder:` dataset as a uint8 array on disk, built once and read through a memory map.

Every `folder:` dataset goes through here, whatever its size. One code path, tested by every folder
test. A folder bigger than memory trains like a small one. The second run on a folder skips
decoding and resizing every image, which takes minutes for 200 000 JPEGs. A small set stays in the
OS page cache and reads about as fast as an array in memory (bench/cache_throughput.py measures
both). The cost is disk space: N x C x S x S bytes under GANDASH_HOME for each (folder, size, channels).

GANDASH_HOME/cache/folders/NAME-HASH/ (HASH from the resolved folder, the size and the channels; the
cache is not put beside the photos because their folder may be read-only) holds:
- images.npy: uint8 (rows, C, S, S), written one image at a time through numpy's open_memmap, so the
  whole set is never in memory. Rows past manifest["rows"] are unused (unreadable files left them);
- labels.npy: int64 (rows,), only when the folder has class sub-folders;
- manifest.json: every image file's relative path, size and mtime, the classes, the unreadable files,
  the size, the channels and the row count.
The manifest is written last and is the commit. A rebuild deletes it first. A crash mid-build then
leaves no manifest, or only `.tmp` files, and the next load builds again. The cache is rebuilt when the
folder's listing (paths, sizes, mtimes) or its classes differ from the manifest's. A lock (flock) on
the cache folder makes processes that load at once (the ranks of one run) build once: the others wait,
then read. Every rank maps the same file, so the page cache holds one copy for all of them.

Loading maps images.npy read-only (mmap_mode="r", a shared mapping) and hands it to torch.from_numpy
without a copy. Dataset.batch reads only the rows it is given. A stray in-place write faults (SIGSEGV)
instead of changing the cache; nothing in gandash writes into a dataset's images. Copy-on-write
(mmap_mode="c") would make the array writable, but Linux counts a private writable mapping against
its commit limit. With the default overcommit heuristic, mapping a file bigger than RAM plus swap
that way fails with ENOMEM, and that is the very case this module is for.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import hashlib
import io
import json
import os
import re
import shutil
import sys
import tempfile
import warnings
from pathlib import Path

import numpy as np
import torch

from gandash.core import paths
from gandash.core.errors import GandashError
from gandash.data.readers import folder_classes, folder_label, image_files, too_few_images

VERSION = 1  # bump when the layout or the resizing changes: older caches are then rebuilt
MARGIN = 64 * 1024**2  # free space kept beyond the cache itself, for the labels, the manifest and the rest


def cache_dir(folder: Path, size: int, channels: int) -> Path:
    """The cache folder for this (folder, size, channels). The folder's name leads, so a person can tell the
    caches apart."""
    resolved = str(Path(folder).resolve())
    digest = hashlib.sha256(f"{resolved}\0{size}\0{channels}".encode()).hexdigest()[:16]
    name = re.sub(r"[^A-Za-z0-9_.-]", "_", Path(resolved).name)[:40] or "root"
    return paths.home() / "cache" / "folders" / f"{name}-{digest}"


def load_folder(folder: Path, size: int, channels: int) -> tuple[torch.Tensor, torch.Tensor | None, list[str]]:
    """(images, labels, unreadable) of an image folder. images is uint8 (N, channels, size, size) backed
    by the cache file, labels is int64 (N,) or None, and unreadable lists the files that were skipped.
    The cache is built first if it is missing or out of date."""
    folder = Path(folder)
    listing = _listing(folder, size, channels)
    if not listing["files"]:
        raise too_few_images(folder, 0, [])
    where = cache_dir(folder, size, channels)
    try:
        where.mkdir(parents=True, exist_ok=True)
        lock = os.open(where / ".lock", os.O_RDWR | os.O_CREAT, 0o666)
    except OSError as exc:
        raise paths.storage_error(where / ".lock", exc) from None
    try:
        fcntl.flock(lock, fcntl.LOCK_EX)  # released when closed; a crashed holder's lock goes with it
        manifest = _valid_manifest(where, listing)
        if manifest is None:
            manifest = _build(folder, where, listing)
        # The map holds its own reference to the file: a later rebuild replaces the name, not these pages.
        array = np.load(where / "images.npy", mmap_mode="r")
        labels = np.load(where / "labels.npy") if manifest["classes"] else None
    finally:
        os.close(lock)
    rows = manifest["rows"]
    images = _read_only_tensor(array[:rows] if rows < len(array) else array)
    return images, (None if labels is None else torch.from_numpy(labels)), manifest["unreadable"]


def _read_only_tensor(array: np.ndarray) -> torch.Tensor:
    """The array as a tensor over the same memory. torch has no read-only tensors and warns that writing
    to this one is undefined; here the pages are mapped read-only, so a write faults at once."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="The given NumPy array is not writable", category=UserWarning)
        return torch.from_numpy(array)


def _listing(folder: Path, size: int, channels: int) -> dict:
    """What a cache must have been built from to be current: the image files (relative path, bytes, mtime
    in ns) and the classes, at this size and channels. Lists rather than tuples, so that it compares equal
    to its JSON."""
    files = []
    for path in image_files(folder):
        stat = path.stat()  # taken before the file is read: a change during a build is seen at the next load
        files.append([path.relative_to(folder).as_posix(), stat.st_size, stat.st_mtime_ns])
    return {
        "version": VERSION,
        "folder": str(folder.resolve()),
        "size": size,
        "channels": channels,
        "classes": list(folder_classes(folder)),
        "files": files,
    }


def _valid_manifest(where: Path, listing: dict) -> dict | None:
    """The manifest when the cache is whole and built from this listing, else None."""
    try:
        manifest = json.loads((where / "manifest.json").read_text())
        images_bytes = (where / "images.npy").stat().st_size
    except (OSError, ValueError):
        return None
    if any(manifest.get(key) != value for key, value in listing.items()):
        return None
    if images_bytes != manifest.get("images_bytes"):  # truncated or replaced by hand
        return None
    if manifest["classes"] and not (where / "labels.npy").is_file():
        return None
    return manifest


def _build(folder: Path, where: Path, listing: dict) -> dict:
    """Decode every image into images.npy, one at a time, then write the labels and, last, the manifest."""
    from tqdm import tqdm

    from gandash.core import images as image_io  # PIL is only needed for folders

    _clear(where)  # stale: its space counts as free, and no manifest is left to vouch for half a build
    size, channels, files = listing["size"], listing["channels"], listing["files"]
    shape = (len(files), channels, size, size)
    _check_space(where, int(np.prod(shape)), len(files))
    classes = tuple(listing["classes"])
    fd, tmp = tempfile.mkstemp(prefix=".images.", suffix=".npy.tmp", dir=where)
    os.close(fd)
    labels, unreadable, rows = [], [], 0
    try:
        array = np.lib.format.open_memmap(tmp, mode="w+", dtype=np.uint8, shape=shape)
        _reserve(tmp)
        progress = tqdm(files, desc=f"caching {folder.name} at {size}px", unit="img", file=sys.stderr, mininterval=1)
        with progress:
            for relative, _, _ in progress:
                try:
                    array[rows] = image_io.load_square(folder / relative, size, channels)
                except GandashError:
                    unreadable.append(relative)
                    continue
                if classes:
                    labels.append(folder_label(folder / relative, folder, classes))
                rows += 1
        array.flush()  # msync: the rows are on disk before the manifest says they are
        del array
        if rows < 2:
            raise too_few_images(folder, rows, unreadable)
        if unreadable:
            print(f"skipped {len(unreadable)} unreadable image(s): {', '.join(unreadable[:10])}", file=sys.stderr)
        os.replace(tmp, where / "images.npy")
    except BaseException as exc:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        if isinstance(exc, OSError) and not isinstance(exc, GandashError):
            raise paths.storage_error(where / "images.npy", exc) from None
        raise
    if classes:
        paths.atomic_write_bytes(where / "labels.npy", _npy_bytes(np.asarray(labels, dtype=np.int64)))
    manifest = {
        **listing,
        "rows": rows,
        "unreadable": unreadable,
        "images_bytes": (where / "images.npy").stat().st_size,
    }
    paths.atomic_write_bytes(where / "manifest.json", json.dumps(manifest).encode())
    return manifest


def _clear(where: Path) -> None:
    """Remove an old or half-built cache, the manifest first. Callers hold the folder's lock, so the
    `.tmp` files left here belong to a build that died."""
    for name in ("manifest.json", "images.npy", "labels.npy"):
        with contextlib.suppress(FileNotFoundError):
            (where / name).unlink()
    for stale in where.glob(".*.tmp"):
        with contextlib.suppress(FileNotFoundError):
            stale.unlink()


def _check_space(where: Path, needed: int, count: int) -> None:
    free = shutil.disk_usage(where).free
    if free < needed + MARGIN:
        raise GandashError(
            f"caching {count} images needs {_size(needed + MARGIN)} on the disk of {where.parent} and only "
            f"{_size(free)} are free. Free some space, or set GANDASH_HOME to a folder on a larger disk, or train "
            "at a smaller image size."
        )


def _size(count: int) -> str:
    return f"{count / 1024**3:.1f} GB" if count >= 1024**3 else f"{count / 1024**2:.0f} MB"


def _reserve(path: str) -> None:
    """Allocate the file's blocks now. Writing a memory map over a hole when the disk fills kills the
    process with SIGBUS; fallocate refuses up front with an OSError instead (ENOSPC)."""
    if not hasattr(os, "posix_fallocate"):
        return  # macOS: the free-space check before the build is the only guard
    with open(path, "r+b") as handle:
        try:
            os.posix_fallocate(handle.fileno(), 0, os.fstat(handle.fileno()).st_size)
        except OSError as exc:
            if exc.errno not in (errno.EINVAL, errno.EOPNOTSUPP):  # a file system that cannot: as without
                raise


def _npy_bytes(array: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    np.save(buffer, array)
    return buffer.getvalue()
