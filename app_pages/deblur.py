import streamlit as st

from gandash import data
from gandash.core.errors import GandashError
from gandash.data import degrade
from gandash.restore import baselines, deblur, upscale
from gandash.restore import photo as photos
from gandash.ui import common
from gandash.ui import deblur_view as view

st.title("Deblur or upscale a photo")
st.write(
    "A GAN restores a blurry photo at full resolution, or enlarges one four times, on this machine. Try one "
    "of the example photos (the bundled models never saw them in training), or upload your own. **Blur it "
    "for me** and **Shrink it for me** degrade a sharp photo first, so you can compare with the original "
    "and with the classical methods."
)

task = st.radio("Task", list(view.TASKS), horizontal=True, key="deblur-task")
deblurring = task == "Deblur"
limits = view.TASKS[task]

# --- the photo ----------------------------------------------------------------------------------
source = st.radio("Photo", ["Example", "Upload your own"], horizontal=True, key="deblur-source")
if source == "Example":
    name = st.selectbox("Example photo", data.PHOTOS_HELD_OUT, key="deblur-example")
    photo, identity, stem = view.example(name), name, name
else:
    upload = st.file_uploader(
        "A photo",
        type=["jpg", "jpeg", "png", "webp", "tif", "tiff", "bmp", "gif"],
        key="deblur-upload",
        help=f"Up to {limits.max_pixels / 1e6:g} megapixels to {limits.verb}.",
    )
    if upload is None:
        st.info(
            f"Upload a JPEG, PNG, WebP, TIFF, BMP or GIF photo (up to {limits.max_pixels / 1e6:g} megapixels "
            f"to {limits.verb}), or pick **Example** above."
        )
        st.stop()
    try:
        photo, identity = view.read(upload.getvalue(), upload.name, task)
    except GandashError as exc:
        st.error(str(exc))
        st.stop()
    stem = upload.name.rsplit(".", 1)[0]
st.caption(
    f"{photo.size[0]}×{photo.size[1]} px · {'gray' if photo.gray else 'colour'} · {photo.depth}-bit"
    + (" · with transparency" if photo.alpha is not None else "")
    + (f" · {photo.note}" if photo.note else "")
)

# --- settings -----------------------------------------------------------------------------------
sharp, settings, kernel = None, (), None
if deblurring:
    blur_it = st.toggle(
        "Blur it for me (then compare with the sharp original)",
        value=source == "Example",
        key=f"deblur-blur-it-{source}",
    )
    if blur_it:
        left, middle, right = st.columns(3)
        kind = left.selectbox("Blur", degrade.CAMERA_KINDS, key="deblur-kind", format_func=view.KIND_NAMES.get)
        label, low, high, default, step = view.STRENGTHS[kind]
        strength = middle.slider(f"Strength: {label}", low, high, default, step, key=f"deblur-strength-{kind}")
        if kind == "shake":
            angle = right.slider("Shake pattern", 0, 99, 7, key="deblur-pattern", help="Each is another random path.")
        else:
            angle = right.slider("Angle (°)", 0, 180, 30, key="deblur-angle", disabled=kind != "motion")
        left, right = st.columns(2)
        noise = left.slider(
            "Sensor noise (% of the range at mid-grey)",
            0.0,
            5.0,
            0.0,
            0.25,
            key="deblur-noise",
            help="Poisson–Gaussian, as a camera's: stronger in bright areas than in dark ones.",
        )
        quality = right.select_slider(
            "Saved as",
            ["PNG", 95, 90, 85, 80, 75, 70, 65, 60],
            value="PNG",
            key="deblur-jpeg",
            format_func=lambda q: q if q == "PNG" else f"JPEG q{q}",
            help="Phones and the web save JPEGs: its 8×8 blocks and ringing come on top of the blur.",
        )
        original_size = photo.size
        jpeg = None if quality == "PNG" else int(quality)
        sharp, blurry, kernel = view.blurred(
            identity, photo.pixels, kind, float(strength), float(angle), noise / 100, jpeg
        )
        photo, settings = photos.Photo(blurry), (kind, strength, angle, noise, jpeg)
        if photo.size != original_size:
            st.caption(f"Working on a {photo.size[0]}×{photo.size[1]} copy so the classical methods stay quick.")
    elif photo.size[0] * photo.size[1] > view.BLUR_IT_PIXELS:
        # bench/deblur.py --speed: 12 MP in 13 s on a shared 2-core CPU, so about 1.1 s per megapixel
        st.caption(f"Large photos take a while: about {photo.size[0] * photo.size[1] / 1e6 * 1.1:.0f} s here.")
    choices = {
        "bundled": "Bundled U-Net (trained on scikit-image's photos)",
        **dict(deblur.trained_models(common.store())),
    }
    model_help = "Runs of the deblur and deblur-seed variants appear here once they have a checkpoint."
    tile_range = (128, 2048, deblur.TILE, 64)
