"""The classic variants: the vanilla GAN, DCGAN, the conditional GAN, WGAN-GP, LSGAN, the hinge GAN with
spectral norm, the toy 2D GAN, and the two deblurring GANs (image-to-image, trained on blurred/sharp pairs
by engine.paired.PairedTrainer)."""

from __future__ import annotations

from gandash.core import paths
from gandash.core.config import TrainConfig
from gandash.engine.paired import PairedTrainer
from gandash.nets import deblur, mlp
from gandash.variants.base import (
    BCE_OBJECTIVE,
    CPU_FAST,
    DCGAN_RECIPE,
    DEEPER,
    Variant,
    build_vanilla,
    conv_builder,
    conv_size,
    mlp_size,
)


def _build_toy(config: TrainConfig):
    hidden = (config.width,) * 3
    if config.generators == 1:
        generator = mlp.MLPGenerator(config.z_dim, (2,), hidden, tanh=False)
    else:  # each generator of the mixture draws one mode or a part of one: a quarter of the width is plenty
        generator = mlp.MixtureGenerator(config.z_dim, config.generators, (max(4, config.width // 4),) * 3)
    return generator, mlp.MLPDiscriminator((2,), hidden, spectral=config.spectral_norm, pack=config.pack)


def _toy_check(config: TrainConfig) -> list[str]:
    if config.generators > 1 and config.z_dim < 2:
        return [
            f"z_dim must be at least 2 for a mixture of generators: z's first coordinate picks the generator "
            f"and the rest is its noise (got {config.z_dim})."
        ]
    return []


def _unet_size(size: int) -> str | None:
    if size % deblur.MULTIPLE or size < 32:
        return f"image_size {size} must be a multiple of {deblur.MULTIPLE} and at least 32 for the U-Net."
    return None


def _build_deblur_seed(config: TrainConfig):
    return deblur.SeedGenerator(config.channels, config.width), deblur.SeedDiscriminator(config.channels, config.width)


def _build_deblur(config: TrainConfig):
    return deblur.DeblurUNet(config.channels, config.width), deblur.PatchDiscriminator(config.channels)


VARIANTS = (
    Variant(
        "vanilla",
        "Vanilla GAN (MLP)",
        "The original GAN: fully connected G and D on flattened images, alternating updates.",
        "Goodfellow et al., Generative Adversarial Nets, NeurIPS 2014",
        BCE_OBJECTIVE,
        "unconditional",
        "image",
        build_vanilla,
        dict(z_dim=100, lr_g=2e-4, lr_d=2e-4, beta1=0.5, loss="bce", batch_size=64),
        size_check=mlp_size,
    ),
    Variant(
        "dcgan",
        "DCGAN",
        "Deep convolutional GAN: transposed-conv G, strided-conv D, BatchNorm, one extra 3x3 conv per "
        "inner resolution, Adam 6e-4 / beta1 0.5 decaying to 0 (the paper's 2e-4, tripled for short "
        "runs), EMA of G.",
        "Radford, Metz & Chintala, Unsupervised Representation Learning with DCGANs, ICLR 2016",
        BCE_OBJECTIVE,
        "unconditional",
        "image",
        conv_builder("batch"),
        dict(DCGAN_RECIPE, **CPU_FAST, **DEEPER),
        size_check=conv_size,
    ),
    Variant(
        "cgan",
        "Conditional GAN",
        "The class label enters G (an embedding beside z) and D (one-hot planes beside the image and a "
        "projection), so you can ask for a class.",
        "Mirza & Osindero, Conditional GANs, 2014; Miyato & Koyama, cGANs with Projection Discriminator, ICLR 2018",
        r"\min_G \max_D \; \mathbb{E}[\log D(x\mid y)] + \mathbb{E}[\log(1 - D(G(z\mid y)\mid y))]",
        "conditional",
        "image",
        conv_builder("batch", conditional=True),
        dict(DCGAN_RECIPE, **dict(CPU_FAST, lr_g=4e-4, lr_d=4e-4)),
        conditional=True,
        size_check=conv_size,
    ),
    Variant(
        "wgan-gp",
        "WGAN-GP",
        "Wasserstein critic with a gradient penalty instead of weight clipping; 5 critic steps per G step.",
        "Gulrajani et al., Improved Training of Wasserstein GANs, NeurIPS 2017",
        r"\min_G \max_D \; \mathbb{E}[D(x)] - \mathbb{E}[D(G(z))]"
        r" - \lambda\,\mathbb{E}_{\hat x}[(\lVert\nabla_{\hat x} D(\hat x)\rVert_2 - 1)^2]",
        "unconditional",
        "image",
        conv_builder("layer"),
        dict(
            z_dim=100,
            width=64,
            lr_g=1e-4,
            lr_d=1e-4,
            beta1=0.0,
            beta2=0.9,
            loss="wasserstein",
            d_steps=5,
            gp_weight=10.0,
        ),
        size_check=conv_size,
    ),
    Variant(
        "lsgan",
        "LSGAN",
        "Least-squares loss instead of cross-entropy: penalises fakes by their distance to the decision boundary.",
        "Mao et al., Least Squares Generative Adversarial Networks, ICCV 2017",
        r"\min_D \tfrac12\mathbb{E}[(D(x)-1)^2] + \tfrac12\mathbb{E}[D(G(z))^2],\;"
        r"\min_G \tfrac12\mathbb{E}[(D(G(z))-1)^2]",
        "unconditional",
        "image",
        conv_builder("batch"),
        dict(DCGAN_RECIPE, loss="least-squares"),
        size_check=conv_size,
    ),
    Variant(
        "hinge",
        "Hinge GAN + spectral norm",
        "Hinge loss with spectral normalisation on every D layer, which bounds D's Lipschitz constant.",
        "Miyato et al., Spectral Normalization for GANs, ICLR 2018; Lim & Ye, Geometric GAN, 2017",
        r"\min_D \mathbb{E}[\max(0, 1 - D(x))] + \mathbb{E}[\max(0, 1 + D(G(z)))],\;"
        r"\min_G -\mathbb{E}[D(G(z))]",
        "unconditional",
        "image",
        conv_builder("spectral"),
        dict(DCGAN_RECIPE, loss="hinge", beta1=0.5),
        size_check=conv_size,
    ),
    Variant(
        "toy",
        "Toy 2D GAN",
        "Small MLP G and D on 2D point clouds, where you can watch every sample and D's decision surface.",
        "Goodfellow et al. 2014; Hoang et al., MGAN, ICLR 2018 and Khayatkhoei et al., Disconnected Manifold "
        "Learning for GANs, NeurIPS 2018 (mixtures of generators); Lin et al., PacGAN, NeurIPS 2018 (packing)",
        BCE_OBJECTIVE,
        "toy",
        "points",
        _build_toy,
        # measured with bench/toy_modes.py (ring and grid, 3-6 seeds): one G lays a third of its samples on
        # the paths between the grid's modes; 50 generators sharing all but a bias, with packing, were
        # dragged into lines across several modes (77-90% high quality); 50 independent small generators
        # with 2D noise each, judged one sample at a time, settle one or two to a mode (91-98%). Adam 5e-4
        # rather than 1e-3 keeps each generator's blob as wide as the data's (grid recall 0.61 -> 0.75,
        # high quality 95-97%); a cosine decay and an EMA of G settle them.
        dict(
            z_dim=3,
            width=128,
            lr_g=5e-4,
            lr_d=5e-4,
            beta1=0.5,
            beta2=0.999,
            loss="bce",
            batch_size=200,
            generators=50,
            pack=1,
            ema_decay=0.999,
            lr_schedule="cosine",
            max_steps=15000,
            image_size=0,
            channels=0,
            sample_every=200,
            checkpoint_every=2000,
        ),
        config_check=_toy_check,
    ),
    Variant(
        "deblur-seed",
        "Deblur GAN (seed tutorial)",
        "The seeds' small deblurring GAN: G is conv 3→64→64→3 with ReLU and tanh, D strided convs and a "
        "linear layer; MSE to the sharp image plus a small BCE adversarial term, on blurred/sharp pairs.",
        "Goodfellow et al. 2014 (adversarial term); the pairs as in Kupyn et al., DeblurGAN, CVPR 2018",
        r"\min_G \mathbb{E}\lVert G(y) - x\rVert_2^2 + \lambda\,\mathbb{E}[-\log D(G(y))]",
        "image-to-image",
        "paired",
        _build_deblur_seed,
        dict(
            width=64,
            lr_g=2e-4,
            lr_d=2e-4,
            beta1=0.5,
            beta2=0.999,
            loss="bce",
            batch_size=16,
            image_size=32,
            sample_every=100,
            checkpoint_every=500,
        ),
        trainer=PairedTrainer,
    ),
    Variant(
        "deblur",
        "Deblur U-Net GAN",
        "Wiener deconvolution with the blur's kernel (read from the whole photo by a small estimator "
        "net), then a residual U-Net corrects what that leaves (ringing, noise, a missed kernel); a "
        "spectral-norm PatchGAN judges sharpness. Charbonnier + FFT loss + a small LSGAN term, on random "
        "crops blurred on the fly. A restored photo is then held to the blurry one: blurred again by the "
        "kernel, it must match it.",
        "Kupyn et al., DeblurGAN, CVPR 2018; Isola et al., pix2pix (PatchGAN), CVPR 2017; "
        "Cho et al., MIMO-UNet (FFT loss), ICCV 2021; Dong et al., Deep Wiener Deconvolution, NeurIPS 2020",
        r"\min_G \mathbb{E}\,\rho(W_k y + G(y, W_k y) - x) + 0.1\,\lVert \mathcal{F}(\hat x) - \mathcal{F}(x)\rVert_1"
        r" + 10^{-3}\,\tfrac12\mathbb{E}[(D(\hat x)-1)^2]",
        "image-to-image",
        "paired",
        _build_deblur,
        # width 24 with pixel-unshuffle: ~19k multiply-adds per pixel, so 12 MP take seconds on a CPU
        # a short CPU budget: a high learning rate decayed by a cosine, and a short EMA (0.995 ~ 200 steps)
        dict(
            width=24,
            lr_g=1e-3,
            lr_d=2e-4,
            beta1=0.9,
            beta2=0.99,
            loss="least-squares",
            batch_size=8,
            image_size=64,
            ema_decay=0.995,
            sample_every=250,
            checkpoint_every=500,
            max_steps=8000,
            loss_margin=10,
        ),
        size_check=_unet_size,
        trainer=PairedTrainer,
        bundled_weights=paths.WEIGHTS / "deblur.pt",
    ),
)
