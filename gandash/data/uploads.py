"""The user's own data from the browser: a zip of images becomes a `folder:` dataset and a CSV or
NPY of 2D points a `points:` dataset, both under GANDASH_HOME/data/uploads. Validated on the way in.

A zip is hostile until proven otherwise: its headers may lie about sizes, a small member may inflate
to gigabytes and a small PNG may claim a billion pixels. So the limits below count the bytes actually
inflated and the pixels an image's header declares before it is decoded, never what the archive claims."""

from __future__ import annotations

import io
import lzma
import re
import shutil
import struct
import unicodedata
import warnings
import zipfile
import zlib
from pathlib import Path, PurePosixPath

from PIL import Image

from gandash import data
from gandash.core import paths
from gandash.core.errors import GandashError

MIN_IMAGES = 16
# 300 000 small PNGs (an MNIST-sized set) fit with room to spare. zipfile keeps ~700 bytes of each
# entry in memory, so the member cap also bounds what merely listing an archive costs (~350 MB).
MAX_MEMBERS = 500_000
MAX_UNPACKED = 2 * 1024**3  # bytes actually inflated, all members together
MAX_IMAGE_BYTES = 64 * 1024**2  # one member, as inflated
MAX_IMAGE_PIXELS = 50_000_000  # a 48-MP phone photo fits; decoding one costs up to 4 bytes a pixel
MAX_NAME_BYTES = 255  # the longest file or folder name Linux, macOS and Windows accept
# zipfile hands back everything an LZMA or bzip2 decoder makes of one read's compressed bytes (deflate
# it caps at the size asked). LZMA inflates at most ~8 000x, so 4 KiB reads stay under ~35 MB; bzip2
# inflates 4 KiB of zeros to gigabytes, so it is refused.
READ_SIZE = 4096
ARCHIVE_ERRORS = (
    zipfile.BadZipFile,
    zipfile.LargeZipFile,
    RuntimeError,
    NotImplementedError,
    zlib.error,
    lzma.LZMAError,
    OSError,
    EOFError,
    ValueError,
    struct.error,
)
# what Pillow raises for files that are not images or are damaged (as gandash.photo.DECODE_ERRORS)
DECODE_ERRORS = (OSError, ValueError, SyntaxError, EOFError, IndexError, TypeError, struct.error)


def uploads_dir() -> Path:
    folder = paths.data_dir() / "uploads"
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def slug(name: str) -> str:
    cleaned = re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")[:40]
    if not cleaned:
        raise GandashError("give the dataset a name made of letters or digits.")
    return cleaned


def limits_text() -> str:
    """The limits in words, for the page beside the upload widget."""
    return (
        f"A zip may hold up to {MAX_MEMBERS:,} files and unpack to {MAX_UNPACKED // 1024**3} GB in all; each "
        f"image at most {MAX_IMAGE_BYTES // 1024**2} MB and {MAX_IMAGE_PIXELS // 10**6} megapixels, stored or "
        f"deflate-compressed (any zip tool's default) and without a password. A points file holds at most "
        f"{data.MAX_POINTS:,} points."
    )


def add_image_zip(name: str, content: bytes) -> tuple[str, dict]:
    """Unpack the images of a zip (sub-folders become classes); returns (dataset name, report)."""
    target = uploads_dir() / slug(name)
    if target.exists():
        raise GandashError(f"a dataset named '{slug(name)}' exists already; pick another name.")
    # each directory entry starts with this signature: counting them is cheap, listing them is not
    if content.count(b"PK\x01\x02") > MAX_MEMBERS:
        raise GandashError(f"the zip holds more than {MAX_MEMBERS:,} files; upload a smaller set.")
    try:
        archive = zipfile.ZipFile(io.BytesIO(content))
    except ARCHIVE_ERRORS:
        raise GandashError("the upload is not a readable zip file; zip the images again and upload that.") from None
    staging = target.with_name(f".{target.name}.partial")
    try:
        _remove(staging)  # left over from an interrupted upload
        report = _unpack(archive, staging)
        if report["images"] < MIN_IMAGES:
            skipped = "".join(
                f"; {count} {text}"
                for count, text in (
                    (len(report["unreadable"]), "could not be read"),
                    (report["duplicates"], "repeated a name"),
                )
                if count
            )
            raise GandashError(
                f"the zip holds {report['images']} readable image(s); a GAN needs at least "
                f"{MIN_IMAGES} (a few hundred or more trains well){skipped}."
            )
        staging.rename(target)
    finally:
        _remove(staging)
    report["unreadable"] = report["unreadable"][:20]
    report["classes"] = list(data.info(f"folder:{target}").class_names)
    return f"folder:{target}", report


