"""A small CNN classifier per labelled dataset: the offline feature space for gandash's metrics.

Inception weights cannot be downloaded here, so FID and friends are computed in the penultimate
layer of a classifier trained on the dataset itself (the same idea as the "domain-specific FID"
used for MNIST-like data). The weights are bundled in `gandash/weights/classifier-NAME.pt`
(plain state dicts, ~1 MB, loaded with weights_only=True) and made by one seeded command:

    python -m gandash train-classifier --dataset fashion-mnist
    python -m gandash train-classifier --dataset mnist --data-dir DIR --epochs 40  # DIR: bench/mnist_subset.py

API
- `available(dataset) -> bool`: whether a classifier for `dataset` is here.
- `load(dataset) -> Classifier` (cached per process; GandashError saying what to run when absent).
- `Classifier.logits(images) -> (N, classes)` and `Classifier.features(images) -> (N, 128)`:
  images are float NCHW in [-1, 1] of any size and 1 or 3 channels; they are turned to gray and
  resized to 28x28 first. Both run batched under no_grad on the CPU.
- `test_split(dataset) -> (uint8 (N, 1, 28, 28), int64 (N,))`: the held-out images.
- `train(dataset, epochs=3, seed=0) -> dict`: trains, measures test accuracy, writes the weights.
"""

from __future__ import annotations

import functools
import io
import time
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

from gandash import data
from gandash.core import paths
from gandash.core.errors import GandashError
from gandash.core.paths import atomic_write_bytes

WEIGHTS_DIR = paths.WEIGHTS
SUPPORTED = ("fashion-mnist", "mnist")
SIZE = 28
FEATURES = 128


def weights_path(dataset: str) -> Path:
    return WEIGHTS_DIR / f"classifier-{dataset}.pt"


class Classifier(nn.Module):
    """Three 3x3 conv blocks (28 -> 14 -> 7 -> 3), a 128-unit feature layer and a linear head:
    ~240k parameters (1 MB), ~8M multiply-adds per image, so features of 10 000 images take
    seconds on a laptop CPU."""

    def __init__(self, num_classes: int = 10):
        super().__init__()

        def block(cin: int, cout: int) -> list[nn.Module]:
            return [nn.Conv2d(cin, cout, 3, padding=1, bias=False), nn.BatchNorm2d(cout), nn.ReLU(inplace=True)]

        self.body = nn.Sequential(
            *block(1, 32),
            nn.MaxPool2d(2),  # (N, 32, 14, 14)
            *block(32, 64),
            nn.MaxPool2d(2),  # (N, 64, 7, 7)
            *block(64, 128),
            nn.MaxPool2d(2),  # (N, 128, 3, 3)
            nn.Flatten(),
            nn.Linear(128 * 9, FEATURES),
            nn.ReLU(inplace=True),  # (N, FEATURES): the feature space
        )
        self.head = nn.Sequential(nn.Dropout(0.2), nn.Linear(FEATURES, num_classes))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.body(x))

    @torch.no_grad()
    def features(self, images: torch.Tensor, batch: int = 1000) -> torch.Tensor:
        """Penultimate activations (N, 128) of float NCHW images in [-1, 1]."""
        return self._batched(images, self.body, batch)

    @torch.no_grad()
    def logits(self, images: torch.Tensor, batch: int = 1000) -> torch.Tensor:
        return self._batched(images, self, batch)

    @torch.no_grad()
    def features_and_logits(self, images: torch.Tensor, batch: int = 1000) -> tuple[torch.Tensor, torch.Tensor]:
        """Both at the cost of one pass (what metrics.evaluate needs)."""
        feats = self._batched(images, self.body, batch)
        return feats, self.head(feats)

    def _batched(self, images: torch.Tensor, net: nn.Module, batch: int) -> torch.Tensor:
        was_training = self.training
        self.eval()
        try:
            return torch.cat([net(prepare(images[i : i + batch])) for i in range(0, len(images), batch)])
        finally:
            self.train(was_training)


def prepare(images: torch.Tensor) -> torch.Tensor:
    """Float NCHW in [-1, 1], any size, 1 or 3 channels -> float (N, 1, 28, 28) on the CPU."""
    if images.dim() != 4 or images.shape[1] not in (1, 3):
        raise GandashError(f"images must be NCHW with 1 or 3 channels (got shape {tuple(images.shape)}).")
    x = images.detach().float().cpu()
    if x.shape[1] == 3:  # ITU-R 601 luma, as data.to_size does for uint8
        x = (x * torch.tensor([0.299, 0.587, 0.114]).view(1, 3, 1, 1)).sum(1, keepdim=True)
    if x.shape[-2:] != (SIZE, SIZE):
        x = F.interpolate(x, size=(SIZE, SIZE), mode="bilinear", antialias=True, align_corners=False)
    return x.clamp(-1, 1)


def available(dataset: str) -> bool:
    return weights_path(dataset).is_file()


