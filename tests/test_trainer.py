import numpy as np
import pytest
import torch

from gandash import variants
from gandash.core import device
from gandash.core.device import SpeedSetting
from gandash.engine import checkpoints, loop, updates
from gandash.engine.reporter import Reporter
from gandash.variants import base, training
from gandash.variants.configure import make_config


class Recorder(Reporter):
    def __init__(self):
        self.rows, self.samples, self.checkpoints, self.events = [], [], [], []

    def metrics(self, step, values):
        self.rows.append((step, values))

    def sample(self, step, path):
        self.samples.append((step, path))

    def checkpoint(self, step, path):
        self.checkpoints.append((step, path))

    def event(self, level, text):
        self.events.append((level, text))


def tiny(variant, dataset="fashion-mnist", **changes):
    # one fixed thread in fp32: tiny nets are fastest so, and exact resume needs fixed threads and precision
    settings = dict(
        max_steps=3, log_every=1, sample_every=2, checkpoint_every=2, batch_size=8, cpu_threads=1, cpu_precision="fp32"
    )
    if variant != "toy":
        settings["width"] = 8
    return make_config(variant, dataset, **{**settings, **changes})


# the variants whose G turns noise into samples; image-to-image ones (deblur, srgan, discogan) take
# images and are trained in tests/test_deblur.py and tests/test_variants_more.py
NOISE_VARIANTS = [name for name, v in variants.REGISTRY.items() if v.data_kind in ("image", "points")]


