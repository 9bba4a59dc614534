"""Mode coverage of the toy variant's recipe on `ring` and `grid`, as a user's run gets it.

Trains the toy recipe (its own step budget, or --minutes of training time) per (dataset, seed)
through variants.training.train, draws 2500 points from the saved generator (EMA weights when kept) and
scores them with the VEEGAN protocol (Srivastava et al. 2017): a sample is high quality when it
lies within 3 sigma of its nearest mode, and a mode is covered when at least one high-quality
sample is nearest to it. Also printed: each mode's count of samples (a balanced mixture gives each
the same share). A scatter of real (grey) vs generated (orange) points is written to bench/out/.

    PYTHONPATH=. .venv/bin/python bench/toy_modes.py                      # ring and grid, seed 0, the recipe
    PYTHONPATH=. .venv/bin/python bench/toy_modes.py --dataset grid --seed 0 1 2
    PYTHONPATH=. .venv/bin/python bench/toy_modes.py --minutes 2          # a time budget instead of steps
    PYTHONPATH=. .venv/bin/python bench/toy_modes.py --set generators=1 --tag one-g

A plain script: it prints its figures and writes PNGs; it asserts nothing.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")  # as gandash/__init__.py does, before torch starts OpenMP

import torch

from gandash import data
from gandash.core import images
from gandash.core.config import parse_overrides
from gandash.engine.reporter import SilentReporter
from gandash.quality import (
    metrics,  # the VEEGAN protocol and precision/recall, shared with `gandash eval`
    samples,
)
from gandash.variants import loading, training
from gandash.variants.configure import make_config

OUT = Path(__file__).resolve().parent / "out"
SAMPLES = 2500
EXTENT = {"ring": 3.0, "grid": 5.5}  # half-width of the scatter, so stray points do not rescale it


def run_one(dataset: str, seed: int, minutes: float | None, overrides: dict, tag: str) -> dict:
    budget = dict(max_steps=None, max_minutes=minutes) if minutes else {}  # else the recipe's step budget
    config = make_config("toy", dataset, **dict(overrides, seed=seed, **budget))
    meta = data.info(dataset)
    with tempfile.TemporaryDirectory(prefix="toy_modes_") as tmp:
        run_dir = Path(tmp)
        config.save(run_dir / "config.json")
        started = time.perf_counter()
        status, message = training.train(config, run_dir, SilentReporter())
        wall = time.perf_counter() - started
        if status != "completed":
            return {
                "dataset": dataset,
                "seed": seed,
                "status": status,
                "message": message,
                "wall": wall,
                "modes": 0,
                "of": len(meta.modes),
                "hq_percent": 0.0,
                "steps": 0,
                "png": None,
            }
        generator, _, step = loading.load_generator(run_dir)
        points = samples.sample(generator, config, SAMPLES, seed=seed)["points"]
    score = metrics.mode_coverage(points, np.asarray(meta.modes), meta.mode_std)
    # precision/recall in the plane (k=3 balls): HQ alone cannot see generators that shrink to dots
    score.update(metrics.prdc(data.load(dataset, seed=seed + 1).points[:SAMPLES], torch.from_numpy(points)))
    real = data.load(dataset, seed=seed).points[:SAMPLES].numpy()
    OUT.mkdir(parents=True, exist_ok=True)
    png = OUT / f"{dataset}_{tag}_seed{seed}.png"
    images.save_png(png, images.scatter_png(points, real, extent=EXTENT.get(dataset)))
    return dict(score, dataset=dataset, seed=seed, status=status, wall=wall, steps=step, png=str(png))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dataset", nargs="+", default=["ring", "grid"], choices=sorted(EXTENT))
    parser.add_argument(
        "--minutes",
        type=float,
        default=0.0,
        help="training-time budget per run; 0: the recipe's own budget (its max_steps)",
    )
    parser.add_argument("--seed", type=int, nargs="+", default=[0])
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", help="override a setting")
    parser.add_argument("--tag", default="recipe", help="name part of the PNGs")
    parser.add_argument("--threads", type=int, default=1, help="torch CPU threads")
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    overrides, tag = parse_overrides(args.set), args.tag
    budget = f"{args.minutes:g} min" if args.minutes else "the recipe's steps"
    print(f"toy recipe with overrides {overrides}  budget: {budget}  threads: {args.threads}", flush=True)
    results = []
    for dataset in args.dataset:
        for seed in args.seed:
            r = run_one(dataset, seed, args.minutes, overrides, tag)
            results.append(r)
            print(
                f"{dataset:5s} seed {seed}: modes {r['modes']:2d}/{r['of']:<2d}  high quality {r['hq_percent']:5.1f}%"
                f"  precision {r.get('precision', 0):.2f} recall {r.get('recall', 0):.2f}"
                f" coverage {r.get('coverage', 0):.2f}  steps {r['steps']:6d}  wall {r['wall']:6.1f}s"
                f"  {r['status']}  {r['png']}" + (f"\n    per mode: {r['per_mode']}" if r.get("per_mode") else ""),
                flush=True,
            )
    for dataset in args.dataset:
        rows = [r for r in results if r["dataset"] == dataset]
        full = sum(r["modes"] == r["of"] for r in rows)
        print(
            f"{dataset}: all modes in {full}/{len(rows)} seeds; mean modes {np.mean([r['modes'] for r in rows]):.1f}"
            f", mean high quality {np.mean([r['hq_percent'] for r in rows]):.1f}%"
            f", mean recall {np.mean([r.get('recall', 0) for r in rows]):.2f}"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
