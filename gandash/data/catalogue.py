"""Datasets by name, loaded once into memory.

Images are kept as a uint8 tensor (N, C, H, W) at the training size: 60 000 Fashion-MNIST
images at 64x64 are 245 MB as uint8 instead of 1 GB as float, and `batch()` turns a batch
into float [-1, 1] on the device, so the training loop does no per-item PIL work.
Toy 2D sets are float (N, 2) points. Nothing is ever downloaded.
"""

from __future__ import annotations

import gzip
import pickle
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from gandash.core import paths
from gandash.core.errors import GandashError

DEBIAN_ROOT = Path("/usr/share/datasets")
IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".webp", ".bmp", ".tif", ".tiff", ".gif"}
from gandash.core.config import TOY_POOL  # noqa: E402,F401 - data.TOY_POOL is read by callers

FASHION_CLASSES = ("T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
                   "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot")


@dataclass(frozen=True)
class DatasetInfo:
    name: str
    description: str
    kind: str  # "image", "points" or "paired" (blurred/sharp pairs for image-to-image variants)
    channels: int = 0
    image_size: int = 0  # native size; 0 when it depends on the files
    num_classes: int = 0
    class_names: tuple[str, ...] = ()
    how_to_get: str = ""
    modes: tuple[tuple[float, float], ...] = ()  # toy mixtures: the true means
    mode_std: float = 0.0


@dataclass
class Dataset:
    info: DatasetInfo
    images: torch.Tensor | None = None  # uint8 (N, C, H, W)
    points: torch.Tensor | None = None  # float32 (N, 2)
    labels: torch.Tensor | None = None  # int64 (N,)
    extra: dict = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.images if self.images is not None else self.points)

    def batch(self, index: torch.Tensor, device: torch.device, channels_last: bool = False) -> torch.Tensor:
        """Rows `index` as float in [-1, 1] (images) or raw coordinates (points), on `device`."""
        if self.points is not None:
            return self.points[index].to(device, non_blocking=True)
        x = self.images[index].to(device, non_blocking=True).float().div_(127.5).sub_(1.0)
        return x.contiguous(memory_format=torch.channels_last) if channels_last else x


# --- the catalogue -------------------------------------------------------------------------

def _ring_modes() -> tuple:
    angles = 2 * np.pi * np.arange(8) / 8
    return tuple((2 * float(np.cos(a)), 2 * float(np.sin(a))) for a in angles)


def _grid_modes() -> tuple:
    return tuple((float(x), float(y)) for x in (-4, -2, 0, 2, 4) for y in (-4, -2, 0, 2, 4))


_IDX_HELP = ("Install Debian's package (`sudo apt-get install dataset-fashion-mnist`), or put the four IDX "
             "files (train-images-idx3-ubyte.gz, ...) in {where}.")

CATALOGUE: dict[str, DatasetInfo] = {info.name: info for info in (
    DatasetInfo("fashion-mnist", "Zalando's 60 000 28x28 grayscale clothes in 10 classes",
                "image", 1, 28, 10, FASHION_CLASSES, _IDX_HELP),
    DatasetInfo("mnist", "LeCun's 60 000 28x28 handwritten digits",
                "image", 1, 28, 10, tuple(str(d) for d in range(10)), _IDX_HELP),
    DatasetInfo("cifar10", "50 000 32x32 colour photos in 10 classes", "image", 3, 32, 10,
                ("airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"),
                "Unpack cifar-10-python.tar.gz so that {where}/cifar-10-batches-py/data_batch_1 exists."),
    DatasetInfo("ring", "8 Gaussians on a circle of radius 2 (sigma 0.02)", "points",
                modes=_ring_modes(), mode_std=0.02),
    DatasetInfo("grid", "25 Gaussians on the grid {-4,-2,0,2,4}^2 (sigma 0.02)", "points",
                modes=_grid_modes(), mode_std=0.02),
    DatasetInfo("spiral", "a noisy two-turn spiral", "points"),
    DatasetInfo("moons", "two interleaving half circles", "points"),
)}

