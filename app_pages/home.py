import streamlit as st

from gandash import data
from gandash.core import device
from gandash.core.errors import GandashError
from gandash.runs import jobs
from gandash.ui import common
from gandash.variants import configure

st.title("🌀 gandash")
st.markdown(
    "gandash is a place to learn how **Generative Adversarial Networks** work by training them. "
    "A generator learns to make samples that a discriminator cannot tell from real data, and here you can "
    "watch that contest live: losses, D(x) and D(G(z)), samples as they improve. "
    "Everything runs on this machine, offline, on its GPU when it has one and on the CPU in minutes when not."
)

store = common.store()
runs = store.runs()
hardware = device.pick("auto")
datasets = data.describe_all()
present = [row["name"] for row in datasets if row["present"] and not row["name"].endswith(":")]
left, middle, right = st.columns(3)
left.metric("Device", hardware.type.upper())
middle.metric("Datasets here", len(present), help=", ".join(present))
right.metric("Runs", len(runs), help=f"{sum(r['status'] == 'running' for r in runs)} running")

st.subheader("Start in one click")
st.write(
    "A tiny GAN learns 8 Gaussian blobs on a ring in about two minutes on a CPU. "
    "Watch the generated points find the modes one by one."
)
if st.button("Train a toy GAN on the ring", type="primary", icon=":material/rocket_launch:"):
    try:
        run_id = jobs.create(
            configure.make_config("toy", "ring", max_steps=None, max_minutes=2.0, name="first toy GAN"), store
        )
    except GandashError as exc:
        st.error(str(exc))
    else:
        common.select_run(run_id)
        st.switch_page("app_pages/runs.py", query_params={"run": run_id})

st.subheader("Where to go")
for page, label, icon in (
    ("app_pages/train.py", "Train a GAN: pick a variant, a dataset and its settings", "▶️"),
    ("app_pages/runs.py", "Runs: watch curves and samples live, step through Algorithm 1, stop, resume", "📈"),
    ("app_pages/compare.py", "Compare: overlay the curves of 2-6 runs, their samples side by side", "⚖️"),
    ("app_pages/latent.py", "Latent space: walk between seeds, grids, directions and vector arithmetic", "🧭"),
    ("app_pages/gallery.py", "Gallery: every GAN variant, its paper, objective, nets and demo samples", "🖼️"),
    ("app_pages/deblur.py", "Deblur: restore a blurry photo with a GAN, beside classical methods", "🔍"),
):
    st.page_link(page, label=label, icon=icon)
missing = [row for row in datasets if not row["present"]]
if missing:
    with st.expander("Datasets not on this machine"):
        for row in missing:
            st.markdown(f"**{row['name']}** — {row['description']}. {row['how_to_get']}")
