"""The losses of the multi-network variants, pinned against their papers' formulas on tensors small
enough to compute by hand."""

import math

import torch

from gandash.engine import losses


def test_wasserstein_critic_and_generator_losses_are_the_kantorovich_rubinstein_estimate():
    # Arjovsky et al. 2017: the critic maximises E[D(x)] - E[D(G(z))]; we minimise its negative
    real, fake = torch.tensor([3.0, 1.0]), torch.tensor([0.5, -1.5])
    assert losses.d_wasserstein(real, fake).item() == (0.5 - 1.5) / 2 - (3.0 + 1.0) / 2  # -2.5
    assert losses.g_wasserstein(fake).item() == 0.5


def test_mutual_information_is_the_nll_of_the_codes_under_q():
    # one row: category 1 of 3 with logits (0, ln 2, 0) -> Q(1|x) = 2/4; continuous code 0.5, mean 0.0
    logits = torch.tensor([[0.0, math.log(2.0), 0.0]])
    category = torch.tensor([[0.0, 1.0, 0.0]])
    value = losses.mutual_information(logits, category, torch.tensor([[0.0]]), torch.tensor([[0.5]]))
    expected = -math.log(0.5) + 0.5 * 0.25 + 0.5 * math.log(2 * math.pi)
    assert math.isclose(value.item(), expected, rel_tol=1e-6)


def test_mutual_information_sums_over_codes_and_averages_over_rows():
    logits = torch.zeros(2, 2)  # Q(k|x) = 1/2 for both rows
    category = torch.tensor([[1.0, 0.0], [0.0, 1.0]])
    mean, codes = torch.zeros(2, 2), torch.tensor([[1.0, 0.0], [0.0, 0.0]])
    value = losses.mutual_information(logits, category, mean, codes)
    # continuous: row 1 has 0.5 * 1^2, row 2 has 0; both rows have 2 constants of log(2 pi)/2
    expected = math.log(2) + (0.5 + 0.0) / 2 + math.log(2 * math.pi)
    assert math.isclose(value.item(), expected, rel_tol=1e-6)


def test_a_perfect_q_leaves_only_the_gaussian_constant():
    logits = torch.tensor([[50.0, 0.0]])
    value = losses.mutual_information(logits, torch.tensor([[1.0, 0.0]]), torch.tensor([[0.3]]), torch.tensor([[0.3]]))
    assert math.isclose(value.item(), 0.5 * math.log(2 * math.pi), rel_tol=1e-6)


def test_kl_of_conditioning_augmentation():
    # KL(N(mu, sigma^2) || N(0, 1)) = (mu^2 + sigma^2 - 1 - ln sigma^2) / 2 per dimension
    mu = torch.tensor([[1.0, 0.0]])
    logvar = torch.tensor([[0.0, math.log(4.0)]])  # sigma^2 = 1 and 4
    expected = 0.5 * (1.0 + 1.0 - 1 - 0.0) + 0.5 * (0.0 + 4.0 - 1 - math.log(4.0))
    assert math.isclose(losses.kl_to_standard_normal(mu, logvar).item(), expected, rel_tol=1e-6)
    assert losses.kl_to_standard_normal(torch.zeros(3, 4), torch.zeros(3, 4)).item() == 0.0


def test_discogan_reconstruction_is_the_mean_squared_distance():
    x = torch.tensor([[0.0, 1.0], [1.0, -1.0]])
    back = torch.tensor([[0.0, 0.0], [1.0, 1.0]])
    assert losses.reconstruction(x, back).item() == (0 + 1 + 0 + 4) / 4
