"""Images/s of data-parallel training against one process, through the jobs a user starts (torchrun +
DistributedDataParallel over gloo on this CPU, NCCL on CUDA): the same recipe with 1, 2, ... processes, each
run for --steps steps in a temporary GANDASH_HOME; images/s in total is the median of the run's logged rows.
On a 2-core CPU, 2 processes get 1 thread each where 1 process gets 2.

    PYTHONPATH=. .venv/bin/python bench/ddp_scaling.py                        # dcgan, 1 and 2 processes
    PYTHONPATH=. .venv/bin/python bench/ddp_scaling.py --processes 1 2 4 --set image_size=64
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time

from gandash.core.config import parse_overrides


def run(processes: int, steps: int, variant: str, overrides: dict) -> tuple[float, float, str]:
    from gandash.runs import jobs
    from gandash.runs.store import Store
    from gandash.variants.configure import make_config

    store = Store()
    config = make_config(
        variant, "fashion-mnist", processes=processes, max_steps=steps, eval_samples=0, sample_every=10**6,
        log_every=10, **overrides,
    )  # fmt: skip
    started = time.monotonic()
    run_id = jobs.create(config, store)
    while store.run(run_id)["status"] in ("queued", "starting", "running"):
        time.sleep(0.5)
    wall = time.monotonic() - started
    run = store.run(run_id)
    rates = [value for _, _, value, _ in store.metrics(run_id, names=("images_per_sec",))][5:]  # after warm-up
    return (statistics.median(rates) if rates else float("nan")), wall, run["status"] + " " + run["message"]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--processes", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--steps", type=int, default=400)
    parser.add_argument("--variant", default="dcgan")
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE")
    args = parser.parse_args()
    overrides = parse_overrides(args.set)
    with tempfile.TemporaryDirectory(prefix="gandash-ddp-") as home:
        os.environ["GANDASH_HOME"] = home
        base = None
        for processes in args.processes:
            rate, wall, outcome = run(processes, args.steps, args.variant, overrides)
            base = base or rate
            print(
                f"{processes} process(es): {rate:8.0f} images/s in total  (x{rate / base:.2f}; "
                f"{args.steps} steps in {wall:.0f} s wall, start-up included; {outcome})",
                flush=True,
            )


if __name__ == "__main__":
    main()
