import pytest
import torch

from gandash.core.config import TrainConfig
from gandash.engine import checkpoints
from gandash.quality import evaluator
from gandash.variants import training
from gandash.variants.configure import make_config
from tests.test_trainer import Recorder

pytestmark = pytest.mark.usefixtures("one_thread")


def test_quality_is_measured_during_training_within_five_percent_of_the_time(tmp_path):
    config = make_config("toy", "ring", max_steps=None, max_minutes=0.3, log_every=10, eval_samples=1000)
    recorder = Recorder()
    status, _ = training.train(config, tmp_path, recorder)
    assert status == "completed"
    evaluated = [(step, values) for step, values in recorder.rows if "modes" in values]
    assert len(evaluated) >= 2
    for _, values in evaluated:
        assert values["modes_total"] == 8 and 0 <= values["modes"] <= 8 and 0 <= values["hq_percent"] <= 100
        assert "loss_d" in values  # logged in the same row batch as the step's losses
    spent = sum(values["eval_seconds"] for _, values in evaluated)
    train_seconds = checkpoints.load(checkpoints.listing(tmp_path)[0])["train_seconds"]
    assert spent <= evaluator.SHARE * train_seconds + 0.3  # the budget, give or take one evaluation's jitter


def test_evaluation_can_be_switched_off_and_is_off_without_a_feature_space(tmp_path):
    config = make_config("toy", "ring", max_steps=None, max_minutes=0.1, log_every=10, eval_samples=0)
    recorder = Recorder()
    training.train(config, tmp_path, recorder)
    assert not any("modes" in values for _, values in recorder.rows)
    assert not evaluator.supported(TrainConfig(variant="dcgan", dataset="cifar10", image_size=32, channels=3))
    assert evaluator.supported(TrainConfig(variant="toy", dataset="grid", image_size=0, channels=0))


@pytest.mark.parametrize("bad", [-1, 5, 50_000])
def test_impossible_eval_sample_counts_are_refused(bad):
    from gandash.core.errors import GandashError

    with pytest.raises(GandashError, match="eval_samples must be 0"):
        make_config("toy", "ring", eval_samples=bad)


def test_an_image_runs_first_evaluation_is_priced_by_a_probe_and_waits_for_its_budget(tiny_fashion, tmp_path):
    from gandash.quality import metrics

    config = make_config("dcgan", "fashion-mnist", width=8, batch_size=16, eval_samples=200)
    run = training.trainer_for(config, tmp_path)
    early = evaluator.Evaluator(config)
    assert not early.due(0.5, run) and early.first_cost is None, "too early even for the probe"
    probed = evaluator.Evaluator(config)
    rng = torch.get_rng_state()
    assert probed.due(1e6, run)  # a huge budget: due at once, priced by the probe
    assert torch.equal(torch.get_rng_state(), rng), "the probe leaves training's RNG alone (exact resume)"
    assert probed.first_cost > 0 and probed.spent > 0, "the probe is charged to the budget"
    assert not metrics.reference_ready("fashion-mnist", 28, 1, None), "the reference features are not made yet"
    priced = evaluator.Evaluator(config)
    priced.first_cost = probed.first_cost  # the same price (a new probe would time differently)
    assert not priced.due(0.9 * probed.first_cost / evaluator.SHARE, run)
    assert priced.due(1.1 * probed.first_cost / evaluator.SHARE, run)
    values = probed.run(run)
    assert torch.equal(torch.get_rng_state(), rng), "so does the evaluation"
    assert values["eval_seconds"] > 0 and 0 <= values["precision"] <= 1
    assert metrics.reference_ready("fashion-mnist", 28, 1, None)


def test_the_reference_features_are_cached_on_disk_and_a_damaged_cache_is_rebuilt(tiny_fashion, home):
    from gandash.quality import metrics

    metrics._reference.cache_clear()
    features, logits = metrics._reference("fashion-mnist", 28, 1, None)
    cache = metrics.reference_cache_file("fashion-mnist", 28, 1, None)
    assert cache.is_file() and cache.parent == home / "cache"
    metrics._reference.cache_clear()
    again = metrics._reference("fashion-mnist", 28, 1, None)
    assert torch.equal(again[0], features) and torch.equal(again[1], logits)
    assert metrics.reference_cache_file("fashion-mnist", 32, 1, None) != cache, "each size has its own"
    cache.write_bytes(b"not a tensor file")
    metrics._reference.cache_clear()
    rebuilt = metrics._reference("fashion-mnist", 28, 1, None)
    assert torch.allclose(rebuilt[0], features) and cache.stat().st_size > 1000
    metrics._reference.cache_clear()
