"""Quality metrics measured while a run trains, on a budget: evaluation may cost at most SHARE of
the training time so far, so it runs often early (when things change fast and each evaluation is
cheap relative to nothing) and further apart as it goes. 3% keeps a watched run, with the loop's own
logging, samples and checkpoints, within 5% of a bare training loop (bench/throughput.py).

The trainer calls `due(train_seconds)` every step and `run(trainer)` when it is due; the results
are logged as ordinary metric rows (fid, precision, recall, classes_covered, modes, hq_percent...).
"""

from __future__ import annotations

import time

import torch

from gandash import features, metrics
from gandash.config import TrainConfig
from gandash.errors import GandashError

SHARE = 0.03  # at most this fraction of training time goes to evaluation
PRIOR_COST = {"images": 3.0, "points": 0.2}  # seconds, before the first evaluation has been timed


def supported(config: TrainConfig) -> bool:
    """Images need the dataset's bundled classifier; the 2D mixtures with known modes need nothing."""
    if config.image_size == 0:
        return True
    return features.available(config.dataset)


class Evaluator:
    def __init__(self, config: TrainConfig, samples: int | None = None):
        self.config = config
        self.samples = samples or config.eval_samples
        self.enabled = self.samples > 0 and supported(config)
        self.spent = 0.0  # seconds spent evaluating so far
        self.count = 0

    def due(self, train_seconds: float) -> bool:
        return self.enabled and self.spent + self._expected() <= SHARE * train_seconds

    def _expected(self) -> float:
        """The next evaluation is expected to cost what the earlier ones did on average."""
        if not self.count:
            return PRIOR_COST["points" if self.config.image_size == 0 else "images"]
        return self.spent / self.count

    @torch.no_grad()
    def run(self, trainer) -> dict[str, float]:
        """Evaluate the trainer's sampling generator (EMA when kept) now; returns the metrics."""
        started = time.perf_counter()
        generator = trainer.sampling_generator()
        was_training = generator.training
        generator.eval()
        try:
            samples = self._samples(generator, trainer)
            values = metrics.evaluate(samples, self.config, n=self.samples, seed=self.count)
        except GandashError:
            self.enabled = False  # e.g. the classifier file was removed mid-run: stop trying, keep training
            raise
        finally:
            generator.train(was_training)
            self.spent += time.perf_counter() - started
            self.count += 1
        values["eval_seconds"] = time.perf_counter() - started
        return values

    def _samples(self, generator, trainer) -> dict:
        """Samples drawn on the training device in batches, with every class in turn for conditional runs."""
        c, where = self.config, trainer.hw.device
        noise = torch.Generator(device="cpu").manual_seed(c.seed + 777 + self.count)
        outs, labels = [], []
        for start in range(0, self.samples, 500):
            n = min(500, self.samples - start)
            z = torch.randn(n, c.z_dim, generator=noise).to(where)
            y = (torch.arange(start, start + n) % c.num_classes).to(where) if c.num_classes else None
            outs.append(generator(z, y).float().cpu())
            if y is not None:
                labels.append(y.cpu())
        out = torch.cat(outs)
        if c.image_size == 0:
            return {"points": out.numpy()}
        return {"images": out, "labels": torch.cat(labels) if labels else None}
