from __future__ import annotations

import torch
from torch import nn
from torch.nn.utils.parametrizations import spectral_norm


def dcgan_init(module: nn.Module) -> None:
    """Radford et al.: conv weights from N(0, 0.02), BatchNorm weights from N(1, 0.02), bias 0."""
    if isinstance(module, (nn.Conv2d, nn.ConvTranspose2d, nn.Linear)):
        nn.init.normal_(module.weight, 0.0, 0.02)
        if module.bias is not None:
            nn.init.zeros_(module.bias)
    elif isinstance(module, nn.BatchNorm2d):
        nn.init.normal_(module.weight, 1.0, 0.02)
        nn.init.zeros_(module.bias)


def maybe_sn(layer: nn.Module, use: bool) -> nn.Module:
    return spectral_norm(layer) if use else layer


def projection(
    logits: torch.Tensor, features: torch.Tensor, embedding: nn.Embedding | None, labels: torch.Tensor | None
) -> torch.Tensor:
    """Miyato & Koyama's projection discriminator: add <embed(y), features> to the logit."""
    if embedding is None:
        return logits
    if labels is None:
        raise ValueError("this discriminator is conditional: pass labels")
    return logits + (embedding(labels) * features).sum(1)


def embed_labels(embedding: nn.Embedding, labels: torch.Tensor) -> torch.Tensor:
    """Integer labels pick rows of the embedding; float (N, classes) weights mix them, which is how
    the latent explorer walks from one class to another."""
    if labels.is_floating_point():
        return labels.to(embedding.weight.dtype) @ embedding.weight
    return embedding(labels)
