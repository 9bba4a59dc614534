"""x4 upscaling numbers on photos no model trained on: bicubic beside each bundled upscaler.

    python bench/upscale.py                     # mate-backgrounds' 12 photos if fetched, else scikit-image's held-out
    python bench/upscale.py --photos DIR        # another held-out folder (bench/fetch_photos.sh fetches the mate ones)
    python bench/upscale.py --skimage           # scikit-image's held-out photos (data.PHOTOS_HELD_OUT)
    python bench/upscale.py --model RUN         # (repeatable) an srgan run, demo:NAME or a demo file written by
                                                # `pretrain --out-dir` (DIR/NAME.pt), instead of the bundled ones
    python bench/upscale.py --jpeg 85           # the small copy saved as a JPEG of this quality, as the web serves it
    python bench/upscale.py --crop              # a --size px square from each photo's centre at its own resolution
    python bench/upscale.py --per-photo         # a row per photo as well

Each photo is resized to --size px wide (Lanczos; default 512) or its centre square cut out (--crop), cropped
to a multiple of 4 and shrunk x4 with Pillow's antialiased bicubic (upscale.shrink, as the Deblur page's
comparison does); bicubic and each model enlarge the small copy back (the models tile by tile, as the page
runs them) and are scored against the original with gandash.quality.fidelity (PSNR and SSIM over the whole
picture, in RGB).
"""

from __future__ import annotations

import argparse
import io
import sys
import time
from pathlib import Path

import numpy as np
import torch
from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from gandash import data  # noqa: E402
from gandash.core import paths  # noqa: E402
from gandash.quality import fidelity  # noqa: E402
from gandash.restore import upscale  # noqa: E402

MATE = paths.home() / "data" / "photos-mate"


def held_out(folder: Path | None, width: int, crop: bool = False) -> dict[str, np.ndarray]:
    """{name: uint8 RGB at `width` px wide, or its centre `width` px square}: every photo of `folder`, or
    scikit-image's held-out ones."""
    if folder is None:
        arrays = {name: Image.fromarray(data.photo(name)) for name in data.PHOTOS_HELD_OUT}
    else:
        found = sorted(p for p in folder.expanduser().iterdir() if p.suffix.lower() in (".jpg", ".jpeg", ".png"))
        if not found:
            raise SystemExit(f"no .jpg or .png photos in {folder}")
        arrays = {path.stem: Image.open(path).convert("RGB") for path in found}
    if crop:
        return {name: np.asarray(_centre(image, min(width, *image.size))) for name, image in arrays.items()}
    return {
        name: np.asarray(image.resize((width, round(width * image.height / image.width)), Image.Resampling.LANCZOS))
        for name, image in arrays.items()
    }


def _centre(image: Image.Image, side: int) -> Image.Image:
    left, top = (image.width - side) // 2, (image.height - side) // 2
    return image.crop((left, top, left + side, top + side))


def as_jpeg(pixels: np.ndarray, quality: int) -> np.ndarray:
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, "JPEG", quality=quality)
    return np.asarray(Image.open(buffer).convert("RGB"))


def score(restored: np.ndarray, sharp: np.ndarray) -> tuple[float, float]:
    restored, sharp = restored.astype(np.float32) / 255, sharp.astype(np.float32) / 255
    return fidelity.psnr(restored, sharp), fidelity.ssim(restored, sharp)


def load(model: str) -> tuple[torch.nn.Module, str]:
    """upscale.load_model's, or a demo file outside the bundled folder (read from there)."""
    if not model.endswith(".pt"):
        return upscale.load_model(model)
    from gandash.variants import demos

    bundled, demos.FOLDER = demos.FOLDER, Path(model).parent
    try:
        return upscale.load_model(f"demo:{Path(model).stem}")
    finally:
        demos.FOLDER = bundled


def table(photos: dict[str, np.ndarray], models: list[str], jpeg: int | None, per_photo: bool) -> None:
    methods = {"bicubic": None} | {model: load(model) for model in models}
    scores = {name: [] for name in methods}  # [(photo, psnr, ssim)]
    seconds = dict.fromkeys(methods, 0.0)
    for photo, pixels in photos.items():
        sharp, low = upscale.shrink(pixels)
        low = as_jpeg(low, jpeg) if jpeg else low
        for name, loaded in methods.items():
            started = time.perf_counter()
            with torch.no_grad():
                big = upscale.bicubic(low) if loaded is None else upscale.upscale(low, loaded[0])
            seconds[name] += time.perf_counter() - started
            scores[name].append((photo, *score(big, sharp)))
    sizes = {f"{p.shape[1]}x{p.shape[0]}" for p in photos.values()}
    print(
        f"{len(photos)} photos ({', '.join(sorted(sizes))} px), shrunk x4 with bicubic"
        + (f", then saved as JPEG q{jpeg}" if jpeg else "")
        + ", enlarged x4 again"
    )
    base = np.array([s[1] for s in scores["bicubic"]])
    print(f"{'method':58} {'PSNR dB':>8} {'vs bicubic':>10} {'SSIM':>7} {'wins':>6} {'s/photo':>8}")
    for name, rows in scores.items():
        psnrs, ssims = np.array([r[1] for r in rows]), np.array([r[2] for r in rows])
        label = name if methods[name] is None else f"{name} ({methods[name][1]})"
        wins = f"{int((psnrs > base).sum())}/{len(rows)}" if methods[name] is not None else ""
        print(
            f"{label[:58]:58} {psnrs.mean():8.2f} {psnrs.mean() - base.mean():+10.2f} {ssims.mean():7.3f} "
            f"{wins:>6} {seconds[name] / len(rows):8.2f}"
        )
    if per_photo:
        print()
        print(f"{'photo':16}" + "".join(f" {name[-22:]:>22}" for name in scores))
        for index, photo in enumerate(photos):
            cells = "".join(f" {scores[n][index][1]:13.2f} / {scores[n][index][2]:.3f}" for n in scores)
            print(f"{photo[:16]:16}{cells}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    where = parser.add_mutually_exclusive_group()
    where.add_argument("--photos", type=Path, help=f"a folder of held-out photos (default: {MATE} if there)")
    where.add_argument("--skimage", action="store_true", help="scikit-image's held-out photos")
    parser.add_argument("--model", action="append", help="an srgan run or demo:NAME (default: every bundled one)")
    parser.add_argument("--size", type=int, default=512, help="each photo's width before shrinking (px)")
    parser.add_argument("--crop", action="store_true", help="a centre square of --size px, not the whole photo resized")
    parser.add_argument("--jpeg", type=int, help="save the small copy as a JPEG of this quality")
    parser.add_argument("--per-photo", action="store_true")
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    folder = None if args.skimage else args.photos or (MATE if MATE.is_dir() else None)
    models = args.model or [model for model, _ in upscale.demo_choices()]
    table(held_out(folder, args.size, args.crop), models, args.jpeg, args.per_photo)


if __name__ == "__main__":
    main()
