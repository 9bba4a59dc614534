"""Registry entries of the remaining variants of the GAN literature: WGAN, InfoGAN, LAPGAN, StackGAN,
DiscoGAN and SRGAN, with their own trainers (engine.trainers).
"""

from __future__ import annotations

from gandash.core.config import TrainConfig
from gandash.engine.trainers.discogan import DiscoGANTrainer
from gandash.engine.trainers.infogan import InfoGANTrainer
from gandash.engine.trainers.multiscale import LapGANTrainer, StackGANTrainer
from gandash.engine.trainers.srgan import SRGANTrainer
from gandash.nets import discogan, infogan, lapgan, srgan, stackgan
from gandash.variants.base import DCGAN_RECIPE, Variant, conv_builder, conv_size


def _build_infogan(config: TrainConfig):
    return (
        infogan.InfoGenerator(config.z_dim, config.channels, config.image_size, config.width),
        infogan.InfoDiscriminator(config.channels, config.image_size, config.width),
    )


def _infogan_check(config: TrainConfig) -> list[str]:
    if isinstance(config.z_dim, int) and config.z_dim <= infogan.CODE_DIM:
        return [
            (
                f"z_dim must be above {infogan.CODE_DIM} for infogan: its last {infogan.CODE_DIM} dimensions "
                "are the codes (10 categories + 2 continuous), the rest is noise (the paper: 62 + 12 = 74)."
            )
        ]
    return []


def _pyramid_size(size: int) -> str | None:
    if size % 4 or size < 16:
        return f"image_size {size} must be a multiple of 4 and at least 16: the pyramid halves it twice."
    return None


def _build_lapgan(config: TrainConfig):
    return (
        lapgan.LapGenerator(config.z_dim, config.channels, config.image_size, config.width),
        lapgan.LapDiscriminator(config.channels, config.image_size, config.width),
    )


def _lapgan_check(config: TrainConfig) -> list[str]:
    if isinstance(config.z_dim, int) and config.z_dim < lapgan.LEVELS:
        return [f"z_dim must be at least {lapgan.LEVELS} for lapgan: z is split between the pyramid's levels."]
    return []


def _build_stackgan(config: TrainConfig):
    return (
        stackgan.StackGenerator(config.z_dim, config.channels, config.image_size, config.width, config.num_classes),
        stackgan.StackDiscriminator(config.channels, config.image_size, config.width, config.num_classes),
    )


def _build_discogan(config: TrainConfig):
    return (
        discogan.DiscoGenerator(config.channels, config.width),
        discogan.DiscoDiscriminator(config.channels, config.image_size, config.width),
    )


def _build_srgan(config: TrainConfig):
    return srgan.build(config.channels, config.image_size, config.width)


