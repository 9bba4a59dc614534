"""Blind kernel estimation and the Wiener stage of the deblurring U-Net: the bundled estimator names the
blur of held-out photos, its training command writes weights that load, the torch Wiener filter is
scikit-image's, and the U-Net starts as that filter."""

import numpy as np
import pytest
import torch

from gandash import data
from gandash.__main__ import main
from gandash.data import degrade, kernel_grid
from gandash.nets.deblur import DeblurUNet, consistent, wiener
from gandash.restore import baselines, deblur, kernel_estimate


def blurred_photo(name: str, kernel: np.ndarray) -> np.ndarray:
    sharp = data.photo(name).astype(np.float32) / 255
    return np.rint(np.clip(degrade.blur_array(sharp, kernel), 0, 1) * 255).astype(np.uint8)


@pytest.mark.parametrize(
    "kind, strength, angle", [("gaussian", 2.5, 0), ("motion", 9, 30), ("motion", 15, 100), ("defocus", 3, 0)]
)
def test_the_bundled_estimator_names_the_blur_of_a_held_out_photo(kind, strength, angle):
    found = kernel_estimate.estimate(blurred_photo("coffee", degrade.kernel_for(kind, strength, angle)))
    got_kind, got_strength, got_angle = found.entry
    assert got_kind == kind, found.label
    if kind == "motion":  # within a grid step of length and angle
        assert abs(got_strength - strength) <= 2 and min(abs(got_angle - angle), 180 - abs(got_angle - angle)) <= 15
    else:
        assert abs(got_strength - strength) <= 0.5, found.label


def test_a_gaussian_blur_on_a_dark_noisy_sky_is_not_read_as_a_shake():
    # one pose of rocket (JPEG noise on a dark sky) read sigma 2.5 as a 7 px motion blur; the 8 poses do not
    found = kernel_estimate.estimate(blurred_photo("rocket", degrade.gaussian_kernel(2.5)))
    assert found.entry[0] == "gaussian" and found.entry[1] >= 1.75, found.label


def test_a_16_bit_photo_reads_the_same_blur_as_its_8_bit_copy():
    sharp = data.photo("coffee").astype(np.float32) / 255
    blurry = np.clip(degrade.blur_array(sharp, degrade.gaussian_kernel(2.5)), 0, 1)
    eight = kernel_estimate.estimate(np.rint(blurry * 255).astype(np.uint8))
    sixteen = kernel_estimate.estimate(np.rint(blurry * 65535).astype(np.uint16))
    assert eight.entry[0] == sixteen.entry[0] == "gaussian", (eight.label, sixteen.label)  # not a 1 px defocus
    assert abs(eight.entry[1] - sixteen.entry[1]) <= 0.5, (eight.label, sixteen.label)  # at most two 0.25 px steps


def test_each_pose_maps_the_grid_onto_itself_and_turns_only_motion_blurs():
    grid = kernel_grid.GRID
    for pose, permutation in zip(kernel_estimate.POSES, kernel_estimate._pose_permutations()):
        assert sorted(permutation) == list(range(len(grid)))  # a bijection
        for index, entry in enumerate(grid):
            image = grid[permutation[index]]
            assert image[:2] == entry[:2]  # kind and strength kept
            if entry[0] == "motion" and pose[0] % 2 and not pose[1]:  # a quarter turn adds 90 degrees
                assert image[2] == (entry[2] + 90) % 180
    assert kernel_estimate._pose_permutations()[0] == list(range(len(grid)))


def test_a_sharp_photo_is_not_given_a_strong_blur():
    found = kernel_estimate.estimate(data.photo("rocket"))
    assert found.entry[0] in ("none", "gaussian") and found.entry[1] <= 1.0, found.label


def test_a_photo_too_small_for_a_spectrum_is_taken_as_sharp_and_returned_as_it_is():
    small = (np.random.default_rng(0).random((40, 300, 3)) * 255).astype(np.uint8)
    assert kernel_estimate.estimate(small).entry[0] == "none"
    assert np.array_equal(deblur.restore(small, deblur.bundled_model()), small)


