import json

import streamlit as st

from gandash import data, variants
from gandash.core import config as cfg
from gandash.core import device
from gandash.core.errors import GandashError
from gandash.data import uploads
from gandash.runs import history, jobs
from gandash.ui import common, train_form
from gandash.variants import configure, estimate
from gandash.variants import settings as variant_settings

st.title("Train a GAN")
store = common.store()

# A prefill (Duplicate-with-changes, the gallery's Train-this, an upload, or ?variant=&dataset= in the
# URL) is applied to the widgets once; after that the user's own choices win.
if "variant" in st.query_params or "dataset" in st.query_params:
    st.session_state["prefill"] = {k: st.query_params[k] for k in ("variant", "dataset") if k in st.query_params}
    for k in ("variant", "dataset"):
        if k in st.query_params:
            del st.query_params[k]
prefill: dict = st.session_state.get("prefill") or {}
TYPED = "another path…"
if prefill and not prefill.get("_applied"):
    prefill["_applied"] = True
    if prefill.get("variant") in variants.REGISTRY:
        st.session_state["variant"] = prefill["variant"]
    wanted = prefill.get("dataset", "")
    if wanted in {row["name"] for row in data.describe_all()}:  # a listed set, e.g. lowres:fashion-mnist
        st.session_state[f"dataset-{prefill.get('variant', 'dcgan')}"] = wanted
    elif wanted:
        prefix = wanted.split(":", 1)[0] + ":" if ":" in wanted else wanted
        st.session_state[f"dataset-{prefill.get('variant', 'dcgan')}"] = prefix
        if ":" in wanted:
            known = wanted in uploads.existing()
            st.session_state[f"upload-{prefix}"] = wanted if known else TYPED
            if not known:
                st.session_state[f"path-{prefix}"] = wanted.split(":", 1)[1]

names = list(variants.REGISTRY)
st.session_state.setdefault("variant", "dcgan")
variant_name = st.selectbox(
    "Variant", names, key="variant", format_func=lambda n: f"{variants.REGISTRY[n].title}  ({n})"
)
variant = variants.REGISTRY[variant_name]
st.caption(f"{variant.description}  \n*{variant.paper}*")

rows = [row for row in data.describe_all() if row["kind"] == variant.data_kind]
if variant.conditional:
    rows = [
        row
        for row in rows
        if row["name"] in data.CATALOGUE and data.CATALOGUE[row["name"]].num_classes or row["name"] == "folder:"
    ]
options = [row["name"] for row in rows]
by_name = {row["name"]: row for row in rows}
dataset_key = f"dataset-{variant_name}"
if st.session_state.get(dataset_key) not in options:
    st.session_state[dataset_key] = "fashion-mnist" if "fashion-mnist" in options else options[0]
dataset_choice = st.selectbox(
    "Dataset",
    options,
    key=dataset_key,
    format_func=lambda n: f"{n} — {by_name[n]['description']}" + ("" if by_name[n]["present"] else "  (not here)"),
)
dataset = dataset_choice
if dataset_choice.endswith(":"):
    uploaded = [name for name in uploads.existing() if name.startswith(dataset_choice)]
    choices = uploaded + [TYPED]
    picked = st.selectbox(
        "Your data",
        choices,
        key=f"upload-{dataset_choice}",
        format_func=lambda n: n if n == TYPED else f"{n.split('/')[-1]} (uploaded)",
    )
    if picked == TYPED:
        hint = (
            "a folder of images (sub-folders become classes)"
            if dataset_choice == "folder:"
            else "an (N, 2) .npy or .csv file"
        )
        path = st.text_input(f"Path to {hint}", key=f"path-{dataset_choice}")
        dataset = dataset_choice + path.strip()
    else:
        dataset = picked

