"""What one slider move on the latent page costs on the CPU, for a DCGAN-64 generator (goal: 32 frames
rendered in <= 150 ms, so sliders feel live).

Builds the pytorch/examples DCGAN generator (nz=100, ngf=64, 3 channels, 64x64) through gandash's
registry and, per repeat, does what the page's Interpolate tab does when a slider moves, timing each
part on its own:
  render  the anchors' z, the slerp path through them, truncation and the generator on all frames in
          one batch (latent.render), as float images;
  strip   the frames encoded to the PNG strip the page shows (latent.display_png: enlarged to the page's
          display size, 16 a row), the bytes st.image sends to the browser;
  frame   the player's one picture (latent.display_png of the frame on the slider).
Weights do not change the cost, so fresh ones are used unless --run points at a trained run (its images
are 28 px: enlarged more, so the strip's cost differs). Prints the median, 90th percentile and best of
--repeats for each part and for their sum.

    PYTHONPATH=. .venv/bin/python bench/latent_render.py [--frames 32] [--repeats 30] [--run RUN_DIR]
"""

from __future__ import annotations

import argparse
import os
import statistics
import time

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")  # as gandash/__init__.py does, before torch starts OpenMP

import torch

from gandash import latent, variants
from gandash.variants.configure import make_config


def model_for(run: str | None) -> latent.Model:
    if run:
        return latent.load(run)
    config = make_config("dcgan", "fashion-mnist", image_size=64, channels=3, z_dim=100, width=64)
    generator = latent.for_rendering(variants.get("dcgan").build(config)[0])
    return latent.Model(generator, config, 0, "fresh dcgan-64")


def slider_move(model: latent.Model, seed: int, frames: int) -> dict[str, float]:
    """Milliseconds of each part of one rerun of the Interpolate tab (two anchors, psi 0.9)."""
    started = time.perf_counter()
    anchors = [latent.anchor(s, model.config.z_dim, model) for s in (seed, seed + 1)]
    z = latent.truncate(latent.path(anchors, frames, "slerp"), 0.9)
    pictures = latent.render(model, z, latent.labels_for(model, len(z), None))
    rendered = time.perf_counter()
    strip = latent.display_png(pictures, model, nrow=min(len(pictures), 16))
    encoded = time.perf_counter()
    frame = latent.display_png(pictures[:1], model)
    done = time.perf_counter()
    assert len(pictures) == frames and strip and frame
    return {
        "render": (rendered - started) * 1000,
        "strip": (encoded - rendered) * 1000,
        "frame": (done - encoded) * 1000,
        "total": (done - started) * 1000,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--frames", type=int, default=32)
    parser.add_argument("--repeats", type=int, default=30)
    parser.add_argument("--run", help="a trained run's folder (default: a fresh DCGAN-64 generator)")
    args = parser.parse_args()
    model = model_for(args.run)
    params = sum(p.numel() for p in model.generator.parameters())
    size = model.config.image_size
    print(
        f"torch {torch.__version__}, {torch.get_num_threads()} threads; {model.source}: {params / 1e6:.2f} M "
        f"parameters, {size}x{size}, shown at {size * latent.display_scale(model)} px"
    )
    timings: dict[str, list[float]] = {}
    for i in range(args.repeats + 3):
        parts = slider_move(model, i, args.frames)
        if i >= 3:  # the first calls pay for allocator and kernel warm-up
            for name, ms in parts.items():
                timings.setdefault(name, []).append(ms)
    print(f"{args.frames} slerp frames, {args.repeats} repeats:")
    for name, values in timings.items():
        values.sort()
        goal = "  (goal <= 150 ms)" if name == "render" else ""
        print(
            f"  {name:<7} median {statistics.median(values):6.1f} ms   p90 "
            f"{values[max(0, int(0.9 * len(values)) - 1)]:6.1f} ms   best {values[0]:6.1f} ms{goal}"
        )


if __name__ == "__main__":
    main()
