"""Photos at full resolution in and out, for the deblur and upscale tools: decoding a file or an
upload into a compact `Photo` (its own 8 or 16 bits, gray or colour, alpha apart, EXIF orientation
applied) and encoding one back, keeping its depth where the format can hold it.

Pixels stay integers (uint8 or uint16, gray as one channel), so a photo costs what its pixels cost:
a 50-megapixel colour photo is 150 MB, not the 600 MB it would be as float32. Models convert one
tile at a time (gandash.tiling).
"""

from __future__ import annotations

import io
import re
import struct
import sys
import warnings
import zlib
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from gandash.core.errors import GandashError
from gandash.restore import reading

FORMATS = "JPEG, PNG, WebP, TIFF, BMP or GIF"
# what Pillow raises for files that are not images, are damaged or truncated, or are too large to decode
DECODE_ERRORS = (
    OSError,
    ValueError,
    SyntaxError,
    EOFError,
    IndexError,
    TypeError,
    struct.error,
    Image.DecompressionBombError,
)
# Pillow keeps 16-bit colour as 8-bit RGB(A): its unpacker takes each sample's high byte. Decoding a
# second time with the opposite byte order takes the low bytes instead (see _deep_colour).
_DEEP_RAWMODE = re.compile(r"^(RGBA?);16([BLN])$")


@dataclass(frozen=True)
class Limits:
    """What a tool accepts: at most `max_pixels`, at least `min_side` px a side; `verb` for messages."""

    max_pixels: int
    min_side: int
    verb: str  # "deblur", "upscale"


@dataclass(frozen=True)
class Photo:
    pixels: np.ndarray  # uint8 or uint16 (H, W, C): C is 1 for gray, 3 for colour
    alpha: np.ndarray | None = None  # (H, W) of the same dtype, or None
    note: str = ""  # what reading it changed, for the person (e.g. "read at 8 bits")
    compression: reading.Compression | None = None  # a JPEG file's quality, read from its header

    @property
    def size(self) -> tuple[int, int]:
        return self.pixels.shape[1], self.pixels.shape[0]

    @property
    def gray(self) -> bool:
        return self.pixels.shape[2] == 1

    @property
    def depth(self) -> int:
        return 16 if self.pixels.dtype == np.uint16 else 8


# --- in -----------------------------------------------------------------------------------------


def _label(source: Path | bytes, name: str) -> str:
    return name or (Path(source).name if isinstance(source, (str, Path)) else "the image")


def _open(source: Path | bytes) -> Image.Image:
    with warnings.catch_warnings():  # the size is checked against our own limit right after
        warnings.simplefilter("ignore", Image.DecompressionBombWarning)
        return Image.open(io.BytesIO(source) if isinstance(source, bytes) else source)


def _png_size(source: Path | bytes) -> tuple[int, int] | None:
    """(width, height) from a PNG's header, which Pillow refuses to open when either is 0."""
    if isinstance(source, bytes):
        head = source[:24]
    else:
        with Path(source).open("rb") as file:
            head = file.read(24)
    if len(head) == 24 and head[:8] == b"\x89PNG\r\n\x1a\n" and head[12:16] == b"IHDR":
        return struct.unpack(">II", head[16:24])
    return None


def read(source: Path | bytes, name: str, limits: Limits) -> Photo:
    """Decode an uploaded or on-disk photo; anything that is not a usable still image within `limits`
    raises GandashError saying what to do instead."""
    label = _label(source, name)
    try:
        image = _open(source)
        frames = getattr(image, "n_frames", 1)
        width, height = image.size
    except UnidentifiedImageError:
        size = _png_size(source)
        if size and 0 in size:
            raise GandashError(
                f"{label} has no pixels: its PNG header says it is {size[0]}x{size[1]}. "
                "Choose a photo with something in it."
            ) from None
        raise GandashError(
            f"{label} is not an image: its contents are not {FORMATS}, whatever its name says. "
            "Choose a photo in one of those formats."
        ) from None
    except Image.DecompressionBombError as exc:
        found = re.search(r"\((\d+) pixels\)", str(exc))
        size = f" ({int(found.group(1)) / 1e6:.0f} megapixels)" if found else ""
        raise GandashError(
            f"{label} is far too large{size}; the limit is {limits.max_pixels / 1e6:.0f} megapixels "
            f"to {limits.verb}. Downscale or crop it first."
        ) from None
    except DECODE_ERRORS as exc:
        raise GandashError(
            f"{label} is not a readable image ({type(exc).__name__}: {str(exc)[:120]}). Choose a {FORMATS} photo."
        ) from None
    if frames > 1:
        raise GandashError(
            f"{label} is animated or has {frames} pages; {limits.verb} works on one still picture. "
            "Save the frame you want as PNG and upload that."
        )
    if width == 0 or height == 0:
        raise GandashError(f"{label} has no pixels ({width}x{height}). Choose a photo with something in it.")
    if width * height > limits.max_pixels:
        raise GandashError(
            f"{label} is {width}x{height} ({width * height / 1e6:.0f} megapixels); the limit is "
            f"{limits.max_pixels / 1e6:.0f} megapixels to {limits.verb}. Downscale or crop it first."
        )
    if min(width, height) < limits.min_side:
        raise GandashError(
            f"{label} is {width}x{height}; each side needs at least {limits.min_side} pixels to {limits.verb}."
        )
    try:
        deep = _deep_colour(image, source)
        if deep is not None:
            return deep
        compression = reading.from_file(image)  # before decoding: the header is what says it
        return replace(_from_image(_upright(_loaded(image))), compression=compression)
    except DECODE_ERRORS as exc:  # truncated or corrupt data shows up only when decoding
        raise GandashError(
            f"{label} could not be decoded ({type(exc).__name__}: {str(exc)[:120]}); the file is "
            "probably truncated or damaged. Export it again."
        ) from None