with st.expander("Upload your own data"):
    st.write(
        "A **zip of images** (at least 16; sub-folders become classes for conditional variants) or a "
        "**CSV / NPY of 2D points** (two columns). It is checked, stored on this machine and can be trained "
        "on at once."
    )
    st.caption(uploads.limits_text())
    upload = st.file_uploader("Zip, CSV or NPY", type=["zip", "csv", "npy"], key="upload-file")
    upload_name = st.text_input("Dataset name", key="upload-name", placeholder="e.g. my-shoes")
    if st.button("Add dataset", disabled=upload is None or not upload_name, key="upload-add"):
        try:
            if upload.name.lower().endswith(".zip"):
                new_name, report = uploads.add_image_zip(upload_name, upload.getvalue())
                message = f"{report['images']} images" + (
                    f" in classes {', '.join(report['classes'])}" if report["classes"] else ""
                )
                if report["unreadable"]:
                    message += f"; skipped {len(report['unreadable'])} unreadable file(s)"
            else:
                new_name, report = uploads.add_points(upload_name, upload.name, upload.getvalue())
                message = f"{report['points']} points"
        except GandashError as exc:
            st.error(str(exc))
        else:
            st.session_state["prefill"] = {
                "variant": variants.default_for("image" if new_name.startswith("folder:") else "points"),
                "dataset": new_name,
            }
            st.session_state["upload-notice"] = f"Added **{new_name.split('/')[-1]}**: {message}."
            st.rerun()
if "upload-notice" in st.session_state:
    st.success(st.session_state.pop("upload-notice"))

row = by_name[dataset_choice]
if not row["present"]:
    st.warning(f"**{dataset_choice}** is not on this machine. {row['how_to_get']}")

try:
    base = configure.make_config(variant_name, dataset) if not dataset.endswith(":") else None
except GandashError as exc:
    base = None
    st.error(str(exc))
if base is None:
    st.stop()
if prefill.get("variant") == variant_name and prefill.get("dataset") == dataset:
    base = cfg.TrainConfig(**{**base.__dict__, **{k: v for k, v in prefill.items() if k in cfg.field_names()}})

