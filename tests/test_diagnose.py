"""Diagnosis findings on hand-made histories and on real tiny runs steered into each failure."""
import math
import tempfile
from pathlib import Path

import numpy as np
import pytest
import torch

from gandash import checkpoints, diagnose, metrics, trainer, variants
from gandash.config import make_config


def series(values, every=10):
    return [(every * (i + 1), float(v)) for i, v in enumerate(values)]


def healthy(n=60, seed=0):
    rng = np.random.default_rng(seed)
    return {"loss_d": series(1.2 + 0.1 * rng.standard_normal(n)), "loss_g": series(0.9 + 0.1 * rng.standard_normal(n)),
            "d_x": series(0.6 + 0.03 * rng.standard_normal(n)), "d_g_z1": series(0.4 + 0.03 * rng.standard_normal(n)),
            "grad_norm_g": series(1 + 0.1 * rng.random(n)), "grad_norm_d": series(2 + 0.1 * rng.random(n)),
            "fid": series(np.linspace(80, 20, 8), every=75)}


def titles(findings):
    return [f.title for f in findings]


def test_a_healthy_history_has_no_findings():
    assert diagnose.diagnose(healthy()) == []


def test_nan_is_divergence_with_the_step():
    history = healthy()
    history["loss_g"][40] = (410, math.nan)
    (finding,) = [f for f in diagnose.diagnose(history) if f.severity == "error"]
    assert finding.title == "Training diverged" and "step 410" in finding.evidence and finding.metric == "loss_g"


def test_exploding_loss_is_divergence():
    history = healthy()
    history["loss_d"] = series(np.geomspace(1, 1e5, 60))
    findings = diagnose.diagnose(history)
    assert findings[0].severity == "error" and findings[0].title == "loss_d is exploding"


def test_discriminator_wins_with_vanishing_gradient_suggests_non_saturating_loss():
    history = healthy()
    history["d_g_z1"] = series(np.geomspace(0.4, 1e-5, 60))
    history["d_x"] = series(np.full(60, 0.999))
    history["grad_norm_g"] = series(np.geomspace(1, 1e-4, 60))
    config = make_config("toy", "ring", g_loss="minimax", lr_d=2e-3, lr_g=2e-4, d_steps=3)
    (finding,) = [f for f in diagnose.diagnose(history, config) if "discriminator" in f.title]
    assert finding.severity == "error" and "vanishing" in finding.evidence
    assert "non-saturating" in finding.advice and "lr_d is 0.002" in finding.advice and "d_steps is 3" in finding.advice


def test_lost_classes_and_modes_are_mode_collapse():
    history = healthy()
    history["classes_covered"] = series([6, 9, 10, 10, 7, 4], every=100)
    history["modes"], history["modes_total"] = series([3, 8, 8, 5], every=100), series([8] * 4, every=100)
    found = diagnose.diagnose(history)
    assert {"Mode collapse: classes lost", "Mode collapse: modes lost"} <= set(titles(found))
    collapsed = {"classes_covered": series([1, 1], every=100)}
    assert titles(diagnose.diagnose(collapsed)) == ["Mode collapse: only 1 of 10 classes"]
    assert titles(diagnose.diagnose({"recall": series([0.1, 0.6, 0.2], every=100)})) == ["Sample diversity dropped"]


def test_oscillation_without_progress_and_not_when_quality_improves():
    history = healthy()
    history["d_g_z1"] = series(0.5 + 0.45 * np.sign(np.sin(np.arange(60) / 2.0)))
    history["fid"] = series([40, 30, 31, 32, 30.5, 31], every=100)
    finding = [f for f in diagnose.diagnose(history) if f.title == "Oscillation without progress"][0]
    assert finding.severity == "warning" and "swung" in finding.evidence
    history["fid"] = series([80, 60, 40, 30, 20, 10], every=100)
    assert "Oscillation without progress" not in titles(diagnose.diagnose(history))


def test_flat_quality_is_a_plateau_and_a_worse_one_a_warning():
    history = healthy()
    history["fid"] = series([60, 30, 25, 24.9, 25.1, 25.0, 24.95], every=100)
    (finding,) = diagnose.diagnose(history)
    assert finding.title == "The generator stopped improving" and finding.severity == "info"
    assert finding.metric == "fid" and finding.steps == (500, 700)
    history["hq_percent"], history["fid"] = series([10, 50, 70, 60, 40, 30], every=100), []
    assert titles(diagnose.diagnose(history)) == ["The generator got worse"]


def test_findings_round_trip_from_store_rows():
    rows = [(step, name, value, 0.0) for name, values in healthy().items() for step, value in values]
    assert diagnose.history_from_rows(sorted(rows)) == {k: v for k, v in healthy().items()}
    finding = diagnose.Finding("info", "t", "e", "a", "fid", (1, 2))
    assert finding.to_dict()["steps"] == (1, 2)


# --- real tiny runs, steered into each failure -------------------------------------------------

