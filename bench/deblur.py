"""Deblurring numbers on photos the model never trained on (data.PHOTOS_HELD_OUT), and its speed.

    python bench/deblur.py                  # PSNR/SSIM table: blurry, unsharp, Wiener, Richardson-Lucy, GAN
    python bench/deblur.py --model RUN      # the same for a deblur run instead of the bundled weights
    python bench/deblur.py --poses 1        # the GAN without self-ensemble (the app averages 8 poses here)
    python bench/deblur.py --speed          # a 2 MP and a 12 MP JPEG end to end: seconds and peak memory
    python bench/deblur.py --camera         # as phones save them: + noise 1%, JPEG q85, and two camera shakes;
                                            # then sharp photos as JPEG q85 / with noise 1%: left as they were?
    python bench/deblur.py --photos DIR     # another held-out set, each photo 640 px wide (bench/fetch_photos.sh)
    python bench/deblur.py --camera --seeds 3  # each camera case with 3 draws of the sensor noise, averaged
    python bench/deblur.py --camera --tuning  # the camera case on the training photos, with other shake paths:
                                            # where the estimator's and the tracer's rules are tuned, not judged
    python bench/deblur.py --export RUN [--step N] [--clean]   # RUN's EMA generator as gandash/weights/deblur.pt
                                                             # (--clean: deblur-clean.pt)

Wiener and Richardson-Lucy are given the true kernel (non-blind); unsharp masking and the GAN are not (the
U-Net deconvolves with the kernel gandash.kernel_estimate reads from the blurry photo; a second GAN column
gives it the true kernel, which separates the estimator's misses from the U-Net's).
"""

from __future__ import annotations

import argparse
import io
import itertools
import resource
import sys
import time
from pathlib import Path

import numpy as np
import torch
from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from gandash import data, variants  # noqa: E402
from gandash.core import paths
from gandash.core.config import TrainConfig  # noqa: E402
from gandash.core.paths import atomic_write_bytes  # noqa: E402
from gandash.data import degrade
from gandash.engine import checkpoints
from gandash.restore import baselines, deblur, kernel_estimate
from gandash.restore import photo as photos

BLURS = {
    "gaussian σ1.5": degrade.gaussian_kernel(1.5),
    "gaussian σ2.5": degrade.gaussian_kernel(2.5),
    "motion 9 px, 30°": degrade.motion_kernel(9, 30),
}
SHAKES = {"shake 11 px, path 3": degrade.shake_kernel(11, 3), "shake 15 px, path 11": degrade.shake_kernel(15, 11)}
# Tuning the estimator's and the tracer's rules happens on training photos only (the photographs among
# data.PHOTOS_TRAIN, not the drawings, text or cells) and other shake paths: one read as a defocus disc, one
# that dwells and then jerks, one winding.
TUNING_PHOTOS = tuple(name for name in data.PHOTOS_TRAIN if name not in ("page", "text", "clock", "cell"))
TUNING_SHAKES = {
    "shake 11 px, path 5": degrade.shake_kernel(11, 5),
    "shake 15 px, path 17": degrade.shake_kernel(15, 17),
    "shake 13 px, path 23": degrade.shake_kernel(13, 23),
}
CAMERA_NOISE, CAMERA_JPEG = 0.01, 85  # issue #22's case: sensor noise sigma 1% and JPEG quality 85
CAUTIOUS = "--cautious" in sys.argv  # deconvolve with the least harmful kernel, not the likeliest
TUNING = "--tuning" in sys.argv  # the training photos and other shakes (TUNING_PHOTOS, TUNING_SHAKES)
UNSHARP_GRID = ((1, 1), (2, 1), (1, 2), (2, 0.5), (3, 1), (2, 2))  # (radius, amount)


def quantised(pixels: np.ndarray) -> np.ndarray:
    """What a saved 8-bit photo holds."""
    return np.rint(np.clip(pixels, 0, 1) * 255).astype(np.float32) / 255


def held_out(folder: str | None) -> dict[str, np.ndarray]:
    """The held-out photos as uint8: scikit-image's three, or every photo of `folder` at 640 px wide (with
    TUNING, the training photos TUNING_PHOTOS instead)."""
    if TUNING:
        return {name: at_most_640(Image.fromarray(data.photo(name))) for name in TUNING_PHOTOS}
    if not folder:
        return {name: data.photo(name) for name in data.PHOTOS_HELD_OUT}
    return {path.stem: at_most_640(Image.open(path)) for path in sorted(Path(folder).expanduser().glob("*.jp*g"))}


