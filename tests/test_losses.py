"""Each loss against its paper's formula on small tensors worked out by hand."""

import math

import torch

from gandash.engine import losses

REAL = torch.tensor([2.0, -1.0])
FAKE = torch.tensor([0.5, -3.0])


def sig(x):
    return 1 / (1 + math.exp(-x))


def close(tensor, value):
    assert abs(float(tensor) - value) < 1e-5, (float(tensor), value)


def test_bce_discriminator_is_minus_log_likelihood():
    expected = -(math.log(sig(2)) + math.log(sig(-1))) / 2 - (math.log(1 - sig(0.5)) + math.log(1 - sig(-3))) / 2
    close(losses.d_bce(REAL, FAKE), expected)


def test_minimax_and_non_saturating_generator_losses():
    close(losses.g_minimax(FAKE), (math.log(1 - sig(0.5)) + math.log(1 - sig(-3))) / 2)
    close(losses.g_non_saturating(FAKE), -(math.log(sig(0.5)) + math.log(sig(-3))) / 2)
    assert losses.generator_loss("bce", FAKE, "minimax") < 0 < losses.generator_loss("bce", FAKE, "non-saturating")


def test_non_saturating_gradient_is_strong_where_minimax_vanishes():
    rejected = torch.tensor([-8.0], requires_grad=True)  # D is sure the fake is fake
    (g_mm,) = torch.autograd.grad(losses.g_minimax(rejected), rejected)
    (g_ns,) = torch.autograd.grad(losses.g_non_saturating(rejected), rejected)
    assert abs(float(g_mm)) < 1e-3 < abs(float(g_ns))


def test_wasserstein_hinge_and_least_squares():
    close(losses.d_wasserstein(REAL, FAKE), (0.5 - 3) / 2 - (2 - 1) / 2)
    close(losses.g_wasserstein(FAKE), -(0.5 - 3) / 2)
    close(losses.d_hinge(REAL, FAKE), (max(0, 1 - 2) + max(0, 1 + 1)) / 2 + (max(0, 1 + 0.5) + max(0, 1 - 3)) / 2)
    close(losses.g_hinge(FAKE), 1.25)
    close(losses.d_least_squares(REAL, FAKE), 0.5 * ((2 - 1) ** 2 + (-1 - 1) ** 2) / 2 + 0.5 * (0.25 + 9) / 2)
    close(losses.g_least_squares(FAKE), 0.5 * ((0.5 - 1) ** 2 + (-3 - 1) ** 2) / 2)


def test_gradient_penalty_of_a_linear_critic():
    # D(x) = w.x has gradient w everywhere: penalty = (||w|| - 1)^2
    weight = torch.tensor([3.0, 4.0])

    def critic(x, labels=None):
        return x @ weight

    real, fake = torch.randn(5, 2), torch.randn(5, 2)
    close(losses.gradient_penalty(critic, real, fake), (5 - 1) ** 2)
    close(losses.r1_penalty(critic, real), 25.0)
