"""The Train page's step-time estimate: every kind of variant timed through its real trainer on random data
of the config's shape, and the speed of earlier runs of the same shape read from a real store."""

import time

import pytest

from gandash.runs import history
from gandash.runs.store import Store
from gandash.variants import estimate
from gandash.variants.configure import make_config

KINDS = [
    ("toy", "ring", {}),
    ("dcgan", "fashion-mnist", {}),
    ("cgan", "fashion-mnist", {}),
    ("deblur", "blurred:photos", {"image_size": 32}),
    ("srgan", "lowres:fashion-mnist", {"image_size": 16}),
    ("discogan", "domains:fashion-mnist:7,5", {"image_size": 16}),
    ("infogan", "fashion-mnist", {}),
]


@pytest.mark.parametrize("variant, dataset, settings", KINDS, ids=[k[0] for k in KINDS])
def test_every_kind_of_variant_is_timed_by_its_real_step(tiny_fashion, variant, dataset, settings):
    config = make_config(variant, dataset, width=8, batch_size=4, **settings)
    rows = estimate.random_dataset(config)
    assert len(rows) >= 8 and (rows.points is not None) == (variant == "toy")
    seconds = estimate.by_timing(config, steps=1)
    assert 0 < seconds < 60


def test_earlier_runs_of_the_same_shape_give_the_measured_speed(home):
    store = Store()
    config = make_config("toy", "ring", batch_size=100)
    other = make_config("toy", "ring", batch_size=50)
    for run_id, cfg, rate in (("same", config, 2000.0), ("other", other, 10.0)):
        store.create_run(run_id, cfg.__dict__, home / run_id, "completed", "cpu", 10)
        store.write_batch(run_id, [(step, "images_per_sec", rate, time.time()) for step in range(1, 6)], [], [], {})
    assert history.step_seconds(config, store) == pytest.approx(100 / 2000)
    assert history.step_seconds(make_config("toy", "ring", batch_size=7), store) is None
