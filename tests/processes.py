"""What the tests of real processes share: the CLI run as a subprocess, and waiting for a condition."""

import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def cli(*args, check: bool = True, timeout: float = 180) -> subprocess.CompletedProcess:
    """`python -m gandash ARGS` in the project folder, with this test's environment (GANDASH_HOME ...)."""
    result = subprocess.run(
        [sys.executable, "-m", "gandash", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=timeout,
        env=dict(os.environ),
    )
    if check:
        assert result.returncode == 0, result.stderr
    return result


def wait_for(predicate, timeout: float = 90, what: str = "condition", every: float = 0.1):
    """Poll until `predicate()` is truthy and return its value; fail the test after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(every)
    raise AssertionError(f"timed out waiting for {what}")
