"""What a dataset is: its name, its description (DatasetInfo) and its rows in memory (Dataset).

Images are kept as a uint8 tensor (N, C, H, W) at the training size: 60 000 Fashion-MNIST
images at 64x64 are 245 MB as uint8 instead of 1 GB as float, and `batch()` turns a batch
into float [-1, 1] on the device, so the training loop does no per-item PIL work.
Toy 2D sets are float (N, 2) points.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import torch
import torch.nn.functional as F

from gandash.core.config import DataKind


@dataclass(frozen=True)
class DatasetInfo:
    name: str
    description: str
    kind: DataKind  # what the rows are, and so which variants train on them (see gandash.core.config)
    channels: int = 0
    image_size: int = 0  # native size; 0 when it depends on the files
    num_classes: int = 0
    class_names: tuple[str, ...] = ()
    how_to_get: str = ""
    modes: tuple[tuple[float, float], ...] = ()  # toy mixtures: the true means
    mode_std: float = 0.0


@dataclass
class Dataset:
    info: DatasetInfo
    images: torch.Tensor | None = None  # uint8 (N, C, H, W)
    points: torch.Tensor | None = None  # float32 (N, 2)
    labels: torch.Tensor | None = None  # int64 (N,)
    extra: dict = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.images if self.images is not None else self.points)

    def batch(self, index: torch.Tensor, device: torch.device, channels_last: bool = False) -> torch.Tensor:
        """Rows `index` as float in [-1, 1] (images) or raw coordinates (points), on `device`."""
        if self.points is not None:
            return self.points[index].to(device, non_blocking=True)
        x = self.images[index].to(device, non_blocking=True).float().div_(127.5).sub_(1.0)
        return x.contiguous(memory_format=torch.channels_last) if channels_last else x


# The catalogue's own `info` and `load`, handed to the sets that are built from another set
# (blurred:NAME, lowres:NAME, domains:NAME:A,B) so that they need not import the catalogue.
InfoOf = Callable[[str], DatasetInfo]
LoadInner = Callable[[str, str | None, int | None, int | None, int], Dataset]  # name, data_dir, size, channels, seed


def split_name(name: str) -> tuple[str, str]:
    """'folder:/x/y' -> ('folder', '/x/y'); 'ring' -> ('ring', '')."""
    prefix, sep, rest = name.partition(":")
    return (prefix, rest) if sep else (name, "")


def to_size(images: torch.Tensor, size: int, channels: int) -> torch.Tensor:
    """uint8 (N, C, H, W) -> uint8 (N, channels, size, size), resized once, in chunks."""
    if images.shape[1] != channels:
        if channels == 3:
            images = images.expand(-1, 3, -1, -1)
        else:  # ITU-R 601 luma, like PIL's convert("L")
            weights = torch.tensor([0.299, 0.587, 0.114]).view(1, 3, 1, 1)
            images = (images.float() * weights).sum(1, keepdim=True).round().to(torch.uint8)
    if images.shape[-1] == size and images.shape[-2] == size:
        return images.contiguous()
    out = torch.empty((len(images), channels, size, size), dtype=torch.uint8)
    for start in range(0, len(images), 4096):
        chunk = images[start : start + 4096].float()
        resized = F.interpolate(chunk, size=(size, size), mode="bilinear", antialias=True, align_corners=False)
        out[start : start + 4096] = resized.round().clamp_(0, 255).to(torch.uint8)
    return out
