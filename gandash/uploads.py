"""The user's own data from the browser: a zip of images becomes a `folder:` dataset and a CSV or
NPY of 2D points a `points:` dataset, both under GANDASH_HOME/data/uploads. Validated on the way in."""

from __future__ import annotations

import io
import re
import zipfile
from pathlib import Path, PurePosixPath


from gandash import data, images, paths
from gandash.errors import GandashError

MIN_IMAGES = 16
MAX_UNPACKED = 2 * 1024**3  # a zip that claims more than this is refused (zip bombs)


def uploads_dir() -> Path:
    folder = paths.data_dir() / "uploads"
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def slug(name: str) -> str:
    cleaned = re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")[:40]
    if not cleaned:
        raise GandashError("give the dataset a name made of letters or digits.")
    return cleaned


def add_image_zip(name: str, content: bytes) -> tuple[str, dict]:
    """Unpack the images of a zip (sub-folders become classes); returns (dataset name, report)."""
    target = uploads_dir() / slug(name)
    if target.exists():
        raise GandashError(f"a dataset named '{slug(name)}' exists already; pick another name.")
    try:
        archive = zipfile.ZipFile(io.BytesIO(content))
    except zipfile.BadZipFile:
        raise GandashError("the upload is not a readable zip file.") from None
    members = [m for m in archive.infolist() if not m.is_dir()
               and PurePosixPath(m.filename).suffix.lower() in data.IMAGE_SUFFIXES
               and not any(part.startswith((".", "__MACOSX")) for part in PurePosixPath(m.filename).parts)]
    if sum(m.file_size for m in members) > MAX_UNPACKED:
        raise GandashError("the zip unpacks to more than 2 GB of images; upload a smaller set.")
    kept, unreadable = 0, []
    staging = target.with_name(f".{target.name}.partial")
    _remove(staging)  # left over from an interrupted upload
    for member in members:
        parts = [re.sub(r"[^A-Za-z0-9._-]+", "_", p) for p in PurePosixPath(member.filename).parts
                 if p not in ("", ".", "..")]  # never a path outside the dataset folder
        raw = archive.read(member)
        try:
            images.open_image(raw, name=member.filename)
        except GandashError:
            unreadable.append(member.filename)
            continue
        destination = staging.joinpath(*parts[-2:]) if len(parts) > 1 else staging / parts[-1]
        destination.parent.mkdir(parents=True, exist_ok=True)
        destination.write_bytes(raw)
        kept += 1
    if kept < MIN_IMAGES:
        _remove(staging)
        raise GandashError(f"the zip holds {kept} readable image(s); a GAN needs at least {MIN_IMAGES} "
                           f"(a few hundred or more trains well)"
                           + (f"; {len(unreadable)} could not be read" if unreadable else "") + ".")
    staging.rename(target)
    classes = data.info(f"folder:{target}").class_names
    return f"folder:{target}", {"images": kept, "unreadable": unreadable[:20], "classes": list(classes)}


def add_points(name: str, filename: str, content: bytes) -> tuple[str, dict]:
    suffix = Path(filename).suffix.lower()
    if suffix not in (".npy", ".csv", ".txt"):
        raise GandashError(f"{filename}: points must be a .npy or .csv file.")
    target = uploads_dir() / f"{slug(name)}{'.npy' if suffix == '.npy' else '.csv'}"
    if target.exists():
        raise GandashError(f"a dataset named '{slug(name)}' exists already; pick another name.")
    paths.atomic_write_bytes(target, content)
    try:
        points = data.load(f"points:{target}").points
    except GandashError:
        target.unlink()
        raise
    return f"points:{target}", {"points": len(points), "min": points.min(0).values.tolist(),
                                "max": points.max(0).values.tolist()}


def existing() -> list[str]:
    """Dataset names of earlier uploads, for the pickers."""
    names = []
    for path in sorted(uploads_dir().iterdir()):
        if path.name.startswith("."):
            continue
        names.append(f"folder:{path}" if path.is_dir() else f"points:{path}")
    return names


def _remove(folder: Path) -> None:
    import shutil

    shutil.rmtree(folder, ignore_errors=True)


