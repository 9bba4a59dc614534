"""The paired (image-to-image) trainer: blurred -> G -> restored, judged against the sharp crop.

It keeps trainer.Trainer's interface and machinery (data cursor, EMA, optimisers, checkpoints,
resume, step-by-step mode) and replaces only what differs from Algorithm 1: where G's input comes
from (a blurred crop instead of noise), G's loss (a content term plus a small adversarial term) and
what a sample grid shows (blurry | restored | sharp). Variants name it as their trainer, so the loop,
the worker and jobs run it unchanged.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import torch

from gandash.core.config import TrainConfig
from gandash.data import degrade, kernel_grid
from gandash.engine import losses, parallel
from gandash.engine.trainer import Nets, Trainer
from gandash.quality import fidelity

SAMPLE_PAIRS = 8
FALSE_ALARM = 0.5  # of the unblurred crops (data.degrade.CAMERA.sharp), how many G is given a wrong kernel for


@dataclass(frozen=True)
class PairedRecipe:
    content: str  # mse (the seed tutorial) | charbonnier (robust L1)
    frequency_weight: float  # L1 between the Fourier transforms: restores the high frequencies blur removed
    adversarial_weight: float  # small: the content term sets the picture, D only pushes towards crisp texture
    cosine_lr: bool  # decay both learning rates to 10% over a step budget


RECIPES = {
    "deblur-seed": PairedRecipe("mse", 0.0, 1e-3, cosine_lr=False),
    "deblur": PairedRecipe("charbonnier", 0.1, 1e-3, cosine_lr=True),
    # x4 SR (engine.trainers.srgan): Charbonnier, no Fourier term. The 1e-3 (Ledig et al.'s) is never used:
    # the trainer puts config.adversarial_weight in its place (0: the pixel model, D never stepped), and its
    # learning rates follow config.lr_schedule instead of cosine_lr.
    "srgan": PairedRecipe("charbonnier", 0.0, 1e-3, cosine_lr=False),
}


def charbonnier(x: torch.Tensor, y: torch.Tensor, eps: float = 1e-3) -> torch.Tensor:
    """sqrt((x - y)^2 + eps^2): L1 that stays smooth at 0 (Charbonnier et al. 1994; used by MPRNet)."""
    return torch.sqrt((x - y).pow(2) + eps * eps).mean()


def frequency_l1(x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """Mean absolute difference of the 2D spectra (MIMO-UNet's FFT loss); 'ortho' keeps it on the
    scale of a pixel loss."""
    fx, fy = torch.fft.rfft2(x.float(), norm="ortho"), torch.fft.rfft2(y.float(), norm="ortho")
    return (torch.view_as_real(fx) - torch.view_as_real(fy)).abs().mean()


def psnr(x: torch.Tensor, y: torch.Tensor) -> float:
    """PSNR in dB of images in [-1, 1] (peak 1 on the [0, 1] scale)."""
    return fidelity.psnr(x.clamp(-1, 1).add(1).div(2), y.add(1).div(2))


class PairedTrainer(Trainer):
    def __init__(self, config: TrainConfig, run_dir: Path, variant: Nets, dataset=None):
        super().__init__(config, run_dir, variant, dataset)
        self.recipe = RECIPES[config.variant]
        # The same pairs in every sample grid, drawn from their own RNG so training's is untouched.
        generator = torch.Generator().manual_seed(config.seed + 12345)
        index = torch.randint(len(self.data), (SAMPLE_PAIRS,), generator=generator)
        blurred, sharp, kernels = degrade.degrade(
            self._crops(index, generator), config.image_size, generator, degrade.MIXES[config.pairs]
        )
        self.fixed_blurred, self.fixed_sharp = blurred.to(self.hw.device), sharp.to(self.hw.device)
        self.fixed_kernels = kernel_grid.as_estimated(kernels, generator, miss=0).to(self.hw.device)
        self.base_lr = (config.lr_g, config.lr_d)

    # --- data ------------------------------------------------------------------------------
    def _crops(self, index: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
        """Random crops (with the blur's margin when the tiles have it), flips, quarter turns and
        colour-channel orders of the rows `index`: uint8 (N, C, S, S)."""
        tiles = self.data.images[index.to(self.data.images.device)].cpu()
        size = min(tiles.shape[-1], self.config.image_size + 2 * (degrade.KERNEL_SIZE // 2))
        crops = []
        for tile in tiles:
            # of three random places, the one with the most edges: flat crops teach nothing about blur
            candidates = [
                tile[:, top : top + size, left : left + size]
                for top, left in torch.randint(tiles.shape[-1] - size + 1, (3, 2), generator=generator).tolist()
            ]
            crop = max(candidates, key=lambda c: c.float().diff(dim=-1).abs().mean().item())
            turns, flip, order = (
                int(v)
                for v in (
                    torch.randint(4, (), generator=generator),
                    torch.randint(2, (), generator=generator),
                    torch.randint(6, (), generator=generator),
                )
            )
            crop = torch.rot90(crop, turns, (1, 2))
            crop = crop.flip(2) if flip else crop
            if crop.shape[0] == 3:  # colour casts are not what deblurring is about: any channel order
                crop = crop[[(0, 1, 2), (0, 2, 1), (1, 0, 2), (1, 2, 0), (2, 0, 1), (2, 1, 0)][order], :, :]
            crops.append(crop)
        return torch.stack(crops)

    def _next_pair(self) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """(blurred, sharp, the kernels G is given): G deconvolves with what the blind estimator would
        name, not the true kernel, so it learns to live with the estimator's misses."""
        crops = self._crops(self._next_index())
        blurred, sharp, kernels = degrade.degrade(crops, self.config.image_size, mix=degrade.MIXES[self.config.pairs])
        given = kernel_grid.as_estimated(
            kernels, false_alarm=FALSE_ALARM, traced=self.config.traced_kernels, spread=self.config.traced_spread
        )
        return blurred.to(self.hw.device), sharp.to(self.hw.device), given.to(self.hw.device)

    # --- one step -------------------------------------------------------------------------------
    def _schedule(self) -> None:
        total = self.config.total_steps
        if not (self.recipe.cosine_lr and total):
            return
        scale = 0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * min(self.step / total, 1.0)))
        for optimizer, base in zip((self.opt_g, self.opt_d), self.base_lr):
            for group in optimizer.param_groups:
                group["lr"] = base * self.lr_scale * scale

    def _interior(self, x: torch.Tensor) -> torch.Tensor:
        """The crop without its config.loss_margin border. Near a crop's edge the U-Net's Wiener
        estimates ring (the reflected padding is not what lay beyond the edge), and half of a 64 px
        crop is within 10 px of one; restoring a photo, each tile keeps only its centre. Judging the
        interior trains the net for what it will be used for (bench/deblur.py, fine-tuning the 20 000-step
        U-Net for 2000 steps: +0.08 dB on the held-out photos this way, -0.02 dB on whole crops)."""
        m = min(self.config.loss_margin, x.shape[-1] // 4, x.shape[-2] // 4)
        return x[..., m : x.shape[-2] - m, m : x.shape[-1] - m] if m else x

    def _content(self, restored: torch.Tensor, sharp: torch.Tensor) -> torch.Tensor:
        r = self.recipe
        restored, sharp = self._interior(restored), self._interior(sharp)
        loss = (restored - sharp).pow(2).mean() if r.content == "mse" else charbonnier(restored, sharp)
        return loss + r.frequency_weight * frequency_l1(restored, sharp) if r.frequency_weight else loss

    def _d_update_pair(self, measure: bool, keep_restored: bool):
        """One D update: sharp crops are real, G's restorations are fake. Returns (loss, real logits,
        fake logits, grad norm, restored, sharp, blurred); `restored` keeps its graph when asked."""
        G, D, c = self.generator, self.discriminator, self.config
        blurred, sharp, kernels = self._next_pair()
        with self._autocast():
            with torch.enable_grad() if keep_restored else torch.no_grad():
                restored = G(blurred, kernels)
            real_logits, fake_logits = D(self._interior(sharp)), D(self._interior(restored.detach()))
            loss = losses.discriminator_loss(c.loss, real_logits, fake_logits)
        norm = self._backward_step(loss, self.opt_d, D.parameters(), measure)
        return loss, real_logits, fake_logits, norm, restored, sharp, blurred

    def _g_update_pair(self, restored: torch.Tensor, sharp: torch.Tensor, measure: bool):
        with self._autocast(), parallel.judging(self.discriminator):
            fake_logits = self.discriminator(self._interior(restored))
            content = self._content(restored.float(), sharp)
            adversarial = losses.generator_loss(self.config.loss, fake_logits, self.config.g_loss)
            loss = content + self.recipe.adversarial_weight * adversarial
        return loss, content, fake_logits, self.finish_g_step(loss, measure)

    def train_step(self, measure: bool = False) -> dict[str, float] | None:
        self._schedule()
        k = self.config.d_steps
        for index in range(k):
            last = index == k - 1
            loss_d, real_logits, fake_logits, norm_d, restored, sharp, blurred = self._d_update_pair(
                measure and last, keep_restored=last
            )
        loss_g, content, fake_logits_g, norm_g = self._g_update_pair(restored, sharp, measure)
        values = self.step_report(measure, (loss_d, real_logits, fake_logits, norm_d), (loss_g, fake_logits_g, norm_g))
        if values is not None:
            values.update(content=content.item(), psnr_blurry=psnr(blurred, sharp), psnr_restored=psnr(restored, sharp))
        return values

    # --- step-by-step mode ------------------------------------------------------------------------
    def single_d_step(self) -> dict[str, float]:
        loss, real_logits, fake_logits, norm, *_ = self._d_update_pair(measure=True, keep_restored=False)
        return self.d_report(loss, real_logits, fake_logits, norm)

    def single_g_step(self) -> dict[str, float]:
        blurred, sharp, kernels = self._next_pair()
        with self._autocast():
            restored = self.generator(blurred, kernels)
        loss, _, fake_logits, norm = self._g_update_pair(restored, sharp, measure=True)
        return self.g_report(loss, fake_logits, norm)

    # --- samples ----------------------------------------------------------------------------------
    def save_samples(self) -> Path:
        """Rows of blurry | restored | sharp (two triplets per row) for the fixed pairs."""
        with self.sampling_mode() as G:
            restored = G(self.fixed_blurred, self.fixed_kernels).float().clamp(-1, 1)
        return self.write_grid(torch.stack([self.fixed_blurred, restored, self.fixed_sharp], 1).flatten(0, 1), nrow=6)
