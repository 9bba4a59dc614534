"""The Deblur page's cached work and pictures: decoding, blurring, baselines, the model, the slider view."""

from __future__ import annotations

import numpy as np
import streamlit as st
from PIL import Image, ImageDraw

from gandash import blur, data, deblur

BLUR_IT_PIXELS = 2_000_000  # "blur it for me" works on a copy this large, so Wiener and RL stay quick
PREVIEW_WIDTH = 1200
STRENGTHS = {  # kind -> (label, min, max, default, step)
    "gaussian": ("σ (px)", 0.5, 3.0, 1.5, 0.1),
    "motion": ("length (px)", 3.0, 21.0, 9.0, 1.0),
    "defocus": ("radius (px)", 1.0, 4.0, 2.0, 0.1),
}


@st.cache_data(show_spinner="Reading the photo…", max_entries=4)
def read(content: bytes, name: str) -> deblur.Photo:
    return deblur.read_photo(content, name)


@st.cache_data(show_spinner=False, max_entries=4)
def example(name: str) -> deblur.Photo:
    return deblur.from_array(data.photo(name))


@st.cache_resource(show_spinner="Loading the model…", max_entries=4)
def model(choice: str):
    """(generator, label), shared read-only by every session (eval mode, used under no_grad)."""
    return deblur.load_model(choice)


@st.cache_data(show_spinner="Blurring…", max_entries=4)
def blurred(photo: deblur.Photo, kind: str, strength: float, angle: float):
    """(sharp, blurry, kernel): the photo scaled to at most BLUR_IT_PIXELS, then blurred and saved as 8 bits."""
    sharp = photo.pixels
    pixels = sharp.shape[0] * sharp.shape[1]
    if pixels > BLUR_IT_PIXELS:
        scale = (BLUR_IT_PIXELS / pixels) ** 0.5
        size = (max(16, round(sharp.shape[1] * scale)), max(16, round(sharp.shape[0] * scale)))
        sharp = np.asarray(Image.fromarray(deblur.to_uint8(sharp)).resize(size, Image.Resampling.LANCZOS),
                           dtype=np.float32) / 255
    kernel = blur.kernel_for(kind, strength, angle)
    blurry = deblur.to_uint8(blur.blur_array(sharp, kernel)).astype(np.float32) / 255
    return sharp, blurry, kernel


@st.cache_data(show_spinner="Running unsharp masking, Wiener and Richardson–Lucy…", max_entries=4)
def baselines(blurry: np.ndarray, kernel: np.ndarray) -> dict[str, np.ndarray]:
    return {"Unsharp mask": deblur.unsharp(blurry), "Wiener (known kernel)": deblur.wiener(blurry, kernel),
            "Richardson–Lucy (known kernel)": deblur.richardson_lucy(blurry, kernel)}


def preview(pixels: np.ndarray, width: int = PREVIEW_WIDTH) -> Image.Image:
    """A display copy no wider than `width` (the browser would scale it down anyway)."""
    image = Image.fromarray(deblur.to_uint8(pixels))
    if image.width > width:
        image = image.resize((width, max(1, round(image.height * width / image.width))), Image.Resampling.LANCZOS)
    return image


def before_after(before: np.ndarray, after: np.ndarray, position: int) -> Image.Image:
    """One picture: `after` left of `position` % of the width, `before` right of it, with a divider."""
    left, right = preview(after), preview(before)
    cut = round(left.width * position / 100)
    composed = right.copy()
    composed.paste(left.crop((0, 0, cut, left.height)), (0, 0))
    draw = ImageDraw.Draw(composed)
    draw.line([(cut, 0), (cut, composed.height)], fill="#ef6c00", width=3)
    for x, text in ((6, "restored"), (composed.width - 46, "blurry")):  # on dark boxes: readable on any photo
        draw.rectangle((x - 3, 3, x + 6 * len(text) + 3, 18), fill="black")
        draw.text((x, 5), text, fill="white")
    return composed


def crop(pixels: np.ndarray, x_percent: int, y_percent: int, size: int = 256) -> Image.Image:
    """A size x size window at 100% (one photo pixel per screen pixel) around the chosen point."""
    height, width = pixels.shape[:2]
    w, h = min(size, width), min(size, height)
    left = min(max(0, round(width * x_percent / 100) - w // 2), width - w)
    top = min(max(0, round(height * y_percent / 100) - h // 2), height - h)
    return Image.fromarray(deblur.to_uint8(pixels[top:top + h, left:left + w]))
