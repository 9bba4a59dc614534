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
