"""What a variant is (`Variant`: text, paper, objective, nets, trainer, recipe) and the pieces several
variants share: the conv and MLP builders, their size checks, and the DCGAN recipes.

A variant is data plus a `build(config)` that returns (generator, discriminator); its trainer does the
rest with the loss family named in the config. Defaults are the variant's recipe and are applied when a
config is made (variants.configure.make_config), so config.json holds the concrete values trained with.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from torch import nn

from gandash.core.config import DataKind, TrainConfig
from gandash.engine.trainer import Trainer
from gandash.nets import conv, mlp


@dataclass(frozen=True)
class Variant:
    name: str
    title: str
    description: str
    paper: str
    objective: str  # LaTeX
    family: str  # unconditional | conditional | toy | image-to-image
    data_kind: DataKind
    build: Callable[[TrainConfig], tuple[nn.Module, nn.Module]]
    defaults: dict = field(default_factory=dict)
    conditional: bool = False
    size_check: Callable[[int], str | None] = lambda size: None  # a message when the size is impossible
    # Variants whose step is not Algorithm 1 on (z -> G -> D) (paired image-to-image, multi-network
    # ones) name their own subclass of engine.trainer.Trainer
    trainer: type[Trainer] = Trainer
    # weights shipped with gandash that a run can start from (init_from="bundled")
    bundled_weights: Path | None = None
    # problems with the other settings (beyond the image size), each a message saying what to do
    config_check: Callable[[TrainConfig], list[str]] = lambda config: []


def conv_size(size: int) -> str | None:
    if conv.plan(size) is None:
        return f"image_size {size} cannot be made by this convolutional net; use one of {conv.supported_sizes()}."
    return None


def mlp_size(size: int) -> str | None:
    return None if 8 <= size <= 64 else f"image_size {size} is outside 8..64 for the fully connected nets."


def image_shape(config: TrainConfig) -> tuple[int, int, int]:
    return (config.channels, config.image_size, config.image_size)


def build_vanilla(config: TrainConfig):
    shape = image_shape(config)
    return (mlp.MLPGenerator(config.z_dim, shape, (256, 512, 1024)), mlp.MLPDiscriminator(shape, (1024, 512, 256)))


def conv_builder(norm: str, conditional: bool = False):
    def build(config: TrainConfig):
        classes = config.num_classes if conditional else 0
        return (
            conv.ConvGenerator(
                config.z_dim, config.channels, config.image_size, config.width, classes, extra_convs=config.extra_convs
            ),
            conv.ConvDiscriminator(
                config.channels, config.image_size, config.width, norm, classes, extra_convs=config.extra_convs
            ),
        )

    return build


BCE_OBJECTIVE = (
    r"\min_G \max_D \; \mathbb{E}_{x\sim p_\text{data}}[\log D(x)]"
    r" + \mathbb{E}_{z\sim p_z}[\log(1 - D(G(z)))]"
)
DCGAN_RECIPE = dict(z_dim=100, width=64, lr_g=2e-4, lr_d=2e-4, beta1=0.5, beta2=0.999, loss="bce")
# What wins on a CPU in minutes (bench/quality.py): half the channels run ~2.5x more steps in the same
# time, which matters more than width at 28x28; the EMA of G and a learning rate that decays to 0
# over the budget remove most of the late-training jitter from the samples; and with that decay the
# paper's 2e-4 can be tripled. 10 minutes on one core of two, FID / recall, one screen: 2e-4 20.2 /
# 0.56, 3e-4 16.5 / 0.60, 4e-4 14.0 / 0.62, 6e-4 13.1 / 0.65; a later one, same conditions: 4e-4
# 13.5 / 0.63, 6e-4 11.3 / 0.68, 8e-4 11.3 / 0.73, lr_d 8e-4 with lr_g 4e-4 12.5 / 0.65. 6e-4 is
# the milder of the two best. The cGAN keeps 4e-4 (label accuracy 86.7% at 10 minutes, alone).
CPU_FAST = dict(width=32, ema_decay=0.999, lr_schedule="linear", lr_g=6e-4, lr_d=6e-4)
# At 28x28 the paper's nets are two layers deep each side; one more 3x3 conv at each inner
# resolution (extra_convs=1) costs a quarter of the steps and pays for it. Same screen, 6e-4, FID /
# recall: plain 12.0 / 0.67 (12 952 steps); one in G only 10.2 / 0.64; two in G only 9.3 / 0.52;
# one in G and one in D 6.9 / 0.75 (7 280 steps). Batch 128 at 8e-4 (13.3 at 9 min), least squares
# (13.8 at 9 min) and a spectral-norm D without BatchNorm (hinge 19.6, BCE 17.1) did worse. Not for
# the cGAN: its D, with label planes, halves its steps with the extra layers (FID 19.9 at 4e-4, 22.5 at
# 6e-4, side by side; plain alone 7.7).
DEEPER = dict(extra_convs=1)
# pytorch/examples dcgan/main.py as it ships (ngf = ndf = 64, batch 64, Adam 2e-4 constant, no EMA): the
# Gallery's seed preset and the reference of bench/throughput.py and bench/quality.py
PYTORCH_EXAMPLES_DCGAN64 = dict(
    image_size=64, batch_size=64, width=64, extra_convs=0, ema_decay=0.0, lr_schedule="constant", lr_g=2e-4, lr_d=2e-4
)
