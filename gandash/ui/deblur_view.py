"""The Deblur page's work and pictures: decoding (kept once per session), blurring or shrinking for a
comparison, baselines, the models, the slider view, the 100% crops and the result panel."""

from __future__ import annotations

import hashlib
import time

import numpy as np
import streamlit as st
from PIL import Image, ImageDraw

from gandash import data
from gandash.data import degrade
from gandash.restore import baselines as classical
from gandash.restore import deblur, kernel_estimate, reading, upscale
from gandash.restore import photo as photos

BLUR_IT_PIXELS = 2_000_000  # "blur it for me" works on a copy this large, so Wiener and RL stay quick
PREVIEW_WIDTH = 1200
STRENGTHS = {  # kind -> (label, min, max, default, step)
    "gaussian": ("σ (px)", 0.5, 3.0, 1.5, 0.1),
    "motion": ("length (px)", 3.0, 21.0, 9.0, 1.0),
    "defocus": ("radius (px)", 1.0, 4.0, 2.0, 0.1),
    "shake": ("extent (px)", 5.0, 25.0, 13.0, 1.0),
}
KIND_NAMES = {"gaussian": "Gaussian", "motion": "Motion (straight)", "defocus": "Defocus", "shake": "Camera shake"}
TASKS = {"Deblur": deblur.LIMITS, "Upscale ×4": upscale.LIMITS}
PIXEL_GAIN = "1.6 dB"  # the bundled pixel upscaler over bicubic on mate-backgrounds' photos (bench/upscale.py)


def read(content: bytes, name: str, task: str) -> tuple[photos.Photo, str]:
    """(photo, identity) of an upload. Only the session's latest upload is kept, compact (its own 8 or
    16 bits), in the session's state: a global cache of decoded photos of up to 50 megapixels, one per
    upload and user, would grow by hundreds of MB each."""
    identity = hashlib.sha1(content).hexdigest()
    kept = st.session_state.get("deblur-photo")
    if kept and kept[0] == (identity, task):
        return kept[1], identity
    for stale in ("deblur-photo", "deblur-result", "deblur-previews"):  # freed before the new photo is decoded
        st.session_state.pop(stale, None)
    with st.spinner("Reading the photo…"):
        photo = photos.read(content, name, TASKS[task])
    st.session_state["deblur-photo"] = ((identity, task), photo)
    return photo, identity


@st.cache_data(show_spinner=False, max_entries=4)
def example(name: str) -> photos.Photo:
    return photos.from_array(data.photo(name))


@st.cache_resource(show_spinner="Loading the model…", max_entries=4)
def model(choice: str, task: str):
    """(generator, label), shared read-only by every session (eval mode, used under no_grad)."""
    return upscale.load_model(choice) if task != "Deblur" else deblur.load_model(choice)


@st.cache_data(show_spinner=False, ttl=600)
def _srgan_demos() -> list[tuple[str, str]]:
    return upscale.demo_choices()  # reads every demo file to find the srgan ones: once, not per rerun


def upscalers(store) -> list[tuple[str, str]]:
    """The bundled SRGAN demos and the user's srgan runs (listed afresh: a new run appears at once)."""
    return upscale.choices(store, _srgan_demos())


def demo_upscaler_note(choice: str) -> str:
    """What a bundled upscaler learned from, and how it compares with bicubic (bench/upscale.py)."""
    from gandash.variants import demos

    info = demos.describe(choice.removeprefix("demo:"))
    learned = f"trained for {info['step']:,} steps on `{info['dataset']}` on a CPU"
    if choice == upscale.ADVERSARIAL:
        return (
            f"The adversarial model ({learned}, fine-tuned from the pixel model with a discriminator) trades "
            "fidelity for crisp texture: edges and grain look sharper, but some of that detail is invented, so "
            "it scores below the pixel model on PSNR. Compare it with the pixel model and with bicubic."
        )
    if choice == upscale.DEFAULT:
        return (
            f"The pixel model ({learned}, the pixel loss alone) is the faithful one: on 12 photographs it never "
            f"saw it scores {PIXEL_GAIN} PSNR above bicubic. The adversarial model beside it looks crisper but "
            "invents some of its detail."
        )
    return f"A bundled upscaler, {learned}: compare it with bicubic."


