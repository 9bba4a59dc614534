"""gandash.paths.atomic_write_bytes under the conditions that broke it: many writers of one file at once
(the UI settings file, the gallery's picture cache), and writes that fail part-way (a full disk)."""

import os
import resource
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from gandash.core import paths
from gandash.core.errors import GandashError, StorageError

ROOT = Path(__file__).resolve().parents[1]


def test_six_threads_writing_one_file_never_tear_a_read(tmp_path):
    target = tmp_path / "settings.json"
    payloads = [bytes([65 + i]) * (200_000 + 1000 * i) for i in range(6)]  # each whole file is one letter
    target.write_bytes(payloads[0])
    errors, torn, reads = [], [], [0]
    stop = threading.Event()

    def write(payload):
        try:
            for _ in range(150):
                paths.atomic_write_bytes(target, payload)
        except Exception as exc:  # noqa: BLE001 - any failure of a writer fails the test
            errors.append(exc)

    def read():
        while not stop.is_set():
            data = target.read_bytes()
            reads[0] += 1
            if data not in payloads:
                torn.append(len(data))

    readers = [threading.Thread(target=read) for _ in range(2)]
    writers = [threading.Thread(target=write, args=(p,)) for p in payloads]
    for thread in readers + writers:
        thread.start()
    for thread in writers:
        thread.join()
    stop.set()
    for thread in readers:
        thread.join()
    assert not errors and not torn and reads[0] > 100
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(".tmp")]


def test_a_failed_write_leaves_no_temp_file_and_the_old_file_whole(tmp_path):
    target = tmp_path / "weights.pt"
    target.write_bytes(b"old" * 1000)
    with pytest.raises(TypeError):
        paths.atomic_write_bytes(target, "not bytes")  # fails inside the write
    assert target.read_bytes() == b"old" * 1000 and sorted(os.listdir(tmp_path)) == ["weights.pt"]


def test_a_file_size_limit_is_a_storage_error_naming_the_file_and_the_free_space(tmp_path):
    target = tmp_path / "big.bin"
    target.write_bytes(b"old")
    code = (
        "import sys, signal; signal.signal(signal.SIGXFSZ, signal.SIG_IGN)\n"
        "from gandash.core import paths\n"
        "try:\n    paths.atomic_write_bytes(paths.Path(sys.argv[1]), b'x' * 200_000)\n"
        "except paths.StorageError as exc:\n    print(exc)\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code, str(target)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        preexec_fn=lambda: resource.setrlimit(resource.RLIMIT_FSIZE, (50_000, 50_000)),
        timeout=60,
    )
    assert "could not write big.bin" in result.stdout and "file-size limit" in result.stdout
    assert "free on that disk" in result.stdout and result.stderr == ""
    assert target.read_bytes() == b"old" and sorted(os.listdir(tmp_path)) == ["big.bin"]


def test_an_unwritable_folder_is_a_storage_error_that_is_also_an_os_error(tmp_path):
    missing = tmp_path / "no-such-folder" / "file.bin"
    with pytest.raises(StorageError, match="could not write file.bin") as caught:
        paths.atomic_write_bytes(missing, b"x")
    assert isinstance(caught.value, GandashError) and isinstance(caught.value, OSError)
