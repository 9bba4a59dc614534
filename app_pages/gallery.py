import streamlit as st

from gandash import gallery, variants
from gandash.ui import gallery_view

st.title("Gallery")
st.caption(
    "The GAN family, one card each: the idea, the objective, the real architecture, samples from a "
    "bundled model, and one click to train it yourself."
)

with st.container(border=True):
    st.markdown("**Seed presets** — the configurations of the original tutorials, prefilled on the Train page")
    with st.container(horizontal=True):  # each button as wide as its name, wrapping if the row is full
        for label, preset in gallery.seed_presets().items():
            if st.button(label, key=f"preset-{preset['variant']}", width="content"):
                st.session_state["prefill"] = dict(preset)
                st.switch_page("app_pages/train.py")

for problem in gallery.demo_problems():  # a damaged demo file: its card cannot show samples
    st.warning(problem)

chosen = st.pills(
    "Family",
    gallery.FAMILIES,
    selection_mode="multi",
    key="gallery-families",
    help="Show only these families (none selected: all).",
)
names = [n for n in variants.REGISTRY if not chosen or gallery.families(n) & set(chosen)]
st.caption(f"{len(names)} of {len(variants.REGISTRY)} variants")
for name in names:
    train, explore = gallery_view.card(name, name)
    if train:
        st.session_state["prefill"] = gallery.prefill(name)
        st.switch_page("app_pages/train.py")
    if explore:
        if gallery.card(name).explore == "deblur":
            st.switch_page("app_pages/deblur.py")
        st.switch_page("app_pages/latent.py", query_params={"demo": gallery.demo_for(name)})
