"""Throughput of gandash's training path against a bare PyTorch DCGAN loop, in one process.

Both loops train the same DCGAN 64x64 nets (pytorch/examples dcgan/main.py: nz=100, ngf=ndf=64,
nc=1, built by gandash.variants) on Fashion-MNIST resized to 64, batch 64, Adam 2e-4 / beta1 0.5:

- bare:    the pytorch/examples loop (BCE-with-logits losses, one G forward per iteration reused for
           the G step, real batches sliced from the in-memory uint8 tensor), no logging at all;
- gandash: gandash.trainer.train() with the worker's StoreReporter writing into a real SQLite
           store in a temporary GANDASH_HOME, metrics every --log-every steps, at least one sample
           grid and one checkpoint per segment.

Each segment is a whole run of --steps steps timed end to end (nets and optimizers built inside
the timing in both cases). Segments alternate bare, gandash, bare, gandash ... after a warm-up of
both, and the figure of merit is the median of the per-pair ratios gandash / bare (goal >= 0.95).

    PYTHONPATH=. .venv/bin/python bench/throughput.py                      # 100 steps x 3 pairs
    PYTHONPATH=. .venv/bin/python bench/throughput.py --steps 20 --repeats 2 --warmup 3   # quick
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import tempfile
import time
from dataclasses import asdict

import torch
import torch.nn.functional as F


def bare_segment(config, dataset, steps: int) -> float:
    """pytorch/examples-style DCGAN loop; returns images per second."""
    from gandash import variants

    started = time.perf_counter()
    torch.manual_seed(config.seed)
    G, D = variants.get("dcgan").build(config)
    opt_g = torch.optim.Adam(G.parameters(), lr=config.lr_g, betas=(config.beta1, config.beta2))
    opt_d = torch.optim.Adam(D.parameters(), lr=config.lr_d, betas=(config.beta1, config.beta2))
    n, b = len(dataset), config.batch_size
    order = torch.randperm(n)
    ones, zeros = torch.ones(b), torch.zeros(b)
    for step in range(steps):
        index = order[(step * b) % (n - b):][:b]
        real = dataset.images[index].float().div_(127.5).sub_(1.0)
        # (1) update D: maximize log(D(x)) + log(1 - D(G(z)))
        D.zero_grad()
        F.binary_cross_entropy_with_logits(D(real), ones).backward()
        fake = G(torch.randn(b, config.z_dim))
        F.binary_cross_entropy_with_logits(D(fake.detach()), zeros).backward()
        opt_d.step()
        # (2) update G: maximize log(D(G(z))), reusing the same fakes
        G.zero_grad()
        F.binary_cross_entropy_with_logits(D(fake), ones).backward()
        opt_g.step()
    return steps * b / (time.perf_counter() - started)


def gandash_segment(config, dataset, store, name: str) -> tuple[float, str]:
    """One whole gandash run through trainer.train + StoreReporter; returns (images/s, what it wrote)."""
    from gandash import checkpoints, paths, trainer
    from gandash.worker import StoreReporter

    run_dir = paths.run_dir(name)
    run_dir.mkdir(parents=True)
    config.save(run_dir / "config.json")
    store.create_run(name, asdict(config), run_dir, "running", "cpu", config.total_steps)
    started = time.perf_counter()
    reporter = StoreReporter(store, name)
    status, _ = trainer.train(config, run_dir, reporter, dataset=dataset)
    reporter.flush()
    seconds = time.perf_counter() - started
    wrote = (f"{status}, {len(store.metrics(name))} metric rows, {len(store.samples(name))} sample grids, "
             f"{len(checkpoints.listing(run_dir))} checkpoint(s)")
    shutil.rmtree(run_dir)  # checkpoints are ~75 MB each
    return config.total_steps * config.batch_size / seconds, wrote


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--steps", type=int, default=100, help="steps per measured segment")
    parser.add_argument("--repeats", type=int, default=3, help="(bare, gandash) pairs to measure")
    parser.add_argument("--warmup", type=int, default=10, help="steps of each loop before measuring")
    parser.add_argument("--log-every", type=int, default=10)
    parser.add_argument("--sample-every", type=int, default=None, help="default: min(200, steps // 2)")
    parser.add_argument("--checkpoint-every", type=int, default=None, help="default: steps")
    args = parser.parse_args()

    home = tempfile.mkdtemp(prefix="gandash-bench-")
    os.environ["GANDASH_HOME"] = home
    from gandash import data
    from gandash.config import make_config
    from gandash.store import Store

    def config_for(steps: int):
        return make_config("dcgan", "fashion-mnist", image_size=64, batch_size=64, max_steps=steps,
                           device="cpu", log_every=args.log_every,
                           sample_every=args.sample_every or max(1, min(200, steps // 2)),
                           checkpoint_every=args.checkpoint_every or steps)

    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, GANDASH_HOME={home}")
    loading = time.perf_counter()
    dataset = data.load("fashion-mnist", image_size=64, channels=1)
    print(f"loaded {tuple(dataset.images.shape)} uint8 in {time.perf_counter() - loading:.1f}s")
    store = Store()
    try:
        bare_segment(config_for(args.warmup), dataset, args.warmup)
        gandash_segment(config_for(args.warmup), dataset, store, "warmup")
        config = config_for(args.steps)
        print(f"{args.steps} steps x batch {config.batch_size} per segment; log_every={config.log_every}, "
              f"sample_every={config.sample_every}, checkpoint_every={config.checkpoint_every}")
        bare, ours, ratios = [], [], []
        for i in range(args.repeats):
            bare.append(bare_segment(config, dataset, args.steps))
            print(f"  pair {i + 1}: bare    {bare[-1]:7.1f} img/s", flush=True)
            speed, wrote = gandash_segment(config, dataset, store, f"bench-{i}")
            ours.append(speed)
            ratios.append(ours[-1] / bare[-1])
            print(f"  pair {i + 1}: gandash {ours[-1]:7.1f} img/s  ratio {ratios[-1]:.3f}  ({wrote})", flush=True)
        print(f"median bare    {statistics.median(bare):7.1f} img/s")
        print(f"median gandash {statistics.median(ours):7.1f} img/s")
        print(f"median ratio   {statistics.median(ratios):.3f}  (goal >= 0.95)")
    finally:
        store.close()
        shutil.rmtree(home, ignore_errors=True)


if __name__ == "__main__":
    main()
