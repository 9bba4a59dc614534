import random

import streamlit as st
import torch

from gandash import latent
from gandash.core.errors import GandashError
from gandash.quality import features
from gandash.ui import common, latent_view

st.title("Latent space")
st.caption(
    "A generator maps a random vector z to an image. Nearby vectors give similar images; "
    "walking between two vectors shows what the generator has learned in between."
)

runs, bundled = latent_view.sources(common.store())
if not runs and not bundled:
    st.info(
        "No image model yet: train one on the Train page (a DCGAN on Fashion-MNIST takes a few minutes), "
        "and it appears here as soon as it has written its first checkpoint."
    )
    st.page_link("app_pages/train.py", label="Go to Train", icon="▶️")
    st.stop()
if not any(run.ready for run in runs):
    st.info(
        "You have not trained an image model yet, so this page uses the **bundled demo models** "
        "that ship with gandash. Your own runs can be explored as soon as they have a checkpoint."
    )

source, checkpoint = latent_view.pick_model(common.store(), runs + bundled)
if not source.ready:
    latent_view.no_checkpoint_yet(source)
    st.stop()
try:
    model = latent_view.load(source, checkpoint)
except GandashError as exc:
    st.error(str(exc))
    st.stop()
model_key = latent_view.model_key(source, checkpoint)  # what the per-model caches (GANSpace) are keyed on
config = model.config
st.caption(
    f"{config.variant} on {config.dataset} · step {model.step} · z has {config.z_dim} dimensions"
    + (f" · {config.num_classes} classes" if model.classes else "")
)
for note in model.notes:  # e.g. newer checkpoints damaged: an older one is shown
    st.warning(note)

label = None
names = latent_view.class_names(config.dataset, model.classes)
if model.classes:
    label = st.selectbox(
        "Class",
        range(model.classes),
        key="latent-class",
        format_func=names.__getitem__,
        help="A conditional generator draws the class you ask for; z decides the rest.",
    )


def show(frames: torch.Tensor, nrow: int | None = None, caption: str | None = None) -> None:
    st.image(latent_view.png(frames, model, nrow), caption=caption)


def seeds_from(text: str) -> list[int]:
    try:
        seeds = [int(part) for part in text.replace(",", " ").split()]
    except ValueError:
        raise GandashError("anchor seeds are whole numbers separated by commas, e.g. 1, 2, 3.") from None
    if len(seeds) < 2:
        raise GandashError("give at least two anchor seeds.")
    return seeds


codes = latent.code_slices(model)


