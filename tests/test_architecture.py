import pytest
import torch

from gandash import variants
from gandash.variants import architecture
from gandash.variants.configure import make_config

DATASETS = {"toy": "ring", "deblur": "blurred:photos", "deblur-seed": "blurred:photos"}


pytestmark = pytest.mark.usefixtures("one_thread")


@pytest.mark.parametrize("name", list(variants.REGISTRY))
def test_parameter_totals_equal_the_modules(name):
    config = make_config(name, DATASETS.get(name, variants_dataset(name)), width=8)
    generator, discriminator = variants.get(name).build(config)
    tables = architecture.tables(config)
    assert architecture.total(tables["generator"]) == sum(p.numel() for p in generator.parameters())
    assert architecture.total(tables["discriminator"]) == sum(p.numel() for p in discriminator.parameters())
    assert all(row.output_shape != architecture.NOT_CALLED for row in tables["generator"])


def variants_dataset(name):
    kind = variants.get(name).data_kind
    return {"domains": "domains:fashion-mnist:7,5", "paired": "blurred:photos", "lowres": "lowres:photos"}.get(
        kind, "fashion-mnist"
    )


def test_shapes_are_those_of_a_real_forward_pass():
    config = make_config("dcgan", "fashion-mnist", width=8)
    generator, _ = variants.get("dcgan").build(config)
    rows = architecture.tables(config)["generator"]
    x = torch.zeros(1, config.z_dim)[:, :, None, None]
    generator.eval()
    with torch.no_grad():
        for layer, row in zip(generator.main, rows):
            x = layer(x)
            assert row.output_shape == str(tuple(x.shape)) and row.type == type(layer).__name__
    assert rows[-1].output_shape == "(1, 1, 28, 28)"
    assert rows[0].parameters == 100 * 16 * 7 * 7  # ConvTranspose2d(z=100 -> 2*width, 7x7), no bias


def test_a_layer_the_forward_pass_skips_is_listed_and_counted():
    net = torch.nn.ModuleDict({"used": torch.nn.Linear(3, 2), "spare": torch.nn.Linear(2, 2)})
    rows = architecture.layer_table(net, torch.zeros(1, 3), call=lambda x: net["used"](x))
    assert [(r.name, r.output_shape, r.parameters) for r in rows] == [
        ("used", "(1, 2)", 8),
        ("spare", architecture.NOT_CALLED, 6),
    ]


def test_infogan_table_shows_the_q_head():
    config = make_config("infogan", "fashion-mnist", width=8)
    rows = architecture.tables(config)["discriminator"]
    assert any(r.name == "q.3" and r.output_shape == "(1, 12)" for r in rows)


def test_extra_convs_deepen_g_and_d_at_their_inner_resolutions_and_zero_keeps_the_papers_nets():
    plain = make_config("dcgan", "fashion-mnist", width=8, extra_convs=0)
    deeper = make_config("dcgan", "fashion-mnist", width=8, extra_convs=2)
    (g0, d0), (g2, d2) = variants.get("dcgan").build(plain), variants.get("dcgan").build(deeper)
    # at 0, exactly the DCGAN layers in the same places, so weights trained before the setting existed load
    assert [type(m).__name__ for m in g0.main] == ["ConvTranspose2d", "BatchNorm2d", "ReLU"] * 2 + [
        "ConvTranspose2d",
        "Tanh",
    ]
    assert [type(m).__name__ for m in d0.main] == ["Conv2d", "LeakyReLU", "Conv2d", "BatchNorm2d", "LeakyReLU"]
    # G at 28x28: the 7x7 seed and the 14x14 block get two 3x3 convs each; D's 14x14 block gets two
    added = [r.output_shape for r in architecture.tables(deeper)["generator"] if r.type == "Conv2d"]
    assert added == ["(1, 16, 7, 7)"] * 2 + ["(1, 8, 14, 14)"] * 2
    added = [r.output_shape for r in architecture.tables(deeper)["discriminator"] if r.type == "Conv2d"]
    assert added == ["(1, 8, 14, 14)"] * 3 + ["(1, 16, 7, 7)", "(1, 1, 1, 1)"]  # the head last
    z = torch.randn(4, plain.z_dim)
    assert g2(z).shape == g0(z).shape == (4, 1, 28, 28) and d2(g2(z)).shape == (4,)
