"""Where the named sets' files are. Nothing is ever downloaded: the files are looked for in
--data-dir, then GANDASH_HOME/data, then Debian's /usr/share/datasets, in our layout, Debian's
or torchvision's."""

from __future__ import annotations

from pathlib import Path

from gandash.core import paths
from gandash.core.errors import GandashError

DEBIAN_ROOT = Path("/usr/share/datasets")
TORCHVISION_FOLDERS = {"mnist": "MNIST", "fashion-mnist": "FashionMNIST"}


def search_roots(data_dir: str | None = None) -> list[Path]:
    roots = [Path(data_dir)] if data_dir else []
    return roots + [paths.data_dir(), DEBIAN_ROOT]


def find_named(prefix: str, data_dir: str | None, how_to_get: str) -> Path:
    """The folder that holds the files of the named set `prefix` (mnist, fashion-mnist, cifar10);
    when there is none, a GandashError that lists where we looked and says `how_to_get` them."""
    # --data-dir may hold the files itself; every root may hold them in a folder named after the
    # dataset (our layout, Debian's) or torchvision's NAME/raw layout.
    candidates = [Path(data_dir)] if data_dir else []
    for root in search_roots(data_dir):
        candidates += (
            [root / prefix, root / "CIFAR10"]
            if prefix == "cifar10"
            else [root / prefix, root / TORCHVISION_FOLDERS[prefix] / "raw"]
        )
    for folder in candidates:
        if prefix == "cifar10":
            for batches in (folder, folder / "cifar-10-batches-py"):
                if (batches / "data_batch_1").is_file():
                    return batches
        elif idx_file(folder, "train-images-idx3-ubyte"):
            return folder
    where = data_dir or str(paths.data_dir() / prefix)
    raise GandashError(
        f"the {prefix} files were not found (looked in: "
        f"{', '.join(str(c) for c in candidates)}). " + how_to_get.format(where=where)
    )


def idx_file(folder: Path, stem: str) -> Path | None:
    """STEM.gz or STEM in `folder` (Debian ships them gzipped, torchvision unpacks them)."""
    for candidate in (folder / f"{stem}.gz", folder / stem):
        if candidate.is_file():
            return candidate
    return None