@functools.lru_cache(maxsize=4)
def load(dataset: str) -> Classifier:
    """The bundled classifier of `dataset`, in eval mode (shared: treat it as read-only)."""
    path = weights_path(dataset)
    if not path.is_file():
        how = (
            f"train it with `python -m gandash train-classifier --dataset {dataset}`"
            if dataset in SUPPORTED
            else f"classifiers exist for {', '.join(SUPPORTED)} only"
        )
        raise GandashError(f"no feature classifier for '{dataset}' ({path} is missing); {how}.")
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
        model = Classifier(num_classes=state["head.1.weight"].shape[0])
        model.load_state_dict(state)
    except Exception as exc:  # torch raises many types for a bad file; all mean "not our weights"
        raise GandashError(
            f"{path} is not a readable classifier ({type(exc).__name__}: {str(exc)[:200]}); "
            f"train it again with `python -m gandash train-classifier --dataset {dataset}`."
        ) from None
    return model.eval()


def test_split(dataset: str, data_dir: str | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """The t10k images (uint8 (N, 1, 28, 28)) and labels of an MNIST-family dataset, from the first
    folder that has them (a folder may hold a training set only)."""
    folders = [Path(data_dir)] if data_dir else []
    for root in data.search_roots(data_dir):
        folders += [root / dataset, root / data.TORCHVISION_FOLDERS.get(dataset, dataset) / "raw"]
    for folder in folders:
        image_file = data.idx_file(folder, "t10k-images-idx3-ubyte")
        label_file = data.idx_file(folder, "t10k-labels-idx1-ubyte")
        if image_file and label_file:
            images, labels = data.read_idx(image_file), data.read_idx(label_file)
            return torch.from_numpy(images[:, None].copy()), torch.from_numpy(labels.astype("int64"))
    raise GandashError(
        f"the {dataset} test split (t10k-images-idx3-ubyte.gz, t10k-labels-idx1-ubyte.gz) was not "
        f"found in {', '.join(str(f) for f in folders)}; metrics and classifier accuracy need it."
    )


def to_float(images: torch.Tensor) -> torch.Tensor:
    """uint8 NCHW -> float NCHW in [-1, 1]."""
    return images.float().div(127.5).sub(1.0)


def accuracy(model: Classifier, images: torch.Tensor, labels: torch.Tensor) -> float:
    """Top-1 accuracy on uint8 NCHW images."""
    return (model.logits(to_float(images)).argmax(1) == labels).float().mean().item()


def _augment(x: torch.Tensor, flip: bool, generator: torch.Generator) -> torch.Tensor:
    """Random shifts of up to 2 pixels (and mirror images for clothes, not for digits): cheap
    augmentation that makes the features less brittle on generated images."""
    if flip:
        mirror = torch.rand(len(x), generator=generator) < 0.5
        x = torch.where(mirror.view(-1, 1, 1, 1), x.flip(3), x)
    padded = F.pad(x, (2, 2, 2, 2), value=-1.0)
    dx, dy = torch.randint(0, 5, (2,), generator=generator).tolist()
    return padded[:, :, dy : dy + SIZE, dx : dx + SIZE]


def train(
    dataset: str,
    epochs: int = 3,
    seed: int = 0,
    batch_size: int = 128,
    data_dir: str | None = None,
    out: Path | None = None,
    log=print,
) -> dict:
    """Train the classifier of `dataset` (seeded), report test accuracy, write its weights atomically."""
    if dataset not in SUPPORTED:
        raise GandashError(f"train-classifier supports {', '.join(SUPPORTED)} (got '{dataset}').")
    torch.manual_seed(seed)
    generator = torch.Generator().manual_seed(seed)
    train_set = data.load(dataset, data_dir)
    test_images, test_labels = test_split(dataset, data_dir)
    model = Classifier(train_set.info.num_classes)
    steps = epochs * (len(train_set) // batch_size)
    optimizer = torch.optim.AdamW(model.parameters(), lr=3e-3, weight_decay=5e-4)
    schedule = torch.optim.lr_scheduler.OneCycleLR(optimizer, max_lr=3e-3, total_steps=steps)
    started, step = time.perf_counter(), 0
    for epoch in range(epochs):
        model.train()
        order = torch.randperm(len(train_set), generator=generator)
        for start in range(0, len(order) - batch_size + 1, batch_size):
            index = order[start : start + batch_size]
            x = _augment(to_float(train_set.images[index]), dataset == "fashion-mnist", generator)
            loss = F.cross_entropy(model(x), train_set.labels[index], label_smoothing=0.05)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            schedule.step()
            step += 1
        test_accuracy = accuracy(model, test_images, test_labels)
        log(
            f"epoch {epoch + 1}/{epochs}: loss {loss.item():.3f}  test accuracy {test_accuracy:.4f}  "
            f"({time.perf_counter() - started:.0f}s)"
        )
    target = Path(out) if out else weights_path(dataset)
    target.parent.mkdir(parents=True, exist_ok=True)
    buffer = io.BytesIO()
    torch.save(model.state_dict(), buffer)
    atomic_write_bytes(target, buffer.getvalue())
    load.cache_clear()
    return {
        "dataset": dataset,
        "test_accuracy": test_accuracy,
        "seconds": time.perf_counter() - started,
        "path": str(target),
        "bytes": target.stat().st_size,
    }
