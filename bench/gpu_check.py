"""A GPU check that runs in minutes, for whoever has a CUDA machine (none is lent to this project): that gandash
uses the card the way it should, measured through the real code paths.

1. What the device policy picks here (device, AMP dtype, channels_last, pinned memory).
2. One DCGAN-64 step (batch 64) in fp32 and under the chosen AMP, and that the losses stay finite.
3. A real job of the default recipe for --steps steps: its images/s and final status.
4. With more than one GPU, the same job data-parallel over all of them (torchrun + DDP over NCCL): images/s.

    PYTHONPATH=. .venv/bin/python bench/gpu_check.py             # ~3 min on one GPU
    PYTHONPATH=. .venv/bin/python bench/gpu_check.py --steps 2000

On a machine without CUDA it says so and stops (exit 0).
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time

import torch


def step_ms(config, amp: bool, steps: int = 20) -> tuple[float, bool]:
    from gandash.variants import estimate, training

    with tempfile.TemporaryDirectory() as scratch:
        trainer = training.trainer_for(config, scratch, estimate.random_dataset(config, rows=4 * config.batch_size))
        trainer.amp_dtype = trainer.hw.amp_dtype if amp else None
        timings = []
        for _ in range(steps + 3):
            started = time.perf_counter()
            trainer.train_step()
            torch.cuda.synchronize()
            timings.append(time.perf_counter() - started)
        return statistics.median(timings[3:]) * 1000, trainer.is_finite()


def job(processes: int, steps: int) -> str:
    from gandash.runs import jobs
    from gandash.runs.store import Store
    from gandash.variants.configure import make_config

    store = Store()
    config = make_config("dcgan", "fashion-mnist", device="cuda", processes=processes, max_steps=steps)
    run_id = jobs.create(config, store)
    while store.run(run_id)["status"] in ("queued", "starting", "running"):
        time.sleep(1)
    run = store.run(run_id)
    rates = [value for _, _, value, _ in store.metrics(run_id, names=("images_per_sec",))][5:]
    rate = f"{statistics.median(rates):,.0f} images/s" if rates else "no rows"
    return f"{processes} process(es): {rate}; {run['status']} ({run['message']})"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--steps", type=int, default=1000)
    args = parser.parse_args()
    if not torch.cuda.is_available():
        print("no CUDA device here: nothing to check (the selection logic is unit-tested in tests/test_device.py)")
        return
    from gandash.core import device
    from gandash.variants.configure import make_config

    hw = device.pick("cuda")
    count = torch.cuda.device_count()
    print(f"{count} x {torch.cuda.get_device_name(0)}; torch {torch.__version__}")
    print(f"policy: {hw.device}, AMP {hw.amp_dtype}, channels_last {hw.channels_last}, pinned {hw.pin_memory}")
    config = make_config("dcgan", "fashion-mnist", device="cuda", image_size=64, width=64, batch_size=64)
    for amp in (False, True):
        ms, finite = step_ms(config, amp)
        print(f"DCGAN-64 step, {'AMP ' + str(hw.amp_dtype) if amp else 'fp32'}: {ms:.1f} ms (finite losses: {finite})")
    with tempfile.TemporaryDirectory(prefix="gandash-gpu-") as home:
        os.environ["GANDASH_HOME"] = home
        print(job(1, args.steps))
        if count > 1:
            print(job(count, args.steps))


if __name__ == "__main__":
    main()
