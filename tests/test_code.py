"""The code's own rules, checked like behaviour: the one-way imports between packages (import-linter's
contract in pyproject.toml), lint and format (ruff)."""

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SOURCES = ["gandash", "tests", "bench", "app_pages", "streamlit_app.py"]


def tool(name: str) -> str:
    found = shutil.which(name, path=str(Path(sys.executable).parent))
    if found is None:
        pytest.fail(f"{name} is not installed beside this Python (requirements-dev.txt installs it)")
    return found


def run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(args, cwd=ROOT, capture_output=True, text=True, timeout=300)


def test_imports_flow_one_way():
    result = run(tool("lint-imports"), "--no-cache")
    assert result.returncode == 0, result.stdout[-4000:]


def test_ruff_finds_nothing_to_fix():
    result = run(tool("ruff"), "check", *SOURCES)
    assert result.returncode == 0, result.stdout[-4000:]


def test_the_code_is_formatted():
    result = run(tool("ruff"), "format", "--check", *SOURCES)
    assert result.returncode == 0, result.stdout[-4000:]