class History(trainer.Reporter):
    """Collects what the trainer logs; with `evaluate`, scores each checkpoint like a periodic eval would."""

    def __init__(self, config, evaluate=False):
        self.config, self.evaluate, self.history = config, evaluate, {}

    def metrics(self, step, values):
        for name, value in values.items():
            self.history.setdefault(name, []).append((step, value))

    def checkpoint(self, step, path):
        if self.evaluate:
            generator, _ = variants.get(self.config.variant).build(self.config)
            generator.load_state_dict(checkpoints.load(path)["generator"])
            self.metrics(step, metrics.evaluate(generator.eval(), self.config, n=500))


@pytest.fixture(autouse=True)
def one_thread():
    """Tiny MLPs gain nothing from threads, and on a shared 2-core machine two threads that wait for
    each other made one of these runs 15x slower."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


# a plain GAN (one generator, no packing, EMA or decay: the toy recipe's remedies off), to steer into trouble
PLAIN_TOY = dict(width=32, batch_size=64, log_every=5, sample_every=10**6, checkpoint_every=50, max_steps=300,
                 generators=1, z_dim=2, pack=1, ema_decay=0.0, lr_schedule="constant")


def steered(evaluate=False, **changes):
    config = make_config("toy", "ring", **{**PLAIN_TOY, **changes})
    reporter = History(config, evaluate)
    with tempfile.TemporaryDirectory() as folder:
        status, _ = trainer.train(config, Path(folder), reporter)
    return diagnose.diagnose(reporter.history, config), status


def test_real_run_where_d_wins_minimax_loss_and_fast_d():
    found, _ = steered(g_loss="minimax", lr_d=1e-2, lr_g=1e-3, d_steps=3)
    (finding,) = [f for f in found if f.title == "The discriminator wins outright"]
    assert finding.severity == "error" and "vanishing" in finding.evidence and "non-saturating" in finding.advice


def test_real_run_that_explodes_wasserstein_without_penalty_stops_itself():
    found, status = steered(loss="wasserstein", lr_d=1e-2, lr_g=1e-2, beta1=0.9)
    assert found[0].severity == "error" and "exploding" in found[0].title
    assert status == "diverged"  # the run stopped itself (the message is checked below)


def test_a_run_whose_losses_explode_stops_itself_with_a_message_and_keeps_its_last_good_checkpoint(tmp_path):
    config = make_config("toy", "ring", **PLAIN_TOY, loss="wasserstein", lr_d=1e-2, lr_g=1e-2, beta1=0.9,
                         eval_samples=0)
    events = []

    class Events(trainer.Reporter):
        def event(self, level, text):
            events.append((level, text))

    status, message = trainer.train(config, tmp_path, Events())
    assert status == "diverged" and "stopped itself" in message and "exploding" in message
    assert events[-1] == ("error", message) and "Lower the learning rates" in message
    stopped_at = int(message.split("stopped itself at step ")[1].split(";")[0])
    kept = sorted(int(p.stem.split("_")[1]) for p in (tmp_path / "checkpoints").glob("step_*.pt"))
    assert kept and kept[-1] < stopped_at and f"checkpoint of step {kept[-1]}" in message


def test_real_run_that_loses_modes():
    found, _ = steered(evaluate=True, lr_d=1e-3, lr_g=1e-3, width=64, batch_size=256, max_steps=800,
                       checkpoint_every=100)
    assert "Mode collapse: modes lost" in titles(found)


def test_real_run_that_oscillates_without_progress():
    # both nets at 20x the toy recipe's rate with Adam's heavy momentum (beta1 0.9): they overpower each
    # other in turn while the samples go nowhere
    found, _ = steered(evaluate=True, lr_d=1e-2, lr_g=1e-2, beta1=0.9, width=64, max_steps=800, checkpoint_every=50)
    (finding,) = [f for f in found if f.title == "Oscillation without progress"]
    assert finding.severity == "warning" and "swung" in finding.evidence and "did not improve" in finding.evidence
    assert "Lower both learning rates" in finding.advice and "beta1" in finding.advice


def test_real_run_whose_generator_stopped_improving():
    found, _ = steered(evaluate=True, lr_g=1e-8, lr_d=2e-4, max_steps=400)  # G barely moves: quality stays flat
    assert "The generator stopped improving" in titles(found)
    assert "The discriminator wins outright" not in titles(found)


def test_a_2d_mixture_is_judged_by_its_high_quality_share_not_a_frechet_distance_near_zero():
    """A healthy toy run at the top (all modes, 95% high quality) whose Fréchet distance in the plane
    wobbles between 0.004 and 0.01 got no 'worse' finding; small hq wobbles are sampling noise too."""
    history = healthy()
    history["frechet"] = series([0.5, 0.02, 0.004, 0.006, 0.008, 0.01, 0.009], every=1000)
    history["hq_percent"] = series([20, 90, 95, 96, 95.5, 95, 95.2], every=1000)
    history["modes"], history["modes_total"] = series([25] * 7, every=1000), series([25] * 7, every=1000)
    assert diagnose.diagnose(history) == []
    history["hq_percent"] = series([0.0, 2.0, 2.8, 2.0, 1.8, 2.2, 2.0], every=1000)  # flat and far from the data
    history["modes"] = series([0, 3, 3, 2, 3, 3, 2], every=1000)
    assert "The generator stopped improving" in titles(diagnose.diagnose(history))
    assert "The generator got worse" not in titles(diagnose.diagnose(history))  # 2.8 -> 2.2 is a point of noise