PREFIXED = {
    "folder": "folder:PATH — every image under PATH, resized and centre-cropped (sub-folders become classes)",
    "points": "points:FILE — your own 2D points, an (N, 2) .npy or .csv",
    "blurred": "blurred:NAME — blurred/sharp pairs made on the fly from photos, folder:PATH or an image set",
    "lowres": "lowres:NAME — (x4 downsampled, original) pairs for super-resolution, from photos, folder:PATH or an "
              "image set",
    "domains": "domains:NAME:A,B — two unpaired image domains: classes A and B of a labelled set (or the first "
               "two sub-folders of folder:PATH)",
}


def split_name(name: str) -> tuple[str, str]:
    """'folder:/x/y' -> ('folder', '/x/y'); 'ring' -> ('ring', '')."""
    prefix, sep, rest = name.partition(":")
    return (prefix, rest) if sep else (name, "")


def info(name: str) -> DatasetInfo:
    """What a dataset is, without loading it (cheap: used by config validation and the UI)."""
    prefix, arg = split_name(name)
    if prefix in CATALOGUE and not arg:
        return CATALOGUE[prefix]
    if prefix == "points" and arg:
        return DatasetInfo(name, f"2D points from {arg}", "points")
    if prefix == "folder" and arg:
        classes = _folder_classes(Path(arg)) if Path(arg).is_dir() else ()
        return DatasetInfo(name, f"images under {arg}", "image", 3, 64, len(classes), classes)
    if prefix == "blurred" and arg:
        return _blurred_info(name, arg)
    if prefix == "domains" and arg:
        return _domains_info(name, arg)
    if prefix == "lowres" and arg:
        return replace(_blurred_info(name, arg), kind="lowres",
                       description=_blurred_info(name, arg).description.replace("blurred", "downsampled x4"))
    known = ", ".join(list(CATALOGUE) + ["folder:PATH", "points:FILE", "blurred:photos", "blurred:folder:PATH",
                                         "domains:fashion-mnist:7,5", "lowres:photos"])
    raise GandashError(f"dataset '{name}' is unknown; choose one of {known}.")


def search_roots(data_dir: str | None = None) -> list[Path]:
    roots = [Path(data_dir)] if data_dir else []
    return roots + [paths.data_dir(), DEBIAN_ROOT]


def is_present(name: str, data_dir: str | None = None) -> bool:
    try:
        _locate(name, data_dir)
        return True
    except GandashError:
        return False


def load(name: str, data_dir: str | None = None, image_size: int | None = None,
         channels: int | None = None, seed: int = 0) -> Dataset:
    """Load a dataset by name into memory, resized to `image_size` with `channels` channels."""
    meta = info(name)
    prefix, arg = split_name(name)
    if meta.kind in ("paired", "lowres"):  # both keep sharp tiles; the trainer degrades them
        return _load_blurred(meta, arg, data_dir, image_size, channels, seed)
    if meta.kind == "domains":
        return _load_domains(meta, arg, data_dir, image_size, channels, seed)
    if meta.kind == "points":
        points = _load_points_file(_locate(name, data_dir)) if prefix == "points" else _toy_points(prefix, seed)
        return Dataset(meta, points=torch.from_numpy(points))
    where = _locate(name, data_dir)
    if prefix in ("mnist", "fashion-mnist"):
        images, labels = _read_idx_pair(where)
    elif prefix == "cifar10":
        images, labels = _read_cifar(where)
    else:
        images, labels = _read_folder(Path(arg), image_size or meta.image_size, channels or meta.channels)
    tensor = to_size(torch.from_numpy(images), image_size or images.shape[-1], channels or images.shape[1])
    return Dataset(meta, images=tensor, labels=None if labels is None else torch.from_numpy(labels).long())


def to_size(images: torch.Tensor, size: int, channels: int) -> torch.Tensor:
    """uint8 (N, C, H, W) -> uint8 (N, channels, size, size), resized once, in chunks."""
    if images.shape[1] != channels:
        if channels == 3:
            images = images.expand(-1, 3, -1, -1)
        else:  # ITU-R 601 luma, like PIL's convert("L")
            weights = torch.tensor([0.299, 0.587, 0.114]).view(1, 3, 1, 1)
            images = (images.float() * weights).sum(1, keepdim=True).round().to(torch.uint8)
    if images.shape[-1] == size and images.shape[-2] == size:
        return images.contiguous()
    out = torch.empty((len(images), channels, size, size), dtype=torch.uint8)
    for start in range(0, len(images), 4096):
        chunk = images[start:start + 4096].float()
        resized = F.interpolate(chunk, size=(size, size), mode="bilinear", antialias=True, align_corners=False)
        out[start:start + 4096] = resized.round().clamp_(0, 255).to(torch.uint8)
    return out