def _unpack(archive: zipfile.ZipFile, staging: Path) -> dict:
    """Write the zip's images under `staging`, one member at a time, keeping those that decode."""
    kept, unpacked, duplicates, unreadable, taken = 0, 0, 0, [], set()
    for member in archive.infolist():
        parts = PurePosixPath(member.filename).parts
        if (
            member.is_dir()
            or PurePosixPath(member.filename).suffix.lower() not in data.IMAGE_SUFFIXES
            or any(part.startswith((".", "__MACOSX")) for part in parts)
        ):
            continue
        # never a path outside the dataset folder; the innermost folder is the class
        names = [re.sub(r"[^\w.-]+", "_", part) for part in parts if part not in ("", ".", "..")][-2:]
        if any(len(part.encode()) > MAX_NAME_BYTES for part in names):
            raise GandashError(
                f"'{_label(member.filename)}' in the zip has a file or folder name longer than "
                f"{MAX_NAME_BYTES} bytes; shorten it and zip again."
            )
        key = unicodedata.normalize("NFC", "/".join(names)).casefold()  # as macOS and Windows compare names
        if key in taken:
            duplicates += 1
            continue
        taken.add(key)
        destination = staging.joinpath(*names)
        try:
            destination.parent.mkdir(parents=True, exist_ok=True)
            unpacked += _copy_member(archive, member, destination, MAX_UNPACKED - unpacked)
        except ARCHIVE_ERRORS as exc:
            raise GandashError(f"'{_label(member.filename)}' in the zip could not be unpacked: {_why(exc)}.") from None
        if _decodes(destination, member.filename):
            kept += 1
        else:
            unreadable.append(_label(member.filename))
            destination.unlink()
    return {"images": kept, "unreadable": unreadable, "duplicates": duplicates}


def _copy_member(archive: zipfile.ZipFile, member: zipfile.ZipInfo, destination: Path, budget: int) -> int:
    """Stream one member to `destination`; returns the bytes it really inflated to."""
    label = _label(member.filename)
    if member.compress_type == zipfile.ZIP_BZIP2:
        raise GandashError(
            f"'{label}' in the zip is bzip2-compressed, which can hide a zip bomb; zip the images "
            "again with the usual deflate compression."
        )
    written = 0
    with archive.open(member) as stream, open(destination, "wb") as out:
        while chunk := stream.read(READ_SIZE):
            written += len(chunk)
            if written > MAX_IMAGE_BYTES:
                raise GandashError(
                    f"'{label}' in the zip unpacks to more than {MAX_IMAGE_BYTES // 1024**2} MB; "
                    "each image may take at most that. Leave it out or shrink it, and zip again."
                )
            if written > budget:
                raise GandashError(
                    f"the zip unpacks to more than {MAX_UNPACKED // 1024**3} GB (at '{label}'); "
                    "upload a smaller set or smaller images."
                )
            out.write(chunk)
    return written


def _decodes(path: Path, member_name: str) -> bool:
    """Whether the file is an image Pillow can decode; one that declares too many pixels is refused
    from its header, before decoding allocates them."""
    try:
        with warnings.catch_warnings():  # Pillow only warns below twice its own limit; ours is checked here
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            with Image.open(path) as image:
                width, height = image.size
                if width * height > MAX_IMAGE_PIXELS:
                    raise _too_large(member_name, f"is {width}x{height} ({width * height / 1e6:.0f} megapixels)")
                image.load()
                return width > 0 and height > 0
    except Image.DecompressionBombError as exc:  # beyond twice Pillow's own limit it refuses to open it at all
        found = re.search(r"\((\d+) pixels\)", str(exc))
        raise _too_large(
            member_name, f"has {int(found[1]) / 1e6:.0f} megapixels" if found else "has far too many pixels"
        ) from None
    except DECODE_ERRORS:
        return False


def _too_large(member_name: str, what: str) -> GandashError:
    return GandashError(
        f"'{_label(member_name)}' in the zip {what}; each image may have at most "
        f"{MAX_IMAGE_PIXELS // 10**6} megapixels. Downscale it (training uses 32-128 px) and "
        "zip again."
    )


def _why(exc: Exception) -> str:
    if isinstance(exc, NotImplementedError):  # before RuntimeError, its parent class
        return (
            "it is compressed or encrypted in a way Python's zipfile cannot read. Zip the images again with "
            "the usual deflate compression and no password"
        )
    if isinstance(exc, RuntimeError):  # what zipfile raises for a member that needs a password
        return "it is encrypted. Zip the images again without a password"
    if isinstance(exc, OSError) and exc.errno:  # the disk, not the archive
        return f"writing it to disk failed ({exc.strerror})"
    return f"its data is damaged ({type(exc).__name__}). Zip the images again and upload the new zip"


def _label(member_name: str) -> str:
    """A member's name fit for a message: printable, and short."""
    shown = "".join(c if c.isprintable() else "?" for c in member_name)
    return shown if len(shown) <= 80 else f"{shown[:38]}…{shown[-38:]}"


def add_points(name: str, filename: str, content: bytes) -> tuple[str, dict]:
    suffix = Path(filename).suffix.lower()
    if suffix not in (".npy", ".csv", ".txt"):
        raise GandashError(f"{_label(filename)}: points must be a .npy or .csv file.")
    target = uploads_dir() / f"{slug(name)}{'.npy' if suffix == '.npy' else '.csv'}"
    if target.exists():
        raise GandashError(f"a dataset named '{slug(name)}' exists already; pick another name.")
    paths.atomic_write_bytes(target, content)
    try:
        points = data.load(f"points:{target}").points
    except BaseException:  # whatever went wrong (a MemoryError too), the name stays free
        target.unlink(missing_ok=True)
        raise
    return f"points:{target}", {
        "points": len(points),
        "min": points.min(0).values.tolist(),
        "max": points.max(0).values.tolist(),
    }


def existing() -> list[str]:
    """Dataset names of earlier uploads, for the pickers."""
    names = []
    for path in sorted(uploads_dir().iterdir()):
        if path.name.startswith("."):
            continue
        names.append(f"folder:{path}" if path.is_dir() else f"points:{path}")
    return names


def _remove(folder: Path) -> None:
    shutil.rmtree(folder, ignore_errors=True)