def at_most_640(image: Image.Image) -> np.ndarray:
    """The photo as RGB uint8, 640 px wide if it was wider: never enlarged (an enlarged photo is soft, and a
    sharp case would not be sharp)."""
    image = image.convert("RGB")
    if image.width > 640:
        image = image.resize((640, round(640 * image.height / image.width)), Image.LANCZOS)
    return np.asarray(image)


def drawn(seed: int, draws: int) -> str:
    """Which draw of the noise a case is, where there are several."""
    return f" draw {seed}" if draws > 1 else ""


def table(
    generator: torch.nn.Module,
    poses: int | None = None,
    camera: bool = False,
    folder: str | None = None,
    seeds: int = 1,
):
    rows = []
    draws = seeds if camera else 1  # clean blurs have no noise to draw
    blurs = {**BLURS, **((TUNING_SHAKES if TUNING else SHAKES) if camera else {})}
    for name, pixels in held_out(folder).items():
        sharp = pixels.astype(np.float32) / 255
        for (blur_name, kernel), seed in itertools.product(blurs.items(), range(draws)):
            if camera:
                blurry = degrade.camera_array(pixels, kernel, CAMERA_NOISE, CAMERA_JPEG, seed).astype(np.float32) / 255
            else:
                blurry = quantised(degrade.blur_array(sharp, kernel))
            started = time.perf_counter()
            estimate = kernel_estimate.estimate(blurry, cautious=CAUTIOUS) if deblur.needs_kernel(generator) else None
            restored = quantised(
                deblur.restore(
                    blurry,
                    generator,
                    kernel=estimate and estimate.kernel,
                    poses=poses,
                    trusted=not estimate or estimate.trusted,
                )
            )
            seconds = time.perf_counter() - started
            extra = {}
            if estimate:
                extra["GAN, given the true kernel"] = quantised(
                    deblur.restore(blurry, generator, kernel=kernel, poses=poses)
                )
            best_unsharp = max(
                (baselines.unsharp(blurry, r, a) for r, a in UNSHARP_GRID),
                key=lambda x: baselines.scores(sharp, {"": x})[0]["PSNR (dB)"],
            )
            found = baselines.scores(
                sharp,
                {
                    "blurry": blurry,
                    "unsharp (r2, a1)": quantised(baselines.unsharp(blurry)),
                    "unsharp, best of 6 per photo": quantised(best_unsharp),
                    "Wiener (known kernel)": quantised(baselines.wiener(blurry, kernel)),
                    "Richardson-Lucy (known kernel)": quantised(baselines.richardson_lucy(blurry, kernel)),
                    "GAN (blind)": restored,
                    **extra,
                },
            )
            label = f"{name} {sharp.shape[1]}x{sharp.shape[0]}{drawn(seed, draws)}"
            rows += [dict(row, photo=label, blur=blur_name) for row in found]
            print(
                f"  {name:<10} {blur_name:<17}{drawn(seed, draws)} GAN {seconds:.2f} s"
                + (f"; read the blur as {estimate.label} ({estimate.probability:.0%})" if estimate else ""),
                file=sys.stderr,
            )
    methods = list(dict.fromkeys(row["method"] for row in rows))
    print(f"\n{'photo':<20} {'blur':<17} " + " ".join(f"{m[:22]:>23}" for m in methods))
    for key in dict.fromkeys((row["photo"], row["blur"]) for row in rows):
        cells = {row["method"]: row for row in rows if (row["photo"], row["blur"]) == key}
        print(
            f"{key[0]:<20} {key[1]:<17} "
            + " ".join(f"{cells[m]['PSNR (dB)']:>8.2f} dB / {cells[m]['SSIM']:.3f}" for m in methods)
        )
    print(
        f"\n{'mean over ' + str(len(rows) // len(methods)) + ' cases':<38} "
        + " ".join(
            f"{np.mean([r['PSNR (dB)'] for r in rows if r['method'] == m]):>8.2f} dB / "
            f"{np.mean([r['SSIM'] for r in rows if r['method'] == m]):.3f}"
            for m in methods
        )
    )
    print(f"\n{'PSNR gain over blurry, per blur':<38} " + " ".join(f"{m[:22]:>23}" for m in methods))
    for blur_name in dict.fromkeys(row["blur"] for row in rows):
        mine = [r for r in rows if r["blur"] == blur_name]
        blurry = np.mean([r["PSNR (dB)"] for r in mine if r["method"] == "blurry"])
        print(
            f"{blur_name:<38} "
            + " ".join(
                f"{np.mean([r['PSNR (dB)'] for r in mine if r['method'] == m]) - blurry:>+11.2f} dB      "
                for m in methods
            )
        )
    base = np.mean([r["PSNR (dB)"] for r in rows if r["method"] == "blurry"])
    print(
        f"{'PSNR gain over blurry':<38} "
        + " ".join(
            f"{np.mean([r['PSNR (dB)'] for r in rows if r['method'] == m]) - base:>+11.2f} dB      " for m in methods
        )
    )


