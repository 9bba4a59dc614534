"""What the page tests share: AppTest on the real app, real short runs, and stores made of them."""

import os

import pytest
from streamlit.testing.v1 import AppTest

from gandash.runs import jobs, worker
from gandash.runs.store import Store
from gandash.variants import configure

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
APP = os.path.join(ROOT, "streamlit_app.py")


def app(page: str | None = None, **query) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=60)
    for key, value in query.items():
        at.query_params[key] = value
    at.run()
    if page:
        at.switch_page(page)
        at.run()
    return at


def train_foreground(variant: str, dataset: str, **settings) -> str:
    """A real short run, trained in this process and recorded in the store like any job."""
    store = Store()
    run_id = jobs.create(configure.make_config(variant, dataset, **settings), store, foreground=True)
    worker.run(store.run(run_id)["run_dir"], store)
    return run_id


def make_runs() -> tuple[str, str]:
    toy = train_foreground("toy", "ring", max_steps=60, sample_every=20, log_every=5)
    image = train_foreground(
        "dcgan", "fashion-mnist", max_steps=6, width=8, batch_size=16, sample_every=3, checkpoint_every=3, log_every=1
    )
    return toy, image


@pytest.fixture(scope="session")
def shared_runs(tmp_path_factory):
    """Real short runs made once for the tests that only look at them."""
    from tests.conftest import make_fashion_files

    root = tmp_path_factory.mktemp("shared") / "gandash-home"
    # only while the runs are made: each test that uses them points GANDASH_HOME here itself, and the
    # tests that run later in the session must see their own home (with the real Fashion-MNIST)
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("GANDASH_HOME", str(root))
        make_fashion_files(root / "data" / "fashion-mnist")
        runs = make_runs()
    return None, root, runs


@pytest.fixture
def populated(shared_runs, monkeypatch):
    _, root, runs = shared_runs
    monkeypatch.setenv("GANDASH_HOME", str(root))
    (root / "ui-settings.json").unlink(missing_ok=True)  # page settings saved by an earlier test
    return runs


@pytest.fixture
def populated_fresh(tiny_fashion):
    """Runs of this test's own, for tests that change or break them."""
    return make_runs()
