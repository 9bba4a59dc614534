"""Time to render an interpolation strip from a DCGAN-64 generator on the CPU (goal: 32 frames <= 150 ms).

Builds the pytorch/examples DCGAN generator (nz=100, ngf=64, 3 channels, 64x64) through gandash's
registry, slerps between two seeds and renders the frames through latent.render (one batch), as
the latent page does on every slider move. Weights do not change the cost, so fresh ones are used
unless --run points at a trained run. Prints the median and the 90th percentile of --repeats.

    PYTHONPATH=. .venv/bin/python bench/latent_render.py [--frames 32] [--repeats 30] [--run RUN_DIR]
"""

from __future__ import annotations

import argparse
import statistics
import time

import torch

from gandash import latent, variants
from gandash.config import make_config


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--frames", type=int, default=32)
    parser.add_argument("--repeats", type=int, default=30)
    parser.add_argument("--run", help="a trained run's folder (default: a fresh DCGAN-64 generator)")
    args = parser.parse_args()
    if args.run:
        model = latent.load(args.run)
    else:
        config = make_config("dcgan", "fashion-mnist", image_size=64, channels=3)
        generator = latent.for_rendering(variants.get("dcgan").build(config)[0])
        model = latent.Model(generator, config, 0, "fresh dcgan-64")
    params = sum(p.numel() for p in model.generator.parameters())
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads; {model.source}: "
          f"{params / 1e6:.2f} M parameters, {model.config.image_size}x{model.config.image_size}")
    timings = []
    for i in range(args.repeats + 3):
        started = time.perf_counter()
        latent.seeds_to_frames(model, i, i + 1, args.frames, "slerp")
        if i >= 3:  # the first calls pay for allocator and kernel warm-up
            timings.append((time.perf_counter() - started) * 1000)
    timings.sort()
    print(f"{args.frames} slerp frames: median {statistics.median(timings):.0f} ms, "
          f"p90 {timings[int(0.9 * len(timings)) - 1]:.0f} ms, best {timings[0]:.0f} ms (goal <= 150 ms)")


if __name__ == "__main__":
    main()
