"""Two unpaired image domains (domains:NAME:A,B, for DiscoGAN): classes A and B of a labelled image
set, or the first two sub-folders of domains:folder:PATH."""

from __future__ import annotations

from gandash.core.errors import GandashError
from gandash.data.dataset import Dataset, DatasetInfo, InfoOf, LoadInner

DOMAIN_EXAMPLES = ("domains:fashion-mnist:7,5", "domains:fashion-mnist:0,6")  # sneaker-sandal, T-shirt-shirt


def domains_spec(arg: str) -> tuple[str, tuple[int, int]]:
    """'fashion-mnist:7,5' -> ('fashion-mnist', (7, 5)); 'folder:/x' -> ('folder:/x', (0, 1))."""
    inner, sep, pair = arg.rpartition(":")
    parts = pair.split(",")
    if sep and len(parts) == 2 and all(p.strip().isdigit() for p in parts):
        return inner, (int(parts[0]), int(parts[1]))
    return arg, (0, 1)


def domains_info(name: str, arg: str, info: InfoOf) -> DatasetInfo:
    """domains:ARG; `info` is the catalogue's, for the labelled set inside ARG."""
    inner, (a, b) = domains_spec(arg)
    base = info(inner)
    if base.kind != "image" or base.num_classes < 2:
        raise GandashError(
            f"'{name}': two domains are two classes of a labelled image set (e.g. "
            "domains:fashion-mnist:7,5) or the first two sub-folders of domains:folder:PATH."
        )
    if a == b or max(a, b) >= base.num_classes:
        raise GandashError(f"'{name}': the two classes must differ and be from 0 to {base.num_classes - 1}.")
    names = base.class_names or tuple(str(i) for i in range(base.num_classes))
    return DatasetInfo(
        name,
        f"{names[a]} ↔ {names[b]} from {inner} (unpaired)",
        "domains",
        base.channels,
        base.image_size,
        0,
        (names[a], names[b]),
    )


def load_domains(
    meta: DatasetInfo,
    arg: str,
    data_dir: str | None,
    image_size: int | None,
    channels: int | None,
    seed: int,
    load: LoadInner,
) -> Dataset:
    """The images of classes A and B, in the set's order, relabelled 0 (A) and 1 (B); `load` is the
    catalogue's."""
    inner, (a, b) = domains_spec(arg)
    base = load(inner, data_dir, image_size, channels, seed)
    keep = (base.labels == a) | (base.labels == b)
    return Dataset(meta, images=base.images[keep], labels=(base.labels[keep] == b).long())
