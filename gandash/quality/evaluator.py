"""Quality metrics measured while a run trains, on a budget: evaluation may cost at most SHARE of
the training time so far, so it runs often early (when things change fast and each evaluation is
cheap relative to nothing) and further apart as it goes. 3% keeps a watched run, with the loop's own
logging, samples and checkpoints, within 5% of a bare training loop (bench/throughput.py).

The trainer calls `due(train_seconds, trainer)` every logged step and `run(trainer)` when it is due;
the results are logged as ordinary metric rows (fid, precision, recall, classes_covered, modes,
hq_percent...). Before the first image evaluation its cost is estimated from a probe (a few samples
through the generator and the classifier, timed and charged to the budget), since it ranges from
half a second (a 28x28 DCGAN) to seconds (a 64x64 one, or the first run on a machine, which also
computes the real images' reference features once).
"""

from __future__ import annotations

import time

import torch

from gandash.core.config import TrainConfig
from gandash.core.errors import GandashError
from gandash.quality import features, metrics

SHARE = 0.03  # at most this fraction of training time goes to evaluation
POINTS_COST = 0.2  # seconds: a toy run's first evaluation, before one has been timed
PROBE = 64  # samples in the probe that prices an image run's first evaluation
REFERENCE_IMAGES = 10_000  # the test split the reference features are computed from
# A whole evaluation took about twice what the probe's samples scaled up predict (its batches of 500,
# the k-NN metrics): 3.4 s against 1.9 for a 64x64 DCGAN, 0.6 against 0.3 at 28x28 (2 CPU cores).
PROBE_TO_EVALUATION = 2.0


def supported(config: TrainConfig) -> bool:
    """Images need the dataset's bundled classifier; the 2D mixtures with known modes need nothing."""
    if config.image_size == 0:
        return True
    return features.available(config.dataset)


def _rng_untouched(device: torch.device):
    """Evaluation must not move training's random streams (building the classifier draws initial
    weights): when it runs depends on the clock, and resume must stay exact."""
    return torch.random.fork_rng(devices=[device.index or 0] if device.type == "cuda" else [])


class Evaluator:
    def __init__(self, config: TrainConfig, samples: int | None = None):
        self.config = config
        self.samples = samples or config.eval_samples
        self.enabled = self.samples > 0 and supported(config)
        self.spent = 0.0  # seconds spent evaluating so far (the probe included)
        self.count = 0
        self.first_cost: float | None = None
        if self.enabled:
            metrics.import_backend()  # once, at the start of the run, not inside the budget

    def due(self, train_seconds: float, trainer=None) -> bool:
        if not self.enabled:
            return False
        budget = SHARE * train_seconds
        if not self.count and self.first_cost is None:
            if self.config.image_size == 0 or trainer is None:
                self.first_cost = POINTS_COST
            elif budget < 0.05:  # not even the probe fits yet
                return False
            else:
                with _rng_untouched(trainer.hw.device):
                    self.first_cost = self._probe(trainer)
        return self.spent + self._expected() <= budget

    def _expected(self) -> float:
        """The next evaluation is expected to cost what the earlier ones did on average."""
        if not self.count:
            return self.first_cost
        return self.spent / self.count

    @torch.no_grad()
    def _probe(self, trainer) -> float:
        """The first evaluation's expected seconds, from PROBE samples timed through the generator and
        the classifier (plus the reference features, when they are not cached yet)."""
        generator, c = trainer.sampling_generator(), self.config
        was_training = generator.training
        generator.eval()
        try:
            classifier = features.load(c.dataset)  # loaded once per process; not what we price
            started = time.perf_counter()
            n = min(PROBE, self.samples)
            # its own RNG: drawing from the global one would make training depend on when the probe ran
            z = torch.randn(n, c.z_dim, generator=torch.Generator().manual_seed(c.seed + 776)).to(trainer.hw.device)
            y = (torch.arange(n) % c.num_classes).to(trainer.hw.device) if c.num_classes else None
            images = generator(z, y).float().cpu()
            generated = time.perf_counter()
            classifier.features_and_logits(images)
        except Exception:  # noqa: BLE001 - the real evaluation will say what is wrong; price it high
            return 3.0
        finally:
            generator.train(was_training)
        classified = time.perf_counter()
        self.spent += classified - started
        cost = (classified - started) / n * self.samples
        if not metrics.reference_ready(c.dataset, c.image_size, c.channels, c.data_dir):
            cost += (classified - generated) / n * REFERENCE_IMAGES
        return PROBE_TO_EVALUATION * cost

    def run(self, trainer) -> dict[str, float]:
        """Evaluate the trainer's sampling generator (EMA when kept) now; returns the metrics."""
        with _rng_untouched(trainer.hw.device):
            return self._run(trainer)

    @torch.no_grad()
    def _run(self, trainer) -> dict[str, float]:
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
