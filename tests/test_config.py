import json

import pytest

from gandash.core.config import TrainConfig, parse_overrides
from gandash.core.errors import GandashError
from gandash.variants.configure import make_config, validate


def problems(**changes):
    return "\n".join(validate(TrainConfig(**{**TrainConfig().__dict__, **changes})))


@pytest.mark.parametrize(
    "changes, expected",
    [
        (dict(batch_size=0), "batch_size must be a whole number from 1 to 4096 (got 0)"),
        (dict(lr_g=-1.0), "lr_g must be a number above 0"),
        (dict(lr_d=float("nan")), "lr_d must be a number above 0"),
        (dict(variant="stylegan9"), "variant 'stylegan9' is unknown; choose one of vanilla, dcgan"),
        (dict(image_size=30), "image_size 30 cannot be made by this convolutional net; use one of"),
        (dict(variant="cgan", dataset="ring", channels=0, image_size=0), "trains on image data but 'ring' is points"),
        (dict(variant="cgan", dataset="folder:/nonexistent-folder"), "is conditional and needs labels"),
        (dict(beta1=1.0), "beta1 must be in [0, 1)"),
        (dict(d_steps=0), "d_steps must be a whole number from 1 to 100"),
        (dict(g_loss="log"), "g_loss 'log' is unknown; choose one of non-saturating, minimax"),
        (dict(loss="kl"), "loss 'kl' is unknown"),
        (dict(max_steps=None, max_minutes=None, epochs=None), "set a budget: max_steps, max_minutes or epochs"),
        (dict(max_minutes=-3.0), "max_minutes must be a number above 0"),
        (dict(ema_decay=1.5), "ema_decay must be in [0, 1)"),
        (dict(device="tpu"), "device 'tpu' is unknown; choose one of auto, cpu, cuda, mps"),
        (dict(channels=2), "channels must be 1 (gray) or 3 (colour)"),
        (dict(dataset="imagenet"), "dataset 'imagenet' is unknown"),
        (dict(sample_every=0), "sample_every must be a whole number from 1"),
        (dict(z_dim=0), "z_dim must be a whole number from 1 to 1024"),
        (dict(batch_size=10, pack=4), "batch_size (10) must be a multiple of pack (4)"),
        # what a hand-edited config.json can hold: JSON's true is Python's True, which counts as 1 in a range check
        (dict(beta2=True), "beta2 must be in [0, 1) (got True)"),
        (dict(ema_decay=False), "ema_decay must be in [0, 1)"),
        (dict(clip_value=True), "clip_value must be from 0 (off) to 1"),
        (dict(gp_weight=float("nan")), "gp_weight must be from 0 to 1000 (got nan)"),
        (dict(traced_kernels="0.5"), "traced_kernels must be a fraction from 0 to 1 (got '0.5')"),
        (dict(traced_spread=float("inf")), "traced_spread must be from 0 to 3 px"),
        (dict(adversarial_weight=True), "adversarial_weight must be from 0"),
        (dict(eval_samples="500"), "eval_samples must be 0 (off) or a whole number from 100 to 10000 (got '500')"),
        (dict(eval_samples=True), "eval_samples must be 0 (off) or a whole number"),
    ],
)
def test_every_bad_value_gets_a_message_saying_what_is_allowed(changes, expected):
    assert expected in problems(**changes)


def test_a_good_config_has_no_problems_and_all_problems_are_reported_at_once():
    assert validate(make_config("dcgan", "fashion-mnist")) == []
    with pytest.raises(GandashError) as caught:
        make_config("dcgan", "fashion-mnist", batch_size=0, lr_g=-1.0, beta2=2.0)
    message = str(caught.value)
    assert "batch_size" in message and "lr_g" in message and "beta2" in message


def test_cuda_is_refused_where_there_is_none():
    assert "device 'cuda' was asked for but none is visible" in problems(device="cuda")


def test_make_config_applies_variant_recipe_and_dataset_shape():
    config = make_config("wgan-gp", "fashion-mnist")
    assert (config.loss, config.d_steps, config.gp_weight, config.beta1) == ("wasserstein", 5, 10.0, 0.0)
    assert (config.image_size, config.channels, config.num_classes) == (28, 1, 0)
    conditional = make_config("cgan", "fashion-mnist")
    assert conditional.num_classes == 10
    toy = make_config(None, "ring")
    assert (toy.variant, toy.image_size, toy.channels) == ("toy", 0, 0)
    assert make_config("dcgan", "fashion-mnist", image_size=64, lr_d=1e-4).lr_d == 1e-4


def test_unknown_keys_are_rejected_everywhere():
    with pytest.raises(GandashError, match="unknown setting"):
        make_config("dcgan", "fashion-mnist", learning_rate=1e-3)
    with pytest.raises(GandashError, match="unknown setting"):
        TrainConfig.from_dict({"variant": "dcgan", "colour": "red"})
    with pytest.raises(GandashError, match="unknown setting 'lr'"):
        parse_overrides(["lr=1e-3"])


def test_json_round_trip_is_unchanged(tmp_path):
    config = make_config("cgan", "fashion-mnist", lr_g=3e-4, max_minutes=2.5, ema_decay=0.999, name="mine")
    config.save(tmp_path / "config.json")
    assert TrainConfig.load(tmp_path / "config.json") == config
    assert json.loads((tmp_path / "config.json").read_text())["lr_g"] == 3e-4


def test_overrides_are_parsed_to_the_field_types():
    values = parse_overrides(["lr_d=1e-4", "d_steps=3", "mixed_precision=false", "max_steps=none", "g_loss=minimax"])
    assert values == {"lr_d": 1e-4, "d_steps": 3, "mixed_precision": False, "max_steps": None, "g_loss": "minimax"}
    with pytest.raises(GandashError, match="d_steps=two: expected int"):
        parse_overrides(["d_steps=two"])
    with pytest.raises(GandashError, match="is not key=value"):
        parse_overrides(["d_steps"])


def test_epoch_budget_counts_steps():
    config = make_config("dcgan", "fashion-mnist", max_steps=None, epochs=1.0, batch_size=100)
    assert config.total_steps == 600
