"""Photos in and out at their own depth: 16-bit colour PNGs and TIFFs keep every bit (checked with
decoders independent of gandash's), gray, alpha and EXIF orientation survive, and a photo costs what its
pixels cost."""

import io
import struct
import zlib

import numpy as np
import pytest
import tifffile
from PIL import Image

from gandash.core.errors import GandashError
from gandash.restore import photo as photos
from tests.test_deblur import encoded

LIMITS = photos.Limits(50_000_000, 16, "deblur")


def smooth16(height: int, width: int, alpha: bool = False) -> np.ndarray:
    """uint16 colour ramps whose low bytes vary (what an 8-bit reader would throw away)."""
    y, x = np.mgrid[0:height, 0:width].astype(np.float64)
    planes = [x / width, y / height, (x + y) / (width + height)] + ([1 - x / width] if alpha else [])
    return (np.stack(planes, axis=2) * 60000 + 2000).astype(np.uint16)


def png_paeth(samples: np.ndarray) -> bytes:
    """A 16-bit PNG written independently of gandash, with every row through the Paeth filter (the
    adaptive filter real encoders pick most), so reading it tests the real unfiltering."""
    height, width, count = samples.shape
    raw = samples.astype(">u2").view(np.uint8).reshape(height, -1).astype(np.int16)
    step = 2 * count
    a, b, c = np.zeros_like(raw), np.zeros_like(raw), np.zeros_like(raw)
    a[:, step:], b[1:], c[1:, step:] = raw[:, :-step], raw[:-1], raw[:-1, :-step]
    p = a + b - c
    pa, pb, pc = np.abs(p - a), np.abs(p - b), np.abs(p - c)
    predicted = np.where((pa <= pb) & (pa <= pc), a, np.where(pb <= pc, b, c))
    rows = np.concatenate([np.full((height, 1), 4, np.int16), (raw - predicted) % 256], axis=1).astype(np.uint8)

    def chunk(tag: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + tag + body + struct.pack(">I", zlib.crc32(tag + body))

    kind = {3: 2, 4: 6}[count]
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 16, kind, 0, 0, 0))
        + chunk(b"IDAT", zlib.compress(rows.tobytes()))
        + chunk(b"IEND", b"")
    )


def decode_png16(data: bytes) -> tuple[tuple[int, int], np.ndarray]:
    """((bit depth, colour type), uint16 samples) of a PNG using filters None and Sub, decoded by hand."""
    position, idat = 8, b""
    while position < len(data):
        length, tag = struct.unpack(">I4s", data[position : position + 8])
        body = data[position + 8 : position + 8 + length]
        if tag == b"IHDR":
            width, height, depth, kind = struct.unpack(">IIBB", body[:10])
        elif tag == b"IDAT":
            idat += body
        position += 12 + length
    count = {0: 1, 4: 2, 2: 3, 6: 4}[kind]
    rows = np.frombuffer(zlib.decompress(idat), np.uint8).reshape(height, 1 + width * 2 * count)
    assert set(np.unique(rows[:, 0])) <= {0, 1}
    pixels = rows[:, 1:].reshape(height, width, 2 * count).copy()
    sub = rows[:, 0] == 1
    pixels[sub] = np.cumsum(pixels[sub], axis=1, dtype=np.uint8)  # undo Sub: add the byte a pixel left, mod 256
    samples = pixels.reshape(height, width, count, 2)
    return (depth, kind), (samples[..., 0].astype(np.uint16) << 8) | samples[..., 1]


@pytest.mark.parametrize(
    "options",
    [
        dict(),
        dict(compression="zlib"),
        dict(byteorder=">"),
        dict(rowsperstrip=7),
        dict(compression="zlib", predictor=True, byteorder=">", rowsperstrip=8),
    ],
)
def test_a_16_bit_rgb_tiff_is_read_at_16_bits(options):
    pixels = smooth16(30, 40)
    buffer = io.BytesIO()
    tifffile.imwrite(buffer, pixels, photometric="rgb", **options)
    if "rowsperstrip" in options and "compression" not in options:  # (libtiff decodes all strips as one)
        assert len(Image.open(io.BytesIO(buffer.getvalue())).tile) > 1  # one decoder tile per strip
    photo = photos.read(buffer.getvalue(), "scan.tif", LIMITS)
    assert photo.depth == 16 and not photo.gray and photo.alpha is None and photo.note == ""
    assert np.array_equal(photo.pixels, pixels)