VARIANTS = (
    Variant(
        "wgan",
        "WGAN (weight clipping)",
        "The original Wasserstein GAN: a critic with clipped weights, RMSProp, 5 critic steps per G step.",
        "Arjovsky, Chintala & Bottou, Wasserstein GAN, ICML 2017",
        r"\min_G \max_{\lVert D\rVert_L \le 1} \; \mathbb{E}_{x\sim p_\text{data}}[D(x)]"
        r" - \mathbb{E}_{z\sim p_z}[D(G(z))], \quad w \leftarrow \operatorname{clip}(w, -c, c)",
        "unconditional",
        "image",
        conv_builder("batch"),
        # the paper's Algorithm 1: alpha = 5e-5, c = 0.01, n_critic = 5, RMSProp
        dict(
            z_dim=100,
            width=64,
            lr_g=5e-5,
            lr_d=5e-5,
            loss="wasserstein",
            d_steps=5,
            optimizer="rmsprop",
            clip_value=0.01,
        ),
        size_check=conv_size,
    ),
    Variant(
        "infogan",
        "InfoGAN",
        "Part of z is a set of codes (a 10-way category, 2 continuous); a head Q on D's features must "
        "recover them, so G learns to tie each code to a visible factor, without labels.",
        "Chen et al., InfoGAN: Interpretable Representation Learning by Information Maximizing GANs, NeurIPS 2016",
        r"\min_{G,Q} \max_D \; V(D, G) - \lambda\, L_I(G, Q), \quad L_I = \mathbb{E}_{c\sim p(c),\,"
        r"x\sim G(z,c)}[\log Q(c\mid x)] + H(c)",
        "unconditional",
        "image",
        _build_infogan,
        dict(DCGAN_RECIPE, z_dim=62 + infogan.CODE_DIM),
        size_check=conv_size,
        trainer=InfoGANTrainer,
        config_check=_infogan_check,
    ),
    Variant(
        "lapgan",
        "LAPGAN (Laplacian pyramid)",
        "A generator per pyramid level (7 → 14 → 28 px): the coarsest draws a small image, each finer one "
        "adds the missing detail to the upsampled coarser image; a D per level.",
        "Denton, Chintala, Szlam & Fergus, Deep Generative Image Models using a Laplacian Pyramid of "
        "Adversarial Networks, NeurIPS 2015",
        r"\min_{G_k} \max_{D_k} \; \mathbb{E}[\log D_k(h_k, l_k)] + \mathbb{E}[\log(1 - D_k(G_k(z_k, l_k),"
        r" l_k))], \quad l_k = u(I_{k+1}),\; h_k = I_k - l_k",
        "multi-scale",
        "image",
        _build_lapgan,
        dict(DCGAN_RECIPE, width=32),
        size_check=_pyramid_size,
        trainer=LapGANTrainer,
        config_check=_lapgan_check,
    ),
    Variant(
        "stackgan",
        "StackGAN (two stages)",
        "Stage I draws a half-size image from z and the class (through conditioning augmentation); "
        "stage II refines it to full size, conditioned on the same; one D per stage.",
        "Zhang et al., StackGAN: Text to Photo-realistic Image Synthesis with Stacked GANs, ICCV 2017",
        r"\min_{G} \; \mathbb{E}[\log(1 - D_1(G_1(z, \hat c), e))] + \mathbb{E}[\log(1 - D_2(G_2(s_1, \hat c),"
        r" e))] + \lambda\, D_{KL}(\mathcal{N}(\mu(e), \Sigma(e)) \,\|\, \mathcal{N}(0, I))",
        "multi-scale",
        "image",
        _build_stackgan,
        dict(DCGAN_RECIPE, width=32),
        conditional=True,
        size_check=_pyramid_size,
        trainer=StackGANTrainer,
    ),
    Variant(
        "discogan",
        "DiscoGAN (two domains)",
        "Two translators A → B and B → A, a D per domain, and a reconstruction loss on each round trip: "
        "learns to map one kind of image to another without any paired examples.",
        "Kim, Cha, Kim, Lee & Kim, Learning to Discover Cross-Domain Relations with GANs, ICML 2017",
        r"\min_{G_{AB}, G_{BA}} \; \mathcal{L}_{GAN_B} + \mathcal{L}_{GAN_A} + \mathbb{E}_{a}"
        r"\lVert G_{BA}(G_{AB}(a)) - a\rVert_2^2 + \mathbb{E}_{b}\lVert G_{AB}(G_{BA}(b)) - b\rVert_2^2",
        "image-to-image",
        "domains",
        _build_discogan,
        # the paper: Adam 2e-4, betas (0.5, 0.999)
        dict(width=32, lr_g=2e-4, lr_d=2e-4, beta1=0.5, beta2=0.999, loss="bce", batch_size=64),
        size_check=_pyramid_size,
        trainer=DiscoGANTrainer,
    ),
    Variant(
        "srgan",
        "SRGAN (super-resolution x4)",
        "A residual generator adds detail to the bicubic enlargement of a low-resolution image, four times "
        "larger by a sub-pixel convolution; a pixel content loss keeps it faithful and an adversarial term "
        "(adversarial_weight; 0 = none) pushes it towards realistic texture.",
        "Ledig et al., Photo-Realistic Single Image Super-Resolution Using a GAN, CVPR 2017",
        r"\min_G \; \underbrace{\mathbb{E}\,\rho\big(G(x_{LR}) - x_{HR}\big)}_{\text{content (Charbonnier)}}"
        r" + \lambda\,\mathbb{E}[-\log D(G(x_{LR}))], \quad \lambda = 10^{-3}",
        "image-to-image",
        "lowres",
        _build_srgan,
        # the paper: Adam 1e-4, beta1 0.9; 16 blocks of 64 channels (here 8 blocks of 32 for a CPU)
        dict(
            width=32,
            lr_g=1e-4,
            lr_d=1e-4,
            beta1=0.9,
            beta2=0.999,
            loss="bce",
            batch_size=16,
            image_size=64,
            sample_every=100,
            checkpoint_every=500,
        ),
        size_check=_pyramid_size,
        trainer=SRGANTrainer,
    ),
)
