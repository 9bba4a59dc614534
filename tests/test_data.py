import gzip
import pickle

import numpy as np
import pytest
import torch
from PIL import Image

from gandash import data
from gandash.core.errors import GandashError
from tests.conftest import make_fashion_files, write_idx


def test_idx_parsing_of_gzipped_and_raw_files(tmp_path):
    array = np.arange(2 * 3 * 4, dtype=np.uint8).reshape(2, 3, 4)
    write_idx(tmp_path / "a.gz", array)
    write_idx(tmp_path / "b", array, compress=False)
    assert np.array_equal(data.read_idx(tmp_path / "a.gz"), array)
    assert np.array_equal(data.read_idx(tmp_path / "b"), array)


def test_truncated_or_foreign_idx_files_get_clear_messages(tmp_path):
    write_idx(tmp_path / "t", np.zeros((10, 28, 28)), compress=False)
    raw = (tmp_path / "t").read_bytes()
    (tmp_path / "t").write_bytes(raw[:-100])
    with pytest.raises(GandashError, match="truncated or corrupt"):
        data.read_idx(tmp_path / "t")
    (tmp_path / "p.gz").write_bytes(gzip.compress(b"<html>not idx</html>"))
    with pytest.raises(GandashError, match="not an IDX file"):
        data.read_idx(tmp_path / "p.gz")


def test_fashion_mnist_is_found_in_gandash_home_and_scaled(tiny_fashion):
    images, labels = tiny_fashion
    dataset = data.load("fashion-mnist")
    assert dataset.images.shape == (256, 1, 28, 28) and dataset.images.dtype == torch.uint8
    assert torch.equal(dataset.labels, torch.from_numpy(labels.astype(np.int64)))
    batch = dataset.batch(torch.arange(8), torch.device("cpu"))
    assert batch.dtype == torch.float32 and batch.min() >= -1 and batch.max() <= 1
    assert torch.allclose(batch[0, 0], torch.from_numpy(images[0]).float() / 127.5 - 1)
    bigger = data.load("fashion-mnist", image_size=64, channels=3)
    assert bigger.images.shape == (256, 3, 64, 64)


def test_data_dir_and_torchvision_layout_come_first(home, tmp_path):
    make_fashion_files(tmp_path / "tv" / "FashionMNIST" / "raw", n=40)
    assert len(data.load("fashion-mnist", data_dir=str(tmp_path / "tv"))) == 40
    make_fashion_files(tmp_path / "flat", n=30)
    assert len(data.load("fashion-mnist", data_dir=str(tmp_path / "flat"))) == 30


def test_missing_dataset_says_how_to_get_it(home, monkeypatch, tmp_path):
    from gandash.data import files

    monkeypatch.setattr(files, "DEBIAN_ROOT", tmp_path / "no-debian")  # where the files are looked for
    with pytest.raises(GandashError) as caught:
        data.load("mnist")
    assert "apt-get install dataset-fashion-mnist" in str(caught.value)
    assert str(home / "data" / "mnist") in str(caught.value)
    assert not data.is_present("mnist")
    with pytest.raises(GandashError, match="cifar-10-batches-py"):
        data.load("cifar10")


@pytest.mark.skipif(not data.DEBIAN_ROOT.joinpath("fashion-mnist").is_dir(), reason="Debian's dataset not installed")
def test_the_real_fashion_mnist_from_debian(home):
    dataset = data.load("fashion-mnist")
    assert dataset.images.shape == (60000, 1, 28, 28)
    assert sorted(torch.bincount(dataset.labels).tolist()) == [6000] * 10


def test_cifar10_from_a_torchvision_root_and_a_planted_pickle_is_refused(home, tmp_path):
    folder = tmp_path / "cifar-10-batches-py"
    folder.mkdir()
    for part in range(1, 6):
        batch = {b"data": np.full((4, 3072), part, dtype=np.uint8), b"labels": [0, 1, 2, part]}
        (folder / f"data_batch_{part}").write_bytes(pickle.dumps(batch))
    dataset = data.load("cifar10", data_dir=str(tmp_path))
    assert dataset.images.shape == (20, 3, 32, 32) and dataset.labels.tolist()[-1] == 5

    class Evil:
        def __reduce__(self):
            return (print, ("pwned",))

    (folder / "data_batch_1").write_bytes(pickle.dumps({b"data": Evil()}))
    with pytest.raises(GandashError, match="refusing to load builtins.print"):
        data.load("cifar10", data_dir=str(tmp_path))


