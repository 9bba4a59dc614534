"""How each reading of a camera shake is acted on, against tracing every shake as one (a tuning aid for #22).

The spectrum estimator names most shakes with its placeholder (the widest Gaussian), whose trace is trusted; a
shake it names otherwise (a mid Gaussian, a line, a disc) is only refined, unless it is read unsurely as a light
Gaussian or a wide disc (kernel_estimate.Estimate.names_a_shake). For shakes along random paths, and for true
Gaussians and lines, this prints the U-Net's gain over the blurry photo (one pose) with the pipeline's kernel and
with a trusted shake trace from the placeholder, then both per kind of reading: what a rule for which readings
stand for a shake would win and lose, weighed where rules are tuned (the training photos).

    python bench/shake_readings.py                 # training photos, shake paths read otherwise, one noise draw
    python bench/shake_readings.py --draws 3       # each case with 3 draws of the sensor noise
    python bench/shake_readings.py --photos DIR    # held-out photos instead: to judge a rule, not to tune it

Measured for issue #22 (AMD EPYC, training photos, 210 shakes read otherwise and 60 true blurs): tracing every
blur read under 40% as a shake, but for a faint Gaussian or a small disc, gained +80.6 dB over the pipeline on
69 shakes and lost 1.8 dB on 3 true Gaussians; on the held-out photos it damaged sharp photos of dunes and
blinds by up to 11.5 dB (no sharp training photo reads as a line), so it was not kept.
"""

from __future__ import annotations

import argparse
import itertools
import sys
from collections import defaultdict
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import deblur as bench  # noqa: E402  (bench/deblur.py: the photos and the camera case)

from gandash.data import degrade  # noqa: E402
from gandash.data.kernel_grid import describe, kernel_of  # noqa: E402
from gandash.quality import fidelity  # noqa: E402
from gandash.restore import deblur, kernel_estimate, kernel_trace  # noqa: E402

# (path, px) of shakes the spectrum reads otherwise than its placeholder on most training photos
SHAKES = "0:13,0:15,1:11,2:11,6:13,9:11,9:15,11:15,14:13,19:15,27:13,29:15,34:13,43:15,53:13,62:15,73:11,73:15"
TRUE = {
    **{f"gaussian σ{s:g}": degrade.gaussian_kernel(s) for s in (1.5, 2.0, 2.5, 3.0)},
    **{f"motion {n} px": degrade.motion_kernel(n, 30) for n in (9, 13)},
}


def kind_of_reading(found: kernel_estimate.Estimate) -> str:
    if found.entry == kernel_estimate.WIDEST_GAUSSIAN:
        return "placeholder"
    if found.names_a_shake:
        return "unsure, traced as a shake"
    if found.entry[0] == "none":
        return "no blur"
    sure = found.probability >= kernel_estimate.UNSURE[1]
    return f"{found.entry[0]}, {'unsure' if found.unsure else 'sure' if sure else 'no reading'}"


def gain(
    generator: torch.nn.Module, blurry: np.ndarray, sharp: np.ndarray, kernel: np.ndarray | None, trusted: bool = True
) -> float:
    """PSNR of the U-Net's restoration with `kernel` (one pose, saved as 8 bits) less the blurry photo's."""
    if kernel is None or kernel.shape == (1, 1):  # no trace, or one that shrank to a point: left as it was
        return 0.0
    restored = bench.quantised(deblur.restore(blurry, generator, kernel=kernel, poses=1, trusted=trusted))
    return fidelity.psnr(restored, sharp) - fidelity.psnr(blurry, sharp)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--photos", metavar="DIR", help="held-out photos (bench/fetch_photos.sh) instead")
    parser.add_argument("--draws", type=int, default=1, help="draws of the sensor noise per case")
    parser.add_argument("--shakes", default=SHAKES, help="path:px pairs of degrade.shake_kernel")
    args = parser.parse_args()
    bench.TUNING = not args.photos
    generator, _ = deblur.load_model()
    placeholder = kernel_of(kernel_estimate.WIDEST_GAUSSIAN)
    blurs = {
        f"shake {px} px, path {path}": degrade.shake_kernel(int(px), int(path))
        for path, px in (pair.split(":") for pair in args.shakes.split(","))
    }
    blurs.update(TRUE)
    totals = defaultdict(list)
    for name, pixels in bench.held_out(args.photos).items():
        sharp = pixels.astype(np.float32) / 255
        for (blur, kernel), seed in itertools.product(blurs.items(), range(args.draws)):
            blurry = degrade.camera_array(pixels, kernel, bench.CAMERA_NOISE, bench.CAMERA_JPEG, seed) / 255
            blurry = blurry.astype(np.float32)
            found = kernel_estimate.estimate(blurry)
            gray = (torch.round(kernel_estimate._gray(blurry) * 255) / 255).numpy()  # as estimate reads it
            shake = kernel_trace.trace(gray, placeholder, trusted=True)
            now = gain(generator, blurry, sharp, found.kernel, found.trusted)
            traced = gain(generator, blurry, sharp, shake)
            kind = kind_of_reading(found)
            totals[("shake" if blur.startswith("shake") else "true blur", kind)].append((now, traced))
            print(
                f"{name[:12]:12} {blur:22} draw {seed}  read {describe(found.entry)[:28]:28} "
                f"{found.probability:4.0%}  {kind:26} now {now:+6.2f}  traced as a shake {traced:+6.2f} dB",
                flush=True,
            )
    print("\nU-Net gain over the blurry photo (dB, one pose), mean per case: as the pipeline acts / traced as a shake")
    for (truth, kind), gains in sorted(totals.items()):
        now, traced = np.mean(gains, 0)
        print(f"{truth:9} read as {kind:26} {len(gains):4} cases   now {now:+6.2f}   traced as a shake {traced:+6.2f}")


if __name__ == "__main__":
    main()
