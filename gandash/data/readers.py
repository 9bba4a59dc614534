"""Reading image files into uint8 arrays: IDX (MNIST, Fashion-MNIST), CIFAR-10's pickled batches
and folders of images. Every reader returns (images N x C x H x W, labels or None) and turns a bad
file into a GandashError that says what is wrong with it."""

from __future__ import annotations

import gzip
import pickle
from pathlib import Path

import numpy as np

from gandash.core.errors import GandashError
from gandash.data.files import idx_file

IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".webp", ".bmp", ".tif", ".tiff", ".gif"}


def read_idx(path: Path) -> np.ndarray:
    """Parse an IDX file (LeCun's format: magic, dims as big-endian int32, then uint8 data)."""
    opener = gzip.open if path.suffix == ".gz" else open
    try:
        with opener(path, "rb") as handle:
            raw = handle.read()
    except (OSError, EOFError) as exc:
        raise GandashError(f"{path} could not be read ({exc}); the file may be truncated — fetch it again.") from None
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0 or raw[2] != 0x08:
        raise GandashError(f"{path} is not an IDX file of unsigned bytes.")
    ndim = raw[3]
    dims = tuple(int.from_bytes(raw[4 + 4 * i : 8 + 4 * i], "big") for i in range(ndim))
    offset = 4 + 4 * ndim
    expected = int(np.prod(dims))
    if len(raw) - offset != expected:
        raise GandashError(
            f"{path} holds {len(raw) - offset} bytes of data but its header says {expected}; "
            "the file is truncated or corrupt."
        )
    return np.frombuffer(raw, dtype=np.uint8, offset=offset).reshape(dims)


def read_idx_pair(folder: Path) -> tuple[np.ndarray, np.ndarray]:
    """The training images and labels of an MNIST-style folder."""
    images = read_idx(idx_file(folder, "train-images-idx3-ubyte"))
    label_file = idx_file(folder, "train-labels-idx1-ubyte")
    if label_file is None:
        raise GandashError(f"{folder} has the training images but not train-labels-idx1-ubyte(.gz).")
    labels = read_idx(label_file)
    if len(labels) != len(images):
        raise GandashError(f"{folder}: {len(images)} images but {len(labels)} labels.")
    return images[:, None].copy(), labels.astype(np.int64)


class _ArraysOnly(pickle.Unpickler):
    """CIFAR's batches are pickles; allow only what numpy arrays need, so a planted file
    cannot run code."""

    ALLOWED = frozenset(
        {
            ("numpy.core.multiarray", "_reconstruct"),
            ("numpy._core.multiarray", "_reconstruct"),
            ("numpy", "ndarray"),
            ("numpy", "dtype"),
        }
    )

    def find_class(self, module, name):
        if (module, name) not in self.ALLOWED:
            raise pickle.UnpicklingError(f"refusing to load {module}.{name} from a dataset file")
        return super().find_class(module, name)


def read_cifar(folder: Path) -> tuple[np.ndarray, np.ndarray]:
    """The five training batches of cifar-10-batches-py."""
    images, labels = [], []
    for part in range(1, 6):
        path = folder / f"data_batch_{part}"
        try:
            with open(path, "rb") as handle:
                batch = _ArraysOnly(handle, encoding="bytes").load()
        except (OSError, pickle.UnpicklingError, EOFError) as exc:
            raise GandashError(f"{path} could not be read as a CIFAR-10 batch ({exc}).") from None
        images.append(np.asarray(batch[b"data"], dtype=np.uint8).reshape(-1, 3, 32, 32))
        labels.append(np.asarray(batch[b"labels"], dtype=np.int64))
    return np.concatenate(images), np.concatenate(labels)


def folder_classes(folder: Path) -> tuple[str, ...]:
    """The class names of an image folder: its sub-folders, when there are at least two."""
    subfolders = sorted(p.name for p in folder.iterdir() if p.is_dir() and not p.name.startswith("."))
    return tuple(subfolders) if len(subfolders) >= 2 else ()


def image_files(folder: Path) -> list[Path]:
    """The image files under `folder`, at any depth, in the order their rows take (sorted paths)."""
    return sorted(p for p in folder.rglob("*") if p.suffix.lower() in IMAGE_SUFFIXES and p.is_file())


def folder_label(path: Path, folder: Path, classes: tuple[str, ...]) -> int:
    """The class of an image: its top sub-folder's place in `classes` (0 for an image at the top)."""
    parts = path.relative_to(folder).parts
    return classes.index(parts[0]) if len(parts) > 1 else 0


def too_few_images(folder: Path, readable: int, broken: list[str]) -> GandashError:
    return GandashError(
        f"{folder} holds {readable} readable image(s); a GAN needs at least a few dozen"
        + (f" ({len(broken)} unreadable: {', '.join(broken[:5])})" if broken else "")
        + "."
    )


def read_folder(folder: Path, size: int, channels: int) -> tuple[np.ndarray, np.ndarray | None]:
    """Every readable image under `folder`, squared to `size`; labelled by sub-folder if it has classes.
    All in memory at once: training reads folders through data.cache instead, which streams them to disk."""
    from gandash.core import images as image_io  # PIL is only needed for folders

    classes = folder_classes(folder)
    arrays, labels, broken = [], [], []
    for path in image_files(folder):
        try:
            arrays.append(image_io.load_square(path, size, channels))
        except GandashError:
            broken.append(path.name)
            continue
        if classes:
            labels.append(folder_label(path, folder, classes))
    if len(arrays) < 2:
        raise too_few_images(folder, len(arrays), broken)
    images = np.stack(arrays)
    return images, (np.asarray(labels, dtype=np.int64) if classes else None)