def untouched(generator: torch.nn.Module, folder: str | None, seeds: int = 1) -> None:
    """Sharp photos saved as JPEG q85, and with sensor noise 1%: what the estimator reads, and the output's
    PSNR against the sharp photo next to the input's (issue #22: within 0.2 dB of the input, or better)."""
    sharp_kernel = np.ones((1, 1), np.float32)
    cases = {"sharp, JPEG q85": (0.0, CAMERA_JPEG), "sharp, noise 1%": (CAMERA_NOISE, None)}
    print(f"\n{'photo':<20} {'case':<17} {'input':>9} {'output':>9}  read as")
    changes = []
    for name, pixels in held_out(folder).items():
        sharp = pixels.astype(np.float32) / 255
        for (case, (noise, quality)), seed in itertools.product(cases.items(), range(seeds)):
            given = degrade.camera_array(pixels, sharp_kernel, noise, quality, seed).astype(np.float32) / 255
            estimate = kernel_estimate.estimate(given, cautious=CAUTIOUS)
            restored = quantised(deblur.restore(given, generator, kernel=estimate.kernel, trusted=estimate.trusted))
            before, after = (baselines.scores(sharp, {"": x})[0]["PSNR (dB)"] for x in (given, restored))
            changes.append(after - before)
            print(
                f"{name + drawn(seed, seeds):<20} {case:<17} {before:>6.2f} dB {after:>6.2f} dB  "
                f"{estimate.label} ({estimate.probability:.0%})"
            )
    print(
        f"output minus input: mean {np.mean(changes):+.2f} dB, worst {min(changes):+.2f} dB; "
        f"left as it was in {sum(abs(c) < 1e-9 for c in changes)} of {len(changes)}"
    )


def speed(tile: int) -> None:
    """Photos as a person uploads them (JPEG q90 of a held-out photo, blurred by a Gaussian or a camera
    shake, enlarged to 2 and 12 megapixels), end to end as the page does it: decode, read the blur (a
    shake is traced, the slowest reading), restore, encode the PNG."""
    from gandash.core import device

    generator = deblur.bundled_model()
    print(
        f"{torch.get_num_threads()} threads; precision: {device.inference_precision()} "
        f"(bf16 {'pays' if deblur.bf16_pays(generator.camera) else 'does not pay'} on this CPU)"
    )
    kernel_estimate.estimate(data.photo("rocket"))  # the app's process has loaded the estimator already
    blurs = {"Gaussian σ2": degrade.gaussian_kernel(2.0), "shake 15 px": degrade.shake_kernel(15, 11)}
    for (width, height), (blur, kernel) in itertools.product(((1732, 1155), (4000, 3000)), blurs.items()):
        photo = Image.fromarray(data.photo("rocket")).resize((width, height), Image.Resampling.BICUBIC)
        blurred = degrade.camera_array(np.asarray(photo), kernel, 0.01, 90)
        buffer = io.BytesIO()
        Image.fromarray(blurred).save(buffer, format="JPEG", quality=90)
        del photo, blurred
        started = time.perf_counter()
        loaded = deblur.read_photo(buffer.getvalue(), "upload.jpg")
        estimate = kernel_estimate.estimate(loaded.pixels)
        read = time.perf_counter() - started
        result = deblur.deblur_photo(loaded, generator, tile, kernel=estimate.kernel, trusted=estimate.trusted)
        restored = time.perf_counter() - started - read
        png = photos.encode(result)
        seconds = time.perf_counter() - started
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        print(
            f"{width * height / 1e6:.1f} MP JPEG ({width}x{height}, {blur}), "
            f"{deblur.poses_for(width * height)} pose(s), tile {tile}: {seconds:.2f} s end to end "
            f"(decode + read the blur {read:.2f} s, restore "
            f"{restored:.2f} s, PNG {seconds - read - restored:.2f} s; read as {estimate.label}); "
            f"peak memory of the process so far {peak:.0f} MB ({len(png) / 1e6:.1f} MB PNG)"
        )
    small = data.photo("rocket")[:256, :256].astype(np.float32) / 255
    kernel = degrade.gaussian_kernel(2.0)
    fp32, bf16 = (deblur.restore(small, generator, kernel=kernel, precision=p) for p in ("fp32", "bf16"))
    print(f"bf16 against fp32 on a 256 px crop: mean |difference| {np.abs(fp32 - bf16).mean() * 255:.3f} of 255")


