"""The memorisation check: which training image a generated one is closest to, in pixels or in a
classifier's features, and how close."""

from __future__ import annotations

import math

import torch

from gandash.core.errors import GandashError


@torch.inference_mode()
def nearest_training(image: torch.Tensor, training: torch.Tensor, chunk: int = 8192) -> tuple[int, float]:
    """Index of the training image closest to `image` in pixel space (RMS difference in [0, 1] units).
    `training` is the dataset's uint8 tensor (N, C, H, W); a tiny distance means the model copied it."""
    target = image.float().flatten()
    if training.shape[1:].numel() != target.numel():
        raise GandashError("the image and the training set have different sizes.")
    best, best_index = math.inf, -1
    for start in range(0, len(training), chunk):
        block = training[start : start + chunk].flatten(1).float().div_(127.5).sub_(1.0)
        distances = (block - target).pow_(2).mean(1)
        value, index = distances.min(0)
        if value.item() < best:
            best, best_index = value.item(), start + int(index)
    return best_index, math.sqrt(best) / 2  # [-1, 1] units -> [0, 1] units


@torch.inference_mode()
def nearest_in_features(image: torch.Tensor, training_features: torch.Tensor, classifier) -> tuple[int, float]:
    """Index of the training image whose classifier features are closest to `image`'s, and the
    distance relative to the typical distance between two training images (so ~0 is a copy, ~1 is
    as different as two random garments). `training_features` is classifier.features(training)."""
    query = classifier.features(image[None].float())
    distances = torch.cdist(query, training_features)[0]
    index = int(distances.argmin())
    pick = torch.randperm(len(training_features), generator=torch.Generator().manual_seed(0))[:1000]
    half = max(1, len(pick) // 2)
    typical = torch.cdist(training_features[pick[:half]], training_features[pick[half:]]).median()
    return index, float(distances[index] / typical.clamp_min(1e-12))