# --- interpolate --------------------------------------------------------------------------------
def draw_interpolate() -> None:
    if "latent-anchors" not in st.session_state:
        st.session_state["latent-anchors"] = "1, 2"
    with st.expander("Pick anchors from samples"):
        base = st.number_input("Show samples from seed", 0, 10**6, 100, step=8, key="latent-base")
        candidates = list(range(int(base), int(base) + 8))
        z = torch.stack([latent.anchor(s, config.z_dim, model) for s in candidates])
        pictures = latent.render(model, z, latent.labels_for(model, 8, label))
        columns = st.columns(8)
        for column, seed, picture in zip(columns, candidates, pictures):
            column.image(latent_view.png(picture[None], model), caption=f"seed {seed}")
            if column.button("Add", key=f"add-{seed}", width="stretch"):
                st.session_state["latent-anchors"] += f", {seed}"
                st.rerun()
    left, right = st.columns([4, 1])
    if right.button("Randomize", icon=":material/casino:", width="stretch"):
        st.session_state["latent-anchors"] = ", ".join(str(random.randrange(10**6)) for _ in range(2))
    left.text_input(
        "Anchor seeds", key="latent-anchors", help="Each seed is one latent vector; the walk visits them in order."
    )
    a, b, c, d = st.columns(4)
    method = a.radio(
        "Method",
        latent.METHODS,
        horizontal=True,
        key="latent-method",
        help="slerp follows the sphere where Gaussian z lives (|z| ≈ √dim); lerp cuts through "
        "the inside, where the midpoints are shorter than any z seen in training and "
        "images turn washed out.",
    )
    steps = b.slider("Frames per leg", 2, 64, 16, key="latent-steps")
    psi = c.slider(
        "Truncation ψ",
        0.0,
        1.5,
        1.0,
        0.05,
        key="latent-psi",
        help="Scales z toward the mean: below 1 trades variety for cleaner images.",
    )
    closed = d.checkbox("Closed loop", key="latent-closed", help="Walk back to the first anchor.")
    try:
        seeds = seeds_from(st.session_state["latent-anchors"])
        anchors = [latent.anchor(s, config.z_dim, model) for s in seeds]
        z = latent.truncate(latent.path(anchors, steps, method, closed), psi)
        labels = latent.labels_for(model, len(z), label)
        frames = latent.render(model, z, labels)
    except GandashError as exc:
        st.error(str(exc))
    else:
        show(frames, nrow=min(len(frames), 16))
        latent_view.player(frames, model)
        name = "-".join(map(str, seeds))
        buttons = st.columns(3)
        # the files are made when a button is pressed, not on every slider move
        buttons[0].download_button(
            "Strip (PNG)",
            lambda: latent.export_bytes(".png", model, z, labels, frames),
            f"strip-{name}.png",
            "image/png",
            icon=":material/download:",
        )
        buttons[1].download_button(
            "Animation (GIF)",
            lambda: latent.export_bytes(".gif", model, z, labels, frames),
            f"walk-{name}.gif",
            "image/gif",
            icon=":material/download:",
            help="Plays there and back, so the loop has no jump.",
        )
        buttons[2].download_button(
            "Latent vectors (.npy)",
            latent.npy(z, labels),
            f"z-{name}.npy",
            "application/octet-stream",
            icon=":material/download:",
            help="One row per frame: z, then the class for conditional models.",
        )


# --- grid ---------------------------------------------------------------------------------------
def draw_grid() -> None:
    a, b, c = st.columns(3)
    center = a.number_input("Centre seed", 0, 10**6, 1, key="latent-grid-seed")
    size = b.slider("Rows and columns", 3, 11, 7, 2, key="latent-grid-size")
    span = c.slider("Reach (standard deviations)", 0.5, 4.0, 2.0, 0.5, key="latent-grid-span")
    axes = st.radio(
        "Axes",
        latent.GRID_AXES,
        horizontal=True,
        key="latent-grid-axes",
        format_func={"principal": "principal directions 1 and 2", "random": "two random directions"}.get,
    )
    found = latent_view.directions(model, model_key, latent.GRID_DIRECTIONS) if axes == "principal" else None
    z = latent.grid_z(model, center, size, size, axes, span, found)
    frames = latent.render(model, z, latent.labels_for(model, len(z), label))
    show(frames, nrow=size)
    st.download_button(
        "Grid (PNG)",
        latent_view.png(frames, model, size),
        f"grid-{center}.png",
        "image/png",
        icon=":material/download:",
    )


# --- principal directions as sliders -----------------------------------------------------------
def draw_directions() -> None:
    found = latent_view.directions(model, model_key, latent.GRID_DIRECTIONS)
    st.caption(
        "GANSpace (Härkönen et al. 2020): the principal components of the generator's first layer, "
        "carried back to z. The first ones usually change the most visible things."
    )
    seed = st.number_input("Seed", 0, 10**6, 1, key="latent-dir-seed")
    left, right = st.columns([1, 1])
    amounts = []
    with left:
        for i, share in enumerate(found.explained.tolist()[:6]):
            amounts.append(
                st.slider(f"Direction {i + 1} ({share:.0%} of variance)", -4.0, 4.0, 0.0, 0.25, key=f"latent-dir-{i}")
            )
    z = latent.steer(latent.anchor(seed, config.z_dim, model)[None], found, amounts)
    picture = latent.render(model, z, latent.labels_for(model, 1, label))
    right.image(latent_view.png(picture, model), width=320)
    spaces = ["pixels"] + (["classifier features"] if features.available(config.dataset) else [])
    space = right.radio(
        "Compare in",
        spaces,
        horizontal=True,
        key="latent-nearest-space",
        help="Pixels find copies; the classifier's features find the closest garment of the same kind.",
    )
    if right.button("Find the nearest training image", help="A copy of a training image means memorisation."):
        where = (config.dataset, config.data_dir, config.image_size, config.channels)
        try:
            training = latent_view.training_images(*where)
            if space == "pixels":
                index, distance = latent.nearest_training(picture[0], training)
                how = f"RMS difference {distance:.3f} (0 = identical, below ~0.05 looks copied)"
            else:
                index, distance = latent.nearest_in_features(
                    picture[0], latent_view.training_features(*where), features.load(config.dataset)
                )
                how = f"feature distance {distance:.2f} of a typical pair's (0 = the same features)"
        except GandashError as exc:
            right.error(str(exc))
        else:
            nearest = training[index : index + 1].float().div(127.5).sub(1)
            right.image(latent_view.png(nearest, model), width=160, caption=f"training image #{index}: {how}")


