"""The latent page's model loading (cached, so a slider never reloads a generator) and pictures."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import streamlit as st
import torch

from gandash import checkpoints, data, demos, images, latent, variants
from gandash.errors import GandashError
from gandash.store import Store


@dataclass(frozen=True)
class Source:
    label: str
    run_id: str | None = None
    run_dir: str | None = None
    demo: str | None = None


def sources(store: Store) -> tuple[list[Source], list[Source]]:
    """(image runs that have a checkpoint, bundled demos), newest runs first."""
    runs = []
    for run in store.runs():
        if not _from_noise(run["variant"]) or not checkpoints.listing(Path(run["run_dir"])):
            continue
        label = f"{run['name'] or run['id']} · {run['variant']} on {run['dataset']}"
        runs.append(Source(label, run_id=run["id"], run_dir=run["run_dir"]))
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


@st.cache_resource(max_entries=4, show_spinner="Loading the generator…")
def _load(source: Source, checkpoint: str | None, stamp: float) -> latent.Model:
    if source.demo:
        return latent.load(demo=source.demo)
    return latent.load(Path(source.run_dir), Path(checkpoint) if checkpoint else None)


def load(source: Source, checkpoint: Path | None) -> latent.Model:
    """The cached model; the file's modification time is part of the key so a rewritten checkpoint reloads."""
    target = checkpoint or (demos.path_for(source.demo) if source.demo else None)
    stamp = target.stat().st_mtime if target and target.exists() else 0.0
    return _load(source, str(checkpoint) if checkpoint else None, stamp)


@st.cache_resource(max_entries=4, show_spinner="Finding the principal directions (GANSpace)…")
def directions(_model: latent.Model, key: tuple, k: int) -> latent.Directions:
    return latent.principal_directions(_model, k=k)


@st.cache_resource(max_entries=2, show_spinner="Loading the training set…")
def training_images(dataset: str, data_dir: str | None, size: int, channels: int) -> torch.Tensor:
    return data.load(dataset, data_dir, size, channels).images


def png(frames: torch.Tensor, model: latent.Model, nrow: int | None = None) -> bytes:
    """A PNG of frames in a row (or rows of nrow), small images enlarged so they can be seen."""
    scale = latent.display_scale(model)
    if scale > 1:
        frames = torch.nn.functional.interpolate(frames, scale_factor=scale, mode="nearest")
    return images.grid_png(frames, nrow=nrow or len(frames))


def class_names(dataset: str, count: int) -> list[str]:
    """The dataset's class names when it has them (Fashion-MNIST's garments), else the numbers."""
    try:
        names = list(data.info(dataset).class_names)
    except GandashError:  # e.g. a folder that has gone away: numbers will do
        names = []
    return names if len(names) == count else [str(i) for i in range(count)]


@st.cache_resource(max_entries=2, show_spinner="Computing the training images' features (once)…")
def training_features(dataset: str, data_dir: str | None, size: int, channels: int) -> torch.Tensor:
    from gandash import features

    images = training_images(dataset, data_dir, size, channels)
    return features.load(dataset).features(images.float().div(127.5).sub(1))
