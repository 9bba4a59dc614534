"""Commands that say what gandash can train, and on what: the variants and the datasets."""

from __future__ import annotations

import argparse


def add_commands(commands) -> None:
    commands.add_parser("variants", help="the GAN variants gandash can train").set_defaults(func=cmd_variants)
    datasets = commands.add_parser("datasets", help="the datasets and whether they are on this machine")
    datasets.add_argument("--data-dir")
    datasets.set_defaults(func=cmd_datasets)


def cmd_variants(args: argparse.Namespace) -> int:
    from gandash.variants import REGISTRY  # the registry builds its nets' classes: torch

    for variant in REGISTRY.values():
        print(f"{variant.name:<9} {variant.family:<13} {variant.description}")
    return 0


def cmd_datasets(args: argparse.Namespace) -> int:
    from gandash import data

    for row in data.describe_all(args.data_dir):
        mark = "yes" if row["present"] else "no "
        print(f"{row['name']:<14} {row['kind']:<6} {mark} {row['description']}")
        if row["how_to_get"]:
            print(f"{'':<25}{row['how_to_get']}")
    return 0
