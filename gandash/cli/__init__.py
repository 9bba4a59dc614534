"""The command line: `python -m gandash COMMAND ...` does headless what the app does.

Each module of this package is one group of commands: it adds their subparsers and binds each to its
handler with `set_defaults(func=...)`. Handlers import what they need (torch above all) inside, so
that a light command such as `runs` starts in a fraction of a second.

Every error a user can cause prints one line and exits with status 2.
"""

from __future__ import annotations

import argparse
import sys

from gandash.cli import app, build, info, models, photos, runs
from gandash.core.errors import GandashError

# in the order `--help` lists them
GROUPS = (runs, models, build, photos, info, app)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m gandash", description="Train and use GANs from the terminal.")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for group in GROUPS:
        group.add_commands(commands)
    return parser


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["app"]:  # everything after it is streamlit's (argparse would claim its --options)
        return app.start(argv[1:])
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except GandashError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
