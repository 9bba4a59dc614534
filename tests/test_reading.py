"""restore.reading: the noise and the JPEG compression a photo carries, read from real photographs degraded
as a camera would (data.degrade.camera_array), and from real JPEG files."""

import io

import numpy as np
import pytest
from PIL import Image
from skimage import data as photographs

from gandash.data import degrade
from gandash.restore import photo, reading


def gray(name: str) -> np.ndarray:
    picture = getattr(photographs, name)()
    return picture if picture.ndim == 2 else np.rint(picture @ [0.299, 0.587, 0.114]).astype(np.uint8)


def jpeg_bytes(pixels: np.ndarray, quality: int) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, "JPEG", quality=quality)
    return buffer.getvalue()


@pytest.mark.parametrize("quality", [30, 60, 85, 95])
def test_a_jpeg_files_quality_is_read_from_its_header(quality):
    read = photo.read(jpeg_bytes(photographs.astronaut(), quality), "a.jpg", photo.Limits(50_000_000, 16, "deblur"))
    assert read.compression.quality == quality and "certain" in read.compression.how
    png = io.BytesIO()
    Image.fromarray(photographs.astronaut()).save(png, "PNG")
    assert photo.read(png.getvalue(), "a.png", photo.Limits(50_000_000, 16, "deblur")).compression is None


def test_jpeg_blocks_are_seen_in_the_pixels_of_a_photo_that_lost_its_header():
    kernel = degrade.gaussian_kernel(1.5)
    for name in ("camera", "coffee", "chelsea"):
        assert reading.from_pixels(degrade.camera_array(gray(name), kernel, 0.005, 75)).quality == 0, name
        assert reading.from_pixels(degrade.camera_array(gray(name), kernel, 0.005, None)).quality is None, name


@pytest.mark.parametrize("name", ["camera", "coffee", "chelsea"])
def test_sensor_noise_is_read_within_a_factor_of_its_true_level(name):
    kernel = degrade.gaussian_kernel(2.0)
    found = {level: reading.noise(degrade.camera_array(gray(name), kernel, level)).sigma for level in (0, 0.01, 0.02)}
    assert found[0] < 0.002  # a clean blurred photo is not called noisy
    for level in (0.01, 0.02):
        assert 0.5 * level < found[level] < 1.6 * level, (level, found[level])
    assert found[0.02] > found[0.01] > found[0]
    text = reading.describe(None, reading.noise(degrade.camera_array(gray(name), kernel, 0.02)))
    assert text.startswith("sensor noise σ ≈") and "not a JPEG" in text


def test_one_reading_gives_both_the_line_shown_and_the_clean_verdict():
    """The page and the CLI show Reading.describe() and pick the bundled U-Net by Reading.clean: one look."""
    kernel = degrade.gaussian_kernel(1.5)
    sharp = photographs.coffee()
    limits = photo.Limits(50_000_000, 16, "deblur")

    def read(pixels: np.ndarray, quality: int | None = None) -> reading.Reading:
        if quality is None:
            return reading.read(pixels)
        return reading.of_photo(photo.read(jpeg_bytes(pixels, quality), "a.jpg", limits))

    clean = read(degrade.camera_array(sharp, kernel))
    assert clean.clean and clean.describe().startswith("no visible sensor noise; not a JPEG (no 8×8 block")
    noisy = read(degrade.camera_array(sharp, kernel, 0.01))
    assert not noisy.clean and noisy.describe().startswith("sensor noise σ ≈")
    assert not read(degrade.camera_array(sharp, kernel), 85).clean  # a JPEG file below CLEAN_QUALITY
    fine = read(degrade.camera_array(sharp, kernel), 98)
    assert fine.clean and "JPEG quality 98 (from the file's quantisation table: certain)" in fine.describe()


def test_a_photo_is_read_on_its_central_1024_px_and_a_smaller_one_whole():
    small = degrade.camera_array(photographs.coffee(), degrade.gaussian_kernel(1.5), 0.01)
    gray = small.astype(np.float64).mean(axis=2)
    assert reading.read(small) == reading.Reading(reading.noise(gray), reading.from_pixels(gray))
    large = np.tile(small, (6, 4, 1))  # 2400x2400: only its middle is read
    top, left = (2400 - 1024) // 2 // 8 * 8, (2400 - 1024) // 2 // 8 * 8
    assert reading.read(large) == reading.read(large[top : top + 1024, left : left + 1024])
    assert reading.read(large[..., 0]) == reading.read(large[top : top + 1024, left : left + 1024, 0])  # gray