def export(run: str, step: int | None, target: Path) -> None:
    """RUN's EMA generator (newest checkpoint, or the one of `step`) as a plain state dict."""
    run_dir = paths.run_dir(run)
    config = TrainConfig.load(run_dir / "config.json")
    state = checkpoints.load(checkpoints.path_for(run_dir, step)) if step else checkpoints.latest(run_dir)[0]
    generator, _ = variants.get(config.variant).build(config)
    generator.load_state_dict(state["ema"] if state.get("ema") is not None else state["generator"])
    step = state["step"]
    if config.variant != "deblur":
        raise SystemExit(f"{run} is a {config.variant} run; the bundled weights come from a deblur run.")
    buffer = io.BytesIO()
    torch.save(generator.state_dict(), buffer)
    target.parent.mkdir(exist_ok=True)
    atomic_write_bytes(target, buffer.getvalue())
    print(f"wrote {target} ({len(buffer.getvalue()) / 1e6:.1f} MB) from {run} step {step}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default="bundled")
    parser.add_argument("--speed", action="store_true")
    parser.add_argument("--tile", type=int, default=deblur.TILE)
    parser.add_argument("--export", metavar="RUN")
    parser.add_argument("--step", type=int, help="with --export: that checkpoint instead of the newest")
    parser.add_argument("--clean", action="store_true", help="with --export: as the U-Net for clean photos")
    parser.add_argument("--camera", action="store_true", help="blur + noise 1%% + JPEG q85, and two shakes")
    parser.add_argument("--cautious", action="store_true", help="the least harmful kernel, not the likeliest")
    parser.add_argument("--photos", metavar="DIR", help="held-out photos (JPEGs) instead of scikit-image's three")
    parser.add_argument("--tuning", action="store_true", help="training photos and other shakes, to tune rules on")
    parser.add_argument(
        "--seeds",
        type=int,
        default=1,
        help="with --camera: each case with this many draws of the sensor noise (seeds 0, 1, ...), averaged",
    )
    parser.add_argument(
        "--poses",
        type=int,
        help="self-ensemble poses for the GAN (default: as the app, deblur.poses_for: 8 at these sizes)",
    )
    args = parser.parse_args()
    if args.export:
        export(args.export, args.step, deblur.BUNDLED_CLEAN if args.clean else deblur.BUNDLED)
    elif args.speed:
        speed(args.tile)
    else:
        generator, label = deblur.load_model(args.model)
        print(
            f"model: {label}; "
            + (
                f"TRAINING photos (to tune on): {', '.join(TUNING_PHOTOS)}; "
                if TUNING
                else f"held-out photos: {args.photos or ', '.join(data.PHOTOS_HELD_OUT)}; "
            )
            + f"GAN poses: {args.poses or 'as the app (deblur.poses_for)'}; "
            f"kernel: {'the least harmful' if CAUTIOUS else 'the likeliest'}"
            + (f"; as a camera saves them: noise {CAMERA_NOISE:.0%}, JPEG q{CAMERA_JPEG}" if args.camera else "")
            + (f"; {args.seeds} draws of the noise each" if args.camera and args.seeds > 1 else "")
        )
        table(generator, args.poses, args.camera, args.photos, args.seeds)
        if args.camera:
            untouched(generator, args.photos, args.seeds)


if __name__ == "__main__":
    main()
