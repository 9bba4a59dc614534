"""Which of the settings that only some GANs use matter for a variant, found from the variants
themselves rather than a table that would drift from them.

A setting is *particular* to a variant when its recipe sets it (variants.Variant.defaults, e.g.
WGAN-GP's gp_weight, WGAN's clip_value and optimizer) or its nets are built from it (the toy D's
pack and spectral_norm). It *also applies* when the variant's training step reads it (the R1 and
gradient penalties of Algorithm 1's step, weight clipping in the staged trainers), so the Train page
can offer it without crowding every form. The reads are found in the bytecode's attribute names
(`config.pack` names `pack`), following the functions and methods the step calls.
"""

from __future__ import annotations

import inspect
import types
from dataclasses import dataclass, fields

from gandash import variants
from gandash.core.config import OPTIMIZERS, PAIRS, TrainConfig


@dataclass(frozen=True)
class Setting:
    name: str
    label: str
    help: str
    choices: tuple = ()  # for a pick from a list; else the field's own type decides the widget
    low: float = 0.0
    high: float | None = None


SETTINGS = (
    Setting(
        "gp_weight",
        "Gradient penalty λ",
        "WGAN-GP: pushes ‖∇D‖ toward 1 on points between real and fake samples; 10 in the paper. 0 = off.",
        high=1000.0,
    ),
    Setting(
        "r1_weight",
        "R1 penalty γ",
        "Penalises ‖∇D‖² on real data (Mescheder et al. 2018), which calms "
        "D's oscillation around the data. 0 = off; 1 to 10 is typical.",
        high=1000.0,
    ),
    Setting(
        "clip_value",
        "Weight clipping c",
        "The original WGAN keeps every critic weight in [−c, c] (0.01) to bound its Lipschitz constant. 0 = off.",
        high=1.0,
    ),
    Setting(
        "optimizer",
        "Optimizer",
        "Adam is the DCGAN recipe; the original WGAN uses RMSProp, as momentum made its clipped critic unstable.",
        choices=OPTIMIZERS,
    ),
    Setting(
        "pack",
        "Packing (PacGAN)",
        "D judges this many samples at once, so a generator that makes the same "
        "point over and over is easy to spot: a remedy for mode collapse. 1 = off.",
        low=1,
        high=16,
    ),
    Setting(
        "generators",
        "Generators (MGAN)",
        "A mixture of this many small generators; z's first coordinate "
        "picks which one draws a sample (the rest is its noise), so G can jump between separate modes "
        "instead of laying samples along the way. 1 = one generator.",
        low=1,
        high=256,
    ),
    Setting(
        "loss_margin",
        "Loss margin (px)",
        "Image-to-image: the border of each training crop left out of "
        "the losses. Near a crop's edge the net cannot see what blurred in from outside, and a restored "
        "photo keeps only each tile's centre, so judging the interior trains for real use. 0 = whole crop.",
        low=0,
        high=64,
    ),
    Setting(
        "pairs",
        "Training pairs",
        "Image-to-image: how the blurry inputs are made. camera: as photos come — shake along random paths as "
        "well as Gaussian, straight motion and defocus blur, sensor noise in most and JPEG at quality 60–95 in "
        "most, so the net learns to take noise and blocks out rather than sharpen them. clean: blur with now "
        "and then mild noise (sharper on clean inputs, noisier on real photos). srgan: camera blurs a few of the "
        "originals mildly before shrinking them and gives some of the small copies sensor noise or JPEG; clean "
        "is the bicubic shrink alone.",
        choices=PAIRS,
    ),
    Setting(
        "traced_kernels",
        "Traced kernels",
        "Deblurring: of the blurred training crops, the fraction for which the U-Net is given the true blur "
        "kernel as a trace finds it (its faint tail lost); the rest get what the spectrum estimator would name, "
        "often a near miss. More teaches it to trust the kernel it is given, fewer to doubt it.",
        high=1.0,
    ),
    Setting(
        "traced_spread",
        "Traced kernels' spread (px)",
        "Deblurring: those traced kernels widened by a Gaussian of up to this σ, as a trace comes out a little "
        "thicker than the shake's path. 0 = the path itself.",
        high=3.0,
    ),
    Setting(
        "adversarial_weight",
        "Adversarial weight",
        "SRGAN: how much D's verdict counts beside the pixel loss. 0 = the pixel loss alone (D is not trained): "
        "the most faithful enlargement and the best PSNR. SRGAN's 1e-3 and more trade fidelity for crisp, partly "
        "invented texture; it works best fine-tuning a pixel model (init_from), as in the paper.",
        high=1.0,
    ),
    Setting(
        "extra_convs",
        "Extra 3x3 convs",
        "Convolutional nets: this many 3x3 conv layers added at each inner "
        "resolution of G and D, so they see more than two layers deep. Each costs steps; at 28x28 one "
        "gave a better FID in the same 10 minutes. 0 = the DCGAN paper's nets.",
        low=0,
        high=4,
    ),
    Setting(
        "spectral_norm",
        "Spectral norm in D",
        "Normalises every D layer by its largest singular value, bounding how fast D's output can change.",
    ),
)
BY_NAME = {setting.name: setting for setting in SETTINGS}
_DEFAULTS = {f.name: f.default for f in fields(TrainConfig)}