def test_the_grid_names_its_own_kernels_and_the_training_stand_in_picks_a_neighbour_on_a_miss():
    for index in (1, 5, 20, 60, 138):
        assert kernel_grid.nearest(kernel_grid.kernel_of(kernel_grid.GRID[index])) == index
    shake = degrade.motion_kernel(10, 33)  # between grid entries: 9 or 11 px, 30 degrees
    exact = kernel_grid.as_estimated([shake], miss=0)[0]
    assert kernel_grid.GRID[kernel_grid.nearest(exact.numpy())][0] == "motion"
    missed = kernel_grid.as_estimated([shake], torch.Generator().manual_seed(0), miss=1)[0]
    assert kernel_grid.nearest(missed.numpy()) == kernel_grid.nearest(shake, rank=1)
    assert abs(float(exact.sum()) - 1) < 1e-5


def test_unblurred_crops_are_given_false_alarms_so_the_unet_learns_to_leave_sharp_photos_sharp():
    identity, blurred = np.ones((1, 1), np.float32), degrade.gaussian_kernel(2.0)
    given = [
        kernel_grid.nearest(k.numpy())
        for k in kernel_grid.as_estimated([identity] * 200, torch.Generator().manual_seed(1), 0.0, 0.5)
    ]
    wrong = [index for index in given if index != 0]
    assert 70 <= len(wrong) <= 130 and len(set(wrong)) > 30  # about half, spread over the grid
    truthful = kernel_grid.as_estimated([identity, blurred], torch.Generator().manual_seed(1), 0.0, 0.0)
    assert [kernel_grid.nearest(k.numpy()) for k in truthful] == [0, kernel_grid.nearest(blurred)]
    # a blurred crop is never given a false alarm, whatever the rate: only its nearest entry or the runner-up
    kept = kernel_grid.as_estimated([blurred] * 20, torch.Generator().manual_seed(2), 0.0, 1.0)
    assert {kernel_grid.nearest(k.numpy()) for k in kept} == {kernel_grid.nearest(blurred)}
    # and the camera mix leaves about a tenth of its crops unblurred
    draws = [degrade.random_kernel(torch.Generator().manual_seed(s), 0.2, degrade.CAMERA.sharp) for s in range(300)]
    assert 15 <= sum(k.shape == (1, 1) for k in draws) <= 50


def test_the_spectrum_is_normalised_and_reveals_a_motion_blur_direction():
    rng = np.random.default_rng(0)
    noise = torch.from_numpy(rng.random((256, 256)).astype(np.float32))
    smeared = degrade.blur(noise[None, None], torch.from_numpy(degrade.motion_kernel(15, 0))[None])[0, 0]
    found = kernel_estimate.spectrum(smeared)
    assert found.shape == (64, 64) and abs(float(found.mean())) < 1e-4 and abs(float(found.std()) - 1) < 1e-3
    # a horizontal shake removes horizontal frequencies, not vertical ones
    centre = 32
    assert found[centre, centre + 20] < found[centre + 20, centre] - 1


def test_the_torch_wiener_filter_is_scikit_images_and_keeps_the_mean():
    sharp = data.photo("coffee")[100:228, 200:328].astype(np.float32) / 255
    kernel = degrade.motion_kernel(9, 30)
    blurry = degrade.blur_array(sharp, kernel)
    x = torch.from_numpy(blurry.transpose(2, 0, 1).copy())[None]
    ours = wiener(x, torch.from_numpy(kernel)[None], (0.02,))[0][0].numpy().transpose(1, 2, 0)
    theirs = baselines.wiener(blurry, kernel, 0.02)  # scikit-image, clipped to [0, 1]
    assert np.abs(np.clip(ours, 0, 1) - theirs).max() < 1e-4
    assert abs(float(x.mean()) - float(ours.mean())) < 1e-3


