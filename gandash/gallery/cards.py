"""The Gallery's cards as text and data: what the page says about each variant beyond its registry entry
(the idea in a paragraph, what it is good and bad at, extra objectives), the families, the seed presets,
which bundled model a card shows and what Train-this prefills. Plain data and lookups; drawing the
pictures is gallery.pictures' job. No streamlit here.

The registry and the demo files (gandash.variants, gandash.restore) import torch, which alone takes
~1.5 s to load: they are imported inside the lookups that need them, so importing this module (and
reading a card's text) does not load torch.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

from gandash.core.errors import GandashError

FAMILIES = ("unconditional", "conditional", "image-to-image", "multi-scale", "toy")

# the fix, short enough for the card's column: G maximises log D(G(z)) instead of minimising log(1 - D(G(z)))
NON_SATURATING = r"\text{non-saturating fix: } \max_G \; \mathbb{E}_{z\sim p_z}[\log D(G(z))]"


@dataclass(frozen=True)
class Card:
    idea: str
    good_at: str
    bad_at: str
    objectives: tuple[str, ...] = ()  # LaTeX shown after the registry's objective
    train_dataset: str = "fashion-mnist"  # what Train-this picks
    explore: str = "latent"  # latent | deblur | none: where Explore goes
    extra: dict = field(default_factory=dict)  # more Train-page prefills


CARDS: dict[str, Card] = {
    "vanilla": Card(
        "Two fully connected nets play a game: G turns noise into a flattened image, D tells real from fake. "
        "At the game's equilibrium G's distribution equals the data's. Goodfellow et al. also noticed that "
        "the minimax loss gives G no gradient early on, when D rejects every fake, and proposed the "
        "non-saturating loss that nearly every GAN has used since.",
        "being understood in an afternoon; small images; a baseline for everything else.",
        "anything with spatial structure (it ignores that neighbouring pixels are related); unstable "
        "training and mode collapse.",
        objectives=(NON_SATURATING,),
    ),
    "dcgan": Card(
        "Convolutions instead of dense layers: G upsamples with transposed convolutions, D downsamples with "
        "strided ones, BatchNorm everywhere but G's output and D's input, ReLU in G and LeakyReLU in D, Adam "
        "2e-4 with beta1 0.5. These architecture rules made GANs train reliably on images for the first time.",
        "clean 28-64 px images in minutes; the latent space interpolates smoothly.",
        "high resolutions; it still collapses modes on some seeds, and BatchNorm couples the samples of a batch.",
        objectives=(NON_SATURATING,),
    ),
    "cgan": Card(
        "Give both nets the class label: G draws the class you ask for, D judges whether an image is a "
        "real example of that class. Here the label enters D by projection (an inner product with the "
        "class embedding), which trains more stably than concatenation.",
        "choosing what to draw; class-balanced samples; blending classes in the latent explorer.",
        "needs labels; can ignore z (little variety within a class) when the label says everything.",
    ),
    "wgan-gp": Card(
        "The critic estimates the Wasserstein-1 distance, which keeps giving useful gradients even when the "
        "real and fake distributions do not overlap. The 1-Lipschitz constraint is enforced softly by "
        "penalising critic gradients whose norm is not 1 on points between real and fake samples.",
        "stable training across architectures; a loss curve that tracks sample quality.",
        "5 critic steps per G step make it slower; no BatchNorm allowed in the critic.",
    ),
    "lsgan": Card(
        "Replace the cross-entropy with a least-squares loss: fakes that are classified correctly but lie far "
        "from the decision boundary are still penalised, so G keeps getting gradients.",
        "a drop-in change with steadier gradients than the cross-entropy.",
        "can still collapse modes; quality is close to DCGAN's.",
    ),
    "hinge": Card(
        "Spectral normalisation divides each D weight by its largest singular value, bounding D's Lipschitz "
        "constant cheaply; with the hinge loss this became the standard recipe of BigGAN-era models.",
        "stable training without gradient penalties; cheap per step.",
        "a constrained D can underfit on small nets; hyper-parameters differ from DCGAN's.",
    ),
    "toy": Card(
        "Small MLPs on 2D point clouds, where every sample and D's decision surface can be seen at once; "
        "the place to watch mode collapse happen and how its remedies counter it. The recipe's G is a mixture "
        "of 50 small generators, z picking one, so each can settle on its own mode; set generators=1 for the "
        "plain GAN, and try packing (PacGAN), another remedy.",
        "intuition: seeing the game play out.",
        "nothing beyond 2D.",
        train_dataset="ring",
        explore="none",
    ),
    "deblur-seed": Card(
        "The seed tutorial's deblurring GAN: a three-layer convolutional G maps a blurred crop to a sharp one, "
        "trained mostly by the pixel MSE to the sharp crop, with a small adversarial term from a strided D.",
        "a readable image-to-image baseline.",
        "blurry results on strong blur; small receptive field.",
        train_dataset="blurred:photos",
        explore="deblur",
    ),
    "deblur": Card(
        "A small net reads the blur (Gaussian, motion or defocus) from the whole photo's spectrum, and a "
        "winding camera shake is traced from there by blind deconvolution; Wiener "
        "deconvolution undoes it, and a residual U-Net, judged by a PatchGAN on local patches, corrects the "
        "ringing, sensor noise and JPEG blocks that leaves. It trains on pairs made as cameras make photos "
        "(shake, noise, JPEG); a robust pixel loss and an FFT loss restore the detail blur removed.",
        "real photos of any size (tiled), noisy phone JPEGs included; fast on a CPU.",
        "blur that is not one kernel for the whole photo (a moving subject, depth of field); very wide blur; "
        "a camera shake on a soft photo with few sharp edges, or on a repetitive texture (the spectrum may "
        "read it as a light Gaussian, or the trace wander, and the shake is only partly undone).",
        train_dataset="blurred:photos",
        explore="deblur",
    ),
    "wgan": Card(
        "The first Wasserstein GAN: the critic approximates the Earth-Mover distance, and the Lipschitz "
        "constraint is enforced by clipping every critic weight to [-0.01, 0.01] after each update, with "
        "RMSProp because momentum destabilised the clipped critic. WGAN-GP later replaced the clipping.",
        "meaningful loss curves; no mode collapse in the paper's experiments.",
        "slow (small learning rate, 5 critic steps); clipping wastes capacity and can make gradients vanish "
        "or explode.",
    ),
    "infogan": Card(
        "Split G's input into noise and a few codes and add a head Q on D that must recover the codes from "
        "the image. Maximising this mutual information makes G tie each code to a visible factor — on "
        "clothes, the categorical code tends to pick a garment type and the continuous ones width or "
        "brightness — without ever seeing a label.",
        "disentangled, explorable factors for free (see the Codes tab of the latent explorer).",
        "which factor each code captures is up to training; categories do not line up with the real classes.",
    ),
    "lapgan": Card(
        "Generating a whole image at once is hard; generating the next level of detail given a coarser image "
        "is easier. LAPGAN builds a Laplacian pyramid: a small G draws a 7×7 image, and each finer G sees the "
        "upsampled coarser image and adds the residual the upsampling lost, each judged by its own D. Every "
        "level is trained on real coarser images, and sampling chains the levels.",
        "coarse-to-fine structure; each level's job is small, so each net can be small.",
        "errors of the coarse level are inherited by every finer one; several nets to tune.",
    ),
    "stackgan": Card(
        "Two stages, like sketching then painting: stage I draws a rough half-size image from noise and the "
        "condition, stage II refines it to full size, correcting defects and adding detail. Conditioning "
        "augmentation samples the condition vector from a Gaussian around the embedding (with a KL term), "
        "which smooths the conditioning and stops a few conditions from being memorised. Here the condition "
        "is the class label instead of the paper's text embedding.",
        "higher resolutions than one stage reaches; a class-conditional model with variety within a class.",
        "needs labels; two stages to balance; at 28 px the second stage has little to add.",
    ),
    "discogan": Card(
        "Learn a mapping between two kinds of images without a single paired example: G_AB turns an A into "
        "a B that D_B cannot tell from real Bs, G_BA maps back, and each round trip must return the "
        "original. The reconstruction makes the mapping one-to-one, so G cannot send every A to the same B. "
        "Here the domains are two Fashion-MNIST classes (sneakers and sandals) or two folders of images.",
        "unpaired translation between related domains (shape kept, style changed).",
        "domains that differ in shape or layout; the reconstruction can be met by hiding information in "
        "the translation.",
        train_dataset="domains:fashion-mnist:7,5",
        explore="none",
    ),
    "srgan": Card(
        "Super-resolution asks for detail that is not in the input, so the pixel loss alone averages every "
        "plausible answer into a blur. SRGAN adds a discriminator that knows what real high-resolution "
        "texture looks like; the generator is a stack of residual blocks on the small image whose output, "
        "enlarged by a sub-pixel convolution (PixelShuffle), is added to the bicubic enlargement, so it "
        "starts as bicubic and learns only what bicubic misses. The paper's VGG feature loss is replaced "
        "here by a pixel loss (no downloads). Two are bundled for the Deblur page: the pixel loss alone "
        "(the faithful one) and, fine-tuned from it, the adversarial one.",
        "sharper x4 enlargements than bicubic interpolation where the texture is typical of the training set.",
        "invented detail can be wrong; PSNR often falls below a pure MSE model's while it looks sharper.",
        train_dataset="lowres:photos",
        explore="none",
    ),
}


def seed_presets() -> dict[str, dict]:
    """Configurations readers of the original tutorials recognise, one click away: {button label: prefill}.
    A function, not a constant, because the DCGAN recipe comes from gandash.variants (torch); a new dict on
    each call, so a caller changing one cannot change the next page's."""
    from gandash.variants import base

    return {
        "Vanilla MLP GAN on Fashion-MNIST (the seed tutorial)": {"variant": "vanilla", "dataset": "fashion-mnist"},
        "DCGAN 64×64 z=100 (pytorch/examples)": dict(
            variant="dcgan", dataset="fashion-mnist", z_dim=100, **base.PYTORCH_EXAMPLES_DCGAN64
        ),
        "small deblurring GAN (deblur-seed)": {"variant": "deblur-seed", "dataset": "blurred:photos"},
    }


