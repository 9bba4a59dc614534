"""SRGAN's step, on the paired trainer (engine.paired): the pairs are a crop and its x4 bicubic
downsampling instead of a blurred copy; the content loss is the pixel MSE (the paper's SRGAN-MSE; its
VGG feature loss needs weights that cannot be downloaded here) plus 1e-3 times the adversarial loss.
"""

from __future__ import annotations

from pathlib import Path

import torch
import torch.nn.functional as F

from gandash.data import degrade
from gandash.engine.paired import SAMPLE_PAIRS, PairedTrainer
from gandash.nets.srgan import SCALE


def bicubic_up(low: torch.Tensor) -> torch.Tensor:
    return F.interpolate(low, scale_factor=SCALE, mode="bicubic", align_corners=False).clamp(-1, 1)


class SRGANTrainer(PairedTrainer):
    def __init__(self, config, run_dir, variant, dataset=None):
        super().__init__(config, run_dir, variant, dataset)
        generator = torch.Generator().manual_seed(config.seed + 12345)
        index = torch.randint(len(self.data), (SAMPLE_PAIRS,), generator=generator)
        self.fixed_blurred, self.fixed_sharp = self._pair(self._crops(index, generator))

    def _pair(self, crops: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(low resolution, sharp) float in [-1, 1] from uint8 crops (centre, at the training size)."""
        size, margin = self.config.image_size, (crops.shape[-1] - self.config.image_size) // 2
        sharp = crops[:, :, margin : margin + size, margin : margin + size].float().div(127.5).sub(1)
        return degrade.downsample(sharp, SCALE).to(self.hw.device), sharp.to(self.hw.device)

    def _next_pair(self) -> tuple[torch.Tensor, torch.Tensor, None]:
        """(low resolution, sharp, no condition): SRGAN's G takes only the image."""
        return (*self._pair(self._crops(self._next_index())), None)

    def _d_update_pair(self, measure: bool, keep_restored: bool):
        """As the paired trainer's, but what it reports as the input is the bicubic upsampling of the
        low-resolution crop, so 'psnr_blurry' is the PSNR of the classical x4 baseline."""
        *rest, low = super()._d_update_pair(measure, keep_restored)
        return (*rest, bicubic_up(low))

    def save_samples(self) -> Path:
        """Rows of low resolution (enlarged, nearest) | SRGAN | original, two triplets per row."""
        with self.sampling_mode() as G:
            restored = G(self.fixed_blurred).float().clamp(-1, 1)
        low = F.interpolate(self.fixed_blurred, scale_factor=SCALE, mode="nearest")
        return self.write_grid(torch.stack([low, restored, self.fixed_sharp], 1).flatten(0, 1), nrow=6)