def particular(variant_name: str) -> list[Setting]:
    """Settings the variant's recipe sets or its nets are built from, in SETTINGS order."""
    variant = variants.get(variant_name)
    wanted = {name for name, value in variant.defaults.items() if name in BY_NAME and value != _DEFAULTS[name]}
    wanted |= _reads(variant.build) & set(BY_NAME)
    return [setting for setting in SETTINGS if setting.name in wanted]


def also_applies(variant_name: str) -> list[Setting]:
    """Other settings the variant's training step reads (so changing them has an effect)."""
    cls = variants.get(variant_name).trainer
    read: set[str] = set()
    for method in ("__init__", "train_step", "single_d_step", "single_g_step"):
        read |= _reads(getattr(cls, method), cls)
    shown = {setting.name for setting in particular(variant_name)}
    return [setting for setting in SETTINGS if setting.name in read and setting.name not in shown]


def _reads(function, cls: type | None = None, seen: set | None = None) -> set[str]:
    """Attribute and global names used by `function`, its nested functions and closures, and the
    gandash functions and `cls` methods it calls."""
    seen = set() if seen is None else seen
    function = inspect.unwrap(function)
    code = getattr(function, "__code__", None)
    if code is None or code in seen:
        return set()
    seen.add(code)
    names = _code_names(code)
    found = set(names)
    called = [cell.cell_contents for cell in (function.__closure__ or ()) if callable(cell.cell_contents)]
    if cls is not None and "super" in names:  # super().same_method(...): the next definition in the MRO
        called += _overridden(cls, function)
    for name in names:
        if cls is not None and isinstance(inspect.getattr_static(cls, name, None), types.FunctionType):
            called.append(getattr(cls, name))
        target = function.__globals__.get(name)
        if isinstance(target, types.FunctionType) and target.__module__.startswith("gandash"):
            called.append(target)
    for callee in called:
        found |= _reads(callee, cls, seen)
    return found


def _overridden(cls: type, function) -> list:
    """The definition of `function`'s name that `super()` reaches from the class defining `function`."""
    owners = [klass for klass in cls.__mro__ if klass.__dict__.get(function.__name__) is function]
    if not owners:
        return []
    later = cls.__mro__[cls.__mro__.index(owners[0]) + 1 :]
    return [klass.__dict__[function.__name__] for klass in later if function.__name__ in klass.__dict__][:1]


def _code_names(code: types.CodeType) -> set[str]:
    names = set(code.co_names)
    for const in code.co_consts:
        if isinstance(const, types.CodeType):  # comprehensions, lambdas, nested defs
            names |= _code_names(const)
    return names
