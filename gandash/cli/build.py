"""Commands that rebuild the weights gandash ships in gandash/weights/: the demo models, the feature
classifier the metrics use, and the blur-kernel estimator the deblur U-Net uses."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from gandash.cli.output import Bar
from gandash.core.errors import GandashError


def add_commands(commands) -> None:
    pretrain = commands.add_parser("pretrain", help="rebuild the bundled demo models from scratch")
    pretrain.add_argument("--only", action="append", metavar="NAME", help="one preset (repeatable)")
    pretrain.add_argument("--steps", type=int, default=None, help="steps per model instead of each preset's own")
    pretrain.add_argument(
        "--minutes-per-model",
        type=float,
        default=None,
        help="a time budget per model instead of steps (not reproducible across machines)",
    )
    pretrain.add_argument("--seed", type=int, default=0)
    pretrain.add_argument("--out-dir", type=Path, default=None, help="write the demos here, not into gandash/")
    pretrain.set_defaults(func=cmd_pretrain)

    classifier = commands.add_parser("train-classifier", help="train the feature classifier that metrics use")
    classifier.add_argument("--dataset", default="fashion-mnist", choices=("fashion-mnist", "mnist"))
    classifier.add_argument("--epochs", type=int, default=3)
    classifier.add_argument("--seed", type=int, default=0)
    classifier.add_argument("--data-dir")
    classifier.add_argument("--out", help="where to write the weights (default: the bundled gandash/weights/)")
    classifier.set_defaults(func=cmd_train_classifier)

    estimator = commands.add_parser(
        "train-kernel-estimator", help="train the blind blur-kernel estimator that the deblur U-Net uses"
    )
    estimator.add_argument("--steps", type=int, default=6000)
    estimator.add_argument("--seed", type=int, default=0)
    estimator.add_argument("--out", help="where to write the weights (default: the bundled gandash/weights/)")
    estimator.add_argument(
        "--clean",
        action="store_true",
        help="train on clean blurs only (the default, as the bundled estimator: photos as cameras save them, "
        "with shakes, sensor noise and JPEG)",
    )
    estimator.set_defaults(func=cmd_train_kernel_estimator)


def cmd_pretrain(args: argparse.Namespace) -> int:
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


def cmd_train_classifier(args: argparse.Namespace) -> int:
    from gandash.quality import features

    result = features.train(
        args.dataset,
        epochs=args.epochs,
        seed=args.seed,
        data_dir=args.data_dir,
        out=Path(args.out) if args.out else None,
        log=lambda text: print(text, file=sys.stderr),
    )
    print(
        f"{args.dataset}: test accuracy {result['test_accuracy']:.2%} after {result['seconds']:.0f}s; "
        f"wrote {result['path']} ({result['bytes'] / 1e6:.2f} MB)"
    )
    return 0


def cmd_train_kernel_estimator(args: argparse.Namespace) -> int:
    from gandash.restore import kernel_estimate

    if args.steps < 1:
        raise GandashError(f"--steps must be at least 1 (got {args.steps}).")
    out = Path(args.out) if args.out else kernel_estimate.BUNDLED
    with Bar(args.steps, unit="step") as bar:  # the trainer reports every 100th step and the last
        accuracy = kernel_estimate.train(
            args.steps,
            seed=args.seed,
            out=out,
            report=lambda step, loss, seconds: bar.to(step + 1, loss=f"{loss:.3f}"),
            camera=not args.clean,
        )
    print(
        f"blur-kernel estimator: {accuracy:.0%} of the last batches named the nearest kernel; wrote {out} "
        f"({out.stat().st_size / 1e6:.2f} MB)"
    )
    return 0
