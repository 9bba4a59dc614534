"""StagedTrainer: Trainer with its step split into what a variant must say (a batch, the fakes, the
D loss, the G loss) and what the base keeps (optimisers, clipping, EMA, checkpoints, resume, the
step-by-step mode, the metrics every page expects).

Several nets of one side (LAPGAN's levels, StackGAN's stages, DiscoGAN's two directions) live in one
wrapper module, so one optimiser per side covers them: Adam's state is per parameter, so that is the
same as one optimiser per net with the same settings.
"""

from __future__ import annotations

import contextlib

import torch

from gandash.engine import parallel
from gandash.engine.trainer import Trainer, clip_weights

Batch = dict
Fakes = dict


class StagedTrainer(Trainer):
    # --- what a variant says -------------------------------------------------------------------
    def batch(self) -> Batch:
        real, labels = self._next_batch()
        return {"real": real, "labels": labels}

    def fakes(self, batch: Batch) -> Fakes:
        raise NotImplementedError

    def d_loss(self, batch: Batch, fakes: Fakes) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, dict]:
        """(loss, real logits, fake logits, extra metrics); the fakes must be detached here."""
        raise NotImplementedError

    def g_loss(self, batch: Batch, fakes: Fakes) -> tuple[torch.Tensor, torch.Tensor, dict]:
        """(loss, D's logits of the fakes, extra metrics)."""
        raise NotImplementedError

    # --- the machinery -------------------------------------------------------------------------
    def _d_phase(self, measure: bool, keep_fakes: bool):
        batch = self.batch()
        with self._autocast():
            with contextlib.nullcontext() if keep_fakes else torch.no_grad():
                fakes = self.fakes(batch)
            loss, real_logits, fake_logits, extras = self.d_loss(batch, fakes)
        norm = self._backward_step(loss, self.opt_d, self.discriminator.parameters(), measure)
        clip_weights(self.discriminator, self.config.clip_value)
        return loss, real_logits, fake_logits, norm, batch, fakes, extras

    def _g_phase(self, batch: Batch, fakes: Fakes, measure: bool):
        with self._autocast(), parallel.judging(self.discriminator):
            loss, fake_logits, extras = self.g_loss(batch, fakes)
        return loss, fake_logits, self.finish_g_step(loss, measure), extras

    def train_step(self, measure: bool = False) -> dict[str, float] | None:
        """k D steps, then one G step on the last D step's fakes (as engine.trainer.Trainer does)."""
        k = self.config.d_steps
        for index in range(k):
            last = index == k - 1
            loss_d, real_logits, fake_logits, norm_d, batch, fakes, extras_d = self._d_phase(measure and last, last)
        loss_g, fake_logits_g, norm_g, extras_g = self._g_phase(batch, fakes, measure)
        values = self.step_report(measure, (loss_d, real_logits, fake_logits, norm_d), (loss_g, fake_logits_g, norm_g))
        if values is not None:
            values.update({key: float(value) for key, value in {**extras_d, **extras_g}.items()})
        return values

    def single_d_step(self) -> dict[str, float]:
        loss, real_logits, fake_logits, norm, *_ = self._d_phase(measure=True, keep_fakes=False)
        return self.d_report(loss, real_logits, fake_logits, norm)

    def single_g_step(self) -> dict[str, float]:
        """A generator step on a fresh batch and fresh fakes."""
        batch = self.batch()
        with self._autocast():
            fakes = self.fakes(batch)
        loss, fake_logits, norm, _ = self._g_phase(batch, fakes, measure=True)
        return self.g_report(loss, fake_logits, norm)
