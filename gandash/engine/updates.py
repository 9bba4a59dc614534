"""The pieces of an update that every trainer shares: the optimiser a config asks for, the EMA of G with a
warm-up, WGAN's weight clipping, gradient norms, and D's mean probability for the charts."""

from __future__ import annotations

import torch

from gandash.core.config import TrainConfig


def ema_with_warmup(decay: float):
    """EMA of G's weights whose decay grows as min(decay, (1 + n) / (10 + n)) over the first updates.
    A plain 0.999 EMA still holds 0.999^2000 = 14% of the random initial weights after 2000 steps,
    and a short CPU run's samples came out as blurry averages; the warm-up forgets the start."""

    def update(averaged: list[torch.Tensor], current: list[torch.Tensor], num_averaged) -> None:
        n = float(num_averaged)
        weight = 1.0 - min(decay, (1.0 + n) / (10.0 + n))
        floats = [(a, c) for a, c in zip(averaged, current) if a.is_floating_point()]
        if floats:
            torch._foreach_lerp_([a for a, _ in floats], [c for _, c in floats], weight)
        for a, c in zip(averaged, current):  # counters such as BatchNorm's num_batches_tracked
            if not a.is_floating_point():
                a.copy_(c)

    return update


def make_optimizer(config: TrainConfig, params, lr: float) -> torch.optim.Optimizer:
    """Adam (the DCGAN recipe), or RMSProp for the original WGAN, whose authors saw momentum make the
    clipped critic unstable."""
    if config.optimizer == "rmsprop":
        return torch.optim.RMSprop(params, lr=lr)
    return torch.optim.Adam(params, lr=lr, betas=(config.beta1, config.beta2))


@torch.no_grad()
def clip_weights(discriminator: torch.nn.Module, value: float) -> None:
    """The original WGAN's crude Lipschitz bound: every critic weight into [-value, value] (0 = off)."""
    if value:
        for parameter in discriminator.parameters():
            parameter.clamp_(-value, value)


def mean_prob(logits: torch.Tensor) -> float:
    return torch.sigmoid(logits.detach().float()).mean().item()


def grad_norm(params) -> float:
    grads = [p.grad for p in params if p.grad is not None]
    return float(torch.nn.utils.get_total_norm(grads)) if grads else 0.0
