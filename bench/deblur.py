"""Deblurring numbers on photos the model never trained on (data.PHOTOS_HELD_OUT), and its speed.

    python bench/deblur.py                  # PSNR/SSIM table: blurry, unsharp, Wiener, Richardson-Lucy, GAN
    python bench/deblur.py --model RUN      # the same for a deblur run instead of the bundled weights
    python bench/deblur.py --poses 1        # the GAN without self-ensemble (the app averages 8 poses here)
    python bench/deblur.py --speed          # a 12-megapixel photo: seconds and peak memory
    python bench/deblur.py --camera         # as phones save them: + noise 1%, JPEG q85, and two camera shakes
    python bench/deblur.py --photos DIR     # another held-out set, each photo 640 px wide (bench/fetch_photos.sh)
    python bench/deblur.py --export RUN [--step N]   # write RUN's EMA generator as gandash/weights/deblur.pt

Wiener and Richardson-Lucy are given the true kernel (non-blind); unsharp masking and the GAN are not (the
U-Net deconvolves with the kernel gandash.kernel_estimate reads from the blurry photo; a second GAN column
gives it the true kernel, which separates the estimator's misses from the U-Net's).
"""

from __future__ import annotations

import argparse
import io
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

BLURS = {
    "gaussian σ1.5": degrade.gaussian_kernel(1.5),
    "gaussian σ2.5": degrade.gaussian_kernel(2.5),
    "motion 9 px, 30°": degrade.motion_kernel(9, 30),
}
SHAKES = {"shake 11 px, path 3": degrade.shake_kernel(11, 3), "shake 15 px, path 11": degrade.shake_kernel(15, 11)}
CAMERA_NOISE, CAMERA_JPEG = 0.01, 85  # issue #22's case: sensor noise sigma 1% and JPEG quality 85
UNSHARP_GRID = ((1, 1), (2, 1), (1, 2), (2, 0.5), (3, 1), (2, 2))  # (radius, amount)


def quantised(pixels: np.ndarray) -> np.ndarray:
    """What a saved 8-bit photo holds."""
    return np.rint(np.clip(pixels, 0, 1) * 255).astype(np.float32) / 255


def held_out(folder: str | None) -> dict[str, np.ndarray]:
    """The held-out photos as uint8: scikit-image's three, or every photo of `folder` at 640 px wide."""
    if not folder:
        return {name: data.photo(name) for name in data.PHOTOS_HELD_OUT}
    found = {}
    for path in sorted(Path(folder).expanduser().glob("*.jp*g")):
        image = Image.open(path).convert("RGB")
        found[path.stem] = np.asarray(image.resize((640, round(640 * image.height / image.width)), Image.LANCZOS))
    return found


def table(generator: torch.nn.Module, poses: int | None = None, camera: bool = False, folder: str | None = None):
    rows = []
    blurs = {**BLURS, **(SHAKES if camera else {})}
    for name, pixels in held_out(folder).items():
        sharp = pixels.astype(np.float32) / 255
        for blur_name, kernel in blurs.items():
            if camera:
                blurry = degrade.camera_array(pixels, kernel, CAMERA_NOISE, CAMERA_JPEG).astype(np.float32) / 255
            else:
                blurry = quantised(degrade.blur_array(sharp, kernel))
            started = time.perf_counter()
            estimate = kernel_estimate.estimate(blurry) if deblur.needs_kernel(generator) else None
            restored = quantised(deblur.restore(blurry, generator, kernel=estimate and estimate.kernel, poses=poses))
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
            rows += [dict(row, photo=f"{name} {sharp.shape[1]}x{sharp.shape[0]}", blur=blur_name) for row in found]
            print(
                f"  {name:<10} {blur_name:<17} GAN {seconds:.2f} s"
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
    base = np.mean([r["PSNR (dB)"] for r in rows if r["method"] == "blurry"])
    print(
        f"{'PSNR gain over blurry':<38} "
        + " ".join(
            f"{np.mean([r['PSNR (dB)'] for r in rows if r['method'] == m]) - base:>+11.2f} dB      " for m in methods
        )
    )


def speed(tile: int) -> None:
    """A 12-megapixel (4000x3000) photo made from a held-out one, blurred, restored once."""
    photo = Image.fromarray(data.photo("rocket")).resize((4000, 3000), Image.Resampling.BICUBIC)
    pixels = np.asarray(photo, dtype=np.float32) / 255
    del photo
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    started = time.perf_counter()
    deblur.restore(pixels, deblur.bundled_model(), tile)
    seconds = time.perf_counter() - started
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(
        f"12 MP (4000x3000), tile {tile}: {seconds:.1f} s on {torch.get_num_threads()} threads; "
        f"peak memory {peak:.0f} MB for the whole process ({before:.0f} MB before restoring)"
    )


def export(run: str, step: int | None) -> None:
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
    deblur.BUNDLED.parent.mkdir(exist_ok=True)
    atomic_write_bytes(deblur.BUNDLED, buffer.getvalue())
    print(f"wrote {deblur.BUNDLED} ({len(buffer.getvalue()) / 1e6:.1f} MB) from {run} step {step}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default="bundled")
    parser.add_argument("--speed", action="store_true")
    parser.add_argument("--tile", type=int, default=deblur.TILE)
    parser.add_argument("--export", metavar="RUN")
    parser.add_argument("--step", type=int, help="with --export: that checkpoint instead of the newest")
    parser.add_argument("--camera", action="store_true", help="blur + noise 1%% + JPEG q85, and two shakes")
    parser.add_argument("--photos", metavar="DIR", help="held-out photos (JPEGs) instead of scikit-image's three")
    parser.add_argument(
        "--poses",
        type=int,
        help="self-ensemble poses for the GAN (default: as the app, deblur.poses_for: 8 at these sizes)",
    )
    args = parser.parse_args()
    if args.export:
        export(args.export, args.step)
    elif args.speed:
        speed(args.tile)
    else:
        generator, label = deblur.load_model(args.model)
        print(
            f"model: {label}; held-out photos: {args.photos or ', '.join(data.PHOTOS_HELD_OUT)}; "
            f"GAN poses: {args.poses or 'as the app (8 at these sizes)'}"
            + (f"; as a camera saves them: noise {CAMERA_NOISE:.0%}, JPEG q{CAMERA_JPEG}" if args.camera else "")
        )
        table(generator, args.poses, args.camera, args.photos)


if __name__ == "__main__":
    main()
