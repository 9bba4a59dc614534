"""The multi-scale variants' steps: LAPGAN trains every pyramid level on the real pyramid at once;
StackGAN trains its two stages jointly (as StackGAN++ does), each against its own D."""

from __future__ import annotations

import torch

from gandash.engine import losses
from gandash.engine.trainers.staged import StagedTrainer
from gandash.nets.blocks import down
from gandash.nets.lapgan import laplacian

KL_WEIGHT = 1.0  # StackGAN's lambda for the conditioning-augmentation KL term


def _level_losses(family: str, real: list[torch.Tensor], fake: list[torch.Tensor]) -> torch.Tensor:
    return sum(losses.discriminator_loss(family, r, f) for r, f in zip(real, fake))


class LapGANTrainer(StagedTrainer):
    """Each level k >= 1 is conditioned on the REAL upsampled coarser image (Denton et al. train the
    levels independently); the chain of G's own outputs is used only when sampling."""

    def fakes(self, batch):
        outputs, conditions = laplacian(batch["real"])
        z = self.noise(len(batch["real"]))
        return {"real": outputs, "conditions": conditions, "fake": self.generator.levels(z, conditions)}

    def d_loss(self, batch, fakes):
        D, conditions = self.discriminator, fakes["conditions"]
        real = D.level_logits(fakes["real"], conditions)
        fake = D.level_logits([f.detach() for f in fakes["fake"]], conditions)
        loss = _level_losses(self.config.loss, real, fake)
        return loss, torch.cat(real), torch.cat(fake), {}

    def g_loss(self, batch, fakes):
        fake = self.discriminator.level_logits(fakes["fake"], fakes["conditions"])
        loss = sum(losses.generator_loss(self.config.loss, f, self.config.g_loss) for f in fake)
        return loss, torch.cat(fake), {}


class StackGANTrainer(StagedTrainer):
    def fakes(self, batch):
        z = self.noise(len(batch["real"]))
        low, high, mu, logvar = self.generator.stages(z, batch["labels"])
        return {"low": low, "high": high, "mu": mu, "logvar": logvar}

    def d_loss(self, batch, fakes):
        D, real, labels, family = self.discriminator, batch["real"], batch["labels"], self.config.loss
        real_low, real_high = D.low(down(real), labels), D.high(real, labels)
        fake_low, fake_high = D.low(fakes["low"].detach(), labels), D.high(fakes["high"].detach(), labels)
        loss = losses.discriminator_loss(family, real_low, fake_low) + losses.discriminator_loss(
            family, real_high, fake_high
        )
        return loss, torch.cat([real_low, real_high]), torch.cat([fake_low, fake_high]), {}

    def g_loss(self, batch, fakes):
        D, labels, c = self.discriminator, batch["labels"], self.config
        fake_low, fake_high = D.low(fakes["low"], labels), D.high(fakes["high"], labels)
        kl = losses.kl_to_standard_normal(fakes["mu"], fakes["logvar"])
        adversarial = losses.generator_loss(c.loss, fake_low, c.g_loss) + losses.generator_loss(
            c.loss, fake_high, c.g_loss
        )
        return adversarial + KL_WEIGHT * kl, torch.cat([fake_low, fake_high]), {"kl": kl.detach()}
