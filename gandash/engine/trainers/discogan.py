"""DiscoGAN's step (Kim et al. 2017): both directions at once. Each D learns its domain against the
other direction's translations; each G is trained by the D of its target domain plus the
reconstruction of its round trip (L_CONST), which keeps the translation a one-to-one mapping."""

from __future__ import annotations

from pathlib import Path

import torch

from gandash.engine import losses
from gandash.engine.trainers.staged import StagedTrainer

RECONSTRUCTION_WEIGHT = 1.0  # the paper adds L_CONST and L_GAN with equal weight
SAMPLE_ROWS = 8


class DiscoGANTrainer(StagedTrainer):
    def __init__(self, config, run_dir, variant, dataset=None):
        super().__init__(config, run_dir, variant, dataset)
        labels = self.data.labels
        self.rows = {"a": (labels == 0).nonzero().flatten(), "b": (labels == 1).nonzero().flatten()}
        generator = torch.Generator().manual_seed(config.seed + 12345)  # the same images in every grid
        self.fixed = {
            side: self._images(rows[torch.randint(len(rows), (SAMPLE_ROWS,), generator=generator)])
            for side, rows in self.rows.items()
        }

    def _images(self, index: torch.Tensor) -> torch.Tensor:
        return self.data.batch(index.to(self.data.images.device), self.hw.device, self.hw.channels_last)

    def batch(self):
        """Unpaired: a random batch of each domain (the global RNG, so resuming is exact)."""
        n = self.config.batch_size
        return {side: self._images(rows[torch.randint(len(rows), (n,))]) for side, rows in self.rows.items()}

    def fakes(self, batch):
        G = self.generator
        ab, ba = G.ab(batch["a"]), G.ba(batch["b"])
        return {"ab": ab, "ba": ba, "aba": G.ba(ab), "bab": G.ab(ba)}

    def d_loss(self, batch, fakes):
        D, family = self.discriminator, self.config.loss
        real_a, real_b = D.a(batch["a"]), D.b(batch["b"])
        fake_a, fake_b = D.a(fakes["ba"].detach()), D.b(fakes["ab"].detach())
        loss = losses.discriminator_loss(family, real_a, fake_a) + losses.discriminator_loss(family, real_b, fake_b)
        return loss, torch.cat([real_a, real_b]), torch.cat([fake_a, fake_b]), {}

    def g_loss(self, batch, fakes):
        D, c = self.discriminator, self.config
        fake_a, fake_b = D.a(fakes["ba"]), D.b(fakes["ab"])
        adversarial = losses.generator_loss(c.loss, fake_a, c.g_loss) + losses.generator_loss(c.loss, fake_b, c.g_loss)
        reconstruction = losses.reconstruction(batch["a"], fakes["aba"]) + losses.reconstruction(
            batch["b"], fakes["bab"]
        )
        loss = adversarial + RECONSTRUCTION_WEIGHT * reconstruction
        return loss, torch.cat([fake_a, fake_b]), {"reconstruction": reconstruction.detach()}

    def save_samples(self) -> Path:
        """Rows of a | G_AB(a) | G_BA(G_AB(a)) for fixed images of A, then the same from B."""
        with self.sampling_mode() as G:
            a, b = self.fixed["a"], self.fixed["b"]
            ab, ba = G.ab(a), G.ba(b)
            triplets = torch.cat([torch.stack([a, ab, G.ba(ab)], 1), torch.stack([b, ba, G.ab(ba)], 1)]).flatten(0, 1)
        return self.write_grid(triplets, nrow=6)
