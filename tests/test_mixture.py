"""The toy variant's mixture of generators: the net, its noise, its settings and real training runs."""

import numpy as np
import pytest
import torch

from gandash import data, variants
from gandash.core.errors import GandashError
from gandash.engine import snapshots
from gandash.engine.reporter import SilentReporter
from gandash.nets.mlp import MixtureGenerator, MLPGenerator
from gandash.quality import metrics, samples
from gandash.variants import loading, training
from gandash.variants.configure import make_config


def test_the_first_coordinate_gives_each_generator_an_equal_share_of_the_normal():
    generator = MixtureGenerator(z_dim=3, generators=5)
    z = torch.randn(200_000, 3, generator=torch.Generator().manual_seed(0))
    shares = torch.bincount(generator.which_generator(z), minlength=5).float() / len(z)
    assert torch.allclose(shares, torch.full((5,), 0.2), atol=0.005)
    edges = torch.tensor([-1e9, -0.8416, -0.2533, 0.2533, 0.8416])  # the normal's quintiles
    assert generator.which_generator(torch.stack([edges + 1e-3, torch.zeros(5), torch.zeros(5)], 1)).tolist() == [
        0,
        1,
        2,
        3,
        4,
    ]


def test_stratified_noise_is_normal_splits_the_batch_evenly_and_in_random_order():
    torch.manual_seed(0)
    generator = MixtureGenerator(z_dim=3, generators=50)
    z = generator.stratified_z(200)
    which = generator.which_generator(z)
    assert torch.bincount(which, minlength=50).tolist() == [4] * 50
    assert not torch.equal(which, torch.arange(200) % 50)  # packed pairs must not always be the same generators
    assert torch.bincount(generator.which_generator(generator.stratified_z(203)), minlength=50).max() == 5
    many = torch.cat([generator.stratified_z(200) for _ in range(500)])  # 100 000 rows
    for column in many.T:  # every coordinate N(0, 1): mean, spread and a tail quantile
        assert abs(float(column.mean())) < 0.02 and abs(float(column.std()) - 1) < 0.02
        assert abs(float((column > 1.6449).float().mean()) - 0.05) < 0.005


def test_even_batches_take_the_batched_path_and_give_what_each_generator_gives_alone():
    torch.manual_seed(0)
    generator = MixtureGenerator(z_dim=3, generators=10, hidden=(8, 8))
    z = generator.stratified_z(40)
    together = generator(z)  # 4 rows per generator: one batched matmul per layer
    alone = torch.cat([generator(z[i : i + 1]) for i in range(len(z))])  # one row at a time: its own weights
    assert together.shape == (40, 2) and torch.allclose(together, alone, atol=1e-5)
    # each generator is its own net: changing generator 3's weights moves only its rows, whatever the path
    which = generator.which_generator(z)
    with torch.no_grad():
        generator.layers[-1].bias[3] += 1.0
    for moved in (generator(z) - together, torch.cat([generator(z[i : i + 1]) for i in range(len(z))]) - alone):
        assert torch.equal(moved.abs().sum(1) > 1e-4, which == 3)


def test_the_trainer_draws_stratified_noise_for_a_mixture_and_plain_noise_otherwise(tmp_path):
    mixture = training.trainer_for(make_config("toy", "ring", cpu_threads=1), tmp_path / "a")
    z = mixture.noise(200)
    assert torch.bincount(mixture.generator.which_generator(z), minlength=50).tolist() == [4] * 50
    plain = training.trainer_for(make_config("toy", "ring", generators=1, cpu_threads=1), tmp_path / "b")
    assert isinstance(plain.generator, MLPGenerator) and plain.noise(7).shape == (7, 3)


def test_a_mixture_needs_a_noise_coordinate_besides_the_one_that_picks():
    with pytest.raises(GandashError, match="z_dim must be at least 2 for a mixture"):
        make_config("toy", "ring", z_dim=1)
    assert make_config("toy", "ring", z_dim=1, generators=1).z_dim == 1


def test_packing_and_a_single_generator_remain_possible():
    for changes in (dict(pack=2), dict(generators=1, z_dim=1), dict(generators=1, pack=5)):
        config = make_config("toy", "ring", **changes)
        generator, discriminator = variants.get("toy").build(config)
        assert isinstance(generator, MixtureGenerator) == (config.generators > 1)
        assert discriminator(generator(torch.randn(10, config.z_dim))).shape == (10 // config.pack,)


@pytest.mark.e2e
def test_the_toy_recipe_covers_the_ring_in_a_short_run(tmp_path):
    """A fifth of the recipe's steps (the whole is measured on ring and grid in bench/toy_modes.py)
    already puts generators on all 8 modes, most samples within 3 sigma of one."""
    config = make_config(
        "toy",
        "ring",
        max_steps=3000,
        log_every=50,
        sample_every=10**6,
        checkpoint_every=10**6,
        cpu_threads=1,
        eval_samples=0,
    )
    config.save(tmp_path / "config.json")
    status, _ = training.train(config, tmp_path, SilentReporter())
    assert status == "completed"
    generator, _, _ = loading.load_generator(tmp_path)
    points = samples.sample(generator, config, 2500)["points"]
    meta = data.info("ring")
    score = metrics.mode_coverage(points, np.asarray(meta.modes), meta.mode_std)
    assert score["modes"] == 8 and score["hq_percent"] > 70, score


def test_the_2d_view_gets_one_mesh_per_generator_over_its_own_noise(tmp_path):
    run = training.trainer_for(make_config("toy", "ring", cpu_threads=1), tmp_path / "a")
    meshes = snapshots.manifold(run.generator, run.config.z_dim, run.hw.device)
    assert meshes.shape == (50, 7, 7, 2)
    k, row, column = 31, 2, 5  # generator 31's point at noise (z_1, z_2) = (axis[5], axis[2])
    axis = torch.linspace(-2.5, 2.5, 7)
    z = torch.tensor([[float(torch.special.ndtri(torch.tensor((k + 0.5) / 50))), axis[column], axis[row]]])
    assert run.generator.which_generator(z).item() == k
    assert np.allclose(meshes[k, row, column], run.generator(z)[0].detach().numpy(), atol=1e-5)
    single = training.trainer_for(make_config("toy", "ring", generators=1, cpu_threads=1), tmp_path / "b")
    assert snapshots.manifold(single.generator, single.config.z_dim, single.hw.device).shape == (15, 15, 2)