@pytest.mark.parametrize("name", NOISE_VARIANTS)
def test_every_variant_trains_three_steps_with_finite_losses(name, tiny_fashion, tmp_path):
    config = tiny(name, "ring" if name == "toy" else "fashion-mnist")
    recorder = Recorder()
    status, _ = training.train(config, tmp_path, recorder)
    assert status == "completed"
    assert [step for step, _ in recorder.rows] == [1, 2, 3]
    for _, values in recorder.rows:
        assert {"loss_d", "loss_g", "d_x", "d_g_z1", "d_g_z2", "grad_norm_d", "grad_norm_g", "images_per_sec"} <= set(
            values
        )
        assert all(np.isfinite(v) for v in values.values())
    assert [step for step, _ in recorder.samples] == [2, 3] and all(p.is_file() for _, p in recorder.samples)
    assert [step for step, _ in recorder.checkpoints] == [2, 3]
    generator, discriminator = variants.get(name).build(config)
    labels = torch.arange(4) % config.num_classes if config.num_classes else None
    out = generator(torch.randn(4, config.z_dim), labels)
    expected = (4, 2) if name == "toy" else (4, config.channels, config.image_size, config.image_size)
    pack = getattr(discriminator, "pack", 1)  # PacGAN judges `pack` samples together: one logit each
    assert tuple(out.shape) == expected and discriminator(out, labels).shape == (4 // pack,)


@pytest.mark.parametrize("name, size", [("dcgan", 64), ("dcgan", 32), ("hinge", 32), ("cgan", 32)])
def test_conv_variants_at_other_sizes(name, size, tiny_fashion, tmp_path):
    status, _ = training.train(tiny(name, image_size=size, max_steps=1), tmp_path, Recorder())
    assert status == "completed"


def test_dcgan_64_is_the_pytorch_examples_architecture():
    config = make_config("dcgan", "fashion-mnist", channels=3, **base.PYTORCH_EXAMPLES_DCGAN64)
    generator, discriminator = variants.get("dcgan").build(config)
    # parameter counts of pytorch/examples dcgan/main.py with nz=100, ngf=ndf=64, nc=3
    assert sum(p.numel() for p in generator.parameters()) == 3_576_704
    assert sum(p.numel() for p in discriminator.parameters()) == 2_765_568


@pytest.mark.parametrize(
    "name, precision", [("dcgan", "fp32"), ("wgan-gp", "fp32"), ("toy", "fp32"), ("dcgan", "bf16")]
)
def test_resume_is_exact(name, precision, tiny_fashion, tmp_path):
    """20 steps straight == 10 steps, stop, resume, 10 steps: identical weights, in bf16 autocast too."""
    dataset = "ring" if name == "toy" else "fashion-mnist"
    config = tiny(
        name, dataset, max_steps=20, checkpoint_every=7, sample_every=5, ema_decay=0.9, cpu_precision=precision
    )
    training.train(config, tmp_path / "straight", Recorder())
    stopped, first = tmp_path / "stopped", Recorder()
    status, _ = training.train(config, stopped, first, should_stop=lambda: first.rows and first.rows[-1][0] >= 10)
    assert status == "stopped" and checkpoints.listing(stopped)[0].name == "step_00000010.pt"
    recorder = Recorder()
    training.train(config, stopped, recorder)
    assert recorder.rows[0][0] == 11 and ("info", "resumed from the checkpoint of step 10 on cpu") in recorder.events
    a = checkpoints.load(checkpoints.listing(tmp_path / "straight")[0])
    b = checkpoints.load(checkpoints.listing(stopped)[0])
    assert a["step"] == b["step"] == 20
    for part in ("generator", "discriminator", "ema"):
        assert all(torch.equal(a[part][key], b[part][key]) for key in a[part]), part
    assert a["opt_d"]["state"][0]["exp_avg"].equal(b["opt_d"]["state"][0]["exp_avg"])
    # weights and optimiser state stay fp32 whatever the arithmetic
    assert {t.dtype for t in a["generator"].values() if t.is_floating_point()} == {torch.float32}
    assert a["opt_g"]["state"][0]["exp_avg"].dtype == torch.float32


def test_a_damaged_newest_checkpoint_falls_back_to_the_previous(tiny_fashion, tmp_path):
    config = tiny("dcgan", max_steps=4, checkpoint_every=2)
    training.train(config, tmp_path, Recorder())
    newest = checkpoints.listing(tmp_path)[0]
    newest.write_bytes(newest.read_bytes()[:1000])  # as if the disk filled up mid-copy
    recorder = Recorder()
    training.train(make_config(**{**config.__dict__, "max_steps": 5}), tmp_path, recorder)
    assert any("skipped a damaged checkpoint" in text for _, text in recorder.events)
    assert recorder.rows[0][0] == 3  # resumed from step 2


def test_divergence_stops_the_run_without_checkpointing_nans(tmp_path):
    points = tmp_path / "huge.npy"
    np.save(points, np.random.default_rng(0).normal(size=(500, 2)) * 1e37)
    config = make_config("toy", f"points:{points}", max_steps=50, log_every=1, checkpoint_every=1, lr_d=0.5, lr_g=0.5)
    recorder = Recorder()
    status, message = training.train(config, tmp_path / "run", recorder)
    assert status == "diverged"
    assert "NaN or infinite" in message and "lower learning rate" in message
    for path in checkpoints.listing(tmp_path / "run"):
        state = checkpoints.load(path)
        assert all(torch.isfinite(t).all() for t in state["generator"].values())


def test_time_budget_stops_training(tmp_path):
    config = make_config("toy", "ring", max_steps=None, max_minutes=0.02, log_every=50)
    status, message = training.train(config, tmp_path, Recorder())
    assert status == "completed"
    state = checkpoints.load(checkpoints.listing(tmp_path)[0])
    assert 1.2 <= state["train_seconds"] < 5


def test_ema_forgets_the_initial_weights_quickly_then_decays_as_asked():
    update = updates.ema_with_warmup(0.999)
    averaged, current = [torch.zeros(1)], [torch.ones(1)]
    for n in range(200):  # the current weights sit at 1, the average started at 0
        update(averaged, current, torch.tensor(n))
    assert averaged[0].item() > 0.999  # a plain 0.999 EMA would still be at 1 - 0.999**200 = 0.18
    slow = [torch.zeros(1)]
    update(slow, current, torch.tensor(10_000))
    assert slow[0].item() == pytest.approx(0.001)


@pytest.mark.parametrize("schedule, halfway, end", [("constant", 1.0, 1.0), ("linear", 0.5, 0.0), ("cosine", 0.5, 0.0)])
def test_learning_rates_decay_over_the_budget_as_scheduled(schedule, halfway, end, tmp_path):
    from gandash.core.config import lr_factor

    config = tiny("toy", "ring", max_steps=40, lr_schedule=schedule, lr_g=1e-3, lr_d=4e-4)
    assert lr_factor(config, 20, 0.0) == pytest.approx(halfway)
    assert lr_factor(config, 40, 0.0) == pytest.approx(end, abs=1e-12)
    timed = make_config("toy", "ring", max_steps=None, max_minutes=1.0, lr_schedule=schedule)
    assert lr_factor(timed, 0, 30.0) == pytest.approx(halfway)  # a time budget decays with the clock
    # the trainer really applies it: after 30 of 40 steps the optimisers run at the scheduled rate
    status, _ = training.train(config, tmp_path, Recorder())
    state = checkpoints.load(checkpoints.listing(tmp_path)[0])
    seen = [group["lr"] for group in state["opt_g"]["param_groups"]] + [
        group["lr"] for group in state["opt_d"]["param_groups"]
    ]
    last_factor = lr_factor(config, 39, 0.0)  # set before the 40th step
    assert status == "completed"
    assert seen == pytest.approx([1e-3 * last_factor, 4e-4 * last_factor])


def test_an_unknown_schedule_is_refused_with_the_choices():
    from gandash.core.config import TrainConfig
    from gandash.variants.configure import validate

    problems = validate(TrainConfig(variant="toy", dataset="ring", image_size=0, channels=0, lr_schedule="step"))
    assert any("lr_schedule 'step' is unknown; choose one of constant, linear, cosine" in p for p in problems)


def test_a_cpu_run_tunes_what_its_config_leaves_open(tiny_fashion, tmp_path):
    before = torch.get_num_threads()
    torch.set_num_threads(2)  # the share a worker gets on a 2-core machine
    try:
        recorder = Recorder()
        status, _ = training.train(tiny("dcgan", max_steps=40, cpu_threads=0, cpu_precision="auto"), tmp_path, recorder)
        assert status == "completed" and torch.get_num_threads() == 2  # the caller's setting is given back
        checks = [text for level, text in recorder.events if text.startswith("speed check")]
        assert checks and all(name in checks[0] for name in ("fp32 on 1 thread", "bf16 on 2 threads"))
        rows = [values for _, values in recorder.rows if "threads" in values]
        assert rows and {row["threads"] for row in rows} <= {1, 2} and {row["bf16"] for row in rows} <= {0.0, 1.0}
        hw = device.pick("cpu")
        settings = lambda **kw: set(loop.speed_tuner(tiny("dcgan", **kw), hw).choices)  # noqa: E731
        assert settings(cpu_threads=0, cpu_precision="fp32") == {SpeedSetting(1), SpeedSetting(2)}
        assert settings(cpu_threads=2, cpu_precision="auto") == {SpeedSetting(2), SpeedSetting(2, True)}
        assert loop.speed_tuner(tiny("dcgan", cpu_threads=3, cpu_precision="bf16"), hw) is None
        assert torch.get_num_threads() == 3
    finally:
        torch.set_num_threads(before)
