"""Record the real metric histories that tests/test_diagnose.py checks the detectors on.

Runs each tiny toy run that tests/test_diagnose.py steers into a failure (its STEERED settings, through
its `steered`, so exactly what the live test runs) and saves what the trainer logged, with the
checkpoint evaluations, as tests/data/diagnose/NAME.json, noting the seed, thread count, CPU and torch
that produced it. A GAN's trajectory is chaotic (the CPU's float path, the seed and the thread count each
send it elsewhere), so a fixture is one real history, frozen: the detectors' exact verdicts are tested on
it. A run whose diagnosis at the end lacks the finding it was steered into is not written; try another
--seed.

    PYTHONPATH=. .venv/bin/python bench/record_diagnose_fixtures.py                  # all, seed 0, 1 thread
    PYTHONPATH=. .venv/bin/python bench/record_diagnose_fixtures.py oscillation --seed 3
    PYTHONPATH=. .venv/bin/python bench/record_diagnose_fixtures.py --dry-run         # diagnose, write nothing
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import sys
import time
from pathlib import Path


def cpu_name() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def fixture_text(saved: dict) -> str:
    """JSON with one metric's rows per line: small enough to read and to diff."""
    head = {key: value for key, value in saved.items() if key != "history"}
    lines = [f"  {json.dumps(key)}: {json.dumps(value)}," for key, value in head.items()]
    rows = [f"    {json.dumps(name)}: {json.dumps(values)}" for name, values in saved["history"].items()]
    return "{\n" + "\n".join(lines) + '\n  "history": {\n' + ",\n".join(rows) + "\n  }\n}\n"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("names", nargs="*", help="fixtures to record (default: all of STEERED)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--dry-run", action="store_true", help="run and diagnose, write nothing")
    args = parser.parse_args()
    # the test module reads these when imported: set them first, so its runs are the ones recorded
    os.environ["GANDASH_TEST_SEED"], os.environ["GANDASH_TEST_THREADS"] = str(args.seed), str(args.threads)
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")  # as gandash/__init__.py does, before torch starts OpenMP
    import torch

    from gandash.core.paths import atomic_write_bytes
    from tests import test_diagnose as t

    torch.set_num_threads(args.threads)
    unknown = sorted(set(args.names) - set(t.STEERED))
    if unknown:
        parser.error(f"unknown fixture(s) {', '.join(unknown)}; known: {', '.join(t.STEERED)}")
    failed = 0
    for name in args.names or list(t.STEERED):
        steering = t.STEERED[name]
        started = time.perf_counter()
        run = t.steered(name)
        found = run.findings
        ok = steering.title in t.titles(found)
        print(
            f"{name}: seed {args.seed}, {args.threads} thread(s), {time.perf_counter() - started:.1f} s, "
            f"{run.status}; findings: {'; '.join(t.titles(found)) or 'none'}"
        )
        if not ok:
            print(f"  not written: '{steering.title}' is not among the findings at the end; try another --seed")
            failed += 1
            continue
        saved = {
            "title": steering.title,
            "settings": steering.settings,
            "evaluate": steering.evaluate,
            "recorded": {
                "seed": args.seed,
                "threads": args.threads,
                "cpu": cpu_name(),
                "cpu_capability": torch.backends.cpu.get_cpu_capability(),
                "float_path_env": {
                    key: os.environ[key]
                    for key in ("ATEN_CPU_CAPABILITY", "MKL_ENABLE_INSTRUCTIONS")
                    if key in os.environ
                },
                "torch": torch.__version__,
                "python": platform.python_version(),
                "date": datetime.date.today().isoformat(),
                "by": "bench/record_diagnose_fixtures.py",
            },
            "status": run.status,
            "config": json.loads(run.config.to_json()),
            "history": {
                metric: [[int(step), float(value)] for step, value in rows] for metric, rows in run.history.items()
            },
        }
        if not args.dry_run:
            path = t.FIXTURES / f"{name}.json"
            path.parent.mkdir(parents=True, exist_ok=True)
            atomic_write_bytes(path, fixture_text(saved).encode())
            print(f"  wrote {path}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