def test_a_restoration_pulled_back_to_the_photo_regains_what_the_kernel_let_through():
    """nets.deblur.consistent: a restoration that smoothed detail away gets back what the blurry photo still
    shows through the kernel; the true sharp photo is (nearly) its own answer; a heavy weight leaves the
    restoration as it was; the mean is kept."""
    from scipy import ndimage

    sharp = data.photo("coffee")[100:228, 200:328].astype(np.float32) / 255
    kernel = degrade.motion_kernel(9, 30)
    as_tensor = lambda x: torch.from_numpy(x.transpose(2, 0, 1).copy())[None]  # noqa: E731
    blurry, truth, k = as_tensor(degrade.blur_array(sharp, kernel)), as_tensor(sharp), torch.from_numpy(kernel)[None]
    smoothed = torch.from_numpy(ndimage.gaussian_filter(truth.numpy(), (0, 0, 1.5, 1.5)))
    error = lambda x: float((x - truth)[..., 16:-16, 16:-16].pow(2).mean())  # noqa: E731  (away from the borders)
    pulled = consistent(smoothed, blurry, k, 0.3)
    assert error(pulled) < 0.75 * error(smoothed)  # measured 0.64
    assert error(consistent(truth, blurry, k, 0.3)) < 1e-4 * error(smoothed)  # measured 6e-8: the frame is wide enough
    assert torch.allclose(consistent(smoothed, blurry, k, 1e6), smoothed, atol=1e-4)
    assert abs(float(pulled.mean()) - float(smoothed.mean())) < 1e-3


def test_only_a_kernel_read_with_some_certainty_or_traced_is_trusted_to_pull_the_restoration_back():
    line = ("motion", 21.0, 120.0)
    assert not kernel_estimate.Estimate(line, 0.18).trusted  # a sharp photo of blinds read so: left to the U-Net
    assert kernel_estimate.Estimate(line, 0.6).trusted
    shake = degrade.shake_kernel(13, 1)
    assert kernel_estimate.Estimate(kernel_estimate.WIDEST_GAUSSIAN, 0.2, traced=shake).trusted
    # the page says which it was
    from gandash.ui.deblur_view import estimate_note

    assert "too unsure to hold the result to the photo" in estimate_note(kernel_estimate.Estimate(line, 0.18))
    assert "its result is then held to the photo" in estimate_note(kernel_estimate.Estimate(line, 0.6))


def test_the_untrained_unet_is_its_smooth_wiener_estimate():
    torch.manual_seed(0)
    x = torch.rand(2, 3, 64, 64) * 2 - 1
    kernels = torch.stack(
        [degrade.padded(degrade.gaussian_kernel(1.0), 9), degrade.padded(degrade.motion_kernel(7, 45), 9)]
    )
    out = DeblurUNet(3, 8)(x, kernels)
    assert torch.allclose(out, wiener(x, kernels, DeblurUNet.BALANCES)[-1], atol=1e-5)


@pytest.mark.parametrize("camera", [["--clean"], []], ids=["clean", "camera"])
def test_the_estimator_trains_from_the_command_line_and_loads_as_the_bundled_one_does(camera, tmp_path, capsys):
    out = tmp_path / "estimator.pt"
    assert main(["train-kernel-estimator", "--steps", "2", "--out", str(out), *camera]) == 0
    assert f"wrote {out}" in capsys.readouterr().out
    from gandash.nets.deblur import KernelEstimator

    estimator = KernelEstimator(len(kernel_grid.GRID))
    estimator.load_state_dict(torch.load(out, weights_only=True))
    assert kernel_estimate.estimate(blurred_photo("rocket", degrade.gaussian_kernel(2.0)), estimator.eval()).entry
    assert main(["train-kernel-estimator", "--steps", "0", "--out", str(out)]) == 2
    assert "--steps must be at least 1" in capsys.readouterr().err


def test_camera_training_examples_carry_shakes_noise_and_jpeg_and_repeat_from_their_seed():
    """The estimator's training inputs as photos come (issue #22): the same seed gives the same example, and
    the camera's noise and JPEG change the spectrum the estimator learns from."""
    photos = kernel_estimate._training_photos()[:2]
    draws = [kernel_estimate.training_example(photos, torch.Generator().manual_seed(s), True) for s in (5, 5)]
    assert torch.equal(draws[0][0], draws[1][0]) and draws[0][1] == draws[1][1]
    plain = kernel_estimate.training_example(photos, torch.Generator().manual_seed(5), False)
    assert draws[0][0].shape == plain[0].shape and not torch.equal(draws[0][0], plain[0])
    labels = {kernel_estimate.training_example(photos, torch.Generator().manual_seed(s), True)[1] for s in range(40)}
    assert len(labels) > 5 and all(0 <= label < len(kernel_estimate.GRID) for label in labels)


