"""The eight poses of a picture: quarter turns, mirrored or not. The kernel estimator reads a photo
in all of them, the deblurring U-Net restores it in as many as time allows (self-ensemble)."""

from __future__ import annotations

import numpy as np

# (quarter turns, mirrored), in the order a self-ensemble adds them: two are a flip, four add the half turn
POSES = ((0, False), (2, True), (1, False), (3, True), (2, False), (0, True), (3, False), (1, True))


def posed(array: np.ndarray, pose: tuple[int, bool]) -> np.ndarray:
    """`array` (H, W[, C]) turned, then mirrored left to right; `unposed` undoes it."""
    turns, mirrored = pose
    turned = np.rot90(array, turns)
    return np.ascontiguousarray(turned[:, ::-1] if mirrored else turned)


def unposed(array: np.ndarray, pose: tuple[int, bool]) -> np.ndarray:
    turns, mirrored = pose
    return np.rot90(array[:, ::-1] if mirrored else array, -turns)
