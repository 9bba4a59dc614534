"""The Gallery page's cards: cached layer tables and demo samples, and the card layout."""

from __future__ import annotations

from dataclasses import asdict

import streamlit as st

from gandash import variants
from gandash.core.errors import GandashError
from gandash.gallery import cards, pictures
from gandash.variants import architecture
from gandash.variants.configure import make_config


@st.cache_data(show_spinner=False, max_entries=64)
def layer_rows(name: str) -> dict[str, list[dict]]:
    """The variant's layer tables at its default sizes (the dataset of its Train-this), computed once."""
    config = make_config(name, cards.prefill(name)["dataset"])
    return {part: [asdict(row) for row in rows] for part, rows in architecture.tables(config).items()}


@st.cache_data(show_spinner=False, max_entries=64)
def _picture(samples: cards.Samples, stamp: int) -> bytes:
    """A card's picture, kept in memory (and on disk by pictures.cached_png); `stamp` reloads rebuilt weights."""
    return pictures.cached_png(samples)


def samples(name: str) -> tuple[bytes, str] | None:
    """(PNG, caption) of what the variant's bundled model does, or None when nothing is bundled."""
    found = cards.samples_for(name)
    if found is None:
        return None
    return _picture(found, found.path.stat().st_mtime_ns), found.caption


def card(name: str, key: str) -> tuple[bool, bool]:
    """Draw one variant's card; returns (Train this clicked, Explore clicked)."""
    variant, text, demo = variants.get(name), cards.card(name), cards.demo_for(name)
    with st.container(border=True, key=f"card-{name}"):
        # few elements per card (the browser's time to draw the page grows with their number), and the
        # objective across the whole card: in the text's column the longer ones were cut off
        formulas = "".join(f"\n\n$$\n{latex}\n$$" for latex in (variant.objective, *text.objectives))
        st.markdown(
            f"### {variant.title}  ·  `{name}`\n:gray[{variant.paper}  ·  "
            f"{', '.join(sorted(cards.families(name)))}]" + formulas
        )
        left, right = st.columns([3, 2])
        strengths = f"\n\n**Good at:** {text.good_at}  \n**Bad at:** {text.bad_at}" if text.good_at else ""
        left.markdown(text.idea + strengths)
        with right:
            try:
                picture = samples(name)
            except GandashError as exc:
                picture = None
                st.warning(str(exc))
            else:
                if picture is None:
                    preset = cards.preset_for(name)
                    how = (
                        f"\n\n`python -m gandash pretrain --only {preset}`\n\n"
                        if preset
                        else " a demo preset in gandash/demos.py and\n\n`python -m gandash pretrain`\n\n"
                    )
                    st.info(f"No bundled demo model yet. Make one with{how}or press **Train this** to train your own.")
            if picture is not None:
                st.image(picture[0], caption=picture[1])
        # the tables are built only when opened: fifteen data grids in closed expanders made the page slow
        layers = st.expander("Architecture (computed from the modules)", key=f"arch-open-{key}", on_change="rerun")
        with layers:
            tables = layer_rows(name) if layers.open else {}
            for part in tables:
                rows = tables[part]
                st.markdown(f"**{part.capitalize()}**: {sum(r['parameters'] for r in rows):,} parameters")
                st.dataframe(
                    rows,
                    hide_index=True,
                    width="stretch",
                    key=f"arch-{part}-{name}",
                    column_config={
                        "name": "layer",
                        "output_shape": "output shape",
                        "parameters": st.column_config.NumberColumn("parameters", format="localized"),
                    },
                )
        explorable = (text.explore == "latent" and demo) or text.explore == "deblur"
        with st.container(horizontal=True):
            train = st.button("Train this", key=f"train-{key}", icon=":material/play_arrow:", width="stretch")
            explore = st.button(
                "Explore",
                key=f"explore-{key}",
                icon=":material/gesture:",
                width="stretch",
                disabled=not explorable,
                help=None if explorable else "needs a bundled demo model (see above)",
            )
    return train, explore
