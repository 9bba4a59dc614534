"""The registry of GAN variants: one entry each, with its text, paper, objective, nets and defaults.

A variant is data plus a `build(config)` that returns (generator, discriminator); the trainer
does the rest with the loss family named in the config. Defaults are the variant's recipe
and are applied when a config is made (see config.make_config), so config.json holds the
concrete values that were trained with.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Callable

from torch import nn

from gandash.errors import GandashError
from gandash.nets import conv, deblur, mlp

if TYPE_CHECKING:
    from gandash.config import TrainConfig


@dataclass(frozen=True)
class Variant:
    name: str
    title: str
    description: str
    paper: str
    objective: str  # LaTeX
    family: str  # unconditional | conditional | toy | image-to-image
    data_kind: str  # image | points | paired (blurred/sharp pairs)
    build: Callable[["TrainConfig"], tuple[nn.Module, nn.Module]]
    defaults: dict = field(default_factory=dict)
    conditional: bool = False
    size_check: Callable[[int], str | None] = lambda size: None  # a message when the size is impossible
    # Variants whose step is not Algorithm 1 on (z -> G -> D) (paired image-to-image, multi-network
    # ones) name their own trainer class as "module:Class"; it has trainer.Trainer's interface.
    trainer: str | None = None
    # problems with the other settings (beyond the image size), each a message saying what to do
    config_check: Callable[["TrainConfig"], list[str]] = lambda config: []


def _conv_size(size: int) -> str | None:
    if conv.plan(size) is None:
        return f"image_size {size} cannot be made by this convolutional net; use one of {conv.supported_sizes()}."
    return None


def _mlp_size(size: int) -> str | None:
    return None if 8 <= size <= 64 else f"image_size {size} is outside 8..64 for the fully connected nets."


def _image_shape(config: "TrainConfig") -> tuple[int, int, int]:
    return (config.channels, config.image_size, config.image_size)


def _build_vanilla(config: "TrainConfig"):
    shape = _image_shape(config)
    return (mlp.MLPGenerator(config.z_dim, shape, (256, 512, 1024)),
            mlp.MLPDiscriminator(shape, (1024, 512, 256)))


def _conv_builder(norm: str, conditional: bool = False):
    def build(config: "TrainConfig"):
        classes = config.num_classes if conditional else 0
        return (conv.ConvGenerator(config.z_dim, config.channels, config.image_size, config.width, classes,
                                   extra_convs=config.extra_convs),
                conv.ConvDiscriminator(config.channels, config.image_size, config.width, norm, classes,
                                       extra_convs=config.extra_convs))
    return build


def _build_toy(config: "TrainConfig"):
    hidden = (config.width,) * 3
    if config.generators == 1:
        generator = mlp.MLPGenerator(config.z_dim, (2,), hidden, tanh=False)
    else:  # each generator of the mixture draws one mode or a part of one: a quarter of the width is plenty
        generator = mlp.MixtureGenerator(config.z_dim, config.generators, (max(4, config.width // 4),) * 3)
    return generator, mlp.MLPDiscriminator((2,), hidden, spectral=config.spectral_norm, pack=config.pack)


def _toy_check(config: "TrainConfig") -> list[str]:
    if config.generators > 1 and config.z_dim < 2:
        return [f"z_dim must be at least 2 for a mixture of generators: z's first coordinate picks the generator "
                f"and the rest is its noise (got {config.z_dim})."]
    return []


BCE_OBJECTIVE = (r"\min_G \max_D \; \mathbb{E}_{x\sim p_\text{data}}[\log D(x)]"
                 r" + \mathbb{E}_{z\sim p_z}[\log(1 - D(G(z)))]")
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
PYTORCH_EXAMPLES_DCGAN64 = dict(image_size=64, batch_size=64, width=64, extra_convs=0, ema_decay=0.0, lr_schedule="constant",
                                lr_g=2e-4, lr_d=2e-4)

REGISTRY: dict[str, Variant] = {v.name: v for v in (
    Variant("vanilla", "Vanilla GAN (MLP)",
            "The original GAN: fully connected G and D on flattened images, alternating updates.",
            "Goodfellow et al., Generative Adversarial Nets, NeurIPS 2014", BCE_OBJECTIVE,
            "unconditional", "image", _build_vanilla,
            dict(z_dim=100, lr_g=2e-4, lr_d=2e-4, beta1=0.5, loss="bce", batch_size=64), size_check=_mlp_size),
    Variant("dcgan", "DCGAN",
            "Deep convolutional GAN: transposed-conv G, strided-conv D, BatchNorm, one extra 3x3 conv per "
            "inner resolution, Adam 6e-4 / beta1 0.5 decaying to 0 (the paper's 2e-4, tripled for short "
            "runs), EMA of G.",
            "Radford, Metz & Chintala, Unsupervised Representation Learning with DCGANs, ICLR 2016",
            BCE_OBJECTIVE, "unconditional", "image", _conv_builder("batch"),
            dict(DCGAN_RECIPE, **CPU_FAST, **DEEPER), size_check=_conv_size),
    Variant("cgan", "Conditional GAN",
            "The class label enters G (an embedding beside z) and D (one-hot planes beside the image and a "
            "projection), so you can ask for a class.",
            "Mirza & Osindero, Conditional GANs, 2014; Miyato & Koyama, cGANs with Projection Discriminator, ICLR 2018",
            r"\min_G \max_D \; \mathbb{E}[\log D(x\mid y)] + \mathbb{E}[\log(1 - D(G(z\mid y)\mid y))]",
            "conditional", "image", _conv_builder("batch", conditional=True),
            dict(DCGAN_RECIPE, **dict(CPU_FAST, lr_g=4e-4, lr_d=4e-4)),
            conditional=True, size_check=_conv_size),
    Variant("wgan-gp", "WGAN-GP",
            "Wasserstein critic with a gradient penalty instead of weight clipping; 5 critic steps per G step.",
            "Gulrajani et al., Improved Training of Wasserstein GANs, NeurIPS 2017",
            r"\min_G \max_D \; \mathbb{E}[D(x)] - \mathbb{E}[D(G(z))]"
            r" - \lambda\,\mathbb{E}_{\hat x}[(\lVert\nabla_{\hat x} D(\hat x)\rVert_2 - 1)^2]",
            "unconditional", "image", _conv_builder("layer"),
            dict(z_dim=100, width=64, lr_g=1e-4, lr_d=1e-4, beta1=0.0, beta2=0.9, loss="wasserstein",
                 d_steps=5, gp_weight=10.0), size_check=_conv_size),
    Variant("lsgan", "LSGAN",
            "Least-squares loss instead of cross-entropy: penalises fakes by their distance to the decision boundary.",
            "Mao et al., Least Squares Generative Adversarial Networks, ICCV 2017",
            r"\min_D \tfrac12\mathbb{E}[(D(x)-1)^2] + \tfrac12\mathbb{E}[D(G(z))^2],\;"
            r"\min_G \tfrac12\mathbb{E}[(D(G(z))-1)^2]",
            "unconditional", "image", _conv_builder("batch"), dict(DCGAN_RECIPE, loss="least-squares"),
            size_check=_conv_size),
    Variant("hinge", "Hinge GAN + spectral norm",
            "Hinge loss with spectral normalisation on every D layer, which bounds D's Lipschitz constant.",
            "Miyato et al., Spectral Normalization for GANs, ICLR 2018; Lim & Ye, Geometric GAN, 2017",
            r"\min_D \mathbb{E}[\max(0, 1 - D(x))] + \mathbb{E}[\max(0, 1 + D(G(z)))],\;"
            r"\min_G -\mathbb{E}[D(G(z))]",
            "unconditional", "image", _conv_builder("spectral"),
            dict(DCGAN_RECIPE, loss="hinge", beta1=0.5), size_check=_conv_size),
    Variant("toy", "Toy 2D GAN",
            "Small MLP G and D on 2D point clouds, where you can watch every sample and D's decision surface.",
            "Goodfellow et al. 2014; Hoang et al., MGAN, ICLR 2018 and Khayatkhoei et al., Disconnected Manifold "
            "Learning for GANs, NeurIPS 2018 (mixtures of generators); Lin et al., PacGAN, NeurIPS 2018 (packing)",
            BCE_OBJECTIVE, "toy", "points", _build_toy,
            # measured with bench/toy_modes.py (ring and grid, 3-6 seeds): one G lays a third of its samples on
            # the paths between the grid's modes; 50 generators sharing all but a bias, with packing, were
            # dragged into lines across several modes (77-90% high quality); 50 independent small generators
            # with 2D noise each, judged one sample at a time, settle one or two to a mode (91-98%). Adam 5e-4
            # rather than 1e-3 keeps each generator's blob as wide as the data's (grid recall 0.61 -> 0.75,
            # high quality 95-97%); a cosine decay and an EMA of G settle them.
            dict(z_dim=3, width=128, lr_g=5e-4, lr_d=5e-4, beta1=0.5, beta2=0.999, loss="bce", batch_size=200,
                 generators=50, pack=1, ema_decay=0.999, lr_schedule="cosine", max_steps=15000,
                 image_size=0, channels=0, sample_every=200, checkpoint_every=2000),
            config_check=_toy_check),
)}


# --- image-to-image: deblurring (trained by gandash.paired on blurred/sharp pairs) -------------------

def _unet_size(size: int) -> str | None:
    if size % deblur.MULTIPLE or size < 32:
        return f"image_size {size} must be a multiple of {deblur.MULTIPLE} and at least 32 for the U-Net."
    return None


def _build_deblur_seed(config: "TrainConfig"):
    return deblur.SeedGenerator(config.channels, config.width), deblur.SeedDiscriminator(config.channels, config.width)


def _build_deblur(config: "TrainConfig"):
    return deblur.DeblurUNet(config.channels, config.width), deblur.PatchDiscriminator(config.channels)


PAIRED_TRAINER = "gandash.paired:PairedTrainer"
REGISTRY.update({v.name: v for v in (
    Variant("deblur-seed", "Deblur GAN (seed tutorial)",
            "The seeds' small deblurring GAN: G is conv 3→64→64→3 with ReLU and tanh, D strided convs and a "
            "linear layer; MSE to the sharp image plus a small BCE adversarial term, on blurred/sharp pairs.",
            "Goodfellow et al. 2014 (adversarial term); the pairs as in Kupyn et al., DeblurGAN, CVPR 2018",
            r"\min_G \mathbb{E}\lVert G(y) - x\rVert_2^2 + \lambda\,\mathbb{E}[-\log D(G(y))]",
            "image-to-image", "paired", _build_deblur_seed,
            dict(width=64, lr_g=2e-4, lr_d=2e-4, beta1=0.5, beta2=0.999, loss="bce", batch_size=16, image_size=32,
                 sample_every=100, checkpoint_every=500), trainer=PAIRED_TRAINER),
    Variant("deblur", "Deblur U-Net GAN",
            "Wiener deconvolution with the blur's kernel (read from the whole photo by a small estimator "
            "net), then a residual U-Net corrects what that leaves (ringing, noise, a missed kernel); a "
            "spectral-norm PatchGAN judges sharpness. Charbonnier + FFT loss + a small LSGAN term, on random "
            "crops blurred on the fly.",
            "Kupyn et al., DeblurGAN, CVPR 2018; Isola et al., pix2pix (PatchGAN), CVPR 2017; "
            "Cho et al., MIMO-UNet (FFT loss), ICCV 2021; Dong et al., Deep Wiener Deconvolution, NeurIPS 2020",
            r"\min_G \mathbb{E}\,\rho(W_k y + G(y, W_k y) - x) + 0.1\,\lVert \mathcal{F}(\hat x) - \mathcal{F}(x)\rVert_1"
            r" + 10^{-3}\,\tfrac12\mathbb{E}[(D(\hat x)-1)^2]",
            "image-to-image", "paired", _build_deblur,
            # width 24 with pixel-unshuffle: ~19k multiply-adds per pixel, so 12 MP take seconds on a CPU
            # a short CPU budget: a high learning rate decayed by a cosine, and a short EMA (0.995 ~ 200 steps)
            dict(width=24, lr_g=1e-3, lr_d=2e-4, beta1=0.9, beta2=0.99, loss="least-squares", batch_size=8,
                 image_size=64, ema_decay=0.995, sample_every=250, checkpoint_every=500, max_steps=8000,
                 loss_margin=10),
            size_check=_unet_size, trainer=PAIRED_TRAINER),
)})


# --- the remaining variants of the GAN literature (issue 7) -------------------------------------------
# Their nets live in gandash/nets/<variant>.py and, where the step is not Algorithm 1 on (z -> G -> D),
# their trainers in gandash/trainers/.
from gandash import variants_more  # noqa: E402  (it builds on the helpers above)

REGISTRY.update({v.name: v for v in variants_more.VARIANTS})


def get(name: str) -> Variant:
    try:
        return REGISTRY[name]
    except KeyError:
        raise GandashError(f"variant '{name}' is unknown; choose one of {', '.join(REGISTRY)}.") from None


def default_for(data_kind: str) -> str:
    return {"points": "toy", "paired": "deblur", "domains": "discogan", "lowres": "srgan"}.get(data_kind, "dcgan")
