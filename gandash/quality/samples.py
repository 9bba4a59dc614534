"""Draw samples from a generator: seeded noise (and labels) in, uint8 images or 2D points out (the CLI's
`sample`, the metrics, benchmarks, the latent explorer), and write them as .npz."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import torch

from gandash.core import images
from gandash.core.config import TrainConfig
from gandash.core.errors import GandashError
from gandash.core.paths import atomic_write_bytes

MAX_SAMPLES = 100_000


@torch.no_grad()
def sample(
    generator: torch.nn.Module, config: TrainConfig, n: int, seed: int = 0, label: int | None = None, batch: int = 500
) -> dict[str, np.ndarray]:
    """n samples from seeded noise: {'images' uint8 (N,H,W[,3]), 'labels'} or {'points' (N, 2)}."""
    if not 1 <= n <= MAX_SAMPLES:
        raise GandashError(f"--n must be from 1 to {MAX_SAMPLES} (got {n}).")
    if label is not None and not config.num_classes:
        raise GandashError(f"run is a {config.variant} run without classes; drop --class.")
    if label is not None and not 0 <= label < config.num_classes:
        raise GandashError(f"--class must be from 0 to {config.num_classes - 1} (got {label}).")
    z = torch.randn(n, config.z_dim, generator=torch.Generator().manual_seed(seed))
    labels = None
    if config.num_classes:
        labels = torch.full((n,), label) if label is not None else torch.arange(n) % config.num_classes
    outputs = [
        generator(z[i : i + batch], None if labels is None else labels[i : i + batch]) for i in range(0, n, batch)
    ]
    out = torch.cat(outputs)
    if config.image_size == 0:
        return {"points": out.float().numpy()}
    result = {"images": images.to_uint8(out)}
    if labels is not None:
        result["labels"] = labels.numpy()
    return result


def write_npz(path: Path, arrays: dict[str, np.ndarray]) -> None:
    path = Path(path)
    if path.suffix != ".npz":
        raise GandashError(f"--out must end in .npz (got {path.name}).")
    if not path.parent.is_dir():
        raise GandashError(f"folder {path.parent} does not exist.")
    buffer = io.BytesIO()
    np.savez_compressed(buffer, **arrays)
    atomic_write_bytes(path, buffer.getvalue())