def _rawmodes(image: Image.Image) -> list[str]:
    """The raw mode of each of the image's tiles (PNG has one; TIFF one per strip or tile)."""
    found = []
    for tile in getattr(image, "tile", None) or []:
        args = tile.args
        found.append(args if isinstance(args, str) else (args[0] if args and isinstance(args[0], str) else ""))
    return found


def _with_rawmode(tile, rawmode: str):
    return tile._replace(args=rawmode if isinstance(tile.args, str) else (rawmode, *tile.args[1:]))


def _deep_colour(image: Image.Image, source: Path | bytes) -> Photo | None:
    """A 16-bit RGB(A) PNG or TIFF at its full depth, or None for any other image.

    Pillow has no 16-bit colour mode: it decodes such files (unfiltering, decompressing, undoing
    predictors) and keeps each sample's high byte. Decoding a second time with the opposite byte order
    keeps the low bytes; together they are the exact 16-bit samples."""
    rawmodes = _rawmodes(image)
    if rawmodes and set(rawmodes) == {"LA;16B"}:  # 16-bit gray + alpha: Pillow has no low-byte unpacker for it
        gray = _upright(_loaded(image)).convert("LA")
        return _from_image(gray, note="16-bit gray with transparency is read at 8 bits per channel.")
    found = [_DEEP_RAWMODE.match(mode) for mode in rawmodes]
    if not found or not all(found):
        return None
    native = "L" if sys.byteorder == "little" else "B"
    opposite = {"B": "L", "L": "B", "N": "B" if native == "L" else "L"}
    high = _upright(_loaded(image))
    other = _open(source)
    other.tile = [
        _with_rawmode(tile, f"{match.group(1)};16{opposite[match.group(2)]}") for tile, match in zip(other.tile, found)
    ]
    low = _upright(_loaded(other))
    samples = (np.asarray(high).astype(np.uint16) << 8) | np.asarray(low)
    alpha = samples[..., 3].copy() if samples.shape[2] == 4 else None
    return Photo(np.ascontiguousarray(samples[..., :3]), alpha)


def _loaded(image: Image.Image) -> Image.Image:
    image.load()
    return image


def _upright(image: Image.Image) -> Image.Image:
    """EXIF orientation applied in place: the copying form also copies photos that need no turn."""
    ImageOps.exif_transpose(image, in_place=True)
    return image


def _from_image(image: Image.Image, note: str = "") -> Photo:
    mode, alpha = image.mode, None
    if mode.startswith("I"):  # 16-bit (and 32-bit integer) grayscale
        values = np.clip(np.asarray(image), 0, 65535).astype(np.uint16)
        return Photo(values[..., None], None, note)
    if mode == "P":
        image = image.convert("RGBA" if "transparency" in image.info else "RGB")
    elif mode in ("1", "F"):
        image = image.convert("L")
    elif mode in ("PA", "La", "RGBa"):
        image = image.convert("RGBA")
    mode = image.mode
    if mode in ("LA", "RGBA"):
        alpha = np.asarray(image.getchannel("A"))
    if mode in ("L", "LA"):
        return Photo(np.asarray(image.getchannel("L"))[..., None], alpha, note)
    # CMYK without a profile: Pillow's (255 - C)(255 - K)/255 per channel, the colours a print shows
    rgb = image if mode == "RGB" else image.convert("RGB")  # RGBA, CMYK, YCbCr, LAB, HSV
    return Photo(np.asarray(rgb), alpha, note)


def from_array(array: np.ndarray) -> Photo:
    """A Photo from a uint8 or uint16 (H, W), (H, W, 1) or (H, W, 3) array (bundled examples, tests)."""
    array = array[..., None] if array.ndim == 2 else array
    return Photo(np.ascontiguousarray(array[..., :3]))


# --- conversions for display and scoring ----------------------------------------------------------


