"""Adversarial losses and penalties: small pure functions on discriminator logits.

Each D loss takes (real_logits, fake_logits) and each G loss takes fake_logits, so a
variant picks a pair by name. BCE is written with softplus on logits, which is the
numerically stable form of log(sigmoid(.)) and safe under autocast:
    -log D(x)       = softplus(-logit)
    -log(1 - D(x))  = softplus(logit)
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import Tensor

LOSS_FAMILIES = ("bce", "wasserstein", "least-squares", "hinge")
G_LOSSES = ("non-saturating", "minimax")


def d_bce(real: Tensor, fake: Tensor) -> Tensor:
    """-E[log D(x)] - E[log(1 - D(G(z)))] (Goodfellow et al. 2014)."""
    return F.softplus(-real).mean() + F.softplus(fake).mean()


def g_minimax(fake: Tensor) -> Tensor:
    """E[log(1 - D(G(z)))], minimised by G: the original objective, whose gradient vanishes
    when D confidently rejects the fakes early in training."""
    return -F.softplus(fake).mean()


def g_non_saturating(fake: Tensor) -> Tensor:
    """-E[log D(G(z))]: the same fixed point, strong gradients when D wins (the paper's fix)."""
    return F.softplus(-fake).mean()


def d_wasserstein(real: Tensor, fake: Tensor) -> Tensor:
    """E[D(G(z))] - E[D(x)]: the critic estimates the Wasserstein-1 distance (Arjovsky et al. 2017)."""
    return fake.mean() - real.mean()


def g_wasserstein(fake: Tensor) -> Tensor:
    return -fake.mean()


def d_least_squares(real: Tensor, fake: Tensor) -> Tensor:
    """LSGAN (Mao et al. 2017) with targets a=0, b=1: 1/2 E[(D(x)-1)^2] + 1/2 E[D(G(z))^2]."""
    return 0.5 * (real - 1).pow(2).mean() + 0.5 * fake.pow(2).mean()


def g_least_squares(fake: Tensor) -> Tensor:
    """1/2 E[(D(G(z)) - 1)^2]."""
    return 0.5 * (fake - 1).pow(2).mean()


def d_hinge(real: Tensor, fake: Tensor) -> Tensor:
    """E[max(0, 1 - D(x))] + E[max(0, 1 + D(G(z)))] (Lim & Ye 2017; Miyato et al. 2018)."""
    return F.relu(1 - real).mean() + F.relu(1 + fake).mean()


def g_hinge(fake: Tensor) -> Tensor:
    return -fake.mean()


D_LOSSES = {"bce": d_bce, "wasserstein": d_wasserstein, "least-squares": d_least_squares, "hinge": d_hinge}
G_LOSS_FNS = {"wasserstein": g_wasserstein, "least-squares": g_least_squares, "hinge": g_hinge}


def discriminator_loss(family: str, real: Tensor, fake: Tensor) -> Tensor:
    """Taken in fp32 whatever precision D ran in (bf16 logits would round the loss and its gradient)."""
    return D_LOSSES[family](real.float(), fake.float())


def generator_loss(family: str, fake: Tensor, g_loss: str = "non-saturating") -> Tensor:
    """`g_loss` picks minimax or non-saturating; it only applies to the BCE family."""
    fake = fake.float()
    if family == "bce":
        return g_minimax(fake) if g_loss == "minimax" else g_non_saturating(fake)
    return G_LOSS_FNS[family](fake)


def gradient_penalty(discriminator, real: Tensor, fake: Tensor, labels: Tensor | None = None) -> Tensor:
    """WGAN-GP (Gulrajani et al. 2017): E[(||grad D(x_hat)||_2 - 1)^2] on random interpolates."""
    shape = (len(real),) + (1,) * (real.dim() - 1)
    alpha = torch.rand(shape, device=real.device, dtype=real.dtype)
    mixed = (alpha * real.detach() + (1 - alpha) * fake.detach()).requires_grad_(True)
    scores = discriminator(mixed, labels)
    (grads,) = torch.autograd.grad(scores.sum(), mixed, create_graph=True)
    return (grads.flatten(1).norm(2, dim=1) - 1).pow(2).mean()


def r1_penalty(discriminator, real: Tensor, labels: Tensor | None = None) -> Tensor:
    """R1 (Mescheder et al. 2018): E[||grad D(x)||^2] on real data, which keeps D smooth where
    the data is and makes plain GAN training converge locally."""
    real = real.detach().requires_grad_(True)
    scores = discriminator(real, labels)
    (grads,) = torch.autograd.grad(scores.sum(), real, create_graph=True)
    return grads.flatten(1).pow(2).sum(1).mean()


# --- losses of the multi-network variants (issue 7) -------------------------------------------


def mutual_information(
    category_logits: Tensor, category: Tensor, continuous_mean: Tensor, continuous: Tensor
) -> Tensor:
    """InfoGAN's -L_I (Chen et al. 2016, eq. 5) up to the constant H(c): the negative log-likelihood
    of the codes G was given under Q(c | G(z, c)). Cross-entropy for the one-hot category, and a
    unit-variance factored Gaussian for the continuous codes (summed over codes, mean over rows):
        -log Q(k | x) + sum_j [ (c_j - mu_j)^2 / 2 + log(2 pi) / 2 ]"""
    category_logits, continuous_mean = category_logits.float(), continuous_mean.float()
    nll_category = F.cross_entropy(category_logits, category.argmax(1))
    nll_continuous = (0.5 * (continuous - continuous_mean).pow(2) + 0.5 * math.log(2 * math.pi)).sum(1).mean()
    return nll_category + nll_continuous


def kl_to_standard_normal(mu: Tensor, logvar: Tensor) -> Tensor:
    """StackGAN's conditioning-augmentation term (Zhang et al. 2017, eq. 3 and 5):
    KL(N(mu, sigma^2) || N(0, I)) = 1/2 sum_j (mu_j^2 + sigma_j^2 - 1 - log sigma_j^2), mean over rows."""
    mu, logvar = mu.float(), logvar.float()
    return 0.5 * (mu.pow(2) + logvar.exp() - 1 - logvar).sum(1).mean()


def reconstruction(original: Tensor, reconstructed: Tensor) -> Tensor:
    """DiscoGAN's L_CONST (Kim et al. 2017): the mean squared distance between x and G_BA(G_AB(x))."""
    return (reconstructed.float() - original.float()).pow(2).mean()
