"""The registry: every variant by name, classic and from the literature."""

from __future__ import annotations

from gandash.core.errors import GandashError
from gandash.variants import classic, literature
from gandash.variants.base import Variant

REGISTRY: dict[str, Variant] = {v.name: v for v in (*classic.VARIANTS, *literature.VARIANTS)}


def get(name: str) -> Variant:
    try:
        return REGISTRY[name]
    except KeyError:
        raise GandashError(f"variant '{name}' is unknown; choose one of {', '.join(REGISTRY)}.") from None


def default_for(data_kind: str) -> str:
    return {"points": "toy", "paired": "deblur", "domains": "discogan", "lowres": "srgan"}.get(data_kind, "dcgan")