def test_image_folder_with_classes_broken_files_and_mixed_sizes(tmp_path, home):
    for index, (klass, size, colour) in enumerate(
        [("cats", (40, 30), "red"), ("cats", (64, 64), "red"), ("dogs", (100, 20), "blue"), ("dogs", (33, 33), "blue")]
    ):
        (tmp_path / klass).mkdir(exist_ok=True)
        Image.new("RGB", size, colour).save(tmp_path / klass / f"{index}.png")
    (tmp_path / "dogs" / "broken.jpg").write_bytes(b"this is not a jpeg")
    dataset = data.load(f"folder:{tmp_path}", image_size=16, channels=3)
    assert dataset.images.shape == (4, 3, 16, 16)
    assert dataset.labels.tolist() == [0, 0, 1, 1]
    assert data.info(f"folder:{tmp_path}").class_names == ("cats", "dogs")
    assert dataset.images[0, 0].float().mean() > 200 and dataset.images[2, 2].float().mean() > 200


def test_a_folder_without_images_is_refused(tmp_path):
    (tmp_path / "notes.txt").write_text("hello")
    with pytest.raises(GandashError, match="holds 0 readable image"):
        data.load(f"folder:{tmp_path}", image_size=16, channels=3)
    with pytest.raises(GandashError, match="does not exist"):
        data.load(f"folder:{tmp_path / 'missing'}", image_size=16, channels=3)


@pytest.mark.parametrize("name, modes", [("ring", 8), ("grid", 25)])
def test_toy_mixtures_match_their_definition(name, modes):
    dataset = data.load(name, seed=3)
    means = torch.tensor(data.CATALOGUE[name].modes)
    assert dataset.points.shape == (data.TOY_POOL, 2) and len(means) == modes
    nearest = torch.cdist(dataset.points, means).min(1)
    assert nearest.values.max() < 0.02 * 6  # every point within 6 sigma of a mode
    assert len(torch.unique(nearest.indices)) == modes
    if name == "ring":
        assert torch.allclose(means.norm(dim=1), torch.full((8,), 2.0))
    assert torch.equal(data.load(name, seed=3).points, dataset.points)


def test_spiral_and_moons_are_2d():
    for name in ("spiral", "moons"):
        points = data.load(name).points
        assert points.shape == (data.TOY_POOL, 2) and torch.isfinite(points).all()


def test_user_points_from_npy_and_csv_and_bad_files(tmp_path):
    array = np.random.default_rng(0).normal(size=(50, 2))
    np.save(tmp_path / "p.npy", array)
    np.savetxt(tmp_path / "p.csv", array, delimiter=",", header="x,y", comments="")
    assert np.allclose(data.load(f"points:{tmp_path / 'p.npy'}").points.numpy(), array, atol=1e-6)
    assert np.allclose(data.load(f"points:{tmp_path / 'p.csv'}").points.numpy(), array, atol=1e-6)
    np.save(tmp_path / "three.npy", np.zeros((20, 3)))
    with pytest.raises(GandashError, match=r"points must be \(N, 2\)"):
        data.load(f"points:{tmp_path / 'three.npy'}")
    (tmp_path / "words.csv").write_text("a,b\nhello,world\n")
    with pytest.raises(GandashError, match="could not be read as 2D points"):
        data.load(f"points:{tmp_path / 'words.csv'}")
    with pytest.raises(GandashError, match="does not exist"):
        data.load(f"points:{tmp_path / 'missing.npy'}")


def test_pairs_and_domains_are_present_when_the_set_they_are_made_from_is(tiny_fashion, tmp_path):
    assert data.is_present("blurred:photos") and data.is_present("lowres:fashion-mnist")
    assert data.is_present("domains:fashion-mnist:7,5")
    assert not data.is_present("blurred:cifar10") and not data.is_present(f"lowres:folder:{tmp_path / 'none'}")
