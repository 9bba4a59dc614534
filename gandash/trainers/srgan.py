"""SRGAN's step, on the paired trainer (gandash.paired): the pairs are a crop and its x4 bicubic
downsampling instead of a blurred copy; the content loss is the pixel MSE (the paper's SRGAN-MSE; its
VGG feature loss needs weights that cannot be downloaded here) plus 1e-3 times the adversarial loss.
"""

from __future__ import annotations

from pathlib import Path

import torch
import torch.nn.functional as F

from gandash import images
from gandash.nets.srgan import SCALE
from gandash.paired import SAMPLE_PAIRS, PairedTrainer
from gandash.paths import atomic_write_bytes


def downsample(sharp: torch.Tensor) -> torch.Tensor:
    """x4 smaller by bicubic interpolation with antialiasing (the paper's degradation)."""
    return F.interpolate(sharp, scale_factor=1 / SCALE, mode="bicubic", antialias=True, align_corners=False)


def bicubic_up(low: torch.Tensor) -> torch.Tensor:
    return F.interpolate(low, scale_factor=SCALE, mode="bicubic", align_corners=False).clamp(-1, 1)


class SRGANTrainer(PairedTrainer):
    def __init__(self, config, run_dir, dataset=None):
        super().__init__(config, run_dir, dataset)
        generator = torch.Generator().manual_seed(config.seed + 12345)
        index = torch.randint(len(self.data), (SAMPLE_PAIRS,), generator=generator)
        self.fixed_blurred, self.fixed_sharp = self._pair(self._crops(index, generator))

    def _pair(self, crops: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(low resolution, sharp) float in [-1, 1] from uint8 crops (centre, at the training size)."""
        size, margin = self.config.image_size, (crops.shape[-1] - self.config.image_size) // 2
        sharp = crops[:, :, margin:margin + size, margin:margin + size].float().div(127.5).sub(1)
        return downsample(sharp).to(self.hw.device), sharp.to(self.hw.device)

    def _next_pair(self) -> tuple[torch.Tensor, torch.Tensor, None]:
        """(low resolution, sharp, no condition): SRGAN's G takes only the image."""
        return (*self._pair(self._crops(self._next_index())), None)

    def _d_update_pair(self, measure: bool, keep_restored: bool):
        """As the paired trainer's, but what it reports as the input is the bicubic upsampling of the
        low-resolution crop, so 'psnr_blurry' is the PSNR of the classical x4 baseline."""
        *rest, low = super()._d_update_pair(measure, keep_restored)
        return (*rest, bicubic_up(low))

    @torch.no_grad()
    def save_samples(self) -> Path:
        """Rows of low resolution (enlarged, nearest) | SRGAN | original, two triplets per row."""
        G = self.sampling_generator()
        was_training = G.training
        G.eval()
        try:
            restored = G(self.fixed_blurred).float().clamp(-1, 1)
        finally:
            G.train(was_training)
        low = F.interpolate(self.fixed_blurred, scale_factor=SCALE, mode="nearest")
        triplets = torch.stack([low, restored, self.fixed_sharp], 1).flatten(0, 1)
        folder = self.run_dir / "samples"
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / f"step_{self.step:08d}.png"
        atomic_write_bytes(path, images.grid_png(triplets, nrow=6))
        return path
