"""The command line: `python -m gandash COMMAND ...` does headless what the app does.

Every error a user can cause prints one line and exits with status 2.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

from gandash.core.errors import GandashError
from gandash.variants import loading


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m gandash", description="Train and use GANs from the terminal.")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    train = commands.add_parser("train", help="train a GAN (foreground with a progress bar, or --background)")
    train.add_argument("--variant", help="see `variants` (default: dcgan for images, toy for 2D points)")
    train.add_argument("--dataset", default="fashion-mnist", help="see `datasets`")
    train.add_argument("--max-minutes", type=float)
    train.add_argument("--max-steps", type=int)
    train.add_argument("--epochs", type=float)
    train.add_argument("--name", default="")
    train.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                       help="any TrainConfig setting, e.g. --set lr_d=1e-4 --set d_steps=2")
    train.add_argument("--background", action="store_true", help="start a background job, print its id, return")

    commands.add_parser("runs", help="list runs")
    for name, text in (("show", "a run's status, config and latest metrics"), ("logs", "a run's events and log")):
        sub = commands.add_parser(name, help=text)
        sub.add_argument("run")
    logs = commands.choices["logs"]
    logs.add_argument("--tail", type=int, default=40)
    stop = commands.add_parser("stop", help="stop a running or queued job (it checkpoints first)")
    stop.add_argument("run")
    stop.add_argument("--no-wait", action="store_true")
    resume = commands.add_parser("resume", help="continue a stopped or crashed run from its last checkpoint")
    resume.add_argument("run")
    resume.add_argument("--max-steps", type=int)
    resume.add_argument("--max-minutes", type=float)
    resume.add_argument("--epochs", type=float)
    resume.add_argument("--start-over", action="store_true",
                        help="train the run's settings again from step 0 as a new run (this one stays as it is)")
    control = commands.add_parser("control", help="step-by-step: pause a running job, step D or G, continue")
    control.add_argument("run")
    control.add_argument("action", choices=("pause", "continue", "step", "step-d", "step-g"))
    delete = commands.add_parser("delete", help="delete a run that is not running, with its files")
    delete.add_argument("run")

    sample = commands.add_parser("sample", help="draw samples from a trained run into an .npz")
    sample.add_argument("run")
    sample.add_argument("--n", type=int, default=64)
    sample.add_argument("--out", required=True, help="FILE.npz")
    sample.add_argument("--ema", action="store_true", help="use the EMA generator when the run kept one")
    sample.add_argument("--class", dest="label", type=int)
    sample.add_argument("--seed", type=int, default=0)

    interpolate = commands.add_parser("interpolate", help="walk the latent space between two seeds' images "
                                      "(or draw a grid of it around one)")
    interpolate.add_argument("run", help="a run id, or demo:NAME for a bundled demo model")
    interpolate.add_argument("--from", dest="seed_from", type=int, required=True, metavar="SEED")
    interpolate.add_argument("--to", dest="seed_to", type=int, metavar="SEED", help="the walk's end (not with --grid)")
    interpolate.add_argument("--grid", metavar="ROWSxCOLS", help="instead of a walk, the latent page's Grid: a plane "
                             "around --from's z, e.g. 5x7, written to grid.png or z.npy")
    interpolate.add_argument("--axes", choices=("principal", "random"), default="principal",
                             help="the grid's two directions: GANSpace's first two (default) or two random ones")
    interpolate.add_argument("--span", type=float, default=2.0, help="the grid's reach, in standard deviations")
    interpolate.add_argument("--method", choices=("slerp", "lerp"), default="slerp")
    interpolate.add_argument("--steps", type=int, default=16)
    interpolate.add_argument("--truncation", type=float, default=1.0, metavar="PSI")
    interpolate.add_argument("--class", dest="label", type=int, help="the class, for conditional models")
    interpolate.add_argument("--checkpoint", type=int, metavar="STEP", help="default: the newest")
    interpolate.add_argument("--out", required=True, help="strip.png, anim.gif or z.npy")

    pretrain = commands.add_parser("pretrain", help="rebuild the bundled demo models from scratch")
    pretrain.add_argument("--only", action="append", metavar="NAME", help="one preset (repeatable)")
    pretrain.add_argument("--steps", type=int, default=None, help="steps per model instead of each preset's own")
    pretrain.add_argument("--minutes-per-model", type=float, default=None,
                          help="a time budget per model instead of steps (not reproducible across machines)")
    pretrain.add_argument("--seed", type=int, default=0)
    pretrain.add_argument("--out-dir", type=Path, default=None, help="write the demos here, not into gandash/")

    evaluate = commands.add_parser("eval", help="quality metrics of a run's latest generator (FID, recall, modes...)")
    evaluate.add_argument("run")
    evaluate.add_argument("--n", type=int, default=10_000, help="samples to draw (default 10000)")
    evaluate.add_argument("--seed", type=int, default=0)
    evaluate.add_argument("--no-ema", action="store_true", help="the raw generator even when the run kept an EMA")
    evaluate.add_argument("--json", action="store_true", help="print one JSON object")
    classifier = commands.add_parser("train-classifier", help="train the feature classifier that metrics use")
    classifier.add_argument("--dataset", default="fashion-mnist", choices=("fashion-mnist", "mnist"))
    classifier.add_argument("--epochs", type=int, default=3)
    classifier.add_argument("--seed", type=int, default=0)
    classifier.add_argument("--data-dir")
    classifier.add_argument("--out", help="where to write the weights (default: the bundled gandash/weights/)")

    estimator = commands.add_parser("train-kernel-estimator",
                                    help="train the blind blur-kernel estimator that the deblur U-Net uses")
    estimator.add_argument("--steps", type=int, default=6000)
    estimator.add_argument("--seed", type=int, default=0)
    estimator.add_argument("--out", help="where to write the weights (default: the bundled gandash/weights/)")

    deblur = commands.add_parser("deblur", help="restore a blurry photo (bundled model or a deblur run)")
    deblur.add_argument("input", metavar="IN", help="a JPEG, PNG, WebP, TIFF, BMP or GIF photo")
    deblur.add_argument("--out", required=True, metavar="OUT", help="where to write the result (same size)")
    deblur.add_argument("--model", default="bundled", metavar="RUN",
                        help="a deblur or deblur-seed run's id (default: bundled)")
    deblur.add_argument("--tile", type=int, default=1024, metavar="N", help="tile size in pixels (default 1024)")
    upscale = commands.add_parser("upscale", help="enlarge a photo x4 (bundled SRGAN demo or an srgan run)")
    upscale.add_argument("input", metavar="IN", help="a JPEG, PNG, WebP, TIFF, BMP or GIF photo (up to 1 MP)")
    upscale.add_argument("--out", required=True, metavar="OUT", help="where to write the result (4x the size)")
    upscale.add_argument("--model", default="demo:srgan-photos", metavar="RUN|demo:NAME",
                         help="an srgan run's id or a bundled demo (default: demo:srgan-photos)")
    upscale.add_argument("--tile", type=int, default=192, metavar="N", help="tile size in input pixels (default 192)")
    commands.add_parser("variants", help="the GAN variants gandash can train")
    datasets = commands.add_parser("datasets", help="the datasets and whether they are on this machine")
    datasets.add_argument("--data-dir")
    app = commands.add_parser("app", help="start the dashboard (streamlit run streamlit_app.py), warmed up")
    app.add_argument("streamlit_args", nargs=argparse.REMAINDER, help="passed on to streamlit run")
    worker = commands.add_parser("worker", help=argparse.SUPPRESS)
    worker.add_argument("run_dir")
    return parser


def _age(seconds: float) -> str:
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size:
            return f"{seconds / size:.0f}{unit}"
    return f"{seconds:.0f}s"


def cmd_train(args) -> int:
    from gandash.core import config as config_module
    from gandash.runs import jobs, worker
    from gandash.runs.store import Store
    from gandash.variants import configure

    overrides = config_module.parse_overrides(args.set)
    for key in ("max_steps", "max_minutes", "epochs"):
        if getattr(args, key) is not None:
            overrides[key] = getattr(args, key)
    if any(overrides.get(k) is not None for k in ("max_minutes", "epochs")) and "max_steps" not in overrides:
        overrides["max_steps"] = None  # a time or epoch budget replaces the default step budget
    if args.name:
        overrides["name"] = args.name
    config = configure.make_config(args.variant, args.dataset, **overrides)
    store = Store()
    if args.background:
        run_id = jobs.create(config, store)
        run = store.run(run_id)
        print(run_id)
        print(f"{run['status']}; follow it with `python -m gandash show {run_id}`", file=sys.stderr)
        return 0
    run_id = jobs.create(config, store, foreground=True)
    print(f"run {run_id} (Ctrl-C stops it after a checkpoint)", file=sys.stderr)
    from tqdm import tqdm

    bar = tqdm(total=config.total_steps, unit="step", dynamic_ncols=True)

    def on_step(step: int, values: dict) -> None:
        bar.update(step - bar.n)
        if "loss_d" in values and "loss_g" in values:  # evaluation rows carry quality metrics instead
            bar.set_postfix(loss_d=f"{values['loss_d']:.3f}", loss_g=f"{values['loss_g']:.3f}", refresh=False)

    status = worker.run(Path(store.run(run_id)["run_dir"]), store, on_step=on_step)
    bar.close()
    run = store.run(run_id)
    print(f"{run_id}: {status} at step {run['step']} ({run['message']})")
    return 0 if status in ("completed", "stopped") else 1


def cmd_runs(args) -> int:
    from gandash.runs import jobs
    from gandash.runs.store import Store

    store = Store()
    jobs.reconcile(store)
    rows = store.runs()
    if not rows:
        print("no runs yet: try `python -m gandash train --variant toy --dataset ring --max-minutes 1`")
        return 0
    print(f"{'id':<44} {'variant':<9} {'dataset':<16} {'status':<10} {'step':>13} {'age':>5}")
    for run in rows:
        total = f"/{run['total_steps']}" if run["total_steps"] else ""
        print(f"{run['id']:<44} {run['variant']:<9} {run['dataset'][:16]:<16} {run['status']:<10} "
              f"{str(run['step']) + total:>13} {_age(time.time() - run['created']):>5}")
    return 0


def cmd_show(args) -> int:
    from gandash.runs import jobs
    from gandash.runs.store import Store

    store = Store()
    jobs.reconcile(store)
    run = jobs.get(args.run, store)
    print(f"run      {run['id']}  {run['name']}")
    print(f"status   {run['status']}  {run['message']}")
    if jobs.stalled_for(run):
        print(f"         no heartbeat for {jobs.stalled_for(run):.0f} s: {jobs.STALLED}")
    print(f"step     {run['step']}" + (f" of {run['total_steps']}" if run["total_steps"] else ""))
    print(f"device   {run['device']}   folder {run['run_dir']}")
    latest: dict[str, float] = {}
    for _, name, value, _ in store.metrics(args.run, after_step=max(-1, run["step"] - 1000)):
        latest[name] = value
    if latest:
        print("latest   " + "  ".join(f"{k}={v:.4g}" for k, v in latest.items()))
    print("config   " + " ".join(f"{k}={v}" for k, v in run["config"].items() if v not in (None, "")))
    from gandash.core.config import TrainConfig
    from gandash.quality import diagnose

    history = diagnose.history_from_rows(store.metrics(args.run))
    for finding in diagnose.diagnose(history, TrainConfig.from_dict(run["config"])):
        print(f"{finding.severity:<8} {finding.title}\n         {finding.evidence}\n         try: {finding.advice}")
    return 0


def cmd_logs(args) -> int:
    from gandash.runs import jobs
    from gandash.runs.store import Store

    store = Store()
    run = jobs.get(args.run, store)
    for event in store.events(args.run, limit=args.tail):
        stamp = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(event["time"]))
        print(f"{stamp} {event['level']:<7} {event['text']}")
    log = Path(run["run_dir"]) / "worker.log"
    if log.is_file():
        lines = log.read_text(errors="replace").splitlines()[-args.tail:]
        if lines:
            print(f"--- {log} (last {len(lines)} lines)")
            print("\n".join(lines))
    return 0


def cmd_stop(args) -> int:
    from gandash.runs import jobs

    status = jobs.stop(args.run, wait=not args.no_wait)
    print(f"{args.run}: {status}")
    return 0


def cmd_resume(args) -> int:
    from gandash.runs import jobs
    from gandash.runs.store import Store

    store = Store()
    jobs.reconcile(store)
    if args.start_over:
        new_id = jobs.start_over(args.run, store)
        print(new_id)
        print(f"started over as run {new_id} ({store.run(new_id)['status']}); {args.run} is unchanged", file=sys.stderr)
        return 0
    jobs.resume(args.run, store, max_steps=args.max_steps, max_minutes=args.max_minutes, epochs=args.epochs)
    print(f"{args.run}: {store.run(args.run)['status']}")
    return 0


def cmd_control(args) -> int:
    from gandash.runs import jobs

    jobs.send(args.run, args.action)
    print(f"{args.run}: sent {args.action}")
    return 0


def cmd_delete(args) -> int:
    from gandash.runs import jobs

    jobs.delete(args.run)
    print(f"deleted {args.run}")
    return 0


def cmd_sample(args) -> int:
    from gandash.quality import samples
    from gandash.runs import jobs
    from gandash.runs.store import Store

    run = jobs.get(args.run, Store())
    notes: list[str] = []
    generator, config, step = loading.load_generator(Path(run["run_dir"]), ema=args.ema, notes=notes)
    _print_notes(notes)
    arrays = samples.sample(generator, config, args.n, seed=args.seed, label=args.label)
    samples.write_npz(Path(args.out), arrays)
    print(f"wrote {args.n} samples of step {step} to {args.out}")
    return 0


def cmd_interpolate(args) -> int:
    from gandash import latent
    from gandash.core.paths import atomic_write_bytes
    from gandash.engine import checkpoints
    from gandash.runs import jobs
    from gandash.runs.store import Store

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
    if args.run.startswith("demo:"):
        model = latent.load(demo=args.run.removeprefix("demo:"))
    else:
        run_dir = Path(jobs.get(args.run, Store())["run_dir"])
        checkpoint = None
        if args.checkpoint is not None:
            checkpoint = checkpoints.path_for(run_dir, args.checkpoint)
            if not checkpoint.is_file():
                kept = ", ".join(str(checkpoints.step_of(p)) for p in checkpoints.listing(run_dir)) or "none"
                raise GandashError(f"run {args.run} has no checkpoint of step {args.checkpoint} (kept: {kept}).")
        model = latent.load(run_dir, checkpoint)
        _print_notes(model.notes)
    if grid:
        z, labels, frames = latent.grid_to_frames(model, args.seed_from, *grid, args.axes, args.span,
                                                  args.truncation, args.label)
        atomic_write_bytes(out, latent.export_grid_bytes(out.suffix, model, z, labels, frames, grid[1]))
        print(f"wrote a {grid[0]}x{grid[1]} grid ({args.axes} directions, reach {args.span:g}) around seed "
              f"{args.seed_from} of {model.source} (step {model.step}) to {out}")
        return 0
    z, labels, frames = latent.seeds_to_frames(model, args.seed_from, args.seed_to, args.steps, args.method,
                                               args.truncation, args.label)
    atomic_write_bytes(out, latent.export_bytes(out.suffix, model, z, labels, frames))
    print(f"wrote {len(z)} {args.method} frames of {model.source} (step {model.step}) to {out}")
    return 0


def _print_notes(notes) -> None:
    for note in notes:
        print(f"note: {note}", file=sys.stderr)


def cmd_pretrain(args) -> int:
    from gandash.variants import demos

    if args.minutes_per_model is not None and not 0 < args.minutes_per_model <= 600:
        raise GandashError(f"--minutes-per-model must be above 0 and at most 600 (got {args.minutes_per_model}).")
    if args.steps is not None and not 1 <= args.steps <= 10_000_000:
        raise GandashError(f"--steps must be from 1 to 10000000 (got {args.steps}).")
    if args.out_dir is not None and not args.out_dir.is_dir():
        raise GandashError(f"--out-dir {args.out_dir} is not a folder.")
    demos.pretrain(args.only, args.minutes_per_model, args.seed, steps=args.steps, folder=args.out_dir)
    if args.out_dir is None:  # the bundled weights changed: so do the Gallery's shipped pictures
        from gandash import gallery

        gallery.write_shipped_cards()
    return 0


def cmd_eval(args) -> int:
    import json

    from gandash.quality import metrics
    from gandash.runs import jobs
    from gandash.runs.store import Store

    run = jobs.get(args.run, Store())
    notes: list[str] = []
    generator, config, step = loading.load_generator(Path(run["run_dir"]), ema=not args.no_ema, notes=notes)
    _print_notes(notes)
    started = time.perf_counter()
    values = metrics.evaluate(generator, config, n=args.n, seed=args.seed, inception=True)
    if args.json:
        print(json.dumps({"run": args.run, "step": step, "n": args.n, "metrics": values}))
        return 0
    print(f"{args.run} at step {step}: {args.n} samples on {config.dataset} ({time.perf_counter() - started:.1f}s)")
    for key, value in values.items():
        print(f"  {key:<16} {value:>10.4g}   {metrics.KEYS.get(key, '')}")
    return 0


def cmd_train_classifier(args) -> int:
    from gandash.quality import features

    result = features.train(args.dataset, epochs=args.epochs, seed=args.seed, data_dir=args.data_dir,
                            out=Path(args.out) if args.out else None, log=lambda text: print(text, file=sys.stderr))
    print(f"{args.dataset}: test accuracy {result['test_accuracy']:.2%} after {result['seconds']:.0f}s; "
          f"wrote {result['path']} ({result['bytes'] / 1e6:.2f} MB)")
    return 0


def cmd_train_kernel_estimator(args) -> int:
    from gandash.restore import kernel_estimate

    if args.steps < 1:
        raise GandashError(f"--steps must be at least 1 (got {args.steps}).")
    out = Path(args.out) if args.out else kernel_estimate.BUNDLED
    accuracy = kernel_estimate.train(args.steps, seed=args.seed, out=out, report=lambda step, loss, seconds: print(
        f"step {step + 1}/{args.steps}  loss {loss:.3f}  {seconds:.0f}s", file=sys.stderr, flush=True))
    print(f"blur-kernel estimator: {accuracy:.0%} of the last batches named the nearest kernel; wrote {out} "
          f"({out.stat().st_size / 1e6:.2f} MB)")
    return 0


def _photo_paths(args) -> tuple[Path, Path, str]:
    """(input, output, output format) of `deblur` and `upscale`, checked before any work."""
    source, target = Path(args.input), Path(args.out)
    if not source.is_file():
        raise GandashError(f"{source} does not exist or is not a file.")
    fmt = {".jpg": "JPEG", ".jpeg": "JPEG", ".png": "PNG", ".webp": "WEBP", ".tif": "TIFF", ".tiff": "TIFF",
           ".bmp": "BMP"}.get(target.suffix.lower())
    if fmt is None:
        raise GandashError(f"--out {target.name}: end it in .png, .jpg, .webp, .tif or .bmp.")
    if not target.parent.is_dir():
        raise GandashError(f"folder {target.parent} does not exist.")
    return source, target, fmt


def _write_photo(target: Path, result, fmt: str, note: str) -> None:
    from gandash.core.paths import atomic_write_bytes
    from gandash.restore import photo

    atomic_write_bytes(target, photo.encode(result, fmt))
    for line in filter(None, (note, photo.depth_note(result, fmt))):
        print(f"\rnote: {line}", file=sys.stderr)


def _percent(done: float) -> None:
    print(f"\r{done:4.0%}", end="", file=sys.stderr, flush=True)


def cmd_deblur(args) -> int:
    from gandash.restore import deblur, kernel_estimate

    source, target, fmt = _photo_paths(args)
    photo = deblur.read_photo(source)
    generator, label = deblur.load_model(args.model)
    started = time.perf_counter()
    kernel = None
    if deblur.needs_kernel(generator):
        estimate = kernel_estimate.estimate(photo.pixels)
        kernel = estimate.kernel
        print(f"blur read from the photo: {estimate.label} ({estimate.probability:.0%} sure)"
              + ("; it is written out as it was" if estimate.entry[0] == "none" else ""), file=sys.stderr)
    restored = deblur.deblur_photo(photo, generator, args.tile, _percent, kernel)
    _write_photo(target, restored, fmt, photo.note)
    print(f"\rwrote {target} ({photo.size[0]}x{photo.size[1]}, {label}, {time.perf_counter() - started:.1f} s)")
    return 0


def cmd_upscale(args) -> int:
    from gandash.restore import upscale

    source, target, fmt = _photo_paths(args)
    photo = upscale.read_photo(source)
    generator, label = upscale.load_model(args.model)
    started = time.perf_counter()
    enlarged = upscale.upscale_photo(photo, generator, args.tile, _percent)
    _write_photo(target, enlarged, fmt, photo.note)
    print(f"\rwrote {target} ({photo.size[0]}x{photo.size[1]} -> {enlarged.size[0]}x{enlarged.size[1]}, {label}, "
          f"{time.perf_counter() - started:.1f} s)")
    return 0


def cmd_variants(args) -> int:
    from gandash.variants import REGISTRY

    for variant in REGISTRY.values():
        print(f"{variant.name:<9} {variant.family:<13} {variant.description}")
    return 0


def cmd_datasets(args) -> int:
    from gandash import data

    for row in data.describe_all(args.data_dir):
        mark = "yes" if row["present"] else "no "
        print(f"{row['name']:<14} {row['kind']:<6} {mark} {row['description']}")
        if row["how_to_get"]:
            print(f"{'':<25}{row['how_to_get']}")
    return 0


def cmd_worker(args) -> int:
    from gandash.runs import lease

    # the lease first, before torch is imported: a second worker on the run leaves within the second
    held = lease.acquire(Path(args.run_dir).resolve())
    if held is None:
        print(f"another worker holds the lease of {args.run_dir}; exiting without touching the run", file=sys.stderr)
        return 3
    from gandash.runs import worker

    status = worker.run(Path(args.run_dir), held=held)
    return 0 if status in ("completed", "stopped") else 1


def cmd_app(streamlit_args: list[str]) -> int:
    """`streamlit run streamlit_app.py`, with torch and the pages' modules imported first: Streamlit
    imports nothing before the first visitor, who then waited ~3 s for torch on a 2-core CPU."""
    from streamlit.web import cli

    import gandash.core.device  # noqa: F401 - imports torch
    import gandash.ui.common  # noqa: F401 - imports streamlit's and the pages' shared helpers

    root = Path(__file__).resolve().parents[1]
    os.chdir(root)  # Streamlit reads .streamlit/config.toml (localhost only, ...) from the working folder
    return cli.main(["run", "streamlit_app.py", *streamlit_args], prog_name="streamlit",
                    standalone_mode=False) or 0


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["app"]:  # everything after it is streamlit's (argparse would claim its --options)
        return cmd_app(argv[1:])
    args = _parser().parse_args(argv)
    try:
        return globals()[f"cmd_{args.command.replace('-', '_')}"](args)
    except GandashError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
