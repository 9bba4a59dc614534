"""The on-disk cache of folder: datasets (gandash.data.cache), tested on real PNG folders and real memory maps."""

import json
import os
import threading
import warnings
from collections import namedtuple
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from gandash import data
from gandash.core import images as image_io
from gandash.core.errors import GandashError
from gandash.data import cache
from gandash.data.readers import read_folder


def make_folder(root: Path, n: int = 12, classes: tuple[str, ...] = (), side: int = 24, seed: int = 0) -> Path:
    """n noise PNGs of mixed shapes, spread over `classes` sub-folders when given."""
    rng = np.random.default_rng(seed)
    for i in range(n):
        where = root / classes[i % len(classes)] if classes else root
        where.mkdir(parents=True, exist_ok=True)
        shape = (side + i % 5, side + (i * 3) % 7, 3)
        Image.fromarray(rng.integers(0, 256, shape, dtype=np.uint8)).save(where / f"{i:03d}.png")
    return root


@pytest.fixture
def reads(monkeypatch):
    """Counts the images decoded (every decode goes through core.images.load_square)."""
    calls = []
    original = image_io.load_square

    def counting(path, size, channels):
        calls.append(Path(path).name)
        return original(path, size, channels)

    monkeypatch.setattr(image_io, "load_square", counting)
    return calls


def test_the_cache_holds_what_read_folder_reads_with_sub_folder_labels(home, tmp_path):
    folder = make_folder(tmp_path / "photos", n=9, classes=("cats", "dogs", "owls"))
    for size, channels in ((16, 3), (12, 1)):
        images, labels, unreadable = cache.load_folder(folder, size, channels)
        expected, expected_labels = read_folder(folder, size, channels)
        assert images.dtype == torch.uint8 and images.shape == (9, channels, size, size)
        assert np.array_equal(images.numpy(), expected) and np.array_equal(labels.numpy(), expected_labels)
        assert labels.tolist() == [0, 0, 0, 1, 1, 1, 2, 2, 2] and unreadable == []
    caches = sorted(p.parent for p in (home / "cache" / "folders").glob("*/manifest.json"))
    assert [p.name.split("-")[0] for p in caches] == ["photos", "photos"]  # one per (size, channels)
    dataset = data.load(f"folder:{folder}", image_size=16, channels=3)
    assert dataset.labels.dtype == torch.int64 and dataset.extra["memory_mapped"]


def test_a_second_load_decodes_nothing(home, tmp_path, reads):
    folder = make_folder(tmp_path / "photos")
    first, _, _ = cache.load_folder(folder, 16, 3)
    assert len(reads) == 12
    inode = (cache.cache_dir(folder, 16, 3) / "images.npy").stat().st_ino
    second, labels, _ = cache.load_folder(folder, 16, 3)
    assert len(reads) == 12 and labels is None
    assert (cache.cache_dir(folder, 16, 3) / "images.npy").stat().st_ino == inode
    assert torch.equal(first, second)


@pytest.mark.parametrize("change", ["add", "remove", "modify"])
def test_a_changed_folder_is_cached_again(home, tmp_path, reads, change):
    folder = make_folder(tmp_path / "photos")
    cache.load_folder(folder, 16, 3)
    target = folder / "005.png"
    if change == "add":
        Image.new("RGB", (30, 30), "red").save(folder / "new.png")
    elif change == "remove":
        target.unlink()
    else:
        stat = target.stat()
        Image.new("RGB", (30, 30), "red").save(target)
        os.utime(target, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000_000))  # a coarse clock would miss it
    reads.clear()
    images, _, _ = cache.load_folder(folder, 16, 3)
    assert len(reads) == {"add": 13, "remove": 11, "modify": 12}[change]
    assert np.array_equal(images.numpy(), read_folder(folder, 16, 3)[0])


def test_a_build_that_dies_midway_leaves_nothing_that_is_used(home, tmp_path, monkeypatch, reads):
    folder = make_folder(tmp_path / "photos")
    counting = image_io.load_square

    class Killed(BaseException):  # as a Ctrl-C would stop it: not a GandashError, not even an Exception
        pass

    def dies_at_the_fifth(path, size, channels):
        if len(reads) == 4:
            raise Killed
        return counting(path, size, channels)

    monkeypatch.setattr(image_io, "load_square", dies_at_the_fifth)
    with pytest.raises(Killed):
        cache.load_folder(folder, 16, 3)
    where = cache.cache_dir(folder, 16, 3)
    assert sorted(p.name for p in where.iterdir()) == [".lock"]  # no manifest, no array, no temp file
    monkeypatch.setattr(image_io, "load_square", counting)
    reads.clear()
    images, _, _ = cache.load_folder(folder, 16, 3)
    assert len(reads) == 12 and np.array_equal(images.numpy(), read_folder(folder, 16, 3)[0])


def test_a_killed_build_or_a_damaged_cache_is_built_again(home, tmp_path, reads):
    folder = make_folder(tmp_path / "photos")
    cache.load_folder(folder, 16, 3)
    where = cache.cache_dir(folder, 16, 3)
    # kill -9 after the array's rename, before the manifest's: an array and a temp file, no manifest
    (where / "manifest.json").unlink()
    (where / ".images.x1.npy.tmp").write_bytes(b"half")
    reads.clear()
    images, _, _ = cache.load_folder(folder, 16, 3)
    assert len(reads) == 12 and not list(where.glob("*.tmp"))
    # a manifest whose array was cut short
    with open(where / "images.npy", "r+b") as handle:
        handle.truncate(1000)
    reads.clear()
    images, _, _ = cache.load_folder(folder, 16, 3)
    assert len(reads) == 12 and np.array_equal(images.numpy(), read_folder(folder, 16, 3)[0])


