"""The latent page's model picker (kept in the URL, like the Runs page's ?run=), the cached model
loading (so a slider never reloads a generator), the frame player and the pictures."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path

import streamlit as st
import torch

from gandash import data, latent, variants
from gandash.core.errors import GandashError
from gandash.engine import checkpoints
from gandash.runs.store import ACTIVE, Store
from gandash.ui import common
from gandash.variants import demos

MODEL_KEY, STEP_KEY = "latent-model", "latent-checkpoint"


@dataclass(frozen=True)
class Source:
    """A model the page can open. Equal when they name the same run or demo, so the picker keeps its
    choice when a label changes (a run's first checkpoint arriving, a rename)."""

    label: str = field(compare=False)
    run_id: str | None = None
    run_dir: str | None = None
    demo: str | None = None
    ready: bool = field(default=True, compare=False)  # False: a run without a checkpoint yet
    status: str = field(default="", compare=False)
    step: int = field(default=0, compare=False)
    checkpoint_every: int = field(default=0, compare=False)


def sources(store: Store) -> tuple[list[Source], list[Source]]:
    """(image runs, newest first, those without a checkpoint yet too; bundled demos)."""
    runs = []
    for run in store.runs():
        if not _from_noise(run["variant"]):
            continue
        ready = bool(checkpoints.listing(Path(run["run_dir"])))
        label = f"{run['name'] or run['id']} · {run['variant']} on {run['dataset']}" + (
            "" if ready else " · no checkpoint yet"
        )
        runs.append(
            Source(
                label,
                run_id=run["id"],
                run_dir=run["run_dir"],
                ready=ready,
                status=run["status"],
                step=run["step"] or 0,
                checkpoint_every=run["config"].get("checkpoint_every", 0),
            )
        )
    bundled = []
    order = list(demos.PRESETS)  # the presets' order: the unconditional DCGAN first
    for name in sorted(demos.available(), key=lambda n: order.index(n) if n in order else len(order)):
        info = demos.describe(name)
        if info["dataset"] in ("ring", "grid", "spiral", "moons") or not _from_noise(info["variant"]):
            continue
        bundled.append(Source(f"demo · {info['variant']} on {info['dataset']}", demo=name))
    return runs, bundled


def _from_noise(variant: str) -> bool:
    """Image generators driven by z; toy and image-to-image models (deblur, srgan, discogan) have no z space."""
    return variant in variants.REGISTRY and variants.REGISTRY[variant].data_kind == "image"


# --- picking the model (and checkpoint), kept in the URL -----------------------------------------
def pick_model(store: Store, choices: list[Source]) -> tuple[Source, Path | None]:
    """The model picker and, for a run, its checkpoint picker. A fresh page (a reload, a link, the
    gallery's Explore) opens what the URL names: ?run=ID or ?demo=NAME, and &step=N for an older
    checkpoint; every choice is written back to the URL so a reload shows the same model."""
    if st.session_state.get(MODEL_KEY) not in choices:
        st.session_state[MODEL_KEY] = _initial(store, choices)
    left, right = st.columns([3, 1])
    source = left.selectbox("Model", choices, key=MODEL_KEY, format_func=lambda s: s.label)
    st.session_state["_latent-last-model"] = source  # widget state is dropped on other pages; this is not
    checkpoint, step, newest = None, None, None
    if source.run_id and source.ready:
        kept = checkpoints.listing(Path(source.run_dir))
        steps = [checkpoints.step_of(p) for p in kept]
        _initial_step(source, steps)
        step = right.selectbox(
            "Checkpoint (step)", steps, key=STEP_KEY, help="The newest is first; older ones show the past."
        )
        checkpoint, newest = kept[steps.index(step)], steps[0]
    _write_url(source, step, newest)
    return source, checkpoint


def _initial(store: Store, choices: list[Source]) -> Source:
    """What a fresh page opens: the URL's model, else this session's last pick here, else the run the
    Runs page shows, else the first with a checkpoint. A URL naming something that cannot be opened says so."""
    params = st.query_params
    if params.get("demo"):
        found = next((s for s in choices if s.demo == params["demo"]), None)
        if found is None:
            st.warning(
                f"There is no bundled demo model '{params['demo']}' with a latent space here; "
                f"showing {choices[0].label} instead."
            )
        return found or choices[0]
    if params.get("run"):
        found = next((s for s in choices if s.run_id == params["run"]), None)
        if found is None:
            run = store.run(params["run"])
            why = (
                "there is no such run (see the Runs page)"
                if run is None
                else f"it is a {run['variant']} run: its generator does not make images from a random z, so "
                "it has no latent space to walk"
            )
            st.warning(f"Run **{params['run']}** cannot be explored here: {why}. Showing {choices[0].label} instead.")
        return found or choices[0]
    last = st.session_state.get("_latent-last-model")
    if last in choices:
        return last
    ready = [s for s in choices if s.ready] or choices  # asked for nothing: open something to explore
    return next((s for s in ready if s.run_id and s.run_id == st.session_state.get("run")), ready[0])


def _initial_step(source: Source, steps: list[int]) -> None:
    """Open the URL's &step= on a fresh page, the newest checkpoint when the model changes, and keep
    following the newest while training writes new ones, unless an older one was picked."""
    current, owner = st.session_state.get(STEP_KEY), st.session_state.get("_latent-step-of")
    following = current == st.session_state.get("_latent-newest")
    if owner is None and current is None and st.query_params.get("step"):
        asked = st.query_params["step"]
        if asked.isdigit() and int(asked) in steps:
            current, following = int(asked), False
        else:
            st.warning(
                f"{source.label} keeps no checkpoint of step {asked} (kept: "
                f"{', '.join(map(str, steps))}); showing the newest."
            )
            current = None
    elif owner != source.run_id:
        current = None
    if current not in steps or following:
        current = steps[0]
    st.session_state[STEP_KEY] = current
    st.session_state["_latent-step-of"], st.session_state["_latent-newest"] = source.run_id, steps[0]


def _write_url(source: Source, step: int | None, newest: int | None) -> None:
    params = st.query_params
    if source.run_id:
        if params.get("run") != source.run_id:
            common.select_run(source.run_id)
        params.pop("demo", None)
    else:
        if params.get("demo") != source.demo:
            params["demo"] = source.demo
        params.pop("run", None)
    if step is None or step == newest:
        params.pop("step", None)  # the newest: a reload follows training
    elif params.get("step") != str(step):
        params["step"] = str(step)


def no_checkpoint_yet(source: Source) -> None:
    """Say plainly why a run cannot be explored yet and when it can; a live run is watched, and the page
    opens its generator as soon as the first checkpoint is written."""
    every, at = source.checkpoint_every, source.step
    if source.status in ACTIVE:
        when = (
            f"Its worker writes one every {every} steps (it is at step {at}, so the first comes at step "
            f"{every}) and when the run stops. This page opens it as soon as it is written."
        )
    elif source.status == "queued":
        when = (
            f"It is queued: once it starts, its worker writes one every {every} steps and when it stops. "
            "This page opens it as soon as the first is written."
        )
    else:
        when = (
            f"It ended ({source.status}) at step {at}, before its first checkpoint (one is written every "
            f"{every} steps and when a run stops), so there is no generator to explore. Its log is on the "
            "Runs page; resume it or train a new run."
        )
    st.info(
        f"**{source.label.removesuffix(' · no checkpoint yet')}** has no checkpoint yet. {when}",
        icon=":material/hourglass_empty:",
    )
    if source.status in ACTIVE + ("queued",):

        @st.fragment(run_every=3)
        def wait() -> None:
            if checkpoints.listing(Path(source.run_dir)):
                st.rerun()

        wait()


# --- the generator, cached ----------------------------------------------------------------------
@st.cache_resource(max_entries=4, show_spinner="Loading the generator…")
def _load(run_dir: str | None, demo: str | None, checkpoint: str | None, stamp: float) -> latent.Model:
    if demo:
        return latent.load(demo=demo)
    return latent.load(Path(run_dir), Path(checkpoint) if checkpoint else None)


def model_key(source: Source, checkpoint: Path | None) -> tuple:
    """(run or demo, checkpoint, file time): names one set of weights, so a rewritten file is a new key."""
    target = checkpoint or (demos.path_for(source.demo) if source.demo else None)
    stamp = target.stat().st_mtime_ns if target and target.exists() else 0
    return source.run_dir, source.demo, str(checkpoint) if checkpoint else None, stamp


def load(source: Source, checkpoint: Path | None) -> latent.Model:
    """The cached model; a rewritten checkpoint reloads, and a damaged one says so (errors are not cached)."""
    return _load(*model_key(source, checkpoint))


@st.cache_resource(max_entries=4, show_spinner="Finding the principal directions (GANSpace)…")
def directions(_model: latent.Model, key: tuple, k: int) -> latent.Directions:
    return latent.principal_directions(_model, k=k)


@st.cache_resource(max_entries=2, show_spinner="Loading the training set…")
def training_images(dataset: str, data_dir: str | None, size: int, channels: int) -> torch.Tensor:
    return data.load(dataset, data_dir, size, channels).images


def png(frames: torch.Tensor, model: latent.Model, nrow: int | None = None) -> bytes:
    return latent.display_png(frames, model, nrow)


# --- the player: one frame slider that also plays -------------------------------------------------
SPEEDS = (2, 4, 8, 12, 24)  # frames per second
SLIDER_TICK = 0.5  # s between the slider's moves while playing


def player(frames: torch.Tensor, model: latent.Model, key: str = "latent-frame") -> None:
    """A frame slider with Play/Pause. Playing shows the walk as an animated GIF that the browser plays
    at the chosen speed (a server round trip per frame managed ~2 frames/s in headless Chromium on this
    CPU), while a fragment moves the slider along with it twice a second; Pause holds the frame it
    has reached. It stops at the last frame, or loops."""
    last = len(frames) - 1
    if st.session_state.get(key, 0) > last:  # fewer frames than before
        st.session_state[key] = last
    playing = st.session_state.get(f"{key}-playing", False)
    controls, view = st.columns([1, 4])
    with controls:
        fps = st.select_slider(
            "Speed",
            SPEEDS,
            value=8,
            key=f"{key}-fps",
            format_func=lambda n: f"{n} frames/s",
            on_change=_pause,
            args=(key, last),
        )
        st.toggle(
            "Loop",
            value=True,
            key=f"{key}-loop",
            help="Start again from the first frame at the end.",
            on_change=_pause,
            args=(key, last),
        )
        st.button(
            "Pause" if playing else "Play",
            key=f"{key}-play",
            width="stretch",
            type="primary",
            icon=":material/pause:" if playing else ":material/play_arrow:",
            on_click=_toggle,
            args=(key, last),
        )
    with view:
        st.fragment(run_every=SLIDER_TICK if playing else None)(_slider)(last, key)
        if playing:
            start, loop = st.session_state[f"{key}-from"], st.session_state.get(f"{key}-loop", True)
            order = list(range(start, last + 1)) + (list(range(start)) if loop else [])
            st.image(
                latent.gif(frames[order], latent.display_scale(model), fps, bounce=False, loop=loop),
                caption=f"playing from frame {start} of {last}",
                width=256,
            )
        else:
            frame = st.session_state.get(key, 0)
            st.image(png(frames[frame : frame + 1], model), caption=f"frame {frame} of {last}", width=256)


def _position(key: str, last: int) -> tuple[int, bool]:
    """Where the playing animation is now, and whether it has reached its end (without Loop)."""
    state = st.session_state
    moved = int((time.monotonic() - state[f"{key}-started"]) * state[f"{key}-fps"])  # a new speed pauses
    if state.get(f"{key}-loop", True):
        return (state[f"{key}-from"] + moved) % (last + 1), False
    return min(state[f"{key}-from"] + moved, last), state[f"{key}-from"] + moved >= last


def _toggle(key: str, last: int) -> None:
    state = st.session_state
    if state.get(f"{key}-playing", False):
        _pause(key, last)
        return
    frame = state.get(key, 0)
    state[key] = state[f"{key}-from"] = 0 if frame >= last else frame  # Play at the end starts again
    state[f"{key}-started"], state[f"{key}-playing"] = time.monotonic(), True


def _pause(key: str, last: int) -> None:
    if st.session_state.get(f"{key}-playing", False):
        st.session_state[key] = _position(key, last)[0]
        st.session_state[f"{key}-playing"] = False


def _slider(last: int, key: str) -> None:
    state = st.session_state
    if not state.get(f"{key}-playing", False):
        st.slider("Frame", 0, last, key=key)
        return
    frame, ended = _position(key, last)
    if ended:  # rerun the page: the still frame comes back, the fragment stops ticking, the button says Play
        state[key], state[f"{key}-playing"] = last, False
        st.rerun()
    # While playing, the slider only shows where the animation is: a slider the server moves and the
    # user can drag would race with it (the browser sends back the values it was sent, late).
    state[f"{key}-progress"] = frame
    st.slider("Frame", 0, last, key=f"{key}-progress", disabled=True, help="Pause to pick a frame.")


def class_names(dataset: str, count: int) -> list[str]:
    """The dataset's class names when it has them (Fashion-MNIST's garments), else the numbers."""
    try:
        names = list(data.info(dataset).class_names)
    except GandashError:  # e.g. a folder that has gone away: numbers will do
        names = []
    return names if len(names) == count else [str(i) for i in range(count)]


@st.cache_resource(max_entries=2, show_spinner="Computing the training images' features (once)…")
def training_features(dataset: str, data_dir: str | None, size: int, channels: int) -> torch.Tensor:
    from gandash.quality import features

    images = training_images(dataset, data_dir, size, channels)
    return features.load(dataset).features(images.float().div(127.5).sub(1))
