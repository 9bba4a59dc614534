"""Images/s of training batches drawn from a folder's on-disk cache (gandash.data.cache) against the
same images in memory.

Steps:
1. Generate a folder of --n photo-like PNGs (smooth colour fields, a few shapes, grain) at --size px.
2. Build the cache, then load it again, which checks the folder and decodes nothing.
3. Draw batches as the trainer does: a permutation per epoch (torch.randperm), slices of --batch rows,
   Dataset.batch to float in [-1, 1] on the CPU. The draws alternate between the memory-mapped cache
   and a copy of it in memory, in rounds.
4. Repeat the cache's first epoch page-cache cold: its pages are dropped first with
   posix_fadvise(POSIX_FADV_DONTNEED), as for a folder bigger than RAM (checked with fincore when it is
   installed).
The folder and the cache are written in temp folders, removed at the end (--keep keeps them).

    PYTHONPATH=. .venv/bin/python bench/cache_throughput.py              # 20 000 images at 128 px
    PYTHONPATH=. .venv/bin/python bench/cache_throughput.py --n 2000 --batches 500   # quick
"""

from __future__ import annotations

import argparse
import gc
import os
import shutil
import statistics
import subprocess
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")  # as gandash/__init__.py does, before torch starts OpenMP

import numpy as np
import torch
from PIL import Image, ImageDraw, ImageFilter