def card(name: str) -> Card:
    if name in CARDS:
        return CARDS[name]
    from gandash import variants

    return Card(variants.get(name).description, "", "")


def families(name: str) -> set[str]:
    """A variant's families for the filters: its own plus 'conditional' when it takes labels."""
    from gandash import variants

    variant = variants.get(name)
    return {variant.family} | ({"conditional"} if variant.conditional else set())


def demo_for(name: str) -> str | None:
    """The bundled demo model of a variant: any file in gandash/weights/demos/ whose config names the
    variant (a preset's own name first), so a demo added there later shows without a code change."""
    return _bundled(_stamps())[0].get(name)


def demo_problems() -> list[str]:
    """Why a demo file could not be read (damaged, another format): said on the page, not skipped silently."""
    return _bundled(_stamps())[1]


def _stamps() -> tuple[tuple[str, int], ...]:
    from gandash.variants import demos

    return tuple((name, demos.path_for(name).stat().st_mtime_ns) for name in demos.available())


@lru_cache(maxsize=4)
def _bundled(stamps: tuple[tuple[str, int], ...]) -> tuple[dict[str, str], list[str]]:
    """({variant: demo}, problems), read once per set of files: describe() loads the whole file."""
    from gandash.variants import demos

    order = list(demos.PRESETS)
    found, problems = {}, []
    for name, _ in sorted(stamps, key=lambda s: (order.index(s[0]) if s[0] in order else len(order), s[0])):
        try:
            variant = demos.describe(name)["variant"]
        except GandashError as exc:
            problems.append(str(exc))
            variant = demos.PRESETS.get(name, {}).get("variant")  # its card then shows the error
        if variant:
            found.setdefault(variant, name)
    return found, problems


