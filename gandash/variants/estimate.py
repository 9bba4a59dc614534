"""How long one training step takes here: from this machine's earlier runs of the same shape,
else from timing two steps of the real nets on random data (a second or two, no dataset needed)."""

from __future__ import annotations

import statistics
import time

import torch

from gandash import variants
from gandash.core import device
from gandash.core.config import TrainConfig
from gandash.engine import losses
from gandash.runs.store import Store

SHAPE_KEYS = ("variant", "image_size", "channels", "width", "extra_convs", "z_dim", "batch_size", "d_steps", "device")


def from_history(config: TrainConfig, store: Store) -> float | None:
    """Median seconds per step of finished runs with the same shape, from their images/s."""
    rates = []
    for run in store.runs(("completed", "stopped")):
        if all(run["config"].get(key) == getattr(config, key) for key in SHAPE_KEYS):
            rates += [value for _, _, value, _ in store.metrics(run["id"], names=("images_per_sec",))][-20:]
    if not rates:
        return None
    return config.batch_size * config.d_steps / statistics.median(rates)


def by_timing(config: TrainConfig, steps: int = 2) -> float:
    hw = device.pick(config.device, config.mixed_precision, conv_net=config.image_size > 0)
    generator, discriminator = variants.get(config.variant).build(config)
    generator.to(hw.device)
    discriminator.to(hw.device)
    opt_g = torch.optim.Adam(generator.parameters(), lr=config.lr_g)
    opt_d = torch.optim.Adam(discriminator.parameters(), lr=config.lr_d)
    shape = (config.channels, config.image_size, config.image_size) if config.image_size else (2,)
    labels = torch.zeros(config.batch_size, dtype=torch.long, device=hw.device) if config.num_classes else None
    timings = []
    for _ in range(steps + 1):  # the first step warms up allocators and kernels
        started = time.perf_counter()
        for _ in range(config.d_steps):
            real = torch.randn(config.batch_size, *shape, device=hw.device)
            fake = generator(torch.randn(config.batch_size, config.z_dim, device=hw.device), labels)
            loss_d = losses.discriminator_loss(config.loss, discriminator(real, labels),
                                               discriminator(fake.detach(), labels))
            opt_d.zero_grad()
            loss_d.backward()
            opt_d.step()
        loss_g = losses.generator_loss(config.loss, discriminator(fake, labels), config.g_loss)
        opt_g.zero_grad()
        loss_g.backward()
        opt_g.step()
        if hw.type == "cuda":
            torch.cuda.synchronize()
        timings.append(time.perf_counter() - started)
    return statistics.median(timings[1:])


def seconds_per_step(config: TrainConfig, store: Store | None = None) -> tuple[float, str]:
    """(seconds, where the figure comes from)."""
    measured = from_history(config, store) if store is not None else None
    if measured is not None:
        return measured, "earlier runs of this shape on this machine"
    return by_timing(config), "a quick timing of two steps"
