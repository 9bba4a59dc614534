"""How close a restored picture is to the original: PSNR and SSIM, the one implementation every part
of gandash uses (the deblurring trainer's live metrics, the Deblur page, the benchmarks)."""

from __future__ import annotations

import math

import numpy as np
import torch


def psnr(restored: np.ndarray | torch.Tensor, reference: np.ndarray | torch.Tensor, data_range: float = 1.0) -> float:
    """Peak signal-to-noise ratio in dB; identical pictures get 120 dB (an MSE floor of 1e-12 at range 1)
    rather than infinity, so averages stay finite."""
    if isinstance(restored, torch.Tensor):
        mse = (restored.detach().double() - reference.detach().double()).pow(2).mean().item()
    else:
        mse = float(np.mean((np.asarray(restored, np.float64) - np.asarray(reference, np.float64)) ** 2))
    return 10 * math.log10(data_range**2 / max(mse, 1e-12 * data_range**2))


def ssim(restored: np.ndarray, reference: np.ndarray, data_range: float = 1.0) -> float:
    """Structural similarity of (H, W, C) pictures (scikit-image's, averaged over the channels)."""
    from skimage.metrics import structural_similarity  # here: scikit-image takes a moment to import

    return float(structural_similarity(reference, restored, data_range=data_range, channel_axis=-1))