def _at_most(pixels: np.ndarray, limit: int) -> np.ndarray:
    """An 8-bit copy no larger than `limit` pixels (Lanczos), for the comparisons with a ground truth."""
    image = photos.pil(pixels)
    count = image.width * image.height
    if count > limit:
        scale = (limit / count) ** 0.5
        image = image.resize(
            (max(16, round(image.width * scale)), max(16, round(image.height * scale))), Image.Resampling.LANCZOS
        )
    array = np.asarray(image)
    return array[..., None] if array.ndim == 2 else array


@st.cache_data(show_spinner="Blurring…", max_entries=4)
def blurred(
    identity: str, _pixels: np.ndarray, kind: str, strength: float, angle: float, noise: float, jpeg: int | None
):
    """(sharp, blurry, kernel): the photo (`identity` names it) as 8 bits of at most BLUR_IT_PIXELS,
    then blurred, with sensor noise, saved as 8 bits or as a JPEG of quality `jpeg`, as a camera would."""
    sharp = _at_most(_pixels, BLUR_IT_PIXELS)
    kernel = degrade.kernel_for(kind, strength, angle)
    return sharp, degrade.camera_array(sharp, kernel, noise, jpeg), kernel


@st.cache_data(show_spinner="Shrinking…", max_entries=4)
def shrunk(identity: str, _pixels: np.ndarray):
    """(sharp, low): the photo as 8 bits cropped to a multiple of 4, and its x4 smaller copy."""
    return upscale.shrink(photos.to_uint8(_pixels))


@st.cache_data(show_spinner="Running unsharp masking, Wiener and Richardson–Lucy…", max_entries=4)
def baselines(blurry: np.ndarray, kernel: np.ndarray) -> dict[str, np.ndarray]:
    pixels = photos.to_float(blurry)
    return {
        "Unsharp mask": classical.unsharp(pixels),
        "Wiener (known kernel)": classical.wiener(pixels, kernel),
        "Richardson–Lucy (known kernel)": classical.richardson_lucy(pixels, kernel),
    }


def process(task: str, photo: photos.Photo, generator, tile: int) -> tuple[photos.Photo, float, str]:
    """(result, seconds, what blur the U-Net read from the photo or "") of deblurring or upscaling, with
    a progress bar that says how far it is."""
    verb = "Deblurring" if task == "Deblur" else "Upscaling ×4"
    bar = st.progress(0.0, text=f"{verb}…")
    started = time.perf_counter()

    def report(done: float) -> None:
        bar.progress(done, text=f"{verb}… {done:.0%}")

    found = ""
    seen = reading.of_photo(photo) if task == "Deblur" else None  # one reading: the note, the U-Net, its hold
    if task != "Deblur":
        result = upscale.upscale_photo(photo, generator, tile, report)
    elif deblur.needs_kernel(generator):
        bar.progress(0.0, text="Reading the blur from the whole photo, tracing a shake…")
        estimate = kernel_estimate.estimate(photo.pixels)
        found = estimate_note(estimate, deblur.poses_for(photo.size[0] * photo.size[1]))
        generator, which = deblur.for_photo(generator, seen)
        found += f" Restored by {which}." if which and estimate.blurred else ""
        result = deblur.deblur_photo(photo, generator, tile, report, estimate.kernel, seen, estimate.trusted)
    else:
        result = deblur.deblur_photo(photo, generator, tile, report)
    if task == "Deblur":
        found = (found + "  \n" if found else "") + "Also read from the photo: " + seen.describe()
    bar.empty()
    return result, time.perf_counter() - started, found


