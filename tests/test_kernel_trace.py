"""Tracing a camera shake's kernel from the photo (restore.kernel_trace): a winding shake the spectrum
estimator can only name as its nearest Gaussian or line is traced close to the true path and deconvolves
far better; where the named kernel is right the trace is refused and the named one kept."""

import numpy as np
import pytest
from PIL import Image
from scipy import ndimage

from gandash import data
from gandash.data import degrade
from gandash.data.kernel_grid import kernel_of
from gandash.quality import fidelity
from gandash.restore import baselines, kernel_estimate, kernel_trace


def camera_photo(kernel: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(sharp, blurry) float photos: astronaut at 640 px, blurred by `kernel`, noise 1%, JPEG q85."""
    sharp = np.asarray(Image.fromarray(data.photo("astronaut")).resize((640, 640), Image.LANCZOS))
    blurry = degrade.camera_array(sharp, kernel, 0.01, 85)
    return sharp.astype(np.float32) / 255, blurry.astype(np.float32) / 255


def wiener_psnr(blurry: np.ndarray, sharp: np.ndarray, kernel: np.ndarray) -> float:
    return fidelity.psnr(np.clip(baselines.wiener(blurry, kernel), 0, 1), sharp)


def distance(a: np.ndarray, b: np.ndarray) -> float:
    """L1 between two kernels (each sums to 1: 0 the same, 2 disjoint), at their best alignment within 3 px."""
    size = max(a.shape[0], b.shape[0]) | 1
    a, b = (np.asarray(degrade.padded(k, size)) for k in (a, b))
    return min(float(np.abs(np.roll(a, (dy, dx), (0, 1)) - b).sum()) for dy in range(-3, 4) for dx in range(-3, 4))


def test_a_winding_shake_is_traced_close_to_its_path_and_deconvolves_far_better_than_its_name():
    shake = degrade.shake_kernel(17, 103)
    sharp, blurry = camera_photo(shake)
    found = kernel_estimate.estimate(blurry)
    named = kernel_of(found.entry)
    assert found.traced is not None, found.label  # the spectrum names it a Gaussian: no name fits a shake
    assert distance(found.kernel, shake) < distance(named, shake) - 0.3
    assert wiener_psnr(blurry, sharp, found.kernel) > wiener_psnr(blurry, sharp, named) + 3
    assert found.label.startswith("camera shake, about ") and "traced from the photo" in found.confidence
    assert kernel_estimate.estimate(blurry, trace=False).traced is None


def test_a_shake_on_fur_is_traced_from_its_edges_and_deconvolves_far_better_than_its_placeholder():
    shake = degrade.shake_kernel(15, 208)
    sharp_pixels = data.photo("chelsea")  # a cat: fur everywhere, a few real edges
    blurry = degrade.camera_array(sharp_pixels, shake, 0.01, 85).astype(np.float32) / 255
    sharp = sharp_pixels.astype(np.float32) / 255
    placeholder = kernel_of(kernel_estimate.WIDEST_GAUSSIAN)
    traced = kernel_trace.trace(blurry.mean(-1), placeholder, trusted=True)
    assert distance(traced, shake) < distance(placeholder, shake) - 0.3
    assert wiener_psnr(blurry, sharp, traced) > wiener_psnr(blurry, sharp, placeholder) + 3


def test_where_the_named_kernel_is_right_the_trace_is_refused():
    for kernel in (degrade.gaussian_kernel(2.0), degrade.motion_kernel(9, 30)):
        _, blurry = camera_photo(kernel)
        found = kernel_estimate.estimate(blurry)
        assert found.traced is None, found.label
        assert np.array_equal(found.kernel, kernel_of(found.entry))
        assert found.confidence.endswith("% sure")


@pytest.mark.parametrize(
    "seed, unsure, gain",
    [
        # a path with a bright dwell point has a spectrum like a light Gaussian's
        (103, "unsure_of_light_blur", 3),
        # one of the training mix's winding paths reads as the widest defocus disc (true discs read with
        # certainty: test_kernel_estimate)
        (5, "unsure_of_disc", 1),
    ],
)
def test_a_shake_read_unsurely_as_a_light_blur_or_a_wide_disc_is_traced_as_one_and_deconvolves_better(
    seed, unsure, gain
):
    """Read so with little certainty, the shake is traced from the placeholder for a shake, and kept."""
    shake = degrade.shake_kernel(11, seed)
    pixels = data.photo("astronaut")
    sharp, blurry = (x.astype(np.float32) / 255 for x in (pixels, degrade.camera_array(pixels, shake, 0.01, 85)))
    found = kernel_estimate.estimate(blurry)
    assert getattr(found, unsure) and found.traced is not None, (found.entry, found.probability)
    named = kernel_of(found.entry)
    assert distance(found.kernel, shake) < distance(named, shake) - 0.3
    assert wiener_psnr(blurry, sharp, found.kernel) > wiener_psnr(blurry, sharp, named) + gain
    assert found.confidence.endswith("which is more often a camera shake")


def test_a_sharp_photo_read_as_a_small_disc_with_little_certainty_is_left_as_it_was():
    """Cells' texture reads as a 1 px disc at 21%: not a shake (unsure_of_disc is for wide discs only)."""
    one = np.ones((1, 1), np.float32)
    found = kernel_estimate.estimate(degrade.camera_array(data.photo("immunohistochemistry"), one, 0.0, 85))
    assert found.entry[:2] == ("defocus", 1.0) and found.probability < 0.4, (found.entry, found.probability)
    assert not found.names_a_shake and not found.blurred, found.label


def test_only_the_placeholder_and_a_light_gaussian_or_a_wide_disc_read_unsurely_stand_for_a_shake():
    def stands(entry: tuple, probability: float) -> bool:
        return kernel_estimate.Estimate(entry, probability).names_a_shake

    assert stands(kernel_estimate.WIDEST_GAUSSIAN, 0.9)
    assert stands(("gaussian", 1.5, 0.0), 0.26) and stands(("gaussian", 1.0, 0.0), 0.39)
    assert not stands(("gaussian", 1.5, 0.0), 0.6)  # a sure reading: a Gaussian
    assert not stands(("gaussian", 0.75, 0.0), 0.26)  # where sharp, finely textured photos land
    assert not stands(("gaussian", 2.5, 0.0), 0.26)
    assert not stands(("gaussian", 1.5, 0.0), 0.08)  # no reading to speak of
    assert not stands(("motion", 7.0, 45.0), 0.26)
    assert stands(("defocus", 4.0, 0.0), 0.28) and stands(("defocus", 3.0, 0.0), 0.37)  # a wide disc read unsurely
    assert not stands(("defocus", 4.0, 0.0), 0.7) and not stands(("defocus", 4.0, 0.0), 0.1)
    assert not stands(("defocus", 1.0, 0.0), 0.21)  # where a sharp photo of cells lands


def test_a_trusted_trace_is_kept_without_having_to_explain_the_photo_better():
    """The widest Gaussian is where the estimator puts shakes: its trace is trusted, others must earn it."""
    assert kernel_estimate.WIDEST_GAUSSIAN == ("gaussian", 3.0, 0.0)
    _, blurry = camera_photo(degrade.gaussian_kernel(2.0))
    gray, named = blurry.mean(-1), degrade.gaussian_kernel(2.0)
    assert kernel_trace.trace(gray, named) is None  # the right name explains it as well: refused
    kept = kernel_trace.trace(gray, named, trusted=True)
    assert kept is not None and kept.shape == (kernel_trace.SIZE,) * 2 and np.isclose(kept.sum(), 1)


def test_a_refined_trace_that_explains_the_photo_better_is_traced_again_as_a_shake():
    shake = degrade.shake_kernel(17, 103)
    _, blurry = camera_photo(shake)
    gray, misread = blurry.mean(-1), degrade.motion_kernel(9, 30)  # a shake misread as a line
    refined = kernel_trace.trace(gray, misread)
    assert refined is not None and np.array_equal(refined, kernel_trace.trace(gray, misread, trusted=True))
    assert distance(refined, shake) < distance(misread, shake) - 0.5


def test_a_refined_name_traced_again_is_kept_only_if_the_shake_explains_the_photo_better_than_the_name(monkeypatch):
    """Brick's repeating pattern: a refined kernel explains a line blur better than the line does (its copies
    fit the pattern), so it is traced again as a shake; that shake does not, and the line is kept."""
    line = degrade.motion_kernel(9, 60)
    blurry = degrade.camera_array(data.photo("brick"), line, 0.01, 85).astype(np.float32) / 255
    traced_again = []
    real_trace = kernel_trace._trace

    def spy(gray, named, trusted):
        found = real_trace(gray, named, trusted)
        if trusted:
            traced_again.append(found)
        return found

    monkeypatch.setattr(kernel_trace, "_trace", spy)
    assert kernel_trace.trace(blurry.mean(-1), line) is None
    assert len(traced_again) == 1 and traced_again[0][0].shape == (kernel_trace.SIZE,) * 2
    sharp = data.photo("brick").astype(np.float32) / 255
    assert wiener_psnr(blurry, sharp, line) > wiener_psnr(blurry, sharp, traced_again[0][0]) + 1


def test_the_reading_says_why_a_trace_was_kept():
    shake = degrade.shake_kernel(11, 3)
    trusted = kernel_estimate.Estimate(kernel_estimate.WIDEST_GAUSSIAN, 0.93, traced=shake)
    assert trusted.label.startswith("camera shake, about ")
    assert trusted.confidence.endswith("Gaussian blur, σ 3 px at 93%, is how it names a camera shake")
    refined = kernel_estimate.Estimate(("motion", 9.0, 30.0), 0.4, traced=shake)
    assert "explains it better than the spectrum's reading, motion blur, 9 px at 30° at 40%" in refined.confidence


def test_edges_are_selected_where_gradients_agree_and_fine_texture_is_left_out():
    rng = np.random.default_rng(0)
    image = np.full((128, 128), 0.2, np.float32)
    image[:64, 64:] = 0.8  # a straight edge in the top half
    image = degrade.blur_array(image, degrade.gaussian_kernel(2.0))
    image[64:] = rng.random((64, 128), dtype=np.float32)  # fine texture below: gradients every way
    selected = kernel_trace.edges(image)
    assert selected[8:56, 60:67].mean() > 0.9
    assert selected[72:120, 8:120].mean() < 0.2


def test_nothing_is_traced_from_a_photo_too_small_or_a_sharp_reading():
    rng = np.random.default_rng(0)
    assert kernel_trace.trace(rng.random((60, 60), dtype=np.float32), degrade.gaussian_kernel(2.0)) is None
    assert kernel_trace.trace(rng.random((200, 200), dtype=np.float32), np.ones((1, 1), np.float32)) is None


def test_as_blur_makes_one_centred_non_negative_piece_summing_to_one():
    raw = np.zeros((15, 15))
    raw[2, 2:6] = 1.0  # the path, off centre
    raw[12, 12] = 0.3  # a speck of noise, apart from it
    raw[8, 8] = -0.5
    k = kernel_trace.as_blur(raw)
    assert k.min() >= 0 and np.isclose(k.sum(), 1)
    assert np.count_nonzero(k) == 4  # the speck is gone, the path kept
    rows, cols = np.mgrid[:15, :15]
    assert abs((k * rows).sum() - 7) <= 0.5 and abs((k * cols).sum() - 7) <= 0.5
    assert kernel_trace.as_blur(-np.ones((5, 5))) is None
    assert kernel_trace.extent(k) == 4


def mass_centre(kernel: np.ndarray) -> tuple[float, float]:
    rows, cols = np.mgrid[: kernel.shape[0], : kernel.shape[1]]
    return float((kernel * rows).sum()), float((kernel * cols).sum())


def test_a_kernel_is_centred_on_its_mass_to_a_fraction_of_a_pixel_and_the_photo_then_lands_where_it_was():
    shake = degrade.shake_kernel(13, 23)  # centred on its mass, as degrade makes every kernel
    assert np.allclose(mass_centre(shake), shake.shape[0] // 2)
    # the same path 0.4 px up and 0.3 px right of centre: as_blur's whole-pixel centring leaves it there
    off = np.clip(ndimage.shift(shake.astype(np.float64), (-0.4, 0.3), order=3), 0, None)
    off = (off / off.sum()).astype(np.float32)
    assert kernel_trace.as_blur(off, floor=0.0).shape == off.shape
    assert np.allclose(mass_centre(kernel_trace.as_blur(off, floor=0.0)), mass_centre(off))
    centred = kernel_trace.centred_on_mass(off)
    assert np.allclose(mass_centre(centred), shake.shape[0] // 2, atol=0.02)
    assert centred.min() >= 0 and np.isclose(centred.sum(), 1)
    assert distance(centred, shake) < distance(off, shake) - 0.15  # back where the path was
    sharp, blurry = camera_photo(shake)
    # deconvolved with the kernel off centre, the restored photo is shifted by as much: about 1 dB lost
    assert wiener_psnr(blurry, sharp, centred) > wiener_psnr(blurry, sharp, off) + 0.5


def test_a_trace_is_centred_on_the_mass_of_its_faint_tail_too():
    """A shake that dwells, then drifts: each of the drift's pixels is under the floor as_blur cuts, but
    together they carry a third of the light. Centred on the kept dwell alone, the restored photo is shifted."""
    shake = np.zeros((25, 25))
    shake[12:14, 11:13] = 0.65 / 4  # the dwell
    shake[12, 13:23] = 0.35 / 10  # the drift to the right, each pixel a fifth of the dwell's
    blur = kernel_trace.centred_on_mass(shake)  # as degrade makes kernels: centred on all their mass
    kept = kernel_trace.as_blur(blur, floor=0.25)
    assert kernel_trace.extent(kept) <= 3  # the drift is cut
    offset = kernel_trace.tail_offset(blur, floor=0.25)
    assert offset[1] > 0.5  # the blur's mass lies right of the kept dwell's
    with_tail = kernel_trace.centred_on_mass(kept, offset)
    assert np.allclose(mass_centre(with_tail), 12 - offset, atol=0.02)
    sharp, blurry = camera_photo(blur)
    assert wiener_psnr(blurry, sharp, with_tail) > wiener_psnr(blurry, sharp, kernel_trace.centred_on_mass(kept)) + 0.5


def test_a_traced_shake_is_centred_on_its_mass_and_its_tail_to_a_fraction_of_a_pixel():
    _, blurry = camera_photo(degrade.shake_kernel(15, 11))
    placeholder = kernel_of(kernel_estimate.WIDEST_GAUSSIAN)
    traced = kernel_trace.trace(blurry.mean(-1), placeholder, trusted=True)
    whole_pixel, offset = kernel_trace._trace(blurry.mean(-1), placeholder, trusted=True)
    assert traced.shape == whole_pixel.shape == (kernel_trace.SIZE, kernel_trace.SIZE)
    assert 0 < np.abs(offset).max() < kernel_trace.REACH
    assert np.allclose(mass_centre(traced), kernel_trace.SIZE // 2 - offset, atol=0.02)
    assert kernel_trace.extent(traced) < 20  # the path's own size, not the square's: the spline's tails are cut


def test_a_sharp_photo_misread_as_a_small_blur_traces_to_a_point_and_is_left_as_it_was():
    sharp = np.asarray(Image.fromarray(data.photo("astronaut")).resize((640, 640), Image.LANCZOS))
    misread = degrade.motion_kernel(5, 45)  # what the estimator reads in a dune's ripples
    for noise, quality in ((0.01, None), (0.0, 85)):
        given = degrade.camera_array(sharp, np.ones((1, 1), np.float32), noise, quality).mean(-1) / 255
        assert kernel_trace.trace(given.astype(np.float32), misread).shape == (1, 1)
    # a light blur does not: its trace spreads the light
    blurred = degrade.camera_array(sharp, degrade.gaussian_kernel(1.0), 0.01, 85).mean(-1) / 255
    traced = kernel_trace.trace(blurred.astype(np.float32), misread)
    assert traced is None or traced.max() < kernel_trace.POINT


def test_an_estimate_whose_trace_shrank_to_a_point_says_no_blur_and_restores_nothing():
    from gandash.restore import deblur
    from gandash.ui.deblur_view import estimate_note

    found = kernel_estimate.Estimate(("motion", 5.0, 45.0), 0.54, traced=np.ones((1, 1), np.float32))
    assert not found.blurred and found.label == "no blur found"
    assert "motion blur, 5 px at 45° at 54%" in found.confidence and "shrinks to a point" in found.confidence
    assert estimate_note(found).startswith("No blur found in this photo (the spectrum read motion blur")
    pixels = (np.random.default_rng(0).random((80, 96, 3)) * 255).astype(np.uint8)
    assert np.array_equal(deblur.restore(pixels, deblur.bundled_model(), kernel=found.kernel), pixels)
    assert kernel_estimate.Estimate(("gaussian", 2.0, 0.0), 0.7).blurred


def test_a_faint_blur_read_with_little_certainty_is_not_acted_on():
    def unsure(entry: tuple, probability: float) -> bool:
        return kernel_estimate.Estimate(entry, probability).unsure_of_faint_blur

    assert unsure(("gaussian", 0.75, 0.0), 0.3) and unsure(("gaussian", 0.5, 0.0), 0.2)
    assert not unsure(("gaussian", 0.75, 0.0), 0.6) and not unsure(("gaussian", 1.0, 0.0), 0.3)
    # a sharp, finely textured photo saved as JPEG: the spectrum reads a faint blur, and it is left as it was
    pixels = np.asarray(Image.fromarray(data.photo("retina")).resize((640, 640), Image.LANCZOS))
    given = degrade.camera_array(pixels, np.ones((1, 1), np.float32), 0.0, 85)
    found = kernel_estimate.estimate(given)
    assert found.unsure_of_faint_blur and not found.blurred, (found.entry, found.probability)
    assert found.label == "no blur found"
    assert found.confidence.startswith("the spectrum read Gaussian blur, σ 0.75 px at only ")
    assert found.confidence.endswith("%: too faint and unsure to undo")
