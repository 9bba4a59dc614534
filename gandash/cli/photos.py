"""Commands that restore a photo of any size tile by tile: `deblur` (same size) and `upscale` (x4).

Both share one path through `_restore`: check the paths before any work, read the photo, load the model,
run it with a progress bar, write the result in the format --out names, and say what was done.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from gandash.cli.output import fraction_bar, print_notes
from gandash.core.errors import GandashError

# --out's suffix names the format written; GIF, read as input, is left out: its palette holds 256 colours
FORMATS = {
    ".jpg": "JPEG",
    ".jpeg": "JPEG",
    ".png": "PNG",
    ".webp": "WEBP",
    ".tif": "TIFF",
    ".tiff": "TIFF",
    ".bmp": "BMP",
}


def add_commands(commands) -> None:
    _add_command(
        commands,
        "deblur",
        cmd_deblur,
        "restore a blurry photo (bundled model or a deblur run)",
        photo="a JPEG, PNG, WebP, TIFF, BMP or GIF photo",
        result="where to write the result (same size)",
        model=("bundled", "RUN", "a deblur or deblur-seed run's id (default: bundled)"),
        tile=(1024, "tile size in pixels (default 1024)"),
    )
    _add_command(
        commands,
        "upscale",
        cmd_upscale,
        "enlarge a photo x4 (bundled SRGAN demo or an srgan run)",
        photo="a JPEG, PNG, WebP, TIFF, BMP or GIF photo (up to 1 MP)",
        result="where to write the result (4x the size)",
        model=(
            "demo:srgan-photos",
            "RUN|demo:NAME",
            "an srgan run's id or a bundled demo (default: demo:srgan-photos, the faithful pixel-loss model; "
            "demo:srgan-photos-gan gives the sharper adversarial look, some of its detail invented)",
        ),
        tile=(192, "tile size in input pixels (default 192)"),
    )


def _add_command(
    commands, name: str, func, summary: str, photo: str, result: str, model: tuple[str, str, str], tile: tuple[int, str]
) -> None:
    """One photo command: both take the same arguments, with their own texts and defaults. `model` is
    (default, metavar, help), `tile` (default, help)."""
    parser = commands.add_parser(name, help=summary)
    parser.add_argument("input", metavar="IN", help=photo)
    parser.add_argument("--out", required=True, metavar="OUT", help=result)
    parser.add_argument("--model", default=model[0], metavar=model[1], help=model[2])
    parser.add_argument("--tile", type=int, default=tile[0], metavar="N", help=tile[1])
    parser.set_defaults(func=func)


def cmd_deblur(args: argparse.Namespace) -> int:
    from gandash.restore import deblur, kernel_estimate, reading

    def apply(photo, generator, progress):
        kernel, trusted, found = None, True, None
        if deblur.needs_kernel(generator):  # estimated once from the whole photo: one tile sees too little of it
            estimate = kernel_estimate.estimate(photo.pixels)
            kernel, trusted = estimate.kernel, estimate.trusted
            print(
                f"blur read from the photo: {estimate.label} ({estimate.confidence}"
                + (f"; {estimate.caution}" if estimate.caution else "")
                + ")"
                + ("; it is written out as it was" if not estimate.blurred else ""),
                file=sys.stderr,
            )
            found = reading.of_photo(photo)  # one reading: this line, the U-Net, how far it is held to the photo
            print(f"also read from the photo: {found.describe()}", file=sys.stderr)
            generator, which = deblur.for_photo(generator, found)
            if which and estimate.blurred:
                print(f"restored by {which}", file=sys.stderr)
            if estimate.blurred and estimate.trusted:
                print("then held to the photo: blurred again by that kernel, the result must match it", file=sys.stderr)
            elif estimate.blurred:
                print("not held to the photo: the reading is too unsure to trust its kernel that far", file=sys.stderr)
        return deblur.deblur_photo(photo, generator, args.tile, progress, kernel, found, trusted)

    return _restore(args, deblur, apply)


def cmd_upscale(args: argparse.Namespace) -> int:
    from gandash.restore import upscale

    return _restore(
        args, upscale, lambda photo, generator, progress: upscale.upscale_photo(photo, generator, args.tile, progress)
    )


def _restore(args: argparse.Namespace, tool, apply) -> int:
    """Run `apply(photo, generator, progress)` on the photo args.input with the model `tool` (the module
    gandash.restore.deblur or .upscale) loads for args.model, and write the result to args.out."""
    from gandash.core.paths import atomic_write_bytes
    from gandash.restore import photo as photos

    source, target, fmt = _paths(args)
    photo = tool.read_photo(source)
    generator, label = tool.load_model(args.model)
    started = time.perf_counter()
    with fraction_bar() as bar:
        result = apply(photo, generator, lambda done: bar.to(round(done * 100)))
    atomic_write_bytes(target, photos.encode(result, fmt))
    print_notes(filter(None, (photo.note, photos.depth_note(result, fmt))))
    (width, height), (new_width, new_height) = photo.size, result.size
    sizes = f"{width}x{height}" + (f" -> {new_width}x{new_height}" if result.size != photo.size else "")
    print(f"wrote {target} ({sizes}, {label}, {time.perf_counter() - started:.1f} s)")
    return 0


def _paths(args: argparse.Namespace) -> tuple[Path, Path, str]:
    """(input, output, output format), checked before any work: a bad --out costs no minutes of restoring."""
    source, target = Path(args.input), Path(args.out)
    if not source.is_file():
        raise GandashError(f"{source} does not exist or is not a file.")
    fmt = FORMATS.get(target.suffix.lower())
    if fmt is None:
        raise GandashError(f"--out {target.name}: end it in .png, .jpg, .webp, .tif or .bmp.")
    if not target.parent.is_dir():
        raise GandashError(f"folder {target.parent} does not exist.")
    return source, target, fmt