def photo(seed: int, size: int) -> Image.Image:
    """A photo-like picture: a smooth colour field (upsampled 6x6 noise), a few blurred shapes and grain,
    so that PNG compresses it about as it would a photo and decoding costs what it would."""
    rng = np.random.default_rng(seed)
    field = Image.fromarray(rng.integers(0, 256, (6, 6, 3), dtype=np.uint8)).resize((size, size), Image.BICUBIC)
    draw = ImageDraw.Draw(field)
    for _ in range(rng.integers(2, 6)):
        x0, y0 = rng.integers(0, size, 2)
        x1, y1 = x0 + rng.integers(8, size // 2), y0 + rng.integers(8, size // 2)
        colour = tuple(int(c) for c in rng.integers(0, 256, 3))
        (draw.ellipse if rng.random() < 0.5 else draw.rectangle)((x0, y0, x1, y1), fill=colour)
    field = field.filter(ImageFilter.GaussianBlur(1.2))
    grain = rng.normal(0, 5, (size, size, 3))
    return Image.fromarray(np.clip(np.asarray(field, dtype=np.float32) + grain, 0, 255).astype(np.uint8))


def _write_some(job: tuple[Path, range, int]) -> None:
    folder, seeds, size = job
    for seed in seeds:
        photo(seed, size).save(folder / f"{seed:06d}.png")


def generate(folder: Path, n: int, size: int) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    chunks = [(folder, range(start, min(start + 500, n)), size) for start in range(0, n, 500)]
    with ProcessPoolExecutor(os.cpu_count()) as pool:
        list(pool.map(_write_some, chunks))


def draw(dataset, batches: int, batch: int, seed: int) -> float:
    """Images/s of `batches` batches drawn as the trainer draws them: a seeded permutation per epoch, in slices."""
    cpu, n, done, epoch = torch.device("cpu"), len(dataset), 0, 0
    started = time.perf_counter()
    while done < batches:
        order = torch.randperm(n, generator=torch.Generator().manual_seed(seed * 1_000_003 + epoch))
        for start in range(0, n - batch + 1, batch):
            dataset.batch(order[start : start + batch], cpu)
            done += 1
            if done == batches:
                break
        epoch += 1
    return batches * batch / (time.perf_counter() - started)


def drop_from_page_cache(path: Path) -> str:
    """Ask the kernel to forget the file's cached pages; say how many are left, when fincore can tell."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)  # only clean pages can be dropped
        os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
    finally:
        os.close(fd)
    if shutil.which("fincore") is None:
        return "fincore not installed: residency not checked"
    out = subprocess.run(["fincore", "-b", "-n", "-o", "RES", str(path)], capture_output=True, text=True)
    return f"{int(out.stdout.split()[0]) / 1024**2:.1f} MB of {path.stat().st_size / 1024**2:.0f} MB still cached"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=20_000, help="images in the generated folder")
    parser.add_argument("--size", type=int, default=128, help="their side in px, and the training size")
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--batches", type=int, default=3000, help="batches drawn from each source, warm")
    parser.add_argument("--rounds", type=int, default=3, help="alternations memory / cache the warm draws are cut into")
    parser.add_argument("--threads", type=int, default=0, help="torch threads (0: torch's default)")
    parser.add_argument("--keep", action="store_true", help="keep the generated folder and the cache")
    args = parser.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    work = Path(tempfile.mkdtemp(prefix="gandash-cache-bench-"))
    os.environ["GANDASH_HOME"] = str(work / "home")  # before gandash looks for its home
    from gandash.data import Dataset, DatasetInfo, cache

    folder = work / "photos"
    try:
        print(f"{args.n} images at {args.size} px, batches of {args.batch}, torch threads {torch.get_num_threads()}")
        started = time.perf_counter()
        generate(folder, args.n, args.size)
        seconds = time.perf_counter() - started
        on_disk = sum(p.stat().st_size for p in folder.iterdir())
        print(f"generate: {seconds:.1f} s on {os.cpu_count()} processes, {on_disk / 1024**2:.0f} MB of PNG")

        started = time.perf_counter()
        images, _, _ = cache.load_folder(folder, args.size, 3)
        seconds = time.perf_counter() - started
        path = cache.cache_dir(folder, args.size, 3) / "images.npy"
        print(
            f"build cache: {seconds:.1f} s, {args.n / seconds:.0f} images/s (one process), "
            f"{path.stat().st_size / 1024**2:.0f} MB"
        )
        started = time.perf_counter()
        images, _, _ = cache.load_folder(folder, args.size, 3)
        print(f"load again (folder checked, nothing decoded): {time.perf_counter() - started:.2f} s")

        meta = DatasetInfo("bench", "generated photos", "image", 3, args.size)
        mapped = Dataset(meta, images=images)
        in_memory = Dataset(meta, images=images.clone())  # reads the whole file: the page cache is warm now
        per_round = max(1, args.batches // args.rounds)
        rates: dict[str, list[float]] = {"in memory": [], "cache, page cache warm": []}
        draw(in_memory, 50, args.batch, seed=99)  # warm-up: allocator, OpenMP threads
        draw(mapped, 50, args.batch, seed=99)
        for r in range(args.rounds):
            rates["in memory"].append(draw(in_memory, per_round, args.batch, seed=r))
            rates["cache, page cache warm"].append(draw(mapped, per_round, args.batch, seed=r))
        for name, values in rates.items():
            print(
                f"{name}: {statistics.median(values):.0f} images/s "
                f"(median of {args.rounds} rounds of {per_round} batches: {', '.join(f'{v:.0f}' for v in values)})"
            )
        ratio = statistics.median(m / i for m, i in zip(rates["cache, page cache warm"], rates["in memory"]))
        print(f"cache / memory, warm: {ratio:.2f}")

        del mapped, images
        gc.collect()  # unmap: the kernel keeps pages that some process still maps
        residency = drop_from_page_cache(path)
        images, _, _ = cache.load_folder(folder, args.size, 3)
        cold = Dataset(meta, images=images)
        epoch = args.n // args.batch
        rate = draw(cold, epoch, args.batch, seed=7)
        print(
            f"cache, page cache cold (POSIX_FADV_DONTNEED first; {residency}): {rate:.0f} images/s over its first "
            f"epoch ({epoch} batches)"
        )
    finally:
        if args.keep:
            print(f"kept {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