@pytest.mark.parametrize("name", ["rocket", "coffee"])
def test_photos_as_cameras_save_them_are_read_as_blurred_only_when_they_are(name):
    """Issue #22: JPEG blocks and sensor noise are not sharp detail, and do not hide a blur."""
    sharp = data.photo(name)
    for noise, quality in ((0.0, 85), (0.01, None), (0.01, 85)):
        found = kernel_estimate.estimate(degrade.camera_array(sharp, np.ones((1, 1), np.float32), noise, quality))
        assert found.entry[0] == "none", (noise, quality, found.label)
    for noise, quality in ((0.0, 85), (0.01, 85), (0.02, 70)):
        gaussian = kernel_estimate.estimate(degrade.camera_array(sharp, degrade.gaussian_kernel(2.0), noise, quality))
        assert gaussian.entry[0] == "gaussian" and 1.25 <= gaussian.entry[1] <= 2.5, (noise, quality, gaussian.label)
        motion = kernel_estimate.estimate(degrade.camera_array(sharp, degrade.motion_kernel(9, 30), noise, quality))
        assert motion.entry[0] == "motion" and 7 <= motion.entry[1] <= 11 and motion.entry[2] in (15, 30, 45)


def test_the_posed_spectrum_is_the_spectrum_of_the_posed_photo():
    gray = torch.rand(32 * 10 + 32, 32 * 7 + 32)  # window lattices that fit exactly in every pose
    photo_spectrum = kernel_estimate.spectrum(gray).numpy()
    for pose in kernel_estimate.POSES:
        direct = kernel_estimate.spectrum(torch.from_numpy(kernel_estimate.posed(gray.numpy(), pose))).numpy()
        assert np.abs(kernel_estimate.posed_spectrum(photo_spectrum, pose) - direct).max() < 1e-4


def test_the_cautious_choice_prefers_a_small_kernel_when_the_readings_disagree():
    grid = kernel_estimate.GRID
    index = {entry: i for i, entry in enumerate(grid)}
    sure = torch.zeros(len(grid), dtype=torch.float64)
    sure[index[("gaussian", 2.0, 0.0)]] = 1.0
    assert grid[kernel_estimate.choose(sure)] == ("gaussian", 2.0, 0.0)  # one reading: that one
    split = torch.zeros(len(grid), dtype=torch.float64)
    split[index[("motion", 21.0, 120.0)]], split[index[("none", 0.0, 0.0)]] = 0.4, 0.3
    split[index[("gaussian", 3.0, 0.0)]] = 0.3
    chosen = grid[kernel_estimate.choose(split)]
    assert chosen != ("motion", 21.0, 120.0), chosen  # the likeliest, but a wreck if wrong
    assert chosen[0] == "none" or chosen[1] < 3, chosen
    photo = blurred_photo("coffee", degrade.gaussian_kernel(2.0))
    likeliest, cautious = kernel_estimate.estimate(photo), kernel_estimate.estimate(photo, cautious=True)
    assert likeliest.likeliest is None and (cautious.likeliest is None or cautious.caution)


