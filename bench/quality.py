"""Quality of gandash's default recipes on the CPU within a fixed training-time budget.

Each recipe trains as a user's job does (`variants.training.train`: its loop, thread tuning and learning-rate
schedule over the budget) for --minutes of training time, stopping every --every minutes to score
the checkpoint written at stop and resuming from it (resume is exact), so the output is a
time-to-quality curve of one run, not only an end point. Scoring is not training time. Scores are
gandash's metrics (gandash/quality/metrics.py): FID, precision/recall and the class histogram in the bundled
Fashion-MNIST classifier's feature space, requested-label accuracy
for conditional runs, and the VEEGAN mode counts for the 2D mixtures. A grid (or scatter) of the
final samples is written to bench/out/quality-RECIPE.png to be looked at.

Recipes (the goals of issue #8 in brackets):
  dcgan64    pytorch/examples dcgan/main.py defaults on Fashion-MNIST at 64x64, batch 64, Adam 2e-4/0.5
             (the reference the default must beat: FID <= 1/4 of its FID in the same time)
  default    `gandash train --variant dcgan --dataset fashion-mnist` as a user gets it
             [all 10 classes each 5-15% of samples, precision >= 0.6, recall >= 0.6]
  cgan       `--variant cgan --dataset fashion-mnist` [requested-label accuracy >= 0.85]
  ring, grid `--variant toy --dataset ring|grid`, 2 minutes [8/8 and 25/25 modes, >= 90% high quality]

    PYTHONPATH=. .venv/bin/python bench/quality.py                       # everything (~50 min)
    PYTHONPATH=. .venv/bin/python bench/quality.py --recipes ring grid
    PYTHONPATH=. .venv/bin/python bench/quality.py --recipes default --minutes 3 --set lr_d=1e-4
    PYTHONPATH=. .venv/bin/python bench/quality.py --recipes default --set cpu_threads=1   # two side by side

A plain script: it prints its figures; it asserts nothing.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")  # as gandash/__init__.py does, before torch starts OpenMP

import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
OUT = ROOT / "bench" / "out"

from gandash.engine.reporter import SilentReporter  # noqa: E402 (after the path above)
from gandash.variants import loading  # noqa: E402
from gandash.variants.base import PYTORCH_EXAMPLES_DCGAN64  # noqa: E402

RECIPES = {  # name: (variant, dataset, overrides, minutes)
    "dcgan64": ("dcgan", "fashion-mnist", PYTORCH_EXAMPLES_DCGAN64, 10.0),
    "default": ("dcgan", "fashion-mnist", {}, 10.0),
    "cgan": ("cgan", "fashion-mnist", {}, 10.0),
    "ring": ("toy", "ring", {}, 2.0),
    "grid": ("toy", "grid", {}, 2.0),
}
SHOWN = (
    "fid",
    "precision",
    "recall",
    "coverage",
    "classes_covered",
    "class_min_share",
    "class_max_share",
    "label_accuracy",
    "modes",
    "hq_percent",
)


def score(run_dir: Path, config, n: int) -> tuple[dict[str, float], int, float]:
    """(metrics, step, training seconds) of the run's newest checkpoint (EMA weights when kept)."""
    from gandash.engine import checkpoints
    from gandash.quality import metrics

    state, _ = checkpoints.latest(run_dir)  # read once: it holds both the weights and the time trained
    generator = loading.generator_from_state(state, config)
    with torch.no_grad():
        return metrics.evaluate(generator, config, n=n, seed=0), int(state["step"]), float(state["train_seconds"])


