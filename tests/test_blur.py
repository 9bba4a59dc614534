"""Each degradation does what it says: kernels sum to 1, a blurred edge is wider, noise and JPEG change
pixels by the expected amount, and training pairs line up."""

import numpy as np
import pytest
import torch

from gandash.core.errors import GandashError
from gandash.data import degrade
from gandash.restore import reading


def edge_width(row: np.ndarray) -> int:
    """Pixels between 10% and 90% of a step edge."""
    low, high = row.min(), row.max()
    level = (row - low) / (high - low)
    return int(((level > 0.1) & (level < 0.9)).sum())


def step_image(size: int = 64, vertical: bool = True) -> np.ndarray:
    image = np.zeros((size, size), np.uint8)
    if vertical:
        image[:, size // 2 :] = 255
    else:
        image[size // 2 :, :] = 255
    return image


@pytest.mark.parametrize(
    "kernel",
    [
        degrade.gaussian_kernel(0.5),
        degrade.gaussian_kernel(3.0),
        degrade.motion_kernel(3),
        degrade.motion_kernel(21, 37.0),
        degrade.defocus_kernel(1.0),
        degrade.defocus_kernel(4.0),
        degrade.combine(degrade.gaussian_kernel(1.0), degrade.motion_kernel(9, 100)),
    ],
)
def test_every_kernel_sums_to_one_is_odd_sized_and_non_negative(kernel):
    assert kernel.sum() == pytest.approx(1.0, abs=1e-5)
    assert kernel.min() >= 0
    assert kernel.shape[0] == kernel.shape[1] and kernel.shape[0] % 2 == 1


def test_random_kernels_cover_the_mix_and_fit_the_common_size():
    generator = torch.Generator().manual_seed(0)
    kernels = [degrade.random_kernel(generator) for _ in range(300)]
    assert all(abs(k.sum() - 1) < 1e-5 and k.shape[0] <= degrade.KERNEL_SIZE for k in kernels)
    assert len({k.shape for k in kernels}) > 5  # many strengths, not one kernel


@pytest.mark.parametrize("sigma", [1.0, 2.5])
def test_gaussian_blur_widens_an_edge_more_for_a_larger_sigma(sigma):
    sharp = step_image()
    width = edge_width(degrade.blur_array(sharp, degrade.gaussian_kernel(sigma))[32].astype(float))
    assert edge_width(sharp[32].astype(float)) == 0
    assert 2 * sigma <= width <= 4 * sigma  # 10-90% of a Gaussian edge is 2.56 sigma


def test_motion_blur_smears_only_along_its_direction():
    horizontal = degrade.motion_kernel(15, 0)
    across = degrade.blur_array(step_image(vertical=True), horizontal)  # edge crossed by the motion
    along = degrade.blur_array(step_image(vertical=False), horizontal)  # edge parallel to it
    assert edge_width(across[32].astype(float)) >= 10
    assert edge_width(along[:, 32].astype(float)) == 0
    vertical = degrade.blur_array(step_image(vertical=False), degrade.motion_kernel(15, 90))
    assert edge_width(vertical[:, 32].astype(float)) >= 10


def test_defocus_is_a_disk_of_the_given_radius():
    kernel = degrade.defocus_kernel(3.0)
    assert kernel.shape == (7, 7)
    assert kernel[3, 3] == pytest.approx(kernel[3, 1])  # flat inside
    assert kernel[0, 0] == 0  # nothing outside the disk
    width = edge_width(degrade.blur_array(step_image(), kernel)[32].astype(float))
    assert 3 <= width <= 6


def test_blur_keeps_shape_dtype_and_flat_areas():
    for dtype, value in ((np.uint8, 200), (np.uint16, 50_000), (np.float32, 0.25)):
        flat = np.full((20, 30, 3), value, dtype)
        out = degrade.blur_array(flat, degrade.gaussian_kernel(2.0))
        assert out.dtype == dtype and out.shape == flat.shape
        assert np.allclose(out.astype(float), float(value), rtol=1e-5)
    thin = degrade.blur_array(np.full((1, 50), 9, np.uint8), degrade.gaussian_kernel(3.0))  # thinner than the kernel
    assert thin.shape == (1, 50) and (thin == 9).all()


def test_bad_strengths_are_refused_with_the_allowed_range():
    with pytest.raises(GandashError, match="sigma"):
        degrade.gaussian_kernel(0)
    with pytest.raises(GandashError, match="length"):
        degrade.motion_kernel(200)
    with pytest.raises(GandashError, match="choose one of"):
        degrade.kernel_for("swirl", 2)


def test_noise_and_jpeg_change_pixels_by_the_expected_amount():
    flat = torch.zeros(1, 3, 64, 64)
    noisy = degrade.add_noise(flat, 0.01, torch.Generator().manual_seed(0))
    assert noisy.std().item() == pytest.approx(0.02, rel=0.1)  # 1% of the [-1, 1] range
    rng = np.random.default_rng(0)
    photo = degrade.blur_array((rng.random((64, 64, 3)) * 255).astype(np.uint8), degrade.gaussian_kernel(1.0))
    low, high = degrade.jpeg_array(photo, 30), degrade.jpeg_array(photo, 95)
    errors = [np.abs(x.astype(float) - photo).mean() for x in (high, low)]
    assert 0 < errors[0] < errors[1]


def test_training_pairs_are_aligned_and_blurred_from_real_margins():
    generator = torch.Generator().manual_seed(1)
    rng = np.random.default_rng(0)
    crops = torch.from_numpy((rng.random((6, 3, 100, 100)) * 255).astype(np.uint8))
    blurred, sharp, kernels = degrade.degrade(crops, 48, generator, degrade.NONE)
    assert blurred.shape == sharp.shape == (6, 3, 48, 48)
    assert torch.equal(sharp, crops[:, :, 26:74, 26:74].float().div(127.5).sub(1))
    assert blurred.min() >= -1 and blurred.max() <= 1
    # a blur lowers the pixel-to-pixel variation of random texture
    assert blurred.diff(dim=-1).abs().mean() < sharp.diff(dim=-1).abs().mean()
    # the kernels come back with the pairs: re-blurring the sharp crop by its kernel gives its input
    again = degrade.blur(crops[:1].float().div(127.5).sub(1), torch.from_numpy(kernels[0])[None])
    assert len(kernels) == 6 and all(abs(k.sum() - 1) < 1e-5 for k in kernels)
    assert (again[:, :, 26:74, 26:74] - blurred[:1]).abs().max() <= 1.01 / 127.5  # 8-bit rounding
    small = torch.from_numpy((rng.random((2, 1, 32, 32)) * 255).astype(np.uint8))  # no margin: mirrored
    blurred, sharp, _ = degrade.degrade(small, 32, generator)
    assert blurred.shape == (2, 1, 32, 32)


# --- a camera's degradations (issue #22): shake, sensor noise, JPEG --------------------------------


def test_camera_shake_kernels_are_random_paths_of_the_asked_extent():
    kernels = [degrade.shake_kernel(15, seed) for seed in range(20)]
    bent = 0
    for kernel in kernels:
        assert kernel.min() >= 0 and abs(kernel.sum() - 1) < 1e-5 and kernel.shape[0] <= degrade.KERNEL_SIZE
        ys, xs = np.nonzero(kernel > 1e-4)
        assert 13 <= max(np.ptp(xs), np.ptp(ys)) + 1 <= 18  # about 15 px across
        spread = np.linalg.eigvalsh(np.cov(np.stack([xs, ys]), aweights=kernel[ys, xs]))
        bent += spread[0] > 1.0  # not a straight line: it spreads in both directions
    assert bent >= 12, bent  # most hands do not move in straight lines
    assert np.array_equal(degrade.shake_kernel(15, 3), degrade.kernel_for("shake", 15, 3))
    assert not np.array_equal(kernels[0], kernels[1])


def test_sensor_noise_grows_with_the_signal_as_a_cameras_does():
    """Poisson-Gaussian: variance a x + b^2, `level` the standard deviation at mid-grey."""
    level, generator, measured = 0.02, torch.Generator().manual_seed(0), {}
    for x in (0.1, 0.5, 0.9):
        flat = torch.full((1, 1, 256, 256), 2 * x - 1)
        measured[x] = degrade.sensor_noise(flat, level, generator).add(1).div(2).std().item()
        expected = (0.75 * level**2 / 0.5 * x + 0.25 * level**2) ** 0.5
        assert abs(measured[x] / expected - 1) < 0.05, (x, measured[x], expected)
    assert abs(measured[0.5] / level - 1) < 0.05 and measured[0.9] > 1.5 * measured[0.1]


def test_a_camera_copy_is_blurred_noisy_and_as_blocky_as_its_jpeg_quality():
    from skimage import data as photos

    sharp = photos.camera()[:256, :256]
    kernel = degrade.gaussian_kernel(2.0)
    png = degrade.camera_array(sharp, kernel, noise=0.0, quality=None)
    assert np.array_equal(png, degrade.blur_array(sharp, kernel))  # no noise, no JPEG: the plain blur
    noisy = degrade.camera_array(sharp, kernel, noise=0.02, quality=None)
    assert 2 < np.abs(noisy.astype(float) - png).mean() < 8
    jpeg = degrade.camera_array(sharp, kernel, noise=0.02, quality=60)
    assert reading.blockiness(jpeg) > 1.1 * reading.blockiness(noisy)
    grey = degrade.camera_array(sharp[..., None], kernel, noise=0.01, quality=80)
    assert grey.shape == (256, 256, 1) and grey.dtype == np.uint8


def test_training_pairs_are_drawn_as_cameras_make_photos_and_repeat_from_a_seed():
    """degrade.CAMERA: shake paths among the kernels, sensor noise and JPEG in most pairs, at real rates."""
    rng = np.random.default_rng(0)
    # smooth random texture, as photos are: JPEG's blocks show on it
    crops = degrade.blur_array(
        (rng.random((64, 124, 124)) * 255).astype(np.uint8).transpose(1, 2, 0), np.ones((2, 2)) / 4
    )
    crops = torch.from_numpy(np.ascontiguousarray(crops.transpose(2, 0, 1)))[:, None].repeat(1, 3, 1, 1)
    first = degrade.degrade(crops, 64, torch.Generator().manual_seed(3))
    again = degrade.degrade(crops, 64, torch.Generator().manual_seed(3))
    assert torch.equal(first[0], again[0]) and all(np.array_equal(a, b) for a, b in zip(first[2], again[2]))
    blurred, sharp, kernels = first
    assert blurred.shape == sharp.shape == (64, 3, 64, 64) and blurred.min() >= -1 and blurred.max() <= 1
    levels = (blurred + 1) * 127.5
    assert (levels - levels.round()).abs().max() < 1e-3  # 8 bits, as photos are
    clean, _, _ = degrade.degrade(crops, 64, torch.Generator().manual_seed(3), degrade.NONE)
    # Gaussian, line, disc and their mixtures are centrally symmetric; a shake's path is not
    draws = [degrade.random_kernel(torch.Generator().manual_seed(s), degrade.CAMERA.shake) for s in range(200)]
    paths = sum(not np.allclose(k, k[::-1, ::-1], atol=1e-4) for k in draws)
    assert 20 <= paths <= 60, paths  # a fifth of 200
    # noise and JPEG: what each pair differs by from the clean blur of its own kernel
    reblurred = [
        degrade.blur(crops[i : i + 1].float().div(127.5).sub(1), torch.from_numpy(k)[None])
        for i, k in enumerate(kernels)
    ]
    residual = torch.stack([(blurred[i] - reblurred[i][0, :, 30:94, 30:94]).std() for i in range(64)]) / 2
    changed = (residual > 1.5 / 255).float().mean().item()
    assert 0.6 < changed < 1.0  # most have noise or JPEG (70% each), a few neither
    gray = ((blurred.mean(1) + 1) * 127.5).numpy()
    blocky = np.mean([reading.blockiness(g) > 1.05 for g in gray])
    assert 0.4 < blocky < 0.95, blocky  # JPEG in 70%; at q95 and under noise some do not show it
    # the clean mix keeps to mild noise and high JPEG quality
    mild, _, _ = degrade.degrade(crops, 64, torch.Generator().manual_seed(3), degrade.CLEAN)
    assert (mild - clean).abs().mean() < (blurred - clean).abs().mean()


def test_noise_resized_with_the_photo_is_finer_grained_but_as_strong():
    flat = torch.zeros(400, 1, 32, 32)
    always = degrade.Mix(0, 1.0, (0.02, 0.02), True, 0.0, 0, (95, 95))
    resized = degrade.Mix(0, 1.0, (0.02, 0.02), True, 1.0, 0, (95, 95))
    plain, web = (degrade.noisy(flat, mix, torch.Generator().manual_seed(0)) for mix in (always, resized))
    for noise in (plain, web):
        assert noise.div(2).std().item() == pytest.approx(0.02 * (0.75 * 0.5 / 0.5 + 0.25) ** 0.5, rel=0.1)

    def neighbour_correlation(x):
        return torch.corrcoef(torch.stack([x[..., :, :-1].flatten(), x[..., :, 1:].flatten()]))[0, 1].item()

    assert abs(neighbour_correlation(plain)) < 0.05 and neighbour_correlation(web) > 0.1  # measured 0.16
