"""Milliseconds per training step on this CPU: fp32 against bf16 autocast, 1 thread against all, for the
default 28x28 `dcgan` recipe and the pytorch/examples DCGAN-64 (batch 64); then what the run's own speed probe
(engine.loop's SpeedTuner) chooses in a real short run. Prints the CPU's name and whether it has bf16 units.

    PYTHONPATH=. .venv/bin/python bench/cpu_speed.py            # ~2 min
    PYTHONPATH=. .venv/bin/python bench/cpu_speed.py --steps 5
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import tempfile
import time

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import torch

from gandash.core import device
from gandash.engine.reporter import Reporter
from gandash.variants import base, estimate, training
from gandash.variants.configure import make_config


def cpu_name() -> str:
    try:
        out = subprocess.run(["lscpu"], capture_output=True, text=True).stdout
    except OSError:
        return "?"
    fields = dict(line.split(":", 1) for line in out.splitlines() if ":" in line)
    flags = fields.get("Flags", "")
    units = [f for f in ("avx512_bf16", "amx_bf16") if f in flags]
    return f"{fields.get('Model name', '?').strip()} (bf16 units: {', '.join(units) or 'none'})"


def ms_per_step(config, setting: device.SpeedSetting, steps: int) -> float:
    with tempfile.TemporaryDirectory() as scratch:
        trainer = training.trainer_for(config, scratch, estimate.random_dataset(config, rows=4 * config.batch_size))
        trainer.use_cpu_setting(setting)
        timings = []
        for _ in range(steps + 2):
            started = time.perf_counter()
            trainer.train_step()
            timings.append(time.perf_counter() - started)
    return statistics.median(timings[2:]) * 1000


class Events(Reporter):
    def __init__(self):
        self.events = []

    def event(self, level, text):
        self.events.append(text)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--steps", type=int, default=10)
    args = parser.parse_args()
    cores = len(os.sched_getaffinity(0))
    print(f"{cpu_name()}; {cores} cores; torch {torch.__version__}")
    recipes = {
        "dcgan 28x28 (default recipe)": make_config("dcgan", "fashion-mnist"),
        "DCGAN-64, batch 64 (pytorch/examples)": make_config("dcgan", "fashion-mnist", **base.PYTORCH_EXAMPLES_DCGAN64),
    }
    for name, config in recipes.items():
        print(f"\n{name}")
        for threads in sorted({1, cores}):
            row = []
            for bf16 in (False, True):
                setting = device.SpeedSetting(threads, bf16)
                row.append(f"{setting}: {ms_per_step(config, setting, args.steps):7.1f} ms")
            print("   " + "   ".join(row))
    config = make_config("dcgan", "fashion-mnist", max_steps=300, eval_samples=0, sample_every=10**6)
    events = Events()
    with tempfile.TemporaryDirectory() as scratch:
        training.train(config, scratch, events)
    print("\nthe run's own probe (300 steps of the default recipe):")
    for text in events.events:
        if text.startswith("speed check"):
            print("   " + text)


if __name__ == "__main__":
    main()
