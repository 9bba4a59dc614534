"""Restoring photos: tiling equals one pass in bounded memory, the bundled model sharpens a held-out photo,
every kind of photo round-trips (8 and 16 bits, gray, alpha, CMYK), every bad input gets a one-line message
that says what is wrong, only deblurring runs are offered for deblurring, and both deblur variants train."""

import functools
import io
import re
import struct
import tracemalloc
import zlib

import numpy as np
import pytest
import torch
from PIL import Image

from gandash import data, variants
from gandash.__main__ import main
from gandash.core.errors import GandashError
from gandash.data import degrade
from gandash.engine.reporter import Reporter
from gandash.nets.deblur import DeblurUNet
from gandash.restore import baselines, deblur, poses
from gandash.variants import configure, loading, training


def png_header_only(width: int, height: int) -> bytes:
    """A PNG whose header claims width x height and holds no pixel data (what a 0x0 file, or the header
    of a huge one, looks like to a decoder)."""

    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IEND", b"")


def encoded(image: Image.Image, fmt: str, **options) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format=fmt, **options)
    return buffer.getvalue()


def truncated_jpeg() -> bytes:
    """A real photo's JPEG cut in the middle of its compressed image data."""
    whole = encoded(Image.fromarray(data.photo("coffee")), "JPEG", quality=90)
    assert whole.index(b"\xff\xda") < len(whole) // 4  # the scan starts early: half-way is inside it
    return whole[: len(whole) // 2]


def animated(fmt: str) -> bytes:
    return encoded(
        Image.new("RGB", (40, 40), "red"), fmt, save_all=True, append_images=[Image.new("RGB", (40, 40), "blue")]
    )


# name -> (the file's bytes, what the message must say); names are chosen so a message that only
# echoed the file name could not match
BAD_INPUTS = {
    "holiday.jpg": (
        truncated_jpeg,
        r"holiday\.jpg could not be decoded \(OSError: image file is truncated.*\); "
        r"the file is probably truncated or damaged",
    ),
    "notes.png": (
        lambda: b"this is a shopping list, not a picture\n" * 20,
        r"notes\.png is not an image: its contents are not JPEG, PNG, WebP, TIFF, BMP or GIF",
    ),
    "empty.png": (lambda: png_header_only(0, 0), r"empty\.png has no pixels: its PNG header says it is 0x0"),
    "wide.png": (
        lambda: encoded(Image.new("L", (50000, 1)), "PNG"),
        r"wide\.png is 50000x1; each side needs at least 16 pixels to deblur",
    ),
    "tall.png": (
        lambda: encoded(Image.new("L", (1, 50000)), "PNG"),
        r"tall\.png is 1x50000; each side needs at least 16 pixels to deblur",
    ),
    "poster.png": (
        functools.cache(lambda: encoded(Image.new("1", (10000, 10000)), "PNG")),  # 2 s to make
        r"poster\.png is 10000x10000 \(100 megapixels\); the limit is 50 megapixels to deblur",
    ),
    "bomb.png": (
        lambda: png_header_only(30000, 10000),  # past Pillow's own decompression-bomb guard
        r"bomb\.png is far too large \(300 megapixels\); the limit is 50 megapixels to deblur",
    ),
    "animated.gif": (
        lambda: animated("GIF"),
        r"animated\.gif is animated or has 2 pages; deblur works on one "
        r"still picture",
    ),
    "animated.webp": (lambda: animated("WEBP"), r"animated\.webp is animated or has 2 pages"),
}

# CMYK patches and the sRGB colours a print of them shows
CMYK_PATCHES = [
    ((255, 0, 0, 0), (0, 255, 255)),
    ((0, 255, 0, 0), (255, 0, 255)),
    ((0, 0, 255, 0), (255, 255, 0)),
    ((0, 255, 255, 0), (255, 0, 0)),
    ((0, 0, 0, 128), (127, 127, 127)),
    ((0, 0, 0, 0), (255, 255, 255)),
]


def cmyk_tiff(patch: int = 48) -> bytes:
    """A CMYK TIFF of flat patches (2 rows of 3), each `patch` px square."""
    cells = np.array([cmyk for cmyk, _ in CMYK_PATCHES], np.uint8).reshape(2, 3, 4)
    pixels = np.repeat(np.repeat(cells, patch, axis=0), patch, axis=1)
    return encoded(Image.fromarray(pixels, "CMYK"), "TIFF")


def assert_cmyk_colours(rgb: np.ndarray, patch: int = 48, tolerance: int = 8) -> None:
    for index, (_, expected) in enumerate(CMYK_PATCHES):
        row, col = divmod(index, 3)
        centre = rgb[row * patch + patch // 2, col * patch + patch // 2].astype(int)
        assert np.abs(centre - expected).max() <= tolerance, (index, centre, expected)


def held_out_crop(size: int = 160) -> np.ndarray:
    return data.photo("rocket")[150 : 150 + size, 240 : 240 + size].astype(np.float32) / 255


@pytest.fixture(scope="module")
def random_unet():
    torch.manual_seed(0)
    net = DeblurUNet(3, 8)
    torch.nn.init.normal_(net.tail[0].weight, std=0.05)  # not the Wiener estimate it starts as
    return net.eval()


SOFT = degrade.gaussian_kernel(1.0)  # the kernel the random U-Net deconvolves with in the tiling tests


def test_tiles_match_a_single_pass_with_no_visible_seams(random_unet):
    rng = np.random.default_rng(0)
    photo = degrade.blur_array(rng.random((100, 130, 3)).astype(np.float32), degrade.gaussian_kernel(1.0))
    whole = deblur.restore(photo, random_unet, tile=512, kernel=SOFT)
    tiled = deblur.restore(photo, random_unet, tile=64, kernel=SOFT)  # 3 x 4 tiles
    assert np.abs(whole - tiled).mean() < 1 / 255
    assert np.abs(whole - tiled).max() < 4 / 255
    assert whole.shape == photo.shape


def test_the_self_ensemble_averages_the_photo_restored_in_each_pose(random_unet):
    rng = np.random.default_rng(1)
    photo = degrade.blur_array(rng.random((48, 80, 3)).astype(np.float32), SOFT)
    shake = degrade.motion_kernel(7, 30)  # not symmetric: it must turn with the photo
    # the U-Net's own output (untrusted): the pull back to the photo comes after the average, and clips
    single = deblur.restore(photo, random_unet, tile=512, kernel=shake, poses=1, trusted=False)
    eight = deblur.restore(photo, random_unet, tile=512, kernel=shake, poses=8, trusted=False)
    by_hand = np.mean(
        [
            poses.unposed(
                deblur.restore(
                    poses.posed(photo, pose),
                    random_unet,
                    tile=512,
                    kernel=poses.posed(shake, pose),
                    poses=1,
                    trusted=False,
                ),
                pose,
            )
            for pose in poses.POSES
        ],
        axis=0,
    )
    assert eight.shape == photo.shape and np.abs(eight - by_hand).max() < 1e-5
    assert np.abs(eight - single).mean() > 1e-4  # a random net is far from pose-equivariant
    assert len(set(poses.POSES)) == 8
    assert (deblur.poses_for(480 * 320), deblur.poses_for(640 * 427), deblur.poses_for(2_000_000)) == (8, 4, 1)
    with pytest.raises(GandashError, match="poses must be from 1 to 8"):
        deblur.restore(photo, random_unet, kernel=shake, poses=9)


def test_a_trusted_kernel_pulls_the_restoration_back_to_what_the_photo_shows_through_it(random_unet):
    """restore(trusted=True), the default for a given kernel, makes the output explain the blurry photo
    (blurred again by the kernel, it is the photo) better than the U-Net's own output (untrusted)."""
    sharp = held_out_crop(96)
    kernel = degrade.motion_kernel(9, 30)
    blurry = degrade.blur_array(sharp, kernel)
    trusted, alone = (
        deblur.restore(blurry, random_unet, kernel=kernel, trusted=t, precision="fp32") for t in (True, False)
    )
    misfit = lambda x: float(((degrade.blur_array(x, kernel) - blurry)[12:-12, 12:-12] ** 2).mean())  # noqa: E731
    assert misfit(trusted) < 0.2 * misfit(alone)  # measured 0.016
    # a noisy photo's evidence weighs less against the U-Net's output than a clean one's
    from gandash.restore import reading

    clean, noisy = (reading.read(degrade.camera_array(data.photo("coffee"), kernel, n)) for n in (0.0, 0.01))
    assert clean.clean and not noisy.clean
    assert deblur.data_weight(clean) < deblur.data_weight(noisy)


def test_thin_and_odd_sized_photos_are_mirrored_into_shape(random_unet):
    for shape in ((16, 300, 3), (37, 45, 3)):
        assert deblur.restore(np.full(shape, 0.5, np.float32), random_unet, tile=64, kernel=SOFT).shape == shape


def test_the_bundled_model_sharpens_a_held_out_photo():
    sharp = held_out_crop()
    blurry = np.rint(degrade.blur_array(sharp, degrade.gaussian_kernel(1.5)) * 255).astype(np.float32) / 255
    restored = deblur.restore(blurry, deblur.bundled_model())  # blind: the kernel is read from the crop
    table = {
        row["method"]: row
        for row in baselines.scores(sharp, {"blurry": blurry, "gan": restored, "unsharp": baselines.unsharp(blurry)})
    }
    # measured 30.64 vs 28.93 dB (+1.7; the crop's blur read as sigma 1.25); unsharp masking: 29.83
    assert table["gan"]["PSNR (dB)"] > table["blurry"]["PSNR (dB)"] + 1.0
    assert table["gan"]["PSNR (dB)"] > table["unsharp"]["PSNR (dB)"] + 0.3
    assert table["gan"]["SSIM"] > table["unsharp"]["SSIM"]


def test_the_bundled_pair_restores_each_photo_with_the_u_net_its_reading_picks():
    """One reading (restore.reading) picks the U-Net the page and the CLI name; restore() without one reads
    the photo itself and picks the same."""
    from gandash.restore import reading

    pair, kernel = deblur.bundled_model(), degrade.gaussian_kernel(1.5)
    sharp = np.ascontiguousarray(data.photo("coffee")[96:224, 160:288])
    for noise, chosen in ((0.0, pair.clean), (0.01, pair.camera)):
        pixels = degrade.camera_array(sharp, kernel, noise)
        found = reading.read(pixels)
        assert deblur.for_photo(pair, found)[0] is chosen, (noise, found)
        alone = deblur.restore(pixels, chosen, kernel=kernel, poses=1, precision="fp32")
        for given in (found, None):
            assert np.array_equal(
                deblur.restore(pixels, pair, kernel=kernel, poses=1, precision="fp32", found=given), alone
            )
    own = DeblurUNet(3, 8)  # any other generator restores every photo itself
    assert deblur.for_photo(own, found) == (own, "")


def test_bf16_restores_within_a_fraction_of_a_grey_level_of_fp32():
    sharp = held_out_crop()
    blurry = np.rint(degrade.blur_array(sharp, degrade.gaussian_kernel(2.0)) * 255).astype(np.float32) / 255
    kernel = degrade.gaussian_kernel(2.0)
    fp32, bf16 = (deblur.restore(blurry, deblur.bundled_model(), kernel=kernel, precision=p) for p in ("fp32", "bf16"))
    assert not np.array_equal(fp32, bf16)  # it really ran in bf16
    assert np.abs(fp32 - bf16).mean() < 0.25 / 255  # measured 0.06 of a grey level
    with pytest.raises(GandashError, match="precision 'half' is unknown"):
        deblur.restore(blurry, deblur.bundled_model(), kernel=kernel, precision="half")


def test_classical_deconvolution_with_the_known_kernel_beats_the_blurry_input():
    sharp = held_out_crop(96)
    kernel = degrade.motion_kernel(9, 30)
    blurry = degrade.blur_array(sharp, kernel)
    table = {
        row["method"]: row["PSNR (dB)"]
        for row in baselines.scores(
            sharp,
            {
                "blurry": blurry,
                "wiener": baselines.wiener(blurry, kernel),
                "rl": baselines.richardson_lucy(blurry, kernel),
            },
        )
    }
    assert table["wiener"] > table["blurry"] + 1 and table["rl"] > table["blurry"] + 1


def test_integer_photos_are_restored_in_their_own_dtype_as_floats_are(random_unet):
    rng = np.random.default_rng(3)
    pixels = degrade.blur_array((rng.random((70, 90, 3)) * 255).astype(np.uint8), degrade.gaussian_kernel(1.0))
    as_float = deblur.restore(pixels.astype(np.float32) / 255, random_unet, tile=64, kernel=SOFT)
    as_uint8 = deblur.restore(pixels, random_unet, tile=64, kernel=SOFT)
    as_uint16 = deblur.restore(pixels.astype(np.uint16) * 257, random_unet, tile=64, kernel=SOFT)
    assert as_uint8.dtype == np.uint8 and as_uint16.dtype == np.uint16 and as_uint8.shape == pixels.shape
    assert np.abs(as_uint8 / 255 - as_float).max() <= 0.5 / 255 + 1e-6  # rounded, nothing else
    assert np.abs(as_uint16 / 65535 - as_float).max() <= 0.5 / 65535 + 1e-6
    gray = deblur.restore(
        pixels[..., :1], random_unet, tile=64, kernel=SOFT
    )  # a colour model on a gray photo: stays gray
    assert gray.shape == (70, 90, 1) and gray.dtype == np.uint8


def test_restoring_needs_no_memory_that_grows_with_the_photo_beyond_the_photo_itself():
    """The tiler holds one band of tiles in float32, never the whole photo: four times the height costs
    only the larger output (float32 input, output and weight copies of the photo would cost 9x it)."""
    torch.manual_seed(0)
    net = torch.nn.Conv2d(3, 3, 3, padding=1).eval()  # cheap: this is about the tiler's buffers

    def peak(height: int) -> tuple[int, int]:
        pixels = np.full((height, 256, 3), 120, np.uint8)
        tracemalloc.start()
        out = deblur.restore(pixels, net, tile=128)
        found = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
        assert out.shape == pixels.shape and out.dtype == np.uint8
        return found, pixels.nbytes

    peak(256)  # first-call allocations are not the tiler's
    (small, small_bytes), (large, large_bytes) = peak(1000), peak(4000)
    assert large - small < 1.2 * (large_bytes - small_bytes), (small, large, small_bytes, large_bytes)


def test_progress_is_reported_after_every_tile_and_ends_at_one(random_unet):
    seen = []
    deblur.restore(np.zeros((100, 130, 3), np.uint8), random_unet, tile=64, progress=seen.append, kernel=SOFT)
    assert len(seen) == 12 and seen == sorted(seen) and seen[-1] == 1.0  # 3 x 4 tiles
    assert seen[0] == pytest.approx(1 / 12)


def test_unsharp_masking_adds_back_the_difference_from_a_gaussian_blur():
    from scipy.ndimage import gaussian_filter

    step = np.zeros((24, 24, 1), np.float32)
    step[:, 12:] = 0.8
    soft = np.clip(degrade.blur_array(step, degrade.gaussian_kernel(1.5)), 0, 1)  # skimage clips to [0, 1] if none < 0
    sharpened = baselines.unsharp(soft, radius=2.0, amount=1.0)
    formula = np.clip(
        soft[..., 0] + 1.0 * (soft[..., 0] - gaussian_filter(soft[..., 0].astype(np.float64), 2.0, mode="reflect")),
        0,
        1,
    )
    assert sharpened.shape == soft.shape and sharpened.dtype == np.float32
    assert np.abs(sharpened[..., 0] - formula).max() < 1e-5
    row, soft_row = sharpened[12, :, 0], soft[12, :, 0]
    assert row[13] - row[10] > soft_row[13] - soft_row[10]  # a steeper edge
    assert row.min() < 0.001 and row.max() > 0.8  # with the overshoot that is unsharp masking's halo
    assert np.allclose(baselines.unsharp(soft, amount=0.0), soft, atol=1e-6)  # amount 0 changes nothing
    flat = np.full((16, 16, 3), 0.4, np.float32)
    assert np.allclose(baselines.unsharp(flat), flat, atol=1e-6)


def test_charbonnier_and_frequency_l1_match_their_formulas():
    from gandash.engine.paired import charbonnier, frequency_l1

    x, y = torch.tensor([[3.0, 0.0]]), torch.zeros(1, 2)
    assert charbonnier(x, y, eps=4.0).item() == pytest.approx((5 + 4) / 2)  # sqrt(9 + 16), sqrt(0 + 16)
    assert charbonnier(x, y).item() == pytest.approx((np.sqrt(9 + 1e-6) + 1e-3) / 2)
    assert charbonnier(y, x).item() == charbonnier(x, y).item()
    # 2x2 images: with 'ortho' each coefficient is the sum of x times the Fourier phase, over sqrt(4) = 2;
    # rfft2 keeps 2x2 complex values, 8 real numbers, of which frequency_l1 takes the mean absolute difference
    delta = torch.tensor([[[[1.0, 0.0], [0.0, 0.0]]]])
    flat = torch.ones(1, 1, 2, 2)
    columns = torch.tensor([[[[1.0, -1.0], [1.0, -1.0]]]])
    zero = torch.zeros(1, 1, 2, 2)
    assert frequency_l1(delta, zero).item() == pytest.approx(4 * 0.5 / 8)  # every real part 1/2
    assert frequency_l1(flat, zero).item() == pytest.approx(2 / 8)  # only the DC term, 4 / 2
    assert frequency_l1(columns, zero).item() == pytest.approx(2 / 8)  # only the (0, 1) term
    assert frequency_l1(zero, columns).item() == pytest.approx(2 / 8)
    assert frequency_l1(flat, flat).item() == 0
    assert frequency_l1(flat, delta).item() == pytest.approx((1.5 + 3 * 0.5) / 8)  # DC 2 - 1/2, others 0 - 1/2


@pytest.mark.parametrize("name", BAD_INPUTS)
def test_bad_inputs_get_one_line_saying_what_is_wrong_and_exit_2_from_the_cli(tmp_path, capsys, name):
    make, message = BAD_INPUTS[name]
    source = tmp_path / name
    source.write_bytes(make())
    assert main(["deblur", str(source), "--out", str(tmp_path / "out.png")]) == 2
    error = capsys.readouterr().err.strip()
    assert error.startswith("error: ") and "\n" not in error and "Traceback" not in error
    assert re.search(message, error), error
    assert not (tmp_path / "out.png").exists()


def test_the_cli_restores_a_cmyk_tiff_in_the_colours_it_prints_in(tmp_path, capsys):
    source = tmp_path / "print.tif"
    source.write_bytes(cmyk_tiff())
    assert Image.open(source).mode == "CMYK"
    assert main(["deblur", str(source), "--out", str(tmp_path / "out.png"), "--tile", "64"]) == 0
    out = Image.open(tmp_path / "out.png")
    assert out.size == (144, 96) and out.mode == "RGB"
    assert_cmyk_colours(np.asarray(out))


def test_the_cli_keeps_an_8_bit_gray_photo_gray(tmp_path, capsys):
    gray = data.photo("coffee")[100:228, 200:328].mean(axis=2).astype(np.uint8)
    blurry = degrade.blur_array(gray, degrade.gaussian_kernel(1.5))
    Image.fromarray(blurry).save(tmp_path / "gray.png")
    assert main(["deblur", str(tmp_path / "gray.png"), "--out", str(tmp_path / "out.png")]) == 0
    out = Image.open(tmp_path / "out.png")
    assert out.mode == "L" and out.size == (128, 128)
    sharp = gray.astype(np.float32) / 255
    table = {
        row["method"]: row["PSNR (dB)"]
        for row in baselines.scores(sharp[..., None], {"blurry": blurry[..., None], "gan": np.asarray(out)[..., None]})
    }
    assert table["gan"] > table["blurry"]  # restored as a gray photo, not just passed through


def test_the_cli_keeps_16_bit_colour_at_16_bits(tmp_path, capsys):
    import tifffile

    from tests.test_photo import decode_png16, smooth16

    pixels = smooth16(64, 80)
    tifffile.imwrite(tmp_path / "scan.tif", pixels, photometric="rgb", compression="zlib")
    assert main(["deblur", str(tmp_path / "scan.tif"), "--out", str(tmp_path / "out.png"), "--tile", "64"]) == 0
    kind, out = decode_png16((tmp_path / "out.png").read_bytes())
    assert kind == (16, 2) and out.shape == pixels.shape and out.dtype == np.uint16
    assert np.abs(out.astype(int) - pixels).mean() < 0.01 * 65535  # a smooth ramp barely changes
    assert (out % 257 != 0).mean() > 0.9  # real 16-bit values, not 8-bit ones stretched (v * 257)
    assert main(["deblur", str(tmp_path / "scan.tif"), "--out", str(tmp_path / "out.tif"), "--tile", "64"]) == 0
    assert tifffile.imread(tmp_path / "out.tif").dtype == np.uint16
    capsys.readouterr()
    assert main(["deblur", str(tmp_path / "scan.tif"), "--out", str(tmp_path / "out.jpg"), "--tile", "64"]) == 0
    assert "JPEG holds 8 bits per channel" in capsys.readouterr().err  # said, not silent


def test_the_cli_says_what_to_do_about_bad_arguments(home, tmp_path, capsys):
    photo = tmp_path / "photo.png"
    Image.new("RGB", (32, 32)).save(photo)
    for argv, message in (
        (["missing.png", "--out", "x.png"], "does not exist"),
        ([str(photo), "--out", str(tmp_path / "x.gif")], "end it in .png, .jpg"),
        ([str(photo), "--out", str(tmp_path / "nowhere" / "x.png")], "does not exist"),
        ([str(photo), "--out", str(tmp_path / "x.png"), "--model", "no-such-run"], "no run"),
        ([str(photo), "--out", str(tmp_path / "x.png"), "--tile", "8"], "at least 64 pixels"),
    ):
        assert main(["deblur", *argv]) == 2
        assert message in capsys.readouterr().err


def test_only_deblurring_runs_are_offered_and_accepted_for_deblurring(home, tiny_fashion, tmp_path, capsys):
    from gandash.runs.store import Store
    from tests.app.test_pages import train_foreground

    small = dict(max_steps=2, width=8, batch_size=2, checkpoint_every=2)
    seed = train_foreground("deblur-seed", "blurred:photos", **small)
    srgan = train_foreground("srgan", "lowres:photos", image_size=32, **small)
    disco = train_foreground("discogan", "domains:fashion-mnist:7,5", **small)
    offered = [run_id for run_id, _ in deblur.trained_models(Store())]
    assert offered == [seed]
    photo = tmp_path / "photo.png"
    Image.fromarray(data.photo("coffee")[:64, :64]).save(photo)
    assert main(["deblur", str(photo), "--out", str(tmp_path / "out.png"), "--model", srgan]) == 2
    error = capsys.readouterr().err
    assert f"run '{srgan}' is a run of srgan (SRGAN (super-resolution x4)), which does not deblur" in error
    assert f"python -m gandash upscale IN --out OUT --model {srgan}" in error and "deblur or deblur-seed" in error
    assert main(["deblur", str(photo), "--out", str(tmp_path / "out.png"), "--model", disco]) == 2
    assert "is a run of discogan" in capsys.readouterr().err
    assert not (tmp_path / "out.png").exists()
    assert main(["deblur", str(photo), "--out", str(tmp_path / "out.png"), "--model", seed]) == 0
    assert f"deblur-seed run {seed}" in capsys.readouterr().out


# --- the variants train as runs like any other ---------------------------------------------------


def tiny_run(variant: str, dataset: str, tmp_path, **settings):
    from gandash.variants import configure

    values = dict(max_steps=3, sample_every=2, checkpoint_every=2, log_every=1, batch_size=2)
    values.update(settings)
    cfg = configure.make_config(variant, dataset, **values)
    rows = []

    class Collect(Reporter):
        def metrics(self, step, values):
            rows.append(values)

    (tmp_path / variant).mkdir(exist_ok=True)
    cfg.save(tmp_path / variant / "config.json")
    status, _ = training.train(cfg, tmp_path / variant, Collect())
    return cfg, status, rows


@pytest.mark.parametrize(
    "variant, settings", [("deblur", dict(width=8, image_size=32)), ("deblur-seed", dict(width=8))]
)
def test_both_deblur_variants_train_three_steps_on_the_bundled_photos(tmp_path, variant, settings):
    from gandash.engine import checkpoints

    cfg, status, rows = tiny_run(variant, "blurred:photos", tmp_path, **settings)
    assert status == "completed" and len(rows) == 3
    assert {"loss_d", "loss_g", "d_x", "psnr_blurry", "psnr_restored"} <= set(rows[-1])
    grid = Image.open(tmp_path / variant / "samples" / "step_00000003.png")
    side = cfg.image_size + 2
    assert grid.size == (6 * side + 2, 4 * side + 2)  # 8 pairs as blurry | restored | sharp, two per row
    assert checkpoints.step_of(checkpoints.listing(tmp_path / variant)[0]) == 3
    generator, _, step = loading.load_generator(tmp_path / variant)
    assert step == 3 and generator(torch.zeros(1, 3, 32, 32)).shape == (1, 3, 32, 32)


def test_a_folder_of_your_own_photos_trains_and_resumes(tmp_path):

    folder = tmp_path / "photos"
    folder.mkdir()
    for index, name in enumerate(("coffee", "rocket")):  # held-out photos, fine as someone's own folder
        Image.fromarray(data.photo(name)).save(folder / f"{index}.jpg")
    _, status, _ = tiny_run("deblur", f"blurred:folder:{folder}", tmp_path, width=8, image_size=32)
    assert status == "completed"
    _, status, rows = tiny_run("deblur", f"blurred:folder:{folder}", tmp_path, width=8, image_size=32, max_steps=5)
    assert status == "completed" and len(rows) == 2  # continued from step 3
    assert variants.get("deblur").trainer.__name__ == "PairedTrainer"


def test_paired_datasets_and_variants_must_match():

    with pytest.raises(GandashError, match="paired"):
        configure.make_config("dcgan", "blurred:photos")
    with pytest.raises(GandashError, match="multiple of 16"):
        configure.make_config("deblur", "blurred:photos", image_size=50)
    with pytest.raises(GandashError, match="points data"):
        configure.make_config("deblur", "blurred:ring")
    assert configure.make_config(None, "blurred:photos").variant == "deblur"
    assert data.info("blurred:photos").kind == "paired"
    assert not set(data.PHOTOS_HELD_OUT) & set(data.PHOTOS_TRAIN)


def test_the_losses_judge_only_the_interior_of_a_crop_when_asked(tmp_path):

    cfg = configure.make_config("deblur", "blurred:photos", width=8, image_size=32, batch_size=2, loss_margin=8)
    interior = training.trainer_for(cfg, tmp_path / "interior")
    whole = training.trainer_for(configure.with_changes(cfg, loss_margin=0), tmp_path / "whole")
    sharp = torch.zeros(2, 3, 32, 32)
    restored = sharp.clone()
    restored[..., :8, :], restored[..., :, 24:] = 1.0, -1.0  # wrong only within 8 px of an edge
    assert interior._content(restored, sharp).item() < 2e-3  # Charbonnier's epsilon, nothing else
    assert whole._content(restored, sharp).item() > 0.3
    restored[..., 16, 16] = 1.0  # one wrong pixel inside counts
    assert interior._content(restored, sharp).item() > 2e-3
    assert interior._interior(sharp).shape[-2:] == (16, 16)
    assert training.trainer_for(configure.with_changes(cfg, loss_margin=30), tmp_path / "capped")._interior(
        sharp
    ).shape[-2:] == (16, 16)  # at most a quarter of the side
    assert configure.make_config("deblur", "blurred:photos").loss_margin == 10


def test_a_deblur_run_starts_from_the_bundled_weights_and_another_from_that_run(home):
    from gandash.core import paths
    from gandash.restore import deblur as deblurring

    def run(run_id: str, **settings):
        cfg = configure.make_config(
            "deblur", "blurred:photos", image_size=32, batch_size=2, max_steps=1, lr_g=1e-9, lr_d=1e-9, **settings
        )
        folder = paths.run_dir(run_id)
        folder.mkdir(parents=True)
        cfg.save(folder / "config.json")
        events = []

        class Collect(Reporter):
            def event(self, level, text):
                events.append(text)

        assert training.train(cfg, folder, Collect())[0] == "completed"
        return loading.load_generator(folder)[0].state_dict(), events

    bundled = deblurring.bundled_model().camera.state_dict()  # init_from=bundled: the camera U-Net
    first, events = run("from-bundled", init_from="bundled")
    assert "G starts from the weights of bundled" in events
    assert all(torch.allclose(first[k], bundled[k], atol=1e-6) for k in bundled)  # one step of lr 1e-9
    second, _ = run("from-run", init_from="from-bundled")
    assert all(torch.allclose(second[k], first[k], atol=1e-6) for k in first)
    fresh, _ = run("from-scratch")
    assert not torch.allclose(fresh["head.1.weight"], bundled["head.1.weight"], atol=1e-3)

    with pytest.raises(GandashError, match="no run 'nowhere'"):
        run("bad-source", init_from="nowhere")
    with pytest.raises(GandashError, match="do not fit"):
        run("other-width", init_from="bundled", width=8)
    with pytest.raises(GandashError, match="init_from 'bundled' is the bundled deblurring U-Net"):
        configure.make_config("dcgan", "fashion-mnist", init_from="bundled")
    with pytest.raises(GandashError, match="init_from must be"):
        configure.make_config("deblur", "blurred:photos", init_from="../../etc")


def test_the_cli_restores_a_blurred_noisy_jpeg_taking_out_noise_and_blocks_and_says_what_it_read(tmp_path, capsys):
    """A photo as a phone saves it (issue #22): blur, sensor noise, JPEG q85. Held out from training."""
    from gandash.restore import reading

    sharp = data.photo("coffee")
    blurry = degrade.camera_array(sharp, degrade.gaussian_kernel(2.0), noise=0.01, quality=None)
    Image.fromarray(blurry).save(tmp_path / "phone.jpg", quality=85)
    assert main(["deblur", str(tmp_path / "phone.jpg"), "--out", str(tmp_path / "out.png")]) == 0
    said = capsys.readouterr().err
    assert re.search(r"blur read from the photo: Gaussian blur, σ (1\.5|1\.75|2|2\.25) px", said), said
    assert "then held to the photo" in said, said  # read at 57%: sure enough to hold the result to the photo
    # JPEG at q85 takes most of 1% noise away with the detail: what is left to read is the quality
    assert "JPEG quality 85 (from the file's" in said, said
    given = np.asarray(Image.open(tmp_path / "phone.jpg"))
    out = np.asarray(Image.open(tmp_path / "out.png"))
    before, after = (
        baselines.scores(sharp.astype(np.float32) / 255, {"": x.astype(np.float32) / 255})[0] for x in (given, out)
    )
    assert after["PSNR (dB)"] > before["PSNR (dB)"] + 1.0 and after["SSIM"] > before["SSIM"], (before, after)
    gray_in, gray_out = given.mean(axis=2), out.mean(axis=2).astype(np.float64)
    assert reading.blockiness(gray_out) < reading.blockiness(gray_in)  # the 8x8 blocks are taken out
    assert reading.noise(gray_out).sigma < reading.noise(gray_in).sigma  # and the noise, not sharpened


def test_traced_kernels_sets_how_many_blurred_crops_g_is_given_their_true_kernel(tmp_path):
    """traced_kernels 0: G is given only what the estimator would name (GRID kernels); 1: every blurred crop
    its true kernel as a trace finds it, which for a shake is no GRID kernel."""
    from gandash.data import kernel_grid

    def off_grid(traced: float) -> int:
        cfg = configure.make_config(
            "deblur", "blurred:photos", width=8, image_size=32, batch_size=16, traced_kernels=traced
        )
        trainer = training.trainer_for(cfg, tmp_path / str(traced))
        torch.manual_seed(0)
        _, _, given = trainer._next_pair()
        grid = kernel_grid.grid_kernels()
        distances = [(grid - degrade.padded(k.cpu().numpy())).abs().sum((1, 2)).min().item() for k in given]
        return sum(d > 1e-4 for d in distances)

    assert off_grid(0.0) == 0
    assert off_grid(1.0) >= 4
    assert configure.make_config("deblur", "blurred:photos").traced_kernels == 0.5
    for wrong in ({"traced_kernels": 1.5}, {"traced_kernels": -0.1}, {"traced_spread": 4.0}):
        with pytest.raises(GandashError, match=next(iter(wrong))):
            configure.validate(configure.make_config("deblur", "blurred:photos", **wrong))