key = f"{variant_name}|{dataset}|{id(prefill) if prefill else ''}"
with st.container(border=True):
    st.markdown("**Optimisation**")
    a, b, c, d = st.columns(4)
    lr_g = a.number_input(
        "Generator learning rate",
        value=base.lr_g,
        min_value=0.0,
        format="%.5f",
        step=1e-5,
        key=f"lr_g{key}",
        help="Adam step size for G. The DCGAN paper: 0.0002; gandash doubles it where the rate decays to 0.",
    )
    lr_d = b.number_input(
        "Discriminator learning rate",
        value=base.lr_d,
        min_value=0.0,
        format="%.5f",
        step=1e-5,
        key=f"lr_d{key}",
        help="A D that learns much faster than G wins outright.",
    )
    batch_size = c.number_input(
        "Batch size",
        value=base.batch_size,
        step=1,
        key=f"batch{key}",
        help="Images per step; 64 is the DCGAN reference.",
    )
    d_steps = d.number_input(
        "D steps per G step (k)",
        value=base.d_steps,
        step=1,
        key=f"k{key}",
        help="Algorithm 1 of the GAN paper: k discriminator updates, then one generator update.",
    )
    a, b, c, d = st.columns(4)
    z_dim = a.number_input(
        "Latent size z",
        value=base.z_dim,
        step=1,
        key=f"z{key}",
        help="Length of the noise vector the generator turns into a sample.",
    )
    g_loss = b.radio(
        "Generator loss",
        ["non-saturating", "minimax"],
        index=0 if base.g_loss == "non-saturating" else 1,
        key=f"gl{key}",
        disabled=base.loss != "bce",
        help="minimax: minimise log(1 − D(G(z))), whose gradient vanishes when D wins. "
        "non-saturating: minimise −log D(G(z)), the paper's practical fix.",
    )
    ema_decay = c.number_input(
        "EMA of G (0 = off)",
        value=base.ema_decay,
        min_value=0.0,
        max_value=0.9999,
        format="%.4f",
        key=f"ema{key}",
        help="Samples from an exponential moving average of G's weights are smoother.",
    )
    seed = d.number_input("Seed", value=base.seed, min_value=0, step=1, key=f"seed{key}")
    own = variant_settings.particular(variant_name)  # what this variant's recipe or nets use
    if own:
        st.markdown(f"**Particular to {variant.title}**")
        particular = train_form.inputs(own, base, key)
    else:
        particular = {}
    st.markdown("**Budget and device**")
    a, b, c, d = st.columns(4)
    budget_kind = a.radio(
        "Budget in", ["minutes", "steps"], horizontal=True, index=1 if base.max_minutes is None else 0, key=f"bk{key}"
    )
    budget = b.number_input(
        "Budget",
        value=float(base.max_minutes or base.max_steps or 2),
        min_value=0.0,
        key=f"budget{key}",
        help="Training stops at this many minutes or steps.",
    )
    device_choice = c.selectbox(
        "Device",
        ["auto", "cpu", "cuda", "mps"],
        index=0,
        key=f"dev{key}",
        help="auto picks CUDA, then Apple MPS, then the CPU.",
    )
    most = configure.most_processes(device.resolve_device_type(device_choice, device.available_accelerators()))
    processes = d.number_input(
        "Processes",
        value=min(base.processes, most),
        min_value=1,
        max_value=most,
        step=1,
        key=f"proc{key}",
        help=f"Data-parallel training (torchrun + DistributedDataParallel): up to {most} here "
        "(one per CPU core, or one per GPU). Each process trains on its own batch and the gradients are "
        "averaged, so a step sees batch size × processes images.",
    )
    with st.expander("Advanced"):
        a, b, c, d = st.columns(4)
        beta1 = a.number_input("Adam β1", value=base.beta1, format="%.3f", key=f"b1{key}")
        beta2 = b.number_input("Adam β2", value=base.beta2, format="%.4f", key=f"b2{key}")
        width = c.number_input("Width (channels / units)", value=base.width, step=1, key=f"w{key}")
        image_size = d.number_input(
            "Image size", value=base.image_size, step=1, key=f"size{key}", disabled=variant.data_kind == "points"
        )
        a, b, c, d = st.columns(4)
        loss = a.selectbox(
            "Loss family",
            ["bce", "wasserstein", "least-squares", "hinge"],
            index=["bce", "wasserstein", "least-squares", "hinge"].index(base.loss),
            key=f"loss{key}",
        )
        sample_every = b.number_input("Samples every (steps)", value=base.sample_every, step=1, key=f"se{key}")
        checkpoint_every = c.number_input(
            "Checkpoint every (steps)", value=base.checkpoint_every, step=1, key=f"ce{key}"
        )
        name = d.text_input("Name (optional)", value=base.name, key=f"name{key}")
        a, b = st.columns(2)
        lr_schedule = a.selectbox(
            "Learning-rate schedule",
            list(cfg.LR_SCHEDULES),
            index=list(cfg.LR_SCHEDULES).index(base.lr_schedule),
            key=f"lrs{key}",
            help="linear / cosine: both rates fall to 0 over the budget, so the last "
            "steps settle instead of jittering around the answer.",
        )
        cpu_threads = b.number_input(
            "CPU threads (0 = pick the faster)",
            value=base.cpu_threads,
            min_value=0,
            step=1,
            key=f"thr{key}",
            help="0 times 1 thread against this run's share of the cores now and then "
            "and keeps the faster; a fixed number makes runs repeat bit for bit.",
        )
        a, b, c, d = st.columns(4)
        cpu_precision = a.selectbox(
            "CPU precision",
            list(cfg.CPU_PRECISIONS),
            index=list(cfg.CPU_PRECISIONS).index(base.cpu_precision),
            key=f"prec{key}",
            help="auto: a short timed probe at the start picks bf16 autocast where it is faster (CPUs with "
            "bf16 units, such as AMX) and fp32 elsewhere. Weights, optimiser and losses stay fp32.",
        )
        lr_scaling = b.selectbox(
            "Learning rates with more processes",
            list(cfg.LR_SCALINGS),
            index=list(cfg.LR_SCALINGS).index(base.lr_scaling),
            key=f"lrsc{key}",
            help="How lr_g and lr_d follow the global batch: none keeps them, sqrt and linear multiply "
            "them by √processes or processes.",
        )
        nodes = c.number_input(
            "Machines (nodes)",
            value=base.nodes,
            min_value=1,
            step=1,
            key=f"nodes{key}",
            help="More than one: start the same run on the other machines with torchrun (see the README, "
            "'Training on several machines'); this machine keeps the run store and writes the results.",
        )
        rdzv_endpoint = d.text_input(
            "Rendezvous HOST:PORT",
            value=base.rdzv_endpoint,
            key=f"rdzv{key}",
            disabled=nodes == 1,
            help="A machine and free port every node can reach, for torchrun's c10d rendezvous.",
        )
        also = variant_settings.also_applies(variant_name)  # read by this variant's training step too
        if also:
            st.caption("Also used by this variant's training step:")
            particular.update(train_form.inputs(also, base, key))

