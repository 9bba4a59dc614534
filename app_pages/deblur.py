import hashlib
import time

import streamlit as st

from gandash import blur, data, deblur
from gandash.errors import GandashError
from gandash.ui import common
from gandash.ui import deblur_view as view

st.title("Deblur a photo")
st.write("A GAN restores a blurry photo at full resolution, on this machine. Try one of the example photos (the "
         "bundled model never saw them in training), or upload your own. **Blur it for me** blurs a sharp photo "
         "first, so you can compare with the original and with classical sharpening.")

# --- the photo ----------------------------------------------------------------------------------
source = st.radio("Photo", ["Example", "Upload your own"], horizontal=True, key="deblur-source")
if source == "Example":
    name = st.selectbox("Example photo", data.PHOTOS_HELD_OUT, key="deblur-example")
    photo, identity, stem = view.example(name), name, name
else:
    upload = st.file_uploader("A blurry photo", type=["jpg", "jpeg", "png", "webp", "tif", "tiff", "bmp"],
                              key="deblur-upload", help=f"Up to {deblur.MAX_PIXELS // 1_000_000} megapixels.")
    if upload is None:
        st.info("Upload a JPEG, PNG, WebP, TIFF or BMP photo, or pick **Example** above.")
        st.stop()
    content = upload.getvalue()
    try:
        photo = view.read(content, upload.name)
    except GandashError as exc:
        st.error(str(exc))
        st.stop()
    identity, stem = hashlib.sha1(content).hexdigest(), upload.name.rsplit(".", 1)[0]
st.caption(f"{photo.size[0]}×{photo.size[1]} px · {'gray' if photo.gray else 'colour'} · {photo.depth}-bit"
           + (" · with transparency" if photo.alpha is not None else ""))

# --- settings -----------------------------------------------------------------------------------
blur_it = st.toggle("Blur it for me (then compare with the sharp original)", value=source == "Example",
                    key=f"deblur-blur-it-{source}")
sharp, settings = None, ()
if blur_it:
    left, middle, right = st.columns(3)
    kind = left.selectbox("Blur", blur.KINDS, key="deblur-kind", format_func=str.capitalize)
    label, low, high, default, step = view.STRENGTHS[kind]
    strength = middle.slider(f"Strength: {label}", low, high, default, step, key=f"deblur-strength-{kind}")
    angle = right.slider("Angle (°)", 0, 180, 30, key="deblur-angle", disabled=kind != "motion")
    original_size = photo.size
    sharp, blurry, kernel = view.blurred(photo, kind, float(strength), float(angle))
    photo = deblur.Photo(blurry, None, photo.gray, 8)
    settings = (kind, strength, angle)
    if photo.size != original_size:
        st.caption(f"Working on a {photo.size[0]}×{photo.size[1]} copy so the classical methods stay quick.")
elif photo.size[0] * photo.size[1] > view.BLUR_IT_PIXELS:
    # bench/deblur.py --speed: 12 MP in 13 s on a shared 2-core CPU, so about 1.1 s per megapixel
    st.caption(f"Large photos take a while: about {photo.size[0] * photo.size[1] / 1e6 * 1.1:.0f} s here.")

runs = deblur.trained_models(common.store())
labels = {"bundled": "Bundled U-Net (trained on scikit-image's photos)", **dict(runs)}
left, right = st.columns([3, 1])
choice = left.selectbox("Model", list(labels), format_func=labels.get, key="deblur-model",
                        help="Runs of the deblur and deblur-seed variants appear here once they have a checkpoint.")
tile = right.number_input("Tile (px)", 128, 2048, deblur.TILE, 64, key="deblur-tile",
                          help="The photo is restored in overlapping tiles of this size; memory stays flat.")

# --- restore (once per input; kept for reruns caused by the view widgets below) -----------------
key = (identity, settings, choice, int(tile))
result = st.session_state.get("deblur-result")
if not result or result["key"] != key:
    try:
        generator, model_label = view.model(choice)
    except GandashError as exc:
        st.error(str(exc))
        st.stop()
    bar = st.progress(0.0, text="Deblurring…")
    started = time.perf_counter()
    restored = deblur.deblur_photo(photo, generator, int(tile),
                                   lambda done: bar.progress(done, text=f"Deblurring… {done:.0%}"))
    seconds = time.perf_counter() - started
    bar.empty()
    result = {"key": key, "pixels": restored.pixels, "label": model_label, "seconds": seconds,
              "png": deblur.encode(restored)}
    st.session_state["deblur-result"] = result
restored = result["pixels"]
st.success(f"Restored {photo.size[0]}×{photo.size[1]} px in {result['seconds']:.1f} s with the {result['label']}.")

# --- look at it ---------------------------------------------------------------------------------
columns = st.columns(3 if sharp is not None else 2)
columns[0].image(view.preview(photo.pixels), caption="Blurry", width="stretch")
columns[1].image(view.preview(restored), caption="Restored", width="stretch")
if sharp is not None:
    columns[2].image(view.preview(sharp), caption="Sharp original", width="stretch")

st.subheader("Before and after")
position = st.slider("Slide to compare: restored on the left, blurry on the right", 0, 100, 50,
                     key="deblur-split")
st.image(view.before_after(photo.pixels, restored, position))  # native size: upscaling would blur it

st.subheader("Zoom: 100%")
left, right = st.columns(2)
x = left.slider("Across (%)", 0, 100, 50, key="deblur-zoom-x")
y = right.slider("Down (%)", 0, 100, 50, key="deblur-zoom-y")
crops = [("Blurry", photo.pixels), ("Restored", restored)] + ([("Sharp", sharp)] if sharp is not None else [])
for column, (caption, pixels) in zip(st.columns(len(crops)), crops):
    column.image(view.crop(pixels, x, y), caption=caption)

if sharp is not None:
    st.subheader("How close to the original")
    candidates = {"Blurry input": photo.pixels, **view.baselines(photo.pixels, kernel), "GAN (blind)": restored}
    table = deblur.scores(sharp, candidates)
    formats = {"PSNR (dB)": st.column_config.NumberColumn(format="%.2f"),
               "SSIM": st.column_config.NumberColumn(format="%.3f")}
    st.dataframe(table, hide_index=True, column_config=formats)
    st.caption("Higher is better. Wiener and Richardson–Lucy are given the exact blur kernel; the GAN is not.")

st.download_button("Download the restored photo (PNG, full resolution)", result["png"],
                   file_name=f"{stem}-deblurred.png", mime="image/png", icon=":material/download:",
                   key="deblur-download")