def run_recipe(name: str, minutes: float, every: float, n: int, extra: dict, seed: int, tag: str = "") -> list[dict]:
    """Train as a user's job does (variants.training.train, its loop, thread tuning and lr schedule over the
    budget), stopping at each mark to score the checkpoint written at stop; the next segment resumes
    from it exactly, so the curve's points lie on one run."""
    from gandash.core import device
    from gandash.variants import training
    from gandash.variants.configure import make_config

    variant, dataset, overrides, default_minutes = RECIPES[name]
    minutes = minutes or default_minutes
    config = make_config(
        variant,
        dataset,
        **{
            **overrides,
            **extra,
            "seed": seed,
            "device": "cpu",
            "max_steps": None,
            "max_minutes": minutes,
            "eval_samples": 0,
        },
    )
    threads_before = device.use_fair_share_of_cores(small_net=config.image_size == 0)
    run_dir = Path(tempfile.mkdtemp(prefix=f"quality-{name}-"))
    config.save(run_dir / "config.json")
    marks = [round(every * i, 6) for i in range(1, int(minutes / every + 1e-9) + 1)]
    if not marks or marks[-1] < minutes:
        marks.append(minutes)
    print(
        f"\n== {name}: {variant} on {dataset}, {minutes:g} min, up to {torch.get_num_threads()} thread(s); "
        f"batch {config.batch_size}, lr {config.lr_g:g}/{config.lr_d:g}, loss {config.loss}, "
        f"ema {config.ema_decay}, width {config.width}, size {config.image_size}, pack {config.pack}",
        flush=True,
    )
    rows, trained = [], 0.0
    for mark in marks:
        # training time grows only while the loop steps; the segment's wall clock also holds its start
        # (building nets, loading data, resuming), so stop on the wall clock less what was trained before
        deadline = time.perf_counter() + mark * 60 - trained
        status, message = training.train(
            config, run_dir, SilentReporter(), should_stop=lambda deadline=deadline: time.perf_counter() >= deadline
        )
        if status == "diverged":
            print(f"  {message}")
            break
        values, step, trained = score(run_dir, config, n if mark == marks[-1] else max(1000, n // 2))
        rows.append({"minutes": round(trained / 60, 2), "step": step, **values})
        print(
            "  "
            + "  ".join(
                [f"{rows[-1]['minutes']:5.2f} min", f"step {step:6d}"]
                + [f"{key} {values[key]:.3f}" for key in SHOWN if key in values]
            ),
            flush=True,
        )
        if status == "completed":
            break
    OUT.mkdir(parents=True, exist_ok=True)
    newest = max((run_dir / "samples").glob("step_*.png"))  # the fixed-noise grid written at stop
    (OUT / f"quality-{name}{tag}.png").write_bytes(newest.read_bytes())
    torch.set_num_threads(threads_before)
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--recipes", nargs="+", default=list(RECIPES), choices=list(RECIPES))
    parser.add_argument("--minutes", type=float, default=None, help="training minutes (default: per recipe)")
    parser.add_argument("--every", type=float, default=None, help="minutes between scores (default: budget/10)")
    parser.add_argument("--n", type=int, default=5000, help="samples for the final score (half for the curve)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", help="override a setting")
    parser.add_argument("--tag", default="", help="suffix of the output files, for runs side by side")
    args = parser.parse_args()
    os.environ.setdefault("GANDASH_HOME", tempfile.mkdtemp(prefix="gandash-quality-"))
    from gandash.core.config import parse_overrides

    extra = parse_overrides(args.set)
    results = {}
    for name in args.recipes:
        minutes = args.minutes or RECIPES[name][3]
        results[name] = run_recipe(name, minutes, args.every or minutes / 10, args.n, extra, args.seed, args.tag)
    print("\nfinal (time-to-quality curves above)")
    for name, rows in results.items():
        last = rows[-1]
        print(
            f"  {name:8s} {last['minutes']:5.2f} min step {last['step']:6d}  "
            + "  ".join(f"{key} {last[key]:.3f}" for key in SHOWN if key in last)
        )
    if "dcgan64" in results and "default" in results:
        print(
            f"  default FID / dcgan64 FID = {results['default'][-1]['fid'] / results['dcgan64'][-1]['fid']:.3f}"
            "  (goal <= 0.25)"
        )
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / f"quality{args.tag}.json").write_text(json.dumps(results, indent=1))


if __name__ == "__main__":
    main()
