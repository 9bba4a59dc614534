"""Commands that use a trained generator: draw samples, walk or grid its latent space, measure it."""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from gandash.cli.output import print_notes
from gandash.core.errors import GandashError


def add_commands(commands) -> None:
    sample = commands.add_parser("sample", help="draw samples from a trained run into an .npz")
    sample.add_argument("run")
    sample.add_argument("--n", type=int, default=64)
    sample.add_argument("--out", required=True, help="FILE.npz")
    sample.add_argument("--ema", action="store_true", help="use the EMA generator when the run kept one")
    sample.add_argument("--class", dest="label", type=int)
    sample.add_argument("--seed", type=int, default=0)
    sample.set_defaults(func=cmd_sample)

    interpolate = commands.add_parser(
        "interpolate", help="walk the latent space between two seeds' images (or draw a grid of it around one)"
    )
    interpolate.add_argument("run", help="a run id, or demo:NAME for a bundled demo model")
    interpolate.add_argument("--from", dest="seed_from", type=int, required=True, metavar="SEED")
    interpolate.add_argument("--to", dest="seed_to", type=int, metavar="SEED", help="the walk's end (not with --grid)")
    interpolate.add_argument(
        "--grid",
        metavar="ROWSxCOLS",
        help="instead of a walk, the latent page's Grid: a plane "
        "around --from's z, e.g. 5x7, written to grid.png or z.npy",
    )
    interpolate.add_argument(
        "--axes",
        choices=("principal", "random"),
        default="principal",
        help="the grid's two directions: GANSpace's first two (default) or two random ones",
    )
    interpolate.add_argument("--span", type=float, default=2.0, help="the grid's reach, in standard deviations")
    interpolate.add_argument("--method", choices=("slerp", "lerp"), default="slerp")
    interpolate.add_argument("--steps", type=int, default=16)
    interpolate.add_argument("--truncation", type=float, default=1.0, metavar="PSI")
    interpolate.add_argument("--class", dest="label", type=int, help="the class, for conditional models")
    interpolate.add_argument("--checkpoint", type=int, metavar="STEP", help="default: the newest")
    interpolate.add_argument("--out", required=True, help="strip.png, anim.gif or z.npy")
    interpolate.set_defaults(func=cmd_interpolate)

    evaluate = commands.add_parser("eval", help="quality metrics of a run's latest generator (FID, recall, modes...)")
    evaluate.add_argument("run")
    evaluate.add_argument("--n", type=int, default=10_000, help="samples to draw (default 10000)")
    evaluate.add_argument("--seed", type=int, default=0)
    evaluate.add_argument("--no-ema", action="store_true", help="the raw generator even when the run kept an EMA")
    evaluate.add_argument("--json", action="store_true", help="print one JSON object")
    evaluate.set_defaults(func=cmd_eval)


def _run_dir(run_id: str) -> Path:
    from gandash.runs import jobs
    from gandash.runs.store import Store

    return Path(jobs.get(run_id, Store())["run_dir"])


def cmd_sample(args: argparse.Namespace) -> int:
    from gandash.quality import samples
    from gandash.variants import loading  # imports torch: here, so that `runs` and `show` start fast

    notes: list[str] = []
    generator, config, step = loading.load_generator(_run_dir(args.run), ema=args.ema, notes=notes)
    print_notes(notes)
    arrays = samples.sample(generator, config, args.n, seed=args.seed, label=args.label)
    samples.write_npz(Path(args.out), arrays)
    print(f"wrote {args.n} samples of step {step} to {args.out}")
    return 0


def cmd_interpolate(args: argparse.Namespace) -> int:
    from gandash import latent
    from gandash.core.paths import atomic_write_bytes

    out = Path(args.out)
    grid = latent.grid_spec(args.grid) if args.grid else None
    if grid and args.seed_to is not None:
        raise GandashError("--grid draws a plane around --from's image and --to ends a walk: give one of them.")
    if not grid and args.seed_to is None:
        raise GandashError("give --to SEED (where the walk ends), or --grid ROWSxCOLS for a grid around --from.")
    exports = latent.GRID_EXPORTS if grid else latent.EXPORTS
    if out.suffix not in exports:
        what = "a grid is one picture: " if grid else ""
        raise GandashError(f"{what}--out must end in one of {', '.join(exports)} (got '{out.name}').")
    if not out.parent.is_dir():
        raise GandashError(f"folder {out.parent} does not exist.")
    model = _latent_model(args)
    if grid:
        z, labels, frames = latent.grid_to_frames(
            model, args.seed_from, *grid, args.axes, args.span, args.truncation, args.label
        )
        atomic_write_bytes(out, latent.export_grid_bytes(out.suffix, model, z, labels, frames, grid[1]))
        print(
            f"wrote a {grid[0]}x{grid[1]} grid ({args.axes} directions, reach {args.span:g}) around seed "
            f"{args.seed_from} of {model.source} (step {model.step}) to {out}"
        )
        return 0
    z, labels, frames = latent.seeds_to_frames(
        model, args.seed_from, args.seed_to, args.steps, args.method, args.truncation, args.label
    )
    atomic_write_bytes(out, latent.export_bytes(out.suffix, model, z, labels, frames))
    print(f"wrote {len(z)} {args.method} frames of {model.source} (step {model.step}) to {out}")
    return 0


def _latent_model(args: argparse.Namespace):
    """The model `interpolate` walks: a bundled demo, or a run at --checkpoint (default: its newest)."""
    from gandash import latent
    from gandash.engine import checkpoints

    if args.run.startswith("demo:"):
        return latent.load(demo=args.run.removeprefix("demo:"))
    run_dir = _run_dir(args.run)
    checkpoint = None
    if args.checkpoint is not None:
        checkpoint = checkpoints.path_for(run_dir, args.checkpoint)
        if not checkpoint.is_file():
            kept = ", ".join(str(checkpoints.step_of(p)) for p in checkpoints.listing(run_dir)) or "none"
            raise GandashError(f"run {args.run} has no checkpoint of step {args.checkpoint} (kept: {kept}).")
    model = latent.load(run_dir, checkpoint)
    print_notes(model.notes)
    return model


def cmd_eval(args: argparse.Namespace) -> int:
    import json

    from gandash.quality import metrics
    from gandash.variants import loading

    notes: list[str] = []
    generator, config, step = loading.load_generator(_run_dir(args.run), ema=not args.no_ema, notes=notes)
    print_notes(notes)
    started = time.perf_counter()
    values = metrics.evaluate(generator, config, n=args.n, seed=args.seed, inception=True)
    if args.json:
        print(json.dumps({"run": args.run, "step": step, "n": args.n, "metrics": values}))
        return 0
    print(f"{args.run} at step {step}: {args.n} samples on {config.dataset} ({time.perf_counter() - started:.1f}s)")
    for key, value in values.items():
        print(f"  {key:<16} {value:>10.4g}   {metrics.KEYS.get(key, '')}")
    return 0
