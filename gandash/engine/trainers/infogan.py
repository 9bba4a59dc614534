"""InfoGAN's step (Chen et al. 2016): the usual GAN game plus lambda * -L_I, the NLL of the codes under
Q, minimised by D (through Q and the shared body) and by G (which learns to make its codes legible)."""

from __future__ import annotations

import torch

from gandash.engine import losses
from gandash.engine.trainer import GRID_SIZE
from gandash.engine.trainers.staged import StagedTrainer
from gandash.nets.infogan import CATEGORIES, CODE_DIM, prior_z

INFO_WEIGHT = 1.0  # the paper's lambda for discrete codes (continuous codes are on a similar scale here)


class InfoGANTrainer(StagedTrainer):
    def __init__(self, config, run_dir, variant, dataset=None):
        super().__init__(config, run_dir, variant, dataset)
        # fixed samples: codes from the prior, but the category runs 0..9 along each row of the grid
        generator = torch.Generator().manual_seed(config.seed + 12345)
        z = prior_z(GRID_SIZE, config.z_dim, generator)
        z[:, -CODE_DIM : -CODE_DIM + CATEGORIES] = torch.eye(CATEGORIES)[torch.arange(GRID_SIZE) % CATEGORIES]
        self.fixed_noise = z.to(self.hw.device)

    def fakes(self, batch):
        z = prior_z(len(batch["real"]), self.config.z_dim).to(self.hw.device)
        return {"z": z, "fake": self.generator(z)}

    def _information(self, fake: torch.Tensor, z: torch.Tensor):
        logits, category_logits, continuous_mean = self.discriminator.forward_with_codes(fake)
        codes = z[:, -CODE_DIM:]
        info = losses.mutual_information(category_logits, codes[:, :CATEGORIES], continuous_mean, codes[:, CATEGORIES:])
        accuracy = (category_logits.argmax(1) == codes[:, :CATEGORIES].argmax(1)).float().mean()
        return logits, info, accuracy

    def d_loss(self, batch, fakes):
        real_logits = self.discriminator(batch["real"])
        fake_logits, info, accuracy = self._information(fakes["fake"].detach(), fakes["z"])
        loss = losses.discriminator_loss(self.config.loss, real_logits, fake_logits) + INFO_WEIGHT * info
        return loss, real_logits, fake_logits, {"info_d": info.detach(), "q_accuracy": accuracy}

    def g_loss(self, batch, fakes):
        fake_logits, info, _ = self._information(fakes["fake"], fakes["z"])
        adversarial = losses.generator_loss(self.config.loss, fake_logits, self.config.g_loss)
        return adversarial + INFO_WEIGHT * info, fake_logits, {"info_g": info.detach()}