def to_uint8(pixels: np.ndarray) -> np.ndarray:
    """8-bit copies of 8-bit, 16-bit or float [0, 1] pixels (for display: previews and crops)."""
    if pixels.dtype == np.uint8:
        return pixels
    if pixels.dtype == np.uint16:
        return ((pixels.astype(np.uint32) + 128) // 257).astype(np.uint8)  # round(v * 255 / 65535)
    return np.clip(np.rint(pixels * 255), 0, 255).astype(np.uint8)


def to_float(pixels: np.ndarray) -> np.ndarray:
    """float32 in [0, 1] (for the small copies the classical methods and the scores work on)."""
    if np.issubdtype(pixels.dtype, np.integer):
        return pixels.astype(np.float32) / np.iinfo(pixels.dtype).max
    return pixels.astype(np.float32, copy=False)


def pil(pixels: np.ndarray) -> Image.Image:
    """An 8-bit PIL image (L or RGB) of (H, W, 1|3) pixels of any depth."""
    array = to_uint8(pixels)
    return Image.fromarray(array[..., 0] if array.shape[2] == 1 else array)


# --- out ------------------------------------------------------------------------------------------


def _format(fmt: str) -> str:
    return {"JPG": "JPEG", "TIF": "TIFF"}.get(fmt.upper(), fmt.upper())


def depth_note(photo: Photo, fmt: str) -> str:
    """What writing `photo` as `fmt` loses, in a sentence, or ''."""
    fmt = _format(fmt)
    if photo.depth == 16 and fmt not in ("PNG", "TIFF"):
        return (
            f"{fmt} holds 8 bits per channel, so the 16-bit photo was written at 8 bits; use .png or .tif to keep 16."
        )
    return ""


def encode(photo: Photo, fmt: str = "PNG") -> bytes:
    """The photo as file bytes: 16-bit PNG or TIFF for a 16-bit photo, 8 bits where the format holds
    no more (see depth_note); alpha kept where the format has it."""
    fmt = _format(fmt)
    if fmt in ("JPEG", "BMP") and photo.alpha is not None:
        raise GandashError(f"{fmt} cannot store the transparent parts of this photo; write a .png instead.")
    channels = photo.pixels if photo.alpha is None else np.concatenate([photo.pixels, photo.alpha[..., None]], 2)
    if photo.depth == 16 and fmt == "PNG" and not (photo.gray and photo.alpha is None):
        return png16(channels)  # Pillow writes 16-bit gray, not 16-bit colour or gray + alpha
    if photo.depth == 16 and fmt == "TIFF":
        import tifffile  # a scikit-image dependency

        buffer = io.BytesIO()
        tifffile.imwrite(
            buffer,
            channels[..., 0] if channels.shape[2] == 1 else channels,
            compression="zlib",
            photometric="minisblack" if photo.gray else "rgb",
            extrasamples=["unassalpha"] if photo.alpha is not None else None,
        )
        return buffer.getvalue()
    if photo.depth == 16 and fmt == "PNG":
        image = Image.fromarray(channels[..., 0])  # I;16
    else:
        small = to_uint8(channels)
        image = Image.fromarray(small[..., 0] if small.shape[2] == 1 else small)
    buffer = io.BytesIO()
    try:
        # PNG at zlib level 3: a third of the default level 6's time for a 10% larger file (2 MP: 0.23 s, not 0.65)
        options = {"quality": 95} if fmt in ("JPEG", "WEBP") else {"compress_level": 3} if fmt == "PNG" else {}
        image.save(buffer, format=fmt, **options)
    except (KeyError, ValueError, OSError) as exc:
        raise GandashError(f"cannot write the result as {fmt} ({exc}); use .png, .jpg, .webp, .tif or .bmp.") from None
    return buffer.getvalue()


def png16(channels: np.ndarray, rows_per_chunk: int = 256) -> bytes:
    """A 16-bit PNG of uint16 (H, W, 1|2|3|4) samples (gray, gray + alpha, RGB, RGBA). Rows go through
    PNG's Sub filter (each byte minus the one a pixel to its left, which is what lets smooth photos
    compress) and deflate a band at a time, so no full-size copy of the bytes is made."""
    height, width, count = channels.shape
    kind = {1: 0, 2: 4, 3: 2, 4: 6}[count]

    def chunk(tag: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + tag + body + struct.pack(">I", zlib.crc32(tag + body))

    parts = [b"\x89PNG\r\n\x1a\n", chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 16, kind, 0, 0, 0))]
    packer, step = zlib.compressobj(6), 2 * count
    for top in range(0, height, rows_per_chunk):
        rows = channels[top : top + rows_per_chunk].astype(">u2").view(np.uint8).reshape(-1, width * step)
        filtered = np.empty((rows.shape[0], rows.shape[1] + 1), np.uint8)
        filtered[:, 0] = 1  # filter type Sub
        filtered[:, 1 : step + 1] = rows[:, :step]
        np.subtract(rows[:, step:], rows[:, :-step], out=filtered[:, step + 1 :])  # wraps mod 256 as PNG wants
        data = packer.compress(filtered.tobytes())
        if data:
            parts.append(chunk(b"IDAT", data))
    parts += [chunk(b"IDAT", packer.flush()), chunk(b"IEND", b"")]
    return b"".join(parts)