def test_unreadable_files_are_skipped_and_named(home, tmp_path, capsys):
    folder = make_folder(tmp_path / "photos", n=6, classes=("a", "b"))
    (folder / "b" / "broken.jpg").write_bytes(b"this is not a jpeg")
    (folder / "empty.png").write_bytes(b"")
    dataset = data.load(f"folder:{folder}", image_size=16, channels=3)
    assert dataset.extra["unreadable"] == ["b/broken.jpg", "empty.png"]
    assert len(dataset) == 6 and dataset.labels.tolist() == [0, 0, 0, 1, 1, 1]
    assert "b/broken.jpg" in capsys.readouterr().err
    manifest = json.loads((cache.cache_dir(folder, 16, 3) / "manifest.json").read_text())
    assert manifest["unreadable"] == ["b/broken.jpg", "empty.png"] and manifest["rows"] == 6
    assert np.array_equal(dataset.images.numpy(), read_folder(folder, 16, 3)[0])


def test_too_few_readable_images_are_refused_and_not_cached(home, tmp_path):
    folder = tmp_path / "photos"
    folder.mkdir()
    Image.new("RGB", (20, 20), "red").save(folder / "one.png")
    (folder / "two.png").write_bytes(b"junk")
    with pytest.raises(GandashError, match=r"holds 1 readable image\(s\).*two.png"):
        data.load(f"folder:{folder}", image_size=16, channels=3)
    assert not (cache.cache_dir(folder, 16, 3) / "manifest.json").exists()


def test_a_disk_without_room_is_refused_before_building(home, tmp_path, monkeypatch, reads):
    folder = make_folder(tmp_path / "photos")
    usage = namedtuple("usage", "total used free")
    monkeypatch.setattr(cache.shutil, "disk_usage", lambda path: usage(10**9, 10**9 - 4096, 4096))
    with pytest.raises(GandashError, match=r"needs 64 MB .* only 0 MB are free.*GANDASH_HOME"):
        cache.load_folder(folder, 16, 3)
    assert reads == [] and not (cache.cache_dir(folder, 16, 3) / "images.npy").exists()


def test_batches_from_the_cache_are_the_batches_from_memory(home, tmp_path):
    folder = make_folder(tmp_path / "photos", n=20)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # torch's "not writable" warning among them
        cached = data.load(f"folder:{folder}", image_size=16, channels=3)
    in_memory = data.Dataset(cached.info, images=torch.from_numpy(read_folder(folder, 16, 3)[0]))
    for index in torch.randperm(20, generator=torch.Generator().manual_seed(0)).split(8):
        a = cached.batch(index, torch.device("cpu"))
        b = in_memory.batch(index, torch.device("cpu"))
        assert a.dtype == torch.float32 and torch.equal(a, b)
    assert torch.equal(
        cached.batch(torch.arange(4), torch.device("cpu"), channels_last=True),
        in_memory.batch(torch.arange(4), torch.device("cpu"), channels_last=True),
    )


def _mapping_of(address: int) -> tuple[str, str, int, int]:
    """(file, permissions, size in kB, resident kB) of the memory mapping that holds `address`, from
    /proc/self/smaps."""
    lines = Path("/proc/self/smaps").read_text().splitlines()
    for i, line in enumerate(lines):
        head = line.split()
        if "-" not in head[0] or len(head) < 5:
            continue
        start, end = (int(x, 16) for x in head[0].split("-"))
        if start <= address < end:
            fields = {}
            for detail in lines[i + 1 :]:
                key, _, value = detail.partition(":")
                if " " in key or not value.strip().endswith("kB"):
                    break
                fields[key] = int(value.split()[0])
            return (head[5] if len(head) > 5 else ""), head[1], fields["Size"], fields["Rss"]
    raise AssertionError(f"no mapping holds {address:#x}")


@pytest.mark.skipif(not Path("/proc/self/smaps").exists(), reason="needs Linux's /proc")
def test_the_images_are_mapped_from_the_cache_file_and_read_by_the_row(home, tmp_path):
    folder = make_folder(tmp_path / "photos", n=96, side=64)
    dataset = data.load(f"folder:{folder}", image_size=64, channels=3)  # 96 x 12 kB: 1.1 MB on disk
    file, permissions, size_kb, resident_kb = _mapping_of(dataset.images.data_ptr())
    assert file == str(cache.cache_dir(folder, 64, 3) / "images.npy")
    assert permissions.startswith("r-")  # read-only: a stray write faults instead of changing the cache
    assert size_kb >= 96 * 12 and resident_kb < 64
    dataset.batch(torch.tensor([3, 70]), torch.device("cpu"))
    # two rows, and the pages the kernel maps around each fault (fault-around: 64 kB), not the whole file
    assert _mapping_of(dataset.images.data_ptr())[3] < size_kb / 3


def test_processes_loading_at_once_build_once(home, tmp_path, reads):
    folder = make_folder(tmp_path / "photos")
    results, errors = [], []

    def load():
        try:
            results.append(cache.load_folder(folder, 16, 3)[0])
        except BaseException as exc:  # surfaced below: a thread's exception is otherwise only printed
            errors.append(exc)

    threads = [threading.Thread(target=load) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == [] and len(reads) == 12  # flock locks per open file: threads wait for each other too
    assert all(torch.equal(results[0], other) for other in results[1:])
