import pytest
import torch

from gandash import checkpoints, evaluator, trainer
from gandash.config import TrainConfig, make_config
from tests.test_trainer import Recorder


@pytest.fixture(autouse=True)
def one_thread():
    """Toy nets train on one thread, as the worker runs them (device.cpu_threads)."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def test_quality_is_measured_during_training_within_five_percent_of_the_time(tmp_path):
    config = make_config("toy", "ring", max_steps=None, max_minutes=0.3, log_every=10, eval_samples=1000)
    recorder = Recorder()
    status, _ = trainer.train(config, tmp_path, recorder)
    assert status == "completed"
    evaluated = [(step, values) for step, values in recorder.rows if "modes" in values]
    assert len(evaluated) >= 2
    for step, values in evaluated:
        assert values["modes_total"] == 8 and 0 <= values["modes"] <= 8 and 0 <= values["hq_percent"] <= 100
        assert "loss_d" in values  # logged in the same row batch as the step's losses
    spent = sum(values["eval_seconds"] for _, values in evaluated)
    train_seconds = checkpoints.load(checkpoints.listing(tmp_path)[0])["train_seconds"]
    assert spent <= evaluator.SHARE * train_seconds + 0.3  # the budget, give or take one evaluation's jitter


def test_evaluation_can_be_switched_off_and_is_off_without_a_feature_space(tmp_path):
    config = make_config("toy", "ring", max_steps=None, max_minutes=0.1, log_every=10, eval_samples=0)
    recorder = Recorder()
    trainer.train(config, tmp_path, recorder)
    assert not any("modes" in values for _, values in recorder.rows)
    assert not evaluator.supported(TrainConfig(variant="dcgan", dataset="cifar10", image_size=32, channels=3))
    assert evaluator.supported(TrainConfig(variant="toy", dataset="grid", image_size=0, channels=0))


@pytest.mark.parametrize("bad", [-1, 5, 50_000])
def test_impossible_eval_sample_counts_are_refused(bad):
    from gandash.errors import GandashError

    with pytest.raises(GandashError, match="eval_samples must be 0"):
        make_config("toy", "ring", eval_samples=bad)