values = dict(
    lr_g=lr_g,
    lr_d=lr_d,
    batch_size=int(batch_size),
    d_steps=int(d_steps),
    z_dim=int(z_dim),
    g_loss=g_loss,
    ema_decay=ema_decay,
    seed=int(seed),
    device=device_choice,
    beta1=beta1,
    beta2=beta2,
    width=int(width),
    image_size=int(image_size),
    loss=loss,
    sample_every=int(sample_every),
    checkpoint_every=int(checkpoint_every),
    name=name,
    lr_schedule=lr_schedule,
    cpu_threads=int(cpu_threads),
    cpu_precision=cpu_precision,
    processes=int(processes),
    nodes=int(nodes),
    rdzv_endpoint=rdzv_endpoint.strip() if nodes > 1 else "",
    lr_scaling=lr_scaling,
    **particular,
)
if budget_kind == "minutes":
    values.update(max_minutes=budget, max_steps=None, epochs=None)
else:
    values.update(max_steps=int(budget), max_minutes=None, epochs=None)

try:
    config = configure.make_config(variant_name, dataset, **values)
except GandashError as exc:
    config = None
    st.error(str(exc))


@st.cache_data(show_spinner="Timing a training step on this device…", ttl=600)
def _step_seconds(config_json: str) -> tuple[float, str]:
    config = cfg.TrainConfig.from_dict(json.loads(config_json))
    measured = history.step_seconds(config, store)
    if measured is not None:
        return measured, "earlier runs of this shape on this machine"
    return estimate.by_timing(config), "a quick timing of two steps"


if config is not None:
    seconds, source = _step_seconds(config.to_json())
    total = config.total_steps
    text = f"≈ **{seconds * 1000:.0f} ms per step** on {config.device if config.device != 'auto' else 'this device'}"
    if cfg.world_size(config) > 1:
        text += (
            f" in each of {cfg.world_size(config)} processes: **{cfg.global_batch(config)} images per step** "
            f"({config.batch_size} × {cfg.world_size(config)}), about "
            f"{cfg.global_batch(config) * config.d_steps / seconds:,.0f} images/s in total; learning rates "
            f"× {cfg.lr_scale(config.lr_scaling, cfg.world_size(config)):g} (lr_scaling {config.lr_scaling})"
        )
    text += f" (from {source})"
    if total:
        text += f"; {total} steps take about {seconds * total / 60:.1f} min."
    else:
        text += f"; {config.max_minutes:g} min is about {config.max_minutes * 60 / seconds:,.0f} steps."
    st.info(text)

if st.button("Start training", type="primary", icon=":material/play_arrow:", disabled=config is None, key="start"):
    try:
        run_id = jobs.create(config, store)
    except GandashError as exc:
        st.error(str(exc))
    else:
        st.session_state.pop("prefill", None)
        common.select_run(run_id)
        st.switch_page("app_pages/runs.py", query_params={"run": run_id})
