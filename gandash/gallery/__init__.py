"""The Gallery: a card per variant (its text and data: gallery.cards) and the pictures of its bundled
model (drawn and cached: gallery.pictures). `from gandash import gallery` loads only the cards; the
pictures, which run torch models, load on the first use of one of their names here."""

from gandash.gallery.cards import (
    FAMILIES,
    NON_SATURATING,
    Samples,
    card,
    demo_for,
    demo_problems,
    families,
    prefill,
    preset_for,
    samples_for,
    seed_presets,
)

# the pictures' names used through the package: `pretrain` calls gallery.write_shipped_cards after it
# rebuilt the bundled weights, and tests draw a demo's picture; the page's own code imports pictures
_PICTURES = ("demo_frames", "sample_png", "write_shipped_cards")

__all__ = [
    "FAMILIES",
    "NON_SATURATING",
    "Samples",
    "card",
    "demo_for",
    "demo_frames",
    "demo_problems",
    "families",
    "prefill",
    "preset_for",
    "sample_png",
    "samples_for",
    "seed_presets",
    "write_shipped_cards",
]


def __getattr__(name: str):
    """A pictures name, importing gallery.pictures then: torch alone takes ~1.5 s to load, which a caller
    that only reads the cards (or the CLI's other commands) should not pay."""
    if name in _PICTURES:
        from gandash.gallery import pictures

        return getattr(pictures, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
