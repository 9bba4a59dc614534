"""gandash: the entry point. Routes to the pages and draws the sidebar's job panel."""

import streamlit as st

from gandash.runs.store import StoreBusy
from gandash.ui import common, sidebar

st.set_page_config(page_title="gandash", page_icon="🌀", layout="wide")

navigation = st.navigation(
    {
        "gandash": [st.Page("app_pages/home.py", title="Home", icon=":material/home:", default=True)],
        "Train and watch": [
            st.Page("app_pages/train.py", title="Train", icon=":material/play_circle:", url_path="train"),
            st.Page("app_pages/runs.py", title="Runs", icon=":material/monitoring:", url_path="runs"),
            st.Page("app_pages/compare.py", title="Compare", icon=":material/compare_arrows:", url_path="compare"),
        ],
        "Explore": [
            st.Page("app_pages/latent.py", title="Latent space", icon=":material/gesture:", url_path="latent"),
            st.Page("app_pages/gallery.py", title="Gallery", icon=":material/collections:", url_path="gallery"),
        ],
        "Use models": [st.Page("app_pages/deblur.py", title="Deblur", icon=":material/deblur:", url_path="deblur")],
    }
)
with st.sidebar:
    sidebar.jobs_panel()
try:
    navigation.run()
except StoreBusy:  # another program holds the store's lock: say so, and try the page again shortly
    common.busy_warning()

    @st.fragment(run_every=3)
    def retry() -> None:
        if st.session_state.get("_busy-retry-armed"):
            st.session_state["_busy-retry-armed"] = False
            st.rerun()
        st.session_state["_busy-retry-armed"] = True

    retry()
