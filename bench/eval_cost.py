"""What `metrics.evaluate` costs on this CPU, and the floor of FID in our feature space.

    PYTHONPATH=. .venv/bin/python bench/eval_cost.py [--n 2000] [--threads 2]

Prints: the bundled classifier's test accuracy; evaluate() time for a DCGAN (28x28) generator and a
toy generator, first call (with the reference features, cached after) and a repeat; and FID/KID/
precision/recall of real vs real (the two halves of the Fashion-MNIST test split), i.e. the best a
generator can score at that n. A plain script: it asserts nothing.
"""

from __future__ import annotations

import argparse
import os
import sys
import time

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")  # as gandash/__init__.py does, before torch starts OpenMP

import torch

from gandash import variants
from gandash.quality import features, metrics
from gandash.variants.configure import make_config


def timed(fn):
    started = time.perf_counter()
    value = fn()
    return value, time.perf_counter() - started


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=2000)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    images, labels = features.test_split("fashion-mnist")
    model = features.load("fashion-mnist")
    print(f"classifier test accuracy: {features.accuracy(model, images, labels):.4f} on {len(images)} images")

    config = make_config("dcgan", "fashion-mnist")
    generator = variants.get("dcgan").build(config)[0].eval()
    _, first = timed(lambda: metrics.evaluate(generator, config, n=args.n))
    values, again = timed(lambda: metrics.evaluate(generator, config, n=args.n))
    print(
        f"evaluate(dcgan 28x28, n={args.n}): first call {first:.1f}s (with reference features), "
        f"then {again:.1f}s per call; keys: {', '.join(values)}"
    )
    toy = make_config("toy", "ring")
    _, toy_seconds = timed(lambda: metrics.evaluate(variants.get("toy").build(toy)[0].eval(), toy, n=args.n))
    print(f"evaluate(toy ring, n={args.n}): {toy_seconds:.2f}s")

    real = features.to_float(images)
    feats = model.features(real)
    half = len(feats) // 2
    fid = metrics.frechet_distance(feats[:half], feats[half:])
    kid = metrics.kid(feats[:half], feats[half:])[0] * 1000
    subset = min(args.n, half)
    prdc = metrics.prdc(feats[:subset], feats[half : half + subset])
    print(
        f"real vs real (test halves, {half} each): FID {fid:.3f}  KID x1000 {kid:.3f}; at n={subset}: "
        + "  ".join(f"{k} {v:.3f}" for k, v in prdc.items())
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
