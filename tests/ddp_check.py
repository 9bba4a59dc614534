"""Run under torchrun by tests/test_parallel.py: every rank trains each variant named on the command line
for a few data-parallel steps, then the ranks compare their nets. Rank 0 prints one JSON line per variant:
whether every rank's G and D are bit-identical (DDP averaged every gradient) and finite, and how far apart
the ranks' batches were (each rank must have drawn its own rows)."""

import json
import sys
import tempfile
from pathlib import Path

import torch

from gandash.engine import parallel
from gandash.engine.reporter import SilentReporter
from gandash.variants import training
from gandash.variants.configure import make_config

DATASETS = {
    "toy": "ring",
    "deblur": "blurred:photos",
    "deblur-seed": "blurred:photos",
    "srgan": "lowres:fashion-mnist",
    "discogan": "domains:fashion-mnist:7,5",
}
PAIRED = ("deblur", "deblur-seed", "srgan")


def fingerprint(net: torch.nn.Module) -> list[float]:
    return [float(p.detach().double().sum()) for p in parallel.unwrap(net).parameters()]


def main(variants: list[str]) -> None:
    team = parallel.join()
    torch.set_num_threads(1)
    for name in variants:
        settings = dict(max_steps=3, batch_size=2 if name in PAIRED else 8, log_every=1, sample_every=2)
        settings.update(checkpoint_every=10**6, eval_samples=0, cpu_threads=1, cpu_precision="fp32")
        if name not in PAIRED + ("toy",):
            settings["width"] = 8
        config = make_config(name, DATASETS.get(name, "fashion-mnist"), processes=team.world, **settings)
        with tempfile.TemporaryDirectory() as scratch:
            trainer = training.trainer_for(config, Path(scratch), None)
            trainer.join_team(team)
            first_rows = trainer._next_index().tolist()
            trainer.position, trainer.epoch, trainer._order = 0, 0, None
            from gandash.engine import loop

            status, message = loop.run(trainer, SilentReporter(), initial_weights=lambda: None)
            prints = team.gather((fingerprint(trainer.generator), fingerprint(trainer.discriminator), first_rows))
        if team.rank == 0:
            g, d, rows = zip(*prints)
            print(
                json.dumps(
                    {
                        "variant": name,
                        "status": status,
                        "message": message,
                        "same_g": all(x == g[0] for x in g),
                        "same_d": all(x == d[0] for x in d),
                        "finite": all(torch.isfinite(torch.tensor(x)).all().item() for x in g + d),
                        "disjoint_rows": not set(rows[0]) & set(rows[1]),
                    }
                ),
                flush=True,
            )
    parallel.leave(team)


if __name__ == "__main__":
    main(sys.argv[1:])