def test_blurred_crops_are_given_their_true_kernel_at_the_traced_rate_so_the_unet_trusts_a_traced_shake():
    shake, identity = degrade.shake_kernel(15, 11), np.ones((1, 1), np.float32)
    given = kernel_grid.as_estimated([shake] * 200, torch.Generator().manual_seed(3), traced=0.5)
    true = np.asarray(degrade.padded(shake, given.shape[-1]))
    names = [
        np.asarray(degrade.padded(kernel_grid.kernel_of(kernel_grid.GRID[kernel_grid.nearest(shake, rank)]), len(true)))
        for rank in (0, 1)
    ]
    as_named = [k.numpy() for k in given if any(np.allclose(k.numpy(), name) for name in names)]
    as_traced = [k.numpy() for k in given if not any(np.allclose(k.numpy(), name) for name in names)]
    assert 70 <= len(as_traced) <= 130  # about half; the rest the grid's name for it (or its runner-up)
    # as a trace finds it: the true path, its faint tail (under TRACE_FLOOR of the peak) cut at most
    assert all(np.all((k == 0) | np.isclose(k, true / true[k > 0].sum(), rtol=1e-4)) for k in as_traced)
    assert all(np.all(k[true >= kernel_grid.TRACE_FLOOR * true.max()] > 0) for k in as_traced)
    assert any(np.count_nonzero(k) < np.count_nonzero(true) for k in as_traced)
    assert all(np.isclose(k.sum(), 1, atol=1e-5) for k in as_traced + as_named)
    assert any(np.allclose(k, names[0]) for k in as_named)
    # an unblurred crop has no kernel to trace: it is given the identity (no misses or false alarms asked for)
    unblurred = kernel_grid.as_estimated([identity] * 50, torch.Generator().manual_seed(3), miss=0, traced=1.0)
    assert all(kernel_grid.nearest(k.numpy()) == 0 for k in unblurred)
    # traced=0: only names (seeded, and no misses: the default miss draws from the global generator)
    named, unblurred = kernel_grid.as_estimated([shake, identity], torch.Generator().manual_seed(4), 0.0, traced=0.0)
    name = kernel_grid.kernel_of(kernel_grid.GRID[kernel_grid.nearest(shake)])
    assert np.allclose(named.numpy(), degrade.padded(name, named.shape[-1]).numpy())
    assert kernel_grid.nearest(unblurred.numpy()) == 0


def test_a_traced_kernel_can_be_widened_as_a_trace_comes_out_thicker_than_the_path():
    shake = degrade.shake_kernel(11, 3)

    def area(k: np.ndarray) -> float:  # how many pixels the light is spread over
        return float(1 / (k.astype(np.float64) ** 2).sum())

    assert np.array_equal(kernel_grid.as_traced(shake, 0.0, spread=0.0), shake / shake.sum())
    widened = kernel_grid.as_traced(shake, 0.0, spread=1.0)
    assert np.isclose(widened.sum(), 1) and widened.min() >= 0 and area(widened) > 1.5 * area(shake)
    rows, cols = np.mgrid[: widened.shape[0], : widened.shape[1]]
    centre = (widened.shape[0] - 1) / 2  # widened about the path: its centre of mass stays where it was
    k_rows, k_cols = np.mgrid[: shake.shape[0], : shake.shape[1]]
    path = ((shake * k_rows).sum() / shake.sum(), (shake * k_cols).sum() / shake.sum())
    offset = centre - (shake.shape[0] - 1) / 2
    assert (
        abs((widened * rows).sum() - path[0] - offset) < 0.05 and abs((widened * cols).sum() - path[1] - offset) < 0.05
    )
    # spread 0 draws what it drew before spread existed, two numbers a kernel (traced or not, then the
    # floor), so the rebuild steps of earlier runs stay reproducible
    a = kernel_grid.as_estimated([shake] * 20, torch.Generator().manual_seed(5), traced=1.0)
    draws = torch.rand(40, generator=torch.Generator().manual_seed(5))[1::2]
    expected = [kernel_grid.as_traced(shake, kernel_grid.TRACE_FLOOR * u.item()) for u in draws]
    assert all(torch.allclose(k, degrade.padded(e, a.shape[-1])) for k, e in zip(a, expected))
    wide = kernel_grid.as_estimated([shake] * 20, torch.Generator().manual_seed(5), traced=1.0, spread=1.25)
    assert np.mean([area(k.numpy()) for k in wide]) > np.mean([area(k.numpy()) for k in a])


@pytest.mark.parametrize("radius", [3.0, 4.0])
def test_a_defocus_disc_as_a_camera_saves_it_is_read_as_a_disc_with_certainty_not_as_a_shake(radius):
    """An unsure disc stands for a shake (Estimate.unsure_of_disc); a real one must not be read so."""
    found = kernel_estimate.estimate(
        degrade.camera_array(data.photo("coffee"), degrade.defocus_kernel(radius), 0.01, 85)
    )
    assert found.label == f"defocus blur, radius {radius:g} px" and not found.names_a_shake, found.confidence
