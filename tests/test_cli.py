"""The command line's shape: every command has a handler, light commands start without torch, the
worker takes its run's lease before torch, and progress goes to stderr while stdout holds the result."""

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
from PIL import Image

from gandash import data
from gandash.__main__ import main
from gandash.cli import build_parser
from gandash.runs import lease

ROOT = Path(__file__).resolve().parents[1]


def in_fresh_python(code: str, home: Path) -> str:
    """stdout of `code` in a new interpreter (this one has imported torch long ago)."""
    result = subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        env=dict(os.environ, GANDASH_HOME=str(home)),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout


def test_every_command_has_a_handler_and_the_worker_is_not_listed():
    commands = build_parser()._subparsers._group_actions[0]
    assert all(callable(parser.get_default("func")) for parser in commands.choices.values())
    assert {"train", "runs", "worker", "sample", "eval", "deblur", "upscale", "app"} <= set(commands.choices)
    listed = build_parser().format_help()
    assert "worker" not in listed and "SUPPRESS" not in listed and "train-kernel-estimator" in listed


def test_listing_runs_does_not_import_torch(tmp_path):
    shown = in_fresh_python(
        "import sys; from gandash.__main__ import main; main(['runs']); print('torch' in sys.modules)", tmp_path
    )
    assert shown.splitlines() == [
        "no runs yet: try `python -m gandash train --variant toy --dataset ring --max-minutes 1`",
        "False",
    ]


def test_a_second_worker_leaves_a_leased_run_before_importing_torch(tmp_path):
    run_dir = tmp_path / "run"
    run_dir.mkdir()
    with lease.acquire(run_dir):
        code = (
            "import functools, sys; from gandash.runs import lease; from gandash.cli import main; "
            "lease.acquire = functools.partial(lease.acquire, wait=0.1); "  # not the 10 s a real worker waits
            f"print(main(['worker', {str(run_dir)!r}]), 'torch' in sys.modules)"
        )
        assert in_fresh_python(code, tmp_path).split() == ["3", "False"]


def test_a_photo_command_prints_its_result_on_stdout_and_its_progress_on_stderr(tmp_path, capsys):
    Image.fromarray(data.photo("coffee")[:64, :96]).save(tmp_path / "small.png")
    assert main(["upscale", str(tmp_path / "small.png"), "--out", str(tmp_path / "big.png")]) == 0
    out, err = capsys.readouterr()
    assert len(out.splitlines()) == 1 and out.startswith(f"wrote {tmp_path / 'big.png'} (96x64 -> 384x256, ")
    assert "100%|" in err and "\r" not in out
    assert np.asarray(Image.open(tmp_path / "big.png")).shape == (256, 384, 3)


def test_upscale_help_offers_the_adversarial_demo_by_the_name_it_takes(tmp_path, capsys):
    upscale = build_parser()._subparsers._group_actions[0].choices["upscale"]
    said = " ".join(upscale.format_help().split())
    assert "demo:srgan-photos-gan gives the sharper adversarial look" in said, said
    Image.fromarray(data.photo("coffee")[:32, :48]).save(tmp_path / "small.png")
    model = ["--model", "demo:srgan-photos-gan"]
    assert main(["upscale", str(tmp_path / "small.png"), "--out", str(tmp_path / "big.png"), *model]) == 0
    assert "SRGAN demo srgan-photos-gan" in capsys.readouterr().out
