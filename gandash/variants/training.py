"""Training a config: its variant's trainer class, built with the variant's nets, run by the engine's loop.
The worker, the CLI's foreground train, the demo presets and the benchmarks all start here."""

from __future__ import annotations

from pathlib import Path

from gandash import data
from gandash.core.config import TrainConfig
from gandash.engine import loop, parallel
from gandash.engine.reporter import Reporter
from gandash.engine.trainer import Trainer
from gandash.variants import loading
from gandash.variants import registry as variants


def trainer_for(config: TrainConfig, run_dir: Path, dataset: data.Dataset | None = None) -> Trainer:
    """The trainer of the config's variant, with its nets built and its data loaded (or `dataset`)."""
    variant = variants.get(config.variant)
    return variant.trainer(config, run_dir, variant, dataset)


def train(
    config: TrainConfig,
    run_dir: Path,
    reporter: Reporter,
    should_stop=lambda: False,
    dataset: data.Dataset | None = None,
    team: parallel.Team = parallel.SOLO,
) -> tuple[str, str]:
    """Train until the budget, a stop request or divergence; returns (status, message). In a data-parallel
    run every rank calls it with its place in the `team`."""
    trainer = trainer_for(config, run_dir, dataset)
    trainer.join_team(team)
    return loop.run(
        trainer,
        reporter,
        should_stop,
        initial_weights=lambda: loading.initial_weights(config),
    )
