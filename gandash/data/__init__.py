"""Datasets: the catalogue and its readers (IDX, CIFAR, image folders, points), the toy mixtures, photos,
degradations (blur, noise, JPEG) that make training pairs, and uploads. `data.info(name)` and
`data.load(name, ...)` are the front door.

The modules, one job each: dataset (the types), catalogue (names -> info and load), files (where the
named sets are), readers (IDX, CIFAR, image folders), cache (folder: sets as a memory-mapped array on
disk), points (points:FILE), toy (the 2D mixtures), photos (photos for pairs), pairs (blurred:/lowres:),
domains (domains:), degrade and kernel_grid (the degradations), uploads (the user's files). The names
below are those callers use as `data.X`.
"""

from gandash.core.config import TOY_POOL
from gandash.data.catalogue import CATALOGUE, FASHION_CLASSES, PREFIXED, describe_all, info, is_present, load
from gandash.data.dataset import Dataset, DatasetInfo, split_name, to_size
from gandash.data.domains import DOMAIN_EXAMPLES
from gandash.data.files import DEBIAN_ROOT, TORCHVISION_FOLDERS, idx_file, search_roots
from gandash.data.pairs import TILE_MARGIN
from gandash.data.photos import PHOTOS_HELD_OUT, PHOTOS_TRAIN, photo
from gandash.data.points import MAX_POINTS
from gandash.data.readers import IMAGE_SUFFIXES, read_idx

__all__ = [
    "CATALOGUE",
    "DEBIAN_ROOT",
    "DOMAIN_EXAMPLES",
    "FASHION_CLASSES",
    "IMAGE_SUFFIXES",
    "MAX_POINTS",
    "PHOTOS_HELD_OUT",
    "PHOTOS_TRAIN",
    "PREFIXED",
    "TILE_MARGIN",
    "TORCHVISION_FOLDERS",
    "TOY_POOL",
    "Dataset",
    "DatasetInfo",
    "describe_all",
    "idx_file",
    "info",
    "is_present",
    "load",
    "photo",
    "read_idx",
    "search_roots",
    "split_name",
    "to_size",
]
