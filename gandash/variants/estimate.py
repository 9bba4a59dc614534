"""How long one training step of a config takes on this machine: the variant's real trainer timed for a
few steps on random data of the config's shape (a second or two; no dataset is read). runs.history has
the other source, the speed of this machine's earlier runs of the same shape."""

from __future__ import annotations

import statistics
import tempfile
import time

import torch

from gandash import data
from gandash.core import device
from gandash.core.config import TrainConfig
from gandash.data import degrade
from gandash.engine import parallel
from gandash.variants import registry as variants
from gandash.variants import training


def random_dataset(config: TrainConfig, rows: int = 64) -> data.Dataset:
    """Noise shaped like the config's data: images (uint8; photo tiles with the blur's margin for
    image-to-image pairs), labels for conditional variants (two domains for DiscoGAN), or 2D points."""
    kind = variants.get(config.variant).data_kind
    generator = torch.Generator().manual_seed(0)
    rows = max(rows, 2 * config.batch_size)
    info = data.DatasetInfo(
        "random", "random data for timing", kind, config.channels, config.image_size, config.num_classes
    )
    if kind == "points":
        return data.Dataset(info, points=torch.randn(rows, 2, generator=generator))
    side = config.image_size + (2 * (degrade.KERNEL_SIZE // 2) if kind in ("paired", "lowres") else 0)
    images = torch.randint(0, 256, (rows, config.channels, side, side), generator=generator, dtype=torch.uint8)
    classes = 2 if kind == "domains" else config.num_classes
    labels = torch.arange(rows) % classes if classes else None
    return data.Dataset(info, images=images, labels=labels)


def by_timing(config: TrainConfig, steps: int = 2) -> float:
    """Median seconds of `steps` real training steps (Trainer.train_step of the config's variant), after
    one that warms up allocators and kernels. On the CPU, timed as a run would train: each of its processes
    on its share of the cores, in bf16 too where the run may choose it (the faster counts). With processes
    the gradient averaging is not in the figure (on one machine it is small beside the step)."""
    threads = torch.get_num_threads()
    with tempfile.TemporaryDirectory() as scratch:
        trainer = training.trainer_for(config, scratch, random_dataset(config))
        if trainer.hw.type != "cpu":
            return _median_step(trainer, steps)
        share = parallel.threads_per_rank(threads, config.processes)
        precisions = {"fp32": [False], "bf16": [True]}.get(config.cpu_precision, [False, True])
        try:
            timings = []
            for bf16 in precisions:
                trainer.use_cpu_setting(device.SpeedSetting(config.cpu_threads or share, bf16))
                timings.append(_median_step(trainer, steps))
            return min(timings)
        finally:
            torch.set_num_threads(threads)


def _median_step(trainer, steps: int) -> float:
    timings = []
    for _ in range(steps + 1):
        started = time.perf_counter()
        trainer.train_step()
        if trainer.hw.type == "cuda":
            torch.cuda.synchronize()
        timings.append(time.perf_counter() - started)
    return statistics.median(timings[1:])