def test_a_16_bit_png_with_paeth_filtered_rows_is_read_exactly_and_written_back_at_16_bits():
    pixels = smooth16(30, 40, alpha=True)
    photo = photos.read(png_paeth(pixels), "scan.png", LIMITS)
    assert photo.depth == 16 and np.array_equal(photo.pixels, pixels[..., :3])
    assert np.array_equal(photo.alpha, pixels[..., 3])
    written = photos.encode(photo)
    kind, samples = decode_png16(written)
    assert kind == (16, 6) and np.array_equal(samples, pixels)
    assert np.array_equal(np.asarray(Image.open(io.BytesIO(written))), (pixels >> 8).astype(np.uint8))  # Pillow too
    assert np.array_equal(photos.read(written, "again.png", LIMITS).pixels, pixels[..., :3])


def test_16_bit_tiffs_are_written_at_16_bits_and_8_bit_formats_say_what_they_lose():
    photo = photos.Photo(smooth16(20, 24))
    assert np.array_equal(tifffile.imread(io.BytesIO(photos.encode(photo, "tif"))), photo.pixels)
    assert photos.depth_note(photo, "png") == "" and "8 bits" in photos.depth_note(photo, "jpg")
    jpeg = Image.open(io.BytesIO(photos.encode(photo, "JPEG")))
    assert jpeg.mode == "RGB" and jpeg.size == (24, 20)


def test_photos_round_trip_with_their_depth_alpha_and_orientation():
    rng = np.random.default_rng(1)
    gray16 = Image.fromarray((rng.random((40, 50)) * 65535).astype(np.uint16))
    photo = photos.read(encoded(gray16, "PNG"), "", LIMITS)
    assert photo.gray and photo.depth == 16 and photo.size == (50, 40) and photo.pixels.shape == (40, 50, 1)
    back = Image.open(io.BytesIO(photos.encode(photo)))
    assert back.mode.startswith("I") and np.array_equal(np.asarray(back), np.asarray(gray16))

    gray8 = Image.fromarray((rng.random((20, 30)) * 255).astype(np.uint8))
    photo = photos.read(encoded(gray8, "PNG"), "", LIMITS)
    assert photo.gray and photo.depth == 8 and photo.pixels.dtype == np.uint8
    assert Image.open(io.BytesIO(photos.encode(photo))).mode == "L"

    rgba = Image.fromarray((rng.random((40, 50, 4)) * 255).astype(np.uint8), "RGBA")
    photo = photos.read(encoded(rgba, "PNG"), "", LIMITS)
    out = Image.open(io.BytesIO(photos.encode(photo)))
    assert out.mode == "RGBA" and np.array_equal(np.asarray(out), np.asarray(rgba))

    rotated = Image.new("RGB", (60, 30), "red")
    exif = rotated.getexif()
    exif[0x0112] = 6  # EXIF orientation: rotate 90 degrees to display
    assert photos.read(encoded(rotated, "JPEG", exif=exif), "", LIMITS).size == (30, 60)
    with pytest.raises(GandashError, match="write a .png instead"):
        photos.encode(photos.read(encoded(rgba, "PNG"), "", LIMITS), "JPEG")


def test_a_photo_costs_what_its_pixels_cost():
    photo = photos.read(encoded(Image.new("RGB", (400, 300), "teal"), "PNG"), "", LIMITS)
    assert photo.pixels.dtype == np.uint8 and photo.pixels.nbytes == 400 * 300 * 3
    assert photos.to_uint8(np.array([[[0, 32767, 65535]]], np.uint16)).tolist() == [[[0, 127, 255]]]


def test_sample_grids_are_laid_out_as_torchvision_lays_them_out():
    import torch
    from torchvision.utils import make_grid

    from gandash.core import images

    for shape, nrow in (((10, 1, 7, 5), 4), ((3, 3, 6, 6), 8), ((1, 1, 4, 4), 8)):
        batch = torch.rand(shape) * 2.4 - 1.2  # beyond [-1, 1] too: clamped
        expected = make_grid(batch, nrow=nrow, padding=2, normalize=True, value_range=(-1, 1))
        expected = expected.mul(255).round().to(torch.uint8).permute(1, 2, 0).numpy()
        assert (images.grid_array(batch, nrow).astype(int) - expected).__abs__().max() <= 1  # rounding