# --- arithmetic ---------------------------------------------------------------------------------
def draw_arithmetic() -> None:
    st.caption("Vector arithmetic (Radford et al. 2016): image of a − b + c.")
    columns = st.columns(4)
    seeds = [
        columns[i].number_input(name, 0, 10**6, default, key=f"latent-arith-{name}")
        for i, (name, default) in enumerate((("a", 1), ("b", 2), ("c", 3)))
    ]
    z = torch.stack([latent.anchor(s, config.z_dim, model) for s in seeds])
    z = torch.cat([z, latent.arithmetic(*z)[None]])
    pictures = latent.render(model, z, latent.labels_for(model, 4, label))
    for column, picture, caption in zip(columns, pictures, ("a", "b", "c", "a − b + c")):
        column.image(latent_view.png(picture[None], model), caption=caption, width="stretch")


# --- classes ------------------------------------------------------------------------------------
def draw_classes() -> None:
    seed = st.number_input("Seed", 0, 10**6, 1, key="latent-class-seed")
    z = latent.anchor(seed, config.z_dim, model)[None].repeat(model.classes, 1)
    show(latent.render(model, z, torch.arange(model.classes)), caption="the same z, every class: " + ", ".join(names))
    a, b, c = st.columns(3)
    first = a.selectbox("From class", range(model.classes), key="latent-from", format_func=names.__getitem__)
    last = b.selectbox(
        "To class", range(model.classes), index=model.classes - 1, key="latent-to", format_func=names.__getitem__
    )
    steps = c.slider("Frames", 2, 32, 10, key="latent-class-steps")
    mix = latent.class_mix(model, first, last, steps)
    show(
        latent.render(model, latent.anchor(seed, config.z_dim, model)[None].repeat(steps, 1), mix),
        caption="the class embedding blended from one class into the other, z fixed",
    )


# --- latent codes (InfoGAN) -------------------------------------------------------------------------
def draw_codes() -> None:
    st.caption(
        "InfoGAN's codes are the last dimensions of z. Each row changes one code and keeps the rest "
        "of z: the model was never told what a code means, so see what it picked."
    )
    a, b = st.columns(2)
    seed = a.number_input("Seed", 0, 10**6, 1, key="latent-code-seed")
    span = b.slider(
        "Reach of the continuous codes",
        0.5,
        3.0,
        2.0,
        0.5,
        key="latent-code-span",
        help="Training drew them from [-1, 1]; the paper shows them up to 2.",
    )
    z = latent.anchor(seed, config.z_dim, model)
    for code in codes:
        rows = latent.code_sweep(model, z, code.name, steps=10, span=span)
        show(
            latent.render(model, rows, latent.labels_for(model, len(rows), label)),
            caption=f"{code.name}: " + ("each category" if code.prior == "categorical" else f"-{span:g} … {span:g}"),
        )


# only the open tab runs (on_change="rerun"): GANSpace's PCA, say, is computed when someone opens its tab
drawers = {
    "Interpolate": draw_interpolate,
    "Grid": draw_grid,
    "Directions": draw_directions,
    "Arithmetic": draw_arithmetic,
}
if model.classes:
    drawers["Classes"] = draw_classes
if codes:
    drawers["Codes"] = draw_codes
for tab, draw in zip(st.tabs(list(drawers), key="latent-tab", on_change="rerun"), drawers.values()):
    if tab.open:
        with tab:
            draw()
