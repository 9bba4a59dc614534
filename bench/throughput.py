"""Images/s of gandash's training path over a bare PyTorch DCGAN loop, measured in one process.

Same DCGAN 64x64 nets (pytorch/examples dcgan/main.py: nz=100, ngf=ndf=64, nc=1, built by
gandash.variants), Fashion-MNIST resized to 64, batch 64, Adam 2e-4 / beta1 0.5, on both sides:
- bare: the pytorch/examples loop (BCE-with-logits, one G forward per iteration reused for the
  G step, real batches sliced from the in-memory uint8 tensor), no logging;
- gandash: training.train() with the worker's StoreReporter on a real SQLite store in a temp
  GANDASH_HOME; metrics every --log-every steps, >= 1 sample grid and 1 checkpoint per run.
Default: after a warm-up, whole runs of --steps steps (building nets included) alternate in ABBA
order; prints each and the median per-pair ratio gandash/bare (goal >= 0.95). On a shared machine
load swings between segments can exceed 5%; --interleave runs ONE gandash run and one bare step
inside each of its should_stop() calls, so both are timed step by step under the same load.

    PYTHONPATH=. .venv/bin/python bench/throughput.py                   # 100 steps x 3 pairs
    PYTHONPATH=. .venv/bin/python bench/throughput.py --steps 20 --repeats 2 --warmup 3  # quick
    PYTHONPATH=. .venv/bin/python bench/throughput.py --interleave --steps 100
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import tempfile
import time
from dataclasses import asdict

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")  # as gandash/__init__.py does, before torch starts OpenMP

import torch
import torch.nn.functional as F


class BareLoop:
    """pytorch/examples-style DCGAN training, one `step()` per iteration."""

    def __init__(self, config, dataset):
        from gandash import variants

        torch.manual_seed(config.seed)
        self.G, self.D = variants.get("dcgan").build(config)
        betas = (config.beta1, config.beta2)
        self.opt_g = torch.optim.Adam(self.G.parameters(), lr=config.lr_g, betas=betas)
        self.opt_d = torch.optim.Adam(self.D.parameters(), lr=config.lr_d, betas=betas)
        self.images, self.b, self.z_dim = dataset.images, config.batch_size, config.z_dim
        self.order, self.i = torch.randperm(len(dataset)), 0
        self.ones, self.zeros = torch.ones(self.b), torch.zeros(self.b)

    def step(self) -> None:
        start = (self.i * self.b) % (len(self.order) - self.b)
        real = self.images[self.order[start : start + self.b]].float().div_(127.5).sub_(1.0)
        self.i += 1
        # (1) update D: maximize log(D(x)) + log(1 - D(G(z)))
        self.D.zero_grad()
        F.binary_cross_entropy_with_logits(self.D(real), self.ones).backward()
        fake = self.G(torch.randn(self.b, self.z_dim))
        F.binary_cross_entropy_with_logits(self.D(fake.detach()), self.zeros).backward()
        self.opt_d.step()
        # (2) update G: maximize log(D(G(z))), reusing the same fakes
        self.G.zero_grad()
        F.binary_cross_entropy_with_logits(self.D(fake), self.ones).backward()
        self.opt_g.step()


def bare_segment(config, dataset) -> float:
    """A whole bare run of config.max_steps steps; returns images per second."""
    started = time.perf_counter()
    loop = BareLoop(config, dataset)
    for _ in range(config.max_steps):
        loop.step()
    return config.max_steps * config.batch_size / (time.perf_counter() - started)


def gandash_run(config, dataset, store, name: str, should_stop=lambda: False) -> tuple[float, str]:
    """One whole run through training.train + StoreReporter; returns (seconds, what it wrote)."""
    from gandash.core import paths
    from gandash.engine import checkpoints
    from gandash.runs.worker import StoreReporter
    from gandash.variants import training

    run_dir = paths.run_dir(name)
    run_dir.mkdir(parents=True)
    config.save(run_dir / "config.json")
    store.create_run(name, asdict(config), run_dir, "running", "cpu", config.total_steps)
    started = time.perf_counter()
    reporter = StoreReporter(store, name)
    status, _ = training.train(config, run_dir, reporter, should_stop, dataset=dataset)
    reporter.flush()
    seconds = time.perf_counter() - started
    wrote = (
        f"{status}, {len(store.metrics(name))} metric rows, {len(store.samples(name))} sample grids, "
        f"{len(checkpoints.listing(run_dir))} checkpoint(s)"
    )
    shutil.rmtree(run_dir)  # checkpoints are ~75 MB each
    return seconds, wrote


def interleaved(config, dataset, store) -> None:
    """One gandash run with a bare step before each of its iterations (inside should_stop)."""
    loop, bare_seconds = BareLoop(config, dataset), []

    def bare_step_then_continue() -> bool:
        started = time.perf_counter()
        loop.step()
        bare_seconds.append(time.perf_counter() - started)
        return False

    seconds, wrote = gandash_run(config, dataset, store, "interleaved", bare_step_then_continue)
    ours_seconds = seconds - sum(bare_seconds)  # train() from start to end, minus the bare steps in it
    images = config.max_steps * config.batch_size
    print(f"bare    {images / sum(bare_seconds):7.1f} img/s ({sum(bare_seconds):.1f}s)")
    print(f"gandash {images / ours_seconds:7.1f} img/s ({ours_seconds:.1f}s; {wrote})")
    print(f"ratio   {sum(bare_seconds) / ours_seconds:.3f}  (goal >= 0.95)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--steps", type=int, default=100, help="steps per measured segment")
    parser.add_argument("--repeats", type=int, default=3, help="(bare, gandash) pairs to measure")
    parser.add_argument("--warmup", type=int, default=10, help="steps of each loop before measuring")
    parser.add_argument("--log-every", type=int, default=10)
    parser.add_argument("--sample-every", type=int, default=None, help="default: min(200, steps // 2)")
    parser.add_argument("--checkpoint-every", type=int, default=None, help="default: steps")
    parser.add_argument("--interleave", action="store_true", help="step-by-step pairing (noisy machines)")
    parser.add_argument("--no-eval", action="store_true", help="switch off the quality metrics measured while training")
    args = parser.parse_args()

    home = tempfile.mkdtemp(prefix="gandash-bench-")
    os.environ["GANDASH_HOME"] = home
    from gandash import data
    from gandash.runs.store import Store
    from gandash.variants.base import PYTORCH_EXAMPLES_DCGAN64
    from gandash.variants.configure import make_config

    def config_for(steps: int):
        return make_config(
            "dcgan",
            "fashion-mnist",
            **PYTORCH_EXAMPLES_DCGAN64,
            max_steps=steps,
            device="cpu",
            log_every=args.log_every,
            sample_every=args.sample_every or max(1, min(200, steps // 2)),
            checkpoint_every=args.checkpoint_every or steps,
            **({"eval_samples": 0} if args.no_eval else {}),
        )

    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, GANDASH_HOME={home}")
    dataset = data.load("fashion-mnist", image_size=64, channels=1)
    store = Store()
    try:
        bare_segment(config_for(args.warmup), dataset)
        gandash_run(config_for(args.warmup), dataset, store, "warmup")
        config = config_for(args.steps)
        print(
            f"{args.steps} steps x batch {config.batch_size}; log_every={config.log_every}, "
            f"sample_every={config.sample_every}, checkpoint_every={config.checkpoint_every}",
            flush=True,
        )
        if args.interleave:
            return interleaved(config, dataset, store)
        speeds, ratios = {"bare": [], "gandash": []}, []
        for i in range(args.repeats):
            for kind in ("bare", "gandash") if i % 2 == 0 else ("gandash", "bare"):
                if kind == "bare":
                    speed, wrote = bare_segment(config, dataset), ""
                else:
                    seconds, wrote = gandash_run(config, dataset, store, f"bench-{i}")
                    speed = args.steps * config.batch_size / seconds
                speeds[kind].append(speed)
                print(
                    f"  pair {i + 1}: {kind:7s} {speed:6.1f} img/s  (load {os.getloadavg()[0]:.1f}) {wrote}", flush=True
                )
            ratios.append(speeds["gandash"][-1] / speeds["bare"][-1])
            print(f"  pair {i + 1}: ratio {ratios[-1]:.3f}", flush=True)
        for kind, values in speeds.items():
            print(f"median {kind:7s} {statistics.median(values):6.1f} img/s")
        print(f"median ratio   {statistics.median(ratios):.3f}  (goal >= 0.95)")
    finally:
        store.close()
        shutil.rmtree(home, ignore_errors=True)


if __name__ == "__main__":
    main()