def estimate_note(estimate, poses: int = 1) -> str:
    if estimate.entry[0] == "none" and estimate.likeliest is None:
        return "No blur found in this photo (or it is under 64 px a side): it is returned as it was."
    if not estimate.blurred and estimate.traced is not None:
        return f"No blur found in this photo ({estimate.confidence}): it is returned as it was."
    if estimate.entry[0] == "none":
        return f"Left as it was: {estimate.caution}."
    return (
        f"Blur read from the photo: **{estimate.label}** ({estimate.confidence}"
        + (f"; {estimate.caution}" if estimate.caution else "")
        + "). The U-Net deconvolves with it, then corrects what that leaves"
        + (f", in {poses} poses (turned and mirrored) averaged" if poses > 1 else "")
        + (
            "; its result is then held to the photo (blurred again by that kernel, it must match the photo)."
            if estimate.trusted
            else "; the reading is too unsure to hold the result to the photo through it."
        )
    )


def preview(pixels: np.ndarray, width: int = PREVIEW_WIDTH) -> Image.Image:
    """A display copy no wider than `width` (the browser would scale it down anyway)."""
    image = photos.pil(pixels)
    if image.width > width:
        image = image.resize((width, max(1, round(image.height * width / image.width))), Image.Resampling.LANCZOS)
    return image


def before_after(before: Image.Image, after: Image.Image, position: int, names: tuple[str, str]) -> Image.Image:
    """One picture: `after` left of `position` % of the width, `before` right of it, with a divider;
    `names` label the two sides (after, before)."""
    composed = before.convert("RGB").resize(after.size) if before.size != after.size else before.convert("RGB")
    cut = round(after.width * position / 100)
    composed.paste(after.convert("RGB").crop((0, 0, cut, after.height)), (0, 0))
    draw = ImageDraw.Draw(composed)
    draw.line([(cut, 0), (cut, composed.height)], fill="#ef6c00", width=3)
    for x, text in ((6, names[0]), (composed.width - 6 * len(names[1]) - 6, names[1])):  # dark boxes: any photo
        draw.rectangle((x - 3, 3, x + 6 * len(text) + 3, 18), fill="black")
        draw.text((x, 5), text, fill="white")
    return composed


def crop(pixels: np.ndarray, x_percent: int, y_percent: int, size: int = 256) -> Image.Image:
    """A size x size window at 100% (one photo pixel per screen pixel) around the chosen point."""
    height, width = pixels.shape[:2]
    w, h = min(size, width), min(size, height)
    left = min(max(0, round(width * x_percent / 100) - w // 2), width - w)
    top = min(max(0, round(height * y_percent / 100) - h // 2), height - h)
    return photos.pil(pixels[top : top + h, left : left + w])


def compare(key, shown: list[tuple[str, np.ndarray]], names: tuple[str, str]) -> None:
    """The result panel: `shown` side by side (the input or baseline first, the model's result second,
    the original last when known), the slider between the first two, and 100% crops of each. `key`
    names the result, so its previews are drawn once, not on every move of a slider."""
    previews = st.session_state.setdefault("deblur-previews", {})
    if previews.get("key") != key:
        previews.clear()
        previews.update(key=key, images=[preview(pixels) for _, pixels in shown])
    images = previews["images"]
    for column, (caption, _), image in zip(st.columns(len(shown)), shown, images):
        column.image(image, caption=caption, width="stretch")

    st.subheader("Before and after")
    position = st.slider(
        f"Slide to compare: {names[0]} on the left, {names[1]} on the right", 0, 100, 50, key="deblur-split"
    )
    st.image(before_after(images[0], images[1], position, names))  # native size: upscaling would blur it

    st.subheader("Zoom: 100%")
    left, right = st.columns(2)
    x = left.slider("Across (%)", 0, 100, 50, key="deblur-zoom-x")
    y = right.slider("Down (%)", 0, 100, 50, key="deblur-zoom-y")
    for column, (caption, pixels) in zip(st.columns(len(shown)), shown):
        column.image(crop(pixels, x, y), caption=caption)
