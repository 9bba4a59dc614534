import os

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")  # as gandash/__init__.py, before any test imports torch

import gzip
import struct

import numpy as np
import pytest


def pytest_configure(config):
    """The suite runs on two pytest-xdist workers side by side (the CI box has two cores): each test
    process computes on one thread, so two of them do not fight over the cores. Workers that a test
    starts as jobs choose their own threads, as in real use."""
    if os.environ.get("PYTEST_XDIST_WORKER"):
        import torch

        torch.set_num_threads(1)


def write_idx(path, array: np.ndarray, compress: bool = True) -> None:
    """Write an IDX file of unsigned bytes, the format of the MNIST family."""
    header = bytes([0, 0, 0x08, array.ndim]) + b"".join(struct.pack(">I", d) for d in array.shape)
    payload = header + array.astype(np.uint8).tobytes()
    opener = gzip.open if compress else open
    with opener(path, "wb") as handle:
        handle.write(payload)


def make_fashion_files(folder, n: int = 256, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """A small Fashion-MNIST-shaped IDX set: each class a bright square at its own place."""
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, 10, n).astype(np.uint8)
    images = rng.integers(0, 30, (n, 28, 28)).astype(np.uint8)
    for i, label in enumerate(labels):
        row, col = divmod(int(label), 5)
        images[i, 2 + row * 12 : 12 + row * 12, 1 + col * 5 : 5 + col * 5] = 220
    folder.mkdir(parents=True, exist_ok=True)
    write_idx(folder / "train-images-idx3-ubyte.gz", images)
    write_idx(folder / "train-labels-idx1-ubyte.gz", labels)
    return images, labels


@pytest.fixture
def one_thread():
    """Torch on one thread for the test: tiny nets gain nothing from two, the worker trains them on one
    (device.cpu_threads), and two threads waiting for each other on a shared 2-core machine once made a
    run 15x slower. Files that build or train nets use it: pytestmark = pytest.mark.usefixtures("one_thread")."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture
def home(tmp_path_factory, monkeypatch):
    """A fresh GANDASH_HOME for each test, beside its tmp_path (not in it: a test's image folder there
    must not gain a sub-folder of caches)."""
    root = tmp_path_factory.mktemp("gandash-home")
    monkeypatch.setenv("GANDASH_HOME", str(root))
    return root


@pytest.fixture
def tiny_fashion(home):
    """A 256-image fashion-mnist in GANDASH_HOME/data, found before Debian's full copy."""
    return make_fashion_files(home / "data" / "fashion-mnist")