# --- finding files --------------------------------------------------------------------------

TORCHVISION_FOLDERS = {"mnist": "MNIST", "fashion-mnist": "FashionMNIST"}


def _locate(name: str, data_dir: str | None) -> Path:
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
    # --data-dir may hold the files itself; every root may hold them in a folder named after the
    # dataset (our layout, Debian's) or torchvision's NAME/raw layout.
    candidates = [Path(data_dir)] if data_dir else []
    for root in search_roots(data_dir):
        candidates += [root / prefix, root / "CIFAR10"] if prefix == "cifar10" else \
            [root / prefix, root / TORCHVISION_FOLDERS[prefix] / "raw"]
    for folder in candidates:
        if prefix == "cifar10":
            for batches in (folder, folder / "cifar-10-batches-py"):
                if (batches / "data_batch_1").is_file():
                    return batches
        elif idx_file(folder, "train-images-idx3-ubyte"):
            return folder
    where = data_dir or str(paths.data_dir() / prefix)
    raise GandashError(f"the {prefix} files were not found (looked in: "
                       f"{', '.join(str(c) for c in candidates)}). " + meta.how_to_get.format(where=where))


def idx_file(folder: Path, stem: str) -> Path | None:
    for candidate in (folder / f"{stem}.gz", folder / stem):
        if candidate.is_file():
            return candidate
    return None


# --- readers --------------------------------------------------------------------------------

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
    dims = tuple(int.from_bytes(raw[4 + 4 * i: 8 + 4 * i], "big") for i in range(ndim))
    offset = 4 + 4 * ndim
    expected = int(np.prod(dims))
    if len(raw) - offset != expected:
        raise GandashError(f"{path} holds {len(raw) - offset} bytes of data but its header says {expected}; "
                           "the file is truncated or corrupt.")
    return np.frombuffer(raw, dtype=np.uint8, offset=offset).reshape(dims)


def _read_idx_pair(folder: Path) -> tuple[np.ndarray, np.ndarray]:
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

    ALLOWED = {("numpy.core.multiarray", "_reconstruct"), ("numpy._core.multiarray", "_reconstruct"),
               ("numpy", "ndarray"), ("numpy", "dtype")}

    def find_class(self, module, name):
        if (module, name) not in self.ALLOWED:
            raise pickle.UnpicklingError(f"refusing to load {module}.{name} from a dataset file")
        return super().find_class(module, name)


def _read_cifar(folder: Path) -> tuple[np.ndarray, np.ndarray]:
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


def _folder_classes(folder: Path) -> tuple[str, ...]:
    subfolders = sorted(p.name for p in folder.iterdir() if p.is_dir() and not p.name.startswith("."))
    return tuple(subfolders) if len(subfolders) >= 2 else ()


def _read_folder(folder: Path, size: int, channels: int) -> tuple[np.ndarray, np.ndarray | None]:
    from gandash.core import images as image_io  # PIL is only needed for folders

    classes = _folder_classes(folder)
    files = sorted(p for p in folder.rglob("*") if p.suffix.lower() in IMAGE_SUFFIXES and p.is_file())
    arrays, labels, broken = [], [], []
    for path in files:
        try:
            arrays.append(image_io.load_square(path, size, channels))
        except GandashError:
            broken.append(path.name)
            continue
        if classes:
            labels.append(classes.index(path.relative_to(folder).parts[0]) if len(path.relative_to(folder).parts) > 1 else 0)
    if len(arrays) < 2:
        raise GandashError(f"{folder} holds {len(arrays)} readable image(s); a GAN needs at least a few dozen"
                           + (f" ({len(broken)} unreadable: {', '.join(broken[:5])})" if broken else "") + ".")
    images = np.stack(arrays)
    return images, (np.asarray(labels, dtype=np.int64) if classes else None)