@dataclass(frozen=True)
class Samples:
    """Where a card's pictures come from: a bundled demo, or (for `deblur`) the Deblur page's weights."""

    caption: str
    path: Path  # the weights file: its modification time keys the cache
    demo: str | None = None


# what the columns of an image-to-image demo's picture are (pictures.demo_frames lays them out)
COLUMNS = {
    "paired": "blurred | restored | sharp",
    "lowres": "input enlarged | x4 by G | original",
    "domains": "a | G_AB(a) | G_BA(G_AB(a))",
    "points": "its points (orange) over the real ones (grey)",
}


def samples_for(name: str) -> Samples | None:
    from gandash import variants
    from gandash.restore import deblur
    from gandash.variants import demos

    demo = demo_for(name)
    if demo:
        variant = variants.get(name)
        shows = COLUMNS.get(variant.data_kind, "a class per column" if variant.conditional else "")
        return Samples(f"the bundled demo '{demo}'" + (f": {shows}" if shows else ""), demos.path_for(demo), demo)
    if name == "deblur" and deblur.BUNDLED.is_file():
        return Samples(
            "the Deblur page's bundled U-Net on photos it never trained on: blurred | restored | sharp "
            "(Gaussian, motion and defocus blur)",
            deblur.BUNDLED,
        )
    return None


def preset_for(name: str) -> str | None:
    """The demo preset of a variant (bundled or not): what `pretrain --only` builds."""
    from gandash.variants import demos

    return next((demo for demo, preset in demos.PRESETS.items() if preset["variant"] == name), None)


def prefill(name: str) -> dict:
    """What Train-this puts into the Train page."""
    from gandash.variants import demos

    preset = demos.PRESETS.get(preset_for(name) or "", {})
    dataset = preset.get("dataset") or card(name).train_dataset
    return {"variant": name, "dataset": dataset, **card(name).extra}
