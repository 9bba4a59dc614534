"""Layer tables computed from the real modules: one forward pass on a dummy input with forward hooks
records each layer's output shape, and its parameters are counted from the module itself, so a table
can never drift from the code the way a hand-typed one does.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from gandash import variants
from gandash.core.config import TrainConfig

NOT_CALLED = "not used by forward"


@dataclass(frozen=True)
class LayerRow:
    name: str  # dotted path inside the module ("main.0")
    type: str  # class name ("ConvTranspose2d")
    output_shape: str  # "(1, 64, 7, 7)", batch first; NOT_CALLED for layers the forward pass skipped
    parameters: int


def _is_row(module: nn.Module) -> bool:
    """Leaves get a row; spectral norm's parametrization containers belong to their layer."""
    children = [c for name, c in module.named_children() if name != "parametrizations"]
    return not children


def _inside_parametrization(name: str) -> bool:
    return name.startswith("parametrizations") or ".parametrizations" in name


def _shape(output) -> str:
    if isinstance(output, torch.Tensor):
        return str(tuple(output.shape))
    if isinstance(output, (tuple, list)):
        return ", ".join(_shape(o) for o in output if isinstance(o, (torch.Tensor, tuple, list)))
    return type(output).__name__


@torch.no_grad()
def layer_table(module: nn.Module, *inputs, call=None) -> list[LayerRow]:
    """Rows in the order the layers ran on `inputs` (in eval mode, so BatchNorm keeps its statistics),
    then any layer the forward pass did not use. The parameters of all rows sum to the module's.
    `call` runs instead of module.forward (InfoGAN's D with its Q head)."""
    shapes: dict[str, str] = {}
    order: list[str] = []
    names = {id(m): name for name, m in module.named_modules()}
    rows_of = {
        name: m for name, m in module.named_modules() if name and _is_row(m) and not _inside_parametrization(name)
    }

    def record(layer, _inputs, output):
        name = names[id(layer)]
        if name not in shapes:
            order.append(name)
            shapes[name] = _shape(output)

    hooks = [m.register_forward_hook(record) for m in rows_of.values()]
    was_training = module.training
    module.eval()
    try:
        (call or module)(*inputs)
    finally:
        module.train(was_training)
        for hook in hooks:
            hook.remove()
    ordered = order + [name for name in rows_of if name not in shapes]
    rows = [
        LayerRow(
            name,
            type(rows_of[name]).__name__,
            shapes.get(name, NOT_CALLED),
            sum(p.numel() for p in rows_of[name].parameters()),
        )
        for name in ordered
    ]
    # parameters held directly by a container (rare: a learned scale, a class embedding table)
    for name, m in module.named_modules():
        if (not _is_row(m) or not name) and not _inside_parametrization(name):
            own = sum(p.numel() for p in m.parameters(recurse=False))
            if own:
                rows.append(LayerRow(name or "(self)", type(m).__name__ + " (own parameters)", "", own))
    return rows


def total(rows: list[LayerRow]) -> int:
    return sum(row.parameters for row in rows)


def dummy_inputs(config: TrainConfig, generator: nn.Module) -> tuple[tuple, tuple]:
    """(generator inputs, discriminator inputs) of one sample (two for packed toy nets)."""
    labels = torch.zeros(1, dtype=torch.long) if config.num_classes else None
    if config.image_size == 0:
        pack = config.pack
        return (torch.zeros(1, config.z_dim),), (torch.zeros(pack, 2),)
    image = torch.zeros(1, config.channels, config.image_size, config.image_size)
    if variants.get(config.variant).data_kind == "image":
        return (torch.zeros(1, config.z_dim), labels), (image, labels)
    low = config.image_size // getattr(generator, "scale", 1)  # super-resolution starts small
    return (torch.zeros(1, config.channels, low, low),), (image,)


def tables(config: TrainConfig) -> dict[str, list[LayerRow]]:
    """{'generator': rows, 'discriminator': rows} of a variant built at the config's sizes."""
    generator, discriminator = variants.get(config.variant).build(config)
    g_inputs, d_inputs = dummy_inputs(config, generator)
    return {"generator": _table(generator, g_inputs), "discriminator": _table(discriminator, d_inputs)}


def _table(module: nn.Module, inputs: tuple) -> list[LayerRow]:
    """A net whose forward skips some parts (InfoGAN's Q head, DiscoGAN's B -> A direction) offers
    `forward_all(x)`, which runs every part, so the table shows their shapes too."""
    every_part = getattr(module, "forward_all", None)
    return layer_table(module, *inputs[: 1 if every_part else None], call=every_part)
