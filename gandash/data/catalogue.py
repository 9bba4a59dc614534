"""The catalogue: every dataset by name, what it is (`info`, cheap) and its rows (`load`).

A plain name is a built-in set (CATALOGUE); a prefixed name is the user's own data or a set built
from another one (PREFIXED). This module only dispatches: the readers, the toy mixtures, the pair
sets and the domain sets do the work. Those built from an inner set are handed this module's
`info` and `load`, so that they need not import it back.
"""

from __future__ import annotations

from pathlib import Path

import torch

from gandash.core import paths
from gandash.core.errors import GandashError
from gandash.data import cache, domains, files, pairs
from gandash.data.dataset import Dataset, DatasetInfo, split_name, to_size
from gandash.data.points import read_points_file
from gandash.data.readers import folder_classes, read_cifar, read_idx_pair
from gandash.data.toy import TOY_SETS, toy_points

FASHION_CLASSES = (
    "T-shirt/top",
    "Trouser",
    "Pullover",
    "Dress",
    "Coat",
    "Sandal",
    "Shirt",
    "Sneaker",
    "Bag",
    "Ankle boot",
)

_IDX_HELP = (
    "Install Debian's package (`sudo apt-get install dataset-fashion-mnist`), or put the four IDX "
    "files (train-images-idx3-ubyte.gz, ...) in {where}."
)

CATALOGUE: dict[str, DatasetInfo] = {
    info.name: info
    for info in (
        DatasetInfo(
            "fashion-mnist",
            "Zalando's 60 000 28x28 grayscale clothes in 10 classes",
            "image",
            1,
            28,
            10,
            FASHION_CLASSES,
            _IDX_HELP,
        ),
        DatasetInfo(
            "mnist",
            "LeCun's 60 000 28x28 handwritten digits",
            "image",
            1,
            28,
            10,
            tuple(str(d) for d in range(10)),
            _IDX_HELP,
        ),
        DatasetInfo(
            "cifar10",
            "50 000 32x32 colour photos in 10 classes",
            "image",
            3,
            32,
            10,
            ("airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"),
            "Unpack cifar-10-python.tar.gz so that {where}/cifar-10-batches-py/data_batch_1 exists.",
        ),
        *TOY_SETS,
    )
}

PREFIXED = {
    "folder": "folder:PATH — every image under PATH, resized and centre-cropped (sub-folders become classes)",
    "points": "points:FILE — your own 2D points, an (N, 2) .npy or .csv",
    "blurred": "blurred:NAME — blurred/sharp pairs made on the fly from photos, folder:PATH or an image set",
    "lowres": "lowres:NAME — (x4 downsampled, original) pairs for super-resolution, from photos, folder:PATH or an "
    "image set",
    "domains": "domains:NAME:A,B — two unpaired image domains: classes A and B of a labelled set (or the first "
    "two sub-folders of folder:PATH)",
}


def info(name: str) -> DatasetInfo:
    """What a dataset is, without loading it (cheap: used by config validation and the UI)."""
    prefix, arg = split_name(name)
    if prefix in CATALOGUE and not arg:
        return CATALOGUE[prefix]
    if prefix == "points" and arg:
        return DatasetInfo(name, f"2D points from {arg}", "points")
    if prefix == "folder" and arg:
        classes = folder_classes(Path(arg)) if Path(arg).is_dir() else ()
        return DatasetInfo(name, f"images under {arg}", "image", 3, 64, len(classes), classes)
    if prefix == "blurred" and arg:
        return pairs.blurred_info(name, arg, info)
    if prefix == "domains" and arg:
        return domains.domains_info(name, arg, info)
    if prefix == "lowres" and arg:
        return pairs.lowres_info(name, arg, info)
    known = ", ".join(
        list(CATALOGUE)
        + [
            "folder:PATH",
            "points:FILE",
            "blurred:photos",
            "blurred:folder:PATH",
            "domains:fashion-mnist:7,5",
            "lowres:photos",
        ]
    )
    raise GandashError(f"dataset '{name}' is unknown; choose one of {known}.")


def is_present(name: str, data_dir: str | None = None) -> bool:
    """Whether `name` can be loaded here. Pairs and domains are made from another set: that one's files."""
    try:
        prefix, arg = split_name(name)
        if prefix in ("blurred", "lowres"):
            return arg == "photos" or is_present(arg, data_dir)
        if prefix == "domains":
            return is_present(domains.domains_spec(arg)[0], data_dir)
        _locate(name, data_dir)
        return True
    except GandashError:
        return False


