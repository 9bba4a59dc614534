"""The registry of GAN variants: each one's text, paper, objective, nets, trainer and recipe; the config
rules that need it; the demo presets; per-variant settings; layer tables; the step-time estimate."""

from gandash.variants.registry import REGISTRY, Variant, default_for, get  # noqa: F401 - the package's front door
