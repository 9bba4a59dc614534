"""SRGAN's step, on the paired trainer (engine.paired): the pairs are a crop and its x4 smaller copy
instead of a blurred one.

The content loss is Charbonnier's (a smooth L1: EDSR found L1 trains super-resolution to a better PSNR
than MSE) and config.adversarial_weight weighs D's verdict beside it (Ledig et al.: 1e-3; the paper's VGG
loss needs weights that cannot be downloaded here). At 0 D is not trained at all: that is the pixel model
(the paper's SRResNet), which the adversarial one is best fine-tuned from (init_from), as in the paper.

The small copies are made as phones and the web make them: Pillow's antialiased bicubic shrink (what
bench/upscale.py and the Deblur page measure), in 8 bits; with config.pairs 'camera' a few originals are
mildly blurred first (a soft lens), and some small copies get sensor noise or are saved as JPEG
(degrade.noisy / degrade.compressed with SR_CAMERA). The shares are small: most photos people enlarge
are clean, and a net taught to expect noise holds back its sharpening (bench: ... dB on clean photos).
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import torch
import torch.nn.functional as F

from gandash.data import degrade
from gandash.engine.paired import RECIPES, SAMPLE_PAIRS, PairedTrainer, psnr
from gandash.nets.srgan import SCALE, bicubic_up

# the share of small copies with sensor noise (up to 1% at mid-grey) and of those saved as JPEG (q70-95)
SR_CAMERA = degrade.Mix(
    shake=0.0, noise=0.2, noise_level=(0.0, 0.01), poisson=True, resized=0.0, jpeg=0.2, jpeg_quality=(70, 95)
)
SR_MIXES = {"camera": SR_CAMERA, "clean": degrade.NONE}
SOFT_SHARE, SOFT_SIGMA = 0.15, (0.4, 1.2)  # originals blurred before the shrink, and the Gaussian's sigma (px)


class SRGANTrainer(PairedTrainer):
    def __init__(self, config, run_dir, variant, dataset=None):
        super().__init__(config, run_dir, variant, dataset)
        self.recipe = replace(RECIPES["srgan"], adversarial_weight=config.adversarial_weight)
        generator = torch.Generator().manual_seed(config.seed + 12345)
        index = torch.randint(len(self.data), (SAMPLE_PAIRS,), generator=generator)
        self.fixed_blurred, self.fixed_sharp = self._pair(self._crops(index, generator), generator, centre=True)

    def _pair(
        self, crops: torch.Tensor, generator: torch.Generator | None = None, centre: bool = False
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """(small copy, original) float in [-1, 1] from uint8 crops with a margin: a random window of each
        at the training size (the centre for the fixed pairs), and its small copy as config.pairs says."""
        size = self.config.image_size
        extra = crops.shape[-1] - size
        full = crops.float().div(127.5).sub(1)
        mix = SR_MIXES[self.config.pairs]
        sharp, source = [], []
        for image in full:
            top, left = (extra // 2,) * 2 if centre else torch.randint(extra + 1, (2,), generator=generator).tolist()
            original = image
            if mix is not degrade.NONE and torch.rand((), generator=generator) < SOFT_SHARE:
                sigma = SOFT_SIGMA[0] + (SOFT_SIGMA[1] - SOFT_SIGMA[0]) * torch.rand((), generator=generator).item()
                kernel = torch.from_numpy(degrade.gaussian_kernel(sigma)).float()[None]
                original = degrade.blur(image[None], kernel)[0]  # the margin gives the blur real neighbours
            sharp.append(image[:, top : top + size, left : left + size])
            source.append(original[:, top : top + size, left : left + size])
        low = degrade.downsample(torch.stack(source), SCALE)
        low = degrade.compressed(degrade.noisy(low, mix, generator), mix, generator)
        return low.to(self.hw.device), torch.stack(sharp).to(self.hw.device)

    def _next_pair(self) -> tuple[torch.Tensor, torch.Tensor, None]:
        """(small copy, original, no condition): SRGAN's G takes only the image."""
        return (*self._pair(self._crops(self._next_index())), None)

    def _d_update_pair(self, measure: bool, keep_restored: bool):
        """As the paired trainer's, but what it reports as the input is the bicubic enlargement of the
        small copy, so 'psnr_blurry' is the PSNR of the classical x4 baseline."""
        *rest, low = super()._d_update_pair(measure, keep_restored)
        return (*rest, bicubic_up(low).clamp(-1, 1))

    def train_step(self, measure: bool = False) -> dict[str, float] | None:
        """With an adversarial weight, the paired trainer's step; without, the pixel loss alone and no D."""
        if self.recipe.adversarial_weight:
            return super().train_step(measure)
        low, sharp, _ = self._next_pair()
        with self._autocast():
            restored = self.generator(low)
            loss = self._content(restored.float(), sharp)
        norm = self.finish_g_step(loss, measure)
        self._finite &= torch.isfinite(loss.detach())
        if not measure:
            return None
        return {
            "loss_g": loss.item(),
            "grad_norm_g": norm,
            "content": loss.item(),
            "psnr_blurry": psnr(bicubic_up(low).clamp(-1, 1), sharp),
            "psnr_restored": psnr(restored, sharp),
        }

    def save_samples(self) -> Path:
        """Rows of small copy (enlarged, nearest) | G | original, two triplets per row."""
        with self.sampling_mode() as G:
            restored = G(self.fixed_blurred).float().clamp(-1, 1)
        low = F.interpolate(self.fixed_blurred, scale_factor=SCALE, mode="nearest")
        return self.write_grid(torch.stack([low, restored, self.fixed_sharp], 1).flatten(0, 1), nrow=6)