else:
    shrink_it = st.toggle(
        "Shrink it for me (×4 smaller, then compare with the original)",
        value=source == "Example",
        key=f"deblur-shrink-it-{source}",
    )
    if shrink_it:
        sharp, low = view.shrunk(identity, photo.pixels)
        photo, settings = photos.Photo(low), ("shrunk",)
    out_pixels = 16 * photo.size[0] * photo.size[1]
    st.caption(
        f"The result is {4 * photo.size[0]}×{4 * photo.size[1]} px"
        + (f"; about {out_pixels / 1e6 * 0.5:.0f} s here." if out_pixels > 4_000_000 else ".")
    )
    choices = dict(view.upscalers(common.store()))
    model_help = (
        "The two bundled upscalers (pixel loss: faithful; adversarial: crisper, partly invented), then runs of "
        "the srgan variant once they have a checkpoint."
    )
    tile_range = (32, 512, upscale.TILE, 32)

left, right = st.columns([3, 1])
choice = left.selectbox("Model", list(choices), format_func=choices.get, key=f"deblur-model-{task}", help=model_help)
tile = right.number_input(
    "Tile (px)",
    *tile_range,
    key=f"deblur-tile-{task}",
    help="The photo is processed in overlapping tiles of this size (of the input); memory stays flat.",
)
if not deblurring and choice.startswith("demo:"):
    st.caption(view.demo_upscaler_note(choice))

# --- run (once per input; kept for reruns caused by the view widgets below) ---------------------
key = (task, identity, settings, choice, int(tile))
result = st.session_state.get("deblur-result")
if not result or result["key"] != key:
    st.session_state.pop("deblur-result", None)  # free the previous result before making the next
    try:
        generator, model_label = view.model(choice, task)
    except GandashError as exc:
        st.error(str(exc))
        st.stop()
    made, seconds, found = view.process(task, photo, generator, int(tile))
    result = {
        "key": key,
        "photo": made,
        "label": model_label,
        "seconds": seconds,
        "png": photos.encode(made),
        "found": found,
        "baseline": None if deblurring else upscale.bicubic_photo(photo),
        "names": None if deblurring else upscale.result_names(choice),  # read from the model once, not per rerun
    }
    st.session_state["deblur-result"] = result
made = result["photo"]
done = "Restored" if deblurring else f"Upscaled to {made.size[0]}×{made.size[1]} px from"
st.success(f"{done} {photo.size[0]}×{photo.size[1]} px in {result['seconds']:.1f} s with the {result['label']}.")
if result.get("found"):
    st.info(result["found"])

# --- look at it ---------------------------------------------------------------------------------
if deblurring:
    shown = [("Blurry", photo.pixels), ("Restored", made.pixels)]
    names, candidates = ("restored", "blurry"), {"Blurry input": photo.pixels}
else:
    shown = [("Bicubic ×4", result["baseline"].pixels), (result["names"][1], made.pixels)]
    names, candidates = (result["names"][0], "bicubic"), {"Bicubic ×4": result["baseline"].pixels}
view.compare(key, shown + ([("Original", sharp)] if sharp is not None else []), names)

if sharp is not None:
    st.subheader("How close to the original")
    if deblurring:
        candidates.update(view.baselines(photo.pixels, kernel))
    candidates["GAN (blind)" if deblurring else result["names"][1]] = made.pixels
    formats = {
        "PSNR (dB)": st.column_config.NumberColumn(format="%.2f"),
        "SSIM": st.column_config.NumberColumn(format="%.3f"),
    }
    st.dataframe(baselines.scores(sharp, candidates), hide_index=True, column_config=formats)
    st.caption(
        "Higher is better. "
        + (
            "Wiener and Richardson–Lucy are given the exact blur kernel; the GAN reads it from the blurry photo itself."
            if deblurring
            else "Both enlarge the same ×4 smaller copy of the original."
        )
    )

depth = f"{made.depth}-bit PNG"
st.download_button(
    f"Download the {'restored' if deblurring else 'upscaled'} photo ({depth}, full resolution: "
    f"{made.size[0]}×{made.size[1]})",
    result["png"],
    file_name=f"{stem}-{'deblurred' if deblurring else 'x4'}.png",
    mime="image/png",
    icon=":material/download:",
    key="deblur-download",
    on_click="ignore",
)  # a rerun would redraw every picture for nothing