def load(
    name: str, data_dir: str | None = None, image_size: int | None = None, channels: int | None = None, seed: int = 0
) -> Dataset:
    """Load a dataset by name, resized to `image_size` with `channels` channels: into memory, except the
    images of a folder, which are read from a cache on disk (data.cache)."""
    meta = info(name)
    prefix, arg = split_name(name)
    if meta.kind in pairs.PAIR_KINDS:
        return pairs.load_pairs(meta, arg, data_dir, image_size, channels, seed, load)
    if meta.kind == "domains":
        return domains.load_domains(meta, arg, data_dir, image_size, channels, seed, load)
    if meta.kind == "points":
        points = read_points_file(_locate(name, data_dir)) if prefix == "points" else toy_points(meta, seed)
        return Dataset(meta, points=torch.from_numpy(points))
    where = _locate(name, data_dir)
    if prefix == "folder":  # on disk, memory-mapped and already at the training size: no to_size, no copy
        images, labels, unreadable = cache.load_folder(where, image_size or meta.image_size, channels or meta.channels)
        return Dataset(meta, images=images, labels=labels, extra={"memory_mapped": True, "unreadable": unreadable})
    if prefix in ("mnist", "fashion-mnist"):
        images, labels = read_idx_pair(where)
    else:
        images, labels = read_cifar(where)
    tensor = to_size(torch.from_numpy(images), image_size or images.shape[-1], channels or images.shape[1])
    return Dataset(meta, images=tensor, labels=None if labels is None else torch.from_numpy(labels).long())


def _locate(name: str, data_dir: str | None) -> Path:
    """The file or folder a points, folder or named image set is read from."""
    prefix, arg = split_name(name)
    meta = info(name)
    if meta.kind == "points":
        if prefix == "points" and not Path(arg).is_file():
            raise GandashError(f"points file '{arg}' does not exist; give an (N, 2) .npy or .csv file.")
        return Path(arg)
    if prefix == "folder":
        if not Path(arg).is_dir():
            raise GandashError(f"image folder '{arg}' does not exist or is not a folder.")
        return Path(arg)
    return files.find_named(prefix, data_dir, meta.how_to_get)


def describe_all(data_dir: str | None = None) -> list[dict]:
    """Every named dataset, whether it is here, and how to get it when it is not."""
    rows = []
    for meta in CATALOGUE.values():
        present = meta.kind == "points" or is_present(meta.name, data_dir)
        rows.append(
            {
                "name": meta.name,
                "kind": meta.kind,
                "description": meta.description,
                "present": present,
                "how_to_get": "" if present else meta.how_to_get.format(where=paths.data_dir() / meta.name),
            }
        )
    for prefix, text in PREFIXED.items():
        if prefix in ("folder", "points"):  # the pair and domain sets have rows of their own below
            rows.append(
                {
                    "name": f"{prefix}:",
                    "kind": "image" if prefix == "folder" else "points",
                    "description": text,
                    "present": True,
                    "how_to_get": "",
                }
            )
    rows.append(
        {
            "name": "blurred:photos",
            "kind": "paired",
            "description": pairs.blurred_info("", "photos", info).description,
            "present": True,
            "how_to_get": "",
        }
    )
    rows.append(
        {
            "name": "blurred:folder:",
            "kind": "paired",
            "present": True,
            "how_to_get": "",
            "description": "blurred:folder:PATH — your own sharp photos, blurred on the fly",
        }
    )
    for name in domains.DOMAIN_EXAMPLES:
        rows.append(
            {
                "name": name,
                "kind": "domains",
                "description": info(name).description,
                "present": is_present("fashion-mnist", data_dir),
                "how_to_get": "",
            }
        )
    rows.append(
        {
            "name": "domains:folder:",
            "kind": "domains",
            "present": True,
            "how_to_get": "",
            "description": "domains:folder:PATH — the first two sub-folders of PATH are domains A and B",
        }
    )
    for name in ("lowres:photos", "lowres:fashion-mnist"):
        rows.append(
            {
                "name": name,
                "kind": "lowres",
                "description": info(name).description,
                "present": name == "lowres:photos" or is_present("fashion-mnist", data_dir),
                "how_to_get": "",
            }
        )
    rows.append(
        {
            "name": "lowres:folder:",
            "kind": "lowres",
            "present": True,
            "how_to_get": "",
            "description": "lowres:folder:PATH — your own photos, downsampled x4 on the fly",
        }
    )
    return rows