def _toy_points(name: str, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    meta = CATALOGUE[name]
    if meta.modes:
        means = np.asarray(meta.modes, dtype=np.float64)
        which = rng.integers(len(means), size=TOY_POOL)
        points = means[which] + rng.normal(scale=meta.mode_std, size=(TOY_POOL, 2))
    elif name == "spiral":
        t = np.sqrt(rng.uniform(0, 1, TOY_POOL)) * 4 * np.pi
        points = np.stack([t * np.cos(t), t * np.sin(t)], 1) / (2 * np.pi) + rng.normal(scale=0.05, size=(TOY_POOL, 2))
    else:  # moons, as in scikit-learn's make_moons, centred
        t = rng.uniform(0, np.pi, TOY_POOL)
        upper = rng.random(TOY_POOL) < 0.5
        x = np.where(upper, np.cos(t), 1 - np.cos(t)) - 0.5
        y = np.where(upper, np.sin(t), 0.5 - np.sin(t)) - 0.25
        points = np.stack([x, y], 1) * 2 + rng.normal(scale=0.05, size=(TOY_POOL, 2))
    return points.astype(np.float32)


MAX_POINTS = 10_000_000  # 80 MB as float32; far more than a 2D toy needs


def _load_points_file(path: Path) -> np.ndarray:
    """float32 (N, 2) from an .npy or .csv. Messages give row and column numbers, never the file's
    contents, and an .npy's header is checked before its array is allocated."""
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
        raise GandashError(f"{path.name}: point {row}, column {column} is NaN, infinite or beyond float32's range "
                           "(±3.4e38); fix or drop that point.")
    return points


def _check_points_shape(path: Path, shape: tuple) -> None:
    if len(shape) != 2 or shape[1] != 2:
        # a hostile header's shape can be anything; only a modest one is worth showing
        shown = f" (its shape is {shape})" if len(shape) <= 4 and all(0 <= d < 10**9 for d in shape) else ""
        raise GandashError(f"{path.name} is not an array of 2D points{shown}; points must be (N, 2): "
                           "one row per point, two columns x and y.")
    if shape[0] < 10:
        raise GandashError(f"{path.name} has {max(shape[0], 0)} points; give at least 10.")
    if shape[0] > MAX_POINTS:
        raise GandashError(f"{path.name} has more than {MAX_POINTS:,} points; give fewer (a sample is plenty).")


_NOT_NUMBERS = {"V": "records (a structured array)", "O": "Python objects", "U": "text", "S": "bytes",
                "b": "true/false values", "c": "complex numbers", "M": "dates", "m": "time spans"}


def _read_npy_points(path: Path) -> np.ndarray:
    """The array of an .npy file, after its header has shown a numeric (N, 2) the file really holds."""
    unreadable = GandashError(f"{path.name} could not be read as 2D points: it is not an .npy file numpy can "
                              "read. Save it with numpy.save(file, points) from an (N, 2) float array.")
    with open(path, "rb") as handle:
        try:
            version = np.lib.format.read_magic(handle)
            if version not in ((1, 0), (2, 0)):  # numpy writes 3.0 only for non-Latin field names
                raise unreadable
            read_header = (np.lib.format.read_array_header_1_0 if version == (1, 0)
                           else np.lib.format.read_array_header_2_0)
            shape, _, dtype = read_header(handle)
        except (ValueError, TypeError, SyntaxError, EOFError):  # numpy's messages quote the header: not shown
            raise unreadable from None
        if dtype.kind not in "iuf":  # objects would mean unpickling; the rest are not coordinates
            what = _NOT_NUMBERS.get(dtype.kind, "values that are not plain numbers")
            raise GandashError(f"{path.name} holds {what}; points must be an (N, 2) array of numbers "
                               "(numpy.save(file, points.astype('float32'))).")
        _check_points_shape(path, shape)
        needed, available = shape[0] * 2 * dtype.itemsize, path.stat().st_size - handle.tell()
    if available < needed:
        raise GandashError(f"{path.name} is truncated: its header promises {shape[0]:,} points ({needed:,} bytes) "
                           f"but {available:,} bytes follow it. Save it again.")
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
        raise GandashError(f"{path.name} could not be read as 2D points: {_first_bad_cell(path, skip)}. Give two "
                           "numeric columns (x, y); one header row is allowed.") from None


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


def describe_all(data_dir: str | None = None) -> list[dict]:
    """Every named dataset, whether it is here, and how to get it when it is not."""
    rows = []
    for meta in CATALOGUE.values():
        present = meta.kind == "points" or is_present(meta.name, data_dir)
        rows.append({"name": meta.name, "kind": meta.kind, "description": meta.description, "present": present,
                     "how_to_get": "" if present else meta.how_to_get.format(where=paths.data_dir() / meta.name)})
    for prefix, text in PREFIXED.items():
        if prefix in ("folder", "points"):  # the pair and domain sets have rows of their own below
            rows.append({"name": f"{prefix}:", "kind": "image" if prefix == "folder" else "points",
                         "description": text, "present": True, "how_to_get": ""})
    rows.append({"name": "blurred:photos", "kind": "paired", "description": _blurred_info("", "photos").description,
                 "present": True, "how_to_get": ""})
    rows.append({"name": "blurred:folder:", "kind": "paired", "present": True, "how_to_get": "",
                 "description": "blurred:folder:PATH — your own sharp photos, blurred on the fly"})
    for name in DOMAIN_EXAMPLES:
        rows.append({"name": name, "kind": "domains", "description": info(name).description,
                     "present": is_present("fashion-mnist", data_dir), "how_to_get": ""})
    rows.append({"name": "domains:folder:", "kind": "domains", "present": True, "how_to_get": "",
                 "description": "domains:folder:PATH — the first two sub-folders of PATH are domains A and B"})
    for name in ("lowres:photos", "lowres:fashion-mnist"):
        rows.append({"name": name, "kind": "lowres", "description": info(name).description,
                     "present": name == "lowres:photos" or is_present("fashion-mnist", data_dir), "how_to_get": ""})
    rows.append({"name": "lowres:folder:", "kind": "lowres", "present": True, "how_to_get": "",
                 "description": "lowres:folder:PATH — your own photos, downsampled x4 on the fly"})
    return rows




# --- blurred/sharp pairs for deblurring (variants with data_kind "paired") ------------------------
# The pairs are made on the fly (gandash.blur.degrade) from sharp uint8 tiles kept here; the tiles
# are larger than the training crop so every blurred pixel is computed from real neighbours.

# scikit-image's bundled photos (no download). The held-out ones are never trained on: the deblur
# bench, the tests and the Deblur page's examples use them, so their numbers are honest.
PHOTOS_TRAIN = ("astronaut", "camera", "chelsea", "immunohistochemistry", "retina", "grass", "gravel", "brick",
                "moon", "coins", "cell", "page", "text", "clock")
PHOTOS_HELD_OUT = ("rocket", "coffee", "motorcycle")  # motorcycle: both stereo views are held out
TILE_MARGIN = 20  # = blur.KERNEL_SIZE // 2, the widest blur's reach


def _blurred_info(name: str, inner: str) -> DatasetInfo:
    if inner == "photos":
        return DatasetInfo(name or "blurred:photos", f"{len(PHOTOS_TRAIN)} of scikit-image's bundled photos (held out: "
                           f"{', '.join(PHOTOS_HELD_OUT)}), random crops blurred on the fly", "paired", 3, 0)
    base = info(inner)
    if base.kind != "image":
        raise GandashError(f"'{name}': blurred pairs are made from images, but '{inner}' is {base.kind} data; "
                           "use blurred:photos, blurred:folder:PATH or blurred:cifar10.")
    size = 0 if split_name(inner)[0] == "folder" else base.image_size  # folders: crops at full resolution
    return DatasetInfo(name, f"{base.description}, blurred on the fly", "paired", base.channels, size)


def photo(name: str) -> np.ndarray:
    """A bundled scikit-image photo as uint8 HWC RGB (gray ones repeated to three channels)."""
    import skimage.data  # imported here: it takes a moment and only pairs need it

    array = skimage.data.stereo_motorcycle()[0] if name == "motorcycle" else getattr(skimage.data, name)()
    array = np.asarray(array, dtype=np.uint8)
    return np.repeat(array[..., None], 3, axis=2) if array.ndim == 2 else array[..., :3]


def _tiles(array: np.ndarray, size: int) -> list[np.ndarray]:
    """Overlapping size x size tiles (C, size, size) of an HWC photo, half a tile apart."""
    h, w = array.shape[:2]
    step = max(1, size // 2)
    tops = sorted({*range(0, h - size + 1, step), h - size})
    lefts = sorted({*range(0, w - size + 1, step), w - size})
    return [array[y:y + size, x:x + size].transpose(2, 0, 1) for y in tops for x in lefts]


def _load_blurred(meta: DatasetInfo, inner: str, data_dir: str | None, image_size: int | None,
                  channels: int | None, seed: int) -> Dataset:
    channels = channels or meta.channels or 3
    prefix, arg = split_name(inner)
    if inner != "photos" and prefix != "folder":  # a set of small images: whole images, mirrored borders
        base = load(inner, data_dir, image_size, channels, seed)
        return Dataset(meta, images=base.images)
    tile = (image_size or 64) + 2 * TILE_MARGIN
    if inner == "photos":
        from PIL import Image

        sources = []
        for name in PHOTOS_TRAIN:
            array = photo(name)
            sources.append(array)
            if min(array.shape[:2]) >= 2 * tile:  # the same photo at 60%: finer detail per pixel
                small = Image.fromarray(array).resize((array.shape[1] * 3 // 5, array.shape[0] * 3 // 5),
                                                      Image.Resampling.LANCZOS)
                sources.append(np.asarray(small))
    else:
        sources = _read_photos(Path(arg), tile)
    # flat tiles (sky, the black around retina) look the same blurred or not and teach nothing
    tiles = [t for array in sources if min(array.shape[:2]) >= tile for t in _tiles(array, tile) if t.std() >= 8]
    if not tiles:
        raise GandashError(f"'{meta.name}' has no photo of at least {tile}x{tile} px; add larger photos or "
                           "train on smaller crops (image_size).")
    stacked = torch.from_numpy(np.stack(tiles))
    return Dataset(meta, images=to_size(stacked, tile, channels) if channels == 1 else stacked)


def _read_photos(folder: Path, tile: int, longest: int = 1600) -> list[np.ndarray]:
    """The photos under `folder` at full resolution (very large ones scaled to `longest` px)."""
    from gandash.core import images as image_io

    if not folder.is_dir():
        raise GandashError(f"image folder '{folder}' does not exist or is not a folder.")
    arrays = []
    for path in sorted(p for p in folder.rglob("*") if p.suffix.lower() in IMAGE_SUFFIXES and p.is_file()):
        try:
            image = image_io.open_image(path).convert("RGB")
        except GandashError:
            continue
        image.thumbnail((longest, longest))
        arrays.append(np.asarray(image))
    return arrays


# --- two unpaired image domains (DiscoGAN; variants with data_kind "domains") ------------------------
DOMAIN_EXAMPLES = ("domains:fashion-mnist:7,5", "domains:fashion-mnist:0,6")  # sneaker-sandal, T-shirt-shirt


def _domains_spec(arg: str) -> tuple[str, tuple[int, int]]:
    """'fashion-mnist:7,5' -> ('fashion-mnist', (7, 5)); 'folder:/x' -> ('folder:/x', (0, 1))."""
    inner, sep, pair = arg.rpartition(":")
    parts = pair.split(",")
    if sep and len(parts) == 2 and all(p.strip().isdigit() for p in parts):
        return inner, (int(parts[0]), int(parts[1]))
    return arg, (0, 1)


def _domains_info(name: str, arg: str) -> DatasetInfo:
    inner, (a, b) = _domains_spec(arg)
    base = info(inner)
    if base.kind != "image" or base.num_classes < 2:
        raise GandashError(f"'{name}': two domains are two classes of a labelled image set (e.g. "
                           "domains:fashion-mnist:7,5) or the first two sub-folders of domains:folder:PATH.")
    if a == b or max(a, b) >= base.num_classes:
        raise GandashError(f"'{name}': the two classes must differ and be from 0 to {base.num_classes - 1}.")
    names = base.class_names or tuple(str(i) for i in range(base.num_classes))
    return DatasetInfo(name, f"{names[a]} ↔ {names[b]} from {inner} (unpaired)", "domains", base.channels,
                       base.image_size, 0, (names[a], names[b]))


def _load_domains(meta: DatasetInfo, arg: str, data_dir: str | None, image_size: int | None,
                  channels: int | None, seed: int) -> Dataset:
    """Images of class A (label 0) then of class B (label 1)."""
    inner, (a, b) = _domains_spec(arg)
    base = load(inner, data_dir, image_size, channels, seed)
    keep = (base.labels == a) | (base.labels == b)
    return Dataset(meta, images=base.images[keep], labels=(base.labels[keep] == b).long())
