"""The variants of issue 7: each trains 3 steps at tiny width on the CPU with finite losses and makes
outputs of the declared shape; plus what is particular to each (clipping, codes, pyramids, stages,
two domains, super-resolution)."""

import numpy as np
import pytest
import torch
from PIL import Image

from gandash import data, latent, variants
from gandash.core.errors import GandashError
from gandash.nets import infogan, lapgan
from gandash.nets.blocks import down, up
from gandash.variants import training
from gandash.variants.configure import make_config
from tests.test_trainer import Recorder

# variant -> the dataset its tiny test trains on
DATASETS = {
    "wgan": "fashion-mnist",
    "infogan": "fashion-mnist",
    "lapgan": "fashion-mnist",
    "stackgan": "fashion-mnist",
    "discogan": "domains:fashion-mnist:7,5",
    "srgan": "lowres:fashion-mnist",
}
KEYS = {"loss_d", "loss_g", "d_x", "d_g_z1", "d_g_z2", "grad_norm_d", "grad_norm_g", "images_per_sec"}


pytestmark = pytest.mark.usefixtures("one_thread")


def tiny(name, **changes):
    # fp32 (no precision probe): the resume tests compare runs bit for bit
    settings = dict(max_steps=3, log_every=1, sample_every=2, checkpoint_every=2, batch_size=8, width=8)
    settings["cpu_precision"] = "fp32"
    return make_config(name, DATASETS[name], **{**settings, **changes})


@pytest.mark.parametrize("name", list(DATASETS))
def test_trains_three_steps_with_finite_losses_and_declared_shapes(name, tiny_fashion, tmp_path):
    config = tiny(name)
    recorder = Recorder()
    status, _ = training.train(config, tmp_path, recorder)
    assert status == "completed"
    assert [step for step, _ in recorder.rows] == [1, 2, 3]
    for _, values in recorder.rows:
        assert KEYS <= set(values) and all(np.isfinite(v) for v in values.values())
    assert [step for step, _ in recorder.samples] == [2, 3] and all(p.is_file() for _, p in recorder.samples)
    assert [step for step, _ in recorder.checkpoints] == [2, 3]
    generator, discriminator = variants.get(name).build(config)
    labels = torch.arange(4) % config.num_classes if config.num_classes else None
    if variants.get(name).data_kind == "image":
        out = generator(torch.randn(4, config.z_dim), labels)
    else:  # image-to-image: G takes an image (a quarter of the size for super-resolution)
        low = config.image_size // getattr(generator, "scale", 1)
        out = generator(torch.rand(4, config.channels, low, low) * 2 - 1)
    assert tuple(out.shape) == (4, config.channels, config.image_size, config.image_size)
    assert discriminator(out, labels).shape == (4,)


@pytest.mark.parametrize("name", list(DATASETS))
def test_step_by_step_mode_runs_one_d_and_one_g_step(name, tiny_fashion, tmp_path):
    run = training.trainer_for(tiny(name), tmp_path)
    assert np.isfinite(run.single_d_step()["loss_d"]) and np.isfinite(run.single_g_step()["loss_g"])
    assert run.step == 1 and run.is_finite()


# --- WGAN ----------------------------------------------------------------------------------------
def test_wgan_is_the_papers_recipe_and_clips_every_critic_weight(tiny_fashion, tmp_path):
    config = tiny("wgan")
    assert (config.optimizer, config.clip_value, config.d_steps, config.lr_d, config.loss) == (
        "rmsprop",
        0.01,
        5,
        5e-5,
        "wasserstein",
    )
    run = training.trainer_for(config, tmp_path)
    assert isinstance(run.opt_d, torch.optim.RMSprop) and isinstance(run.opt_g, torch.optim.RMSprop)
    with torch.no_grad():  # start outside the box so the clip has work to do
        for p in run.discriminator.parameters():
            p.mul_(10)
    run.train_step()
    assert max(p.abs().max().item() for p in run.discriminator.parameters()) <= 0.01 + 1e-9
    assert max(p.abs().max().item() for p in run.generator.parameters()) > 0.01  # G is never clipped


def test_bad_optimizer_and_clip_values_are_explained():
    with pytest.raises(GandashError, match="optimizer 'sgd' is unknown"):
        make_config("wgan", "fashion-mnist", optimizer="sgd")
    with pytest.raises(GandashError, match="clip_value must be from 0"):
        make_config("wgan", "fashion-mnist", clip_value=-1.0)


# --- InfoGAN -------------------------------------------------------------------------------------
def test_infogan_codes_are_the_last_dimensions_of_z_and_anchors_draw_them_from_the_prior(tiny_fashion, tmp_path):
    config = tiny("infogan")
    assert config.z_dim == 74
    generator, _ = variants.get("infogan").build(config)
    model = latent.Model(generator.eval(), config, 0, "test")
    codes = latent.code_slices(model)
    assert [(c.name, c.start, c.stop, c.prior) for c in codes] == [
        ("category", 62, 72, "categorical"),
        ("c1", 72, 73, "uniform"),
        ("c2", 73, 74, "uniform"),
    ]
    z = latent.anchor(7, config.z_dim, model)
    assert torch.equal(z, latent.anchor(7, config.z_dim, model))  # a seed is still one image
    assert sorted(z[62:72].tolist()) == [0.0] * 9 + [1.0] and (z[72:].abs() <= 1).all()
    assert torch.equal(z[:62], latent.anchor(7, config.z_dim)[:62])  # the noise part is unchanged
    categories = latent.code_sweep(model, z, "category")
    assert torch.equal(categories[:, 62:72], torch.eye(10)) and latent.render(model, categories).shape == (
        10,
        1,
        28,
        28,
    )
    sweep = latent.code_sweep(model, z, "c2", steps=5, span=2.0)
    assert sweep[:, 73].tolist() == [-2.0, -1.0, 0.0, 1.0, 2.0] and torch.equal(sweep[:, :73], z[:73].repeat(5, 1))
    with pytest.raises(GandashError, match="no latent code 'c3'"):
        latent.code_sweep(model, z, "c3")
    plain = latent.Model(variants.get("dcgan").build(tiny("wgan"))[0], tiny("wgan"), 0, "dcgan")
    assert latent.code_slices(plain) == []


def test_infogan_q_learns_the_category_on_fixed_images(tiny_fashion, tmp_path):
    """The information term trains Q: on one fixed batch of fakes its loss falls."""
    run = training.trainer_for(tiny("infogan", batch_size=32), tmp_path)
    z = infogan.prior_z(32, 74, torch.Generator().manual_seed(0))
    with torch.no_grad():
        fake = run.generator(z)
    first = None
    for _ in range(30):
        _, info, _ = run._information(fake, z)
        run.opt_d.zero_grad()
        info.backward()
        run.opt_d.step()
        first = first if first is not None else info.item()
    assert info.item() < first - 0.5


def test_infogan_needs_room_for_its_codes():
    with pytest.raises(GandashError, match="z_dim must be above 12 for infogan"):
        make_config("infogan", "fashion-mnist", z_dim=12)


# --- LAPGAN --------------------------------------------------------------------------------------
def test_the_laplacian_pyramid_rebuilds_the_image_exactly():
    x = torch.rand(2, 1, 28, 28) * 2 - 1
    outputs, conditions = lapgan.laplacian(x)
    assert [o.shape[-1] for o in outputs] == [7, 14, 28] and [c.shape[-1] for c in conditions] == [14, 28]
    assert torch.allclose(up(up(outputs[0]) + outputs[1]) + outputs[2], x, atol=1e-5)
    assert torch.allclose(outputs[0], down(down(x)), atol=1e-6)


def test_lapgan_samples_by_chaining_its_levels_on_its_own_outputs():
    config = make_config("lapgan", "fashion-mnist", width=8)
    generator, discriminator = variants.get("lapgan").build(config)
    generator.eval()
    z = torch.randn(3, config.z_dim)
    with torch.no_grad():
        coarse = generator.levels(z, [])[0]
        middle = up(coarse) + generator.levels(z, [up(coarse)])[1]
        full = up(middle) + generator.levels(z, [up(coarse), up(middle)])[2]
        assert torch.allclose(generator(z), full, atol=1e-5)
    assert [len(p) for p in z[0].tensor_split(3)] == lapgan.z_parts(config.z_dim) == [34, 33, 33]
    assert len(discriminator.judges) == 3


# --- StackGAN ------------------------------------------------------------------------------------
def test_stackgan_stages_and_conditioning_augmentation():
    config = make_config("stackgan", "fashion-mnist", width=8)
    assert config.num_classes == 10
    generator, _ = variants.get("stackgan").build(config)
    z, labels = torch.randn(4, config.z_dim), torch.tensor([0, 1, 2, 3])
    low, high, mu, logvar = generator.stages(z, labels)
    assert low.shape == (4, 1, 14, 14) and high.shape == (4, 1, 28, 28) and mu.shape == logvar.shape == (4, 16)
    assert not torch.equal(generator.condition(labels)[0], generator.condition(labels)[0])  # c is sampled
    generator.eval()
    with torch.no_grad():  # sampling uses c = mu: the same z and class give the same image
        assert torch.equal(generator(z, labels), generator(z, labels))
        mixed = generator(z[:1], torch.tensor([[0.5, 0.5] + [0.0] * 8]))  # class blending in the explorer
    assert mixed.shape == (1, 1, 28, 28)
    with pytest.raises(ValueError, match="conditional"):
        generator(z)


def test_stackgan_needs_labels_and_a_size_the_stages_can_halve():
    with pytest.raises(GandashError, match="multiple of 4"):
        make_config("stackgan", "fashion-mnist", image_size=30)


# --- DiscoGAN ------------------------------------------------------------------------------------
def test_two_domains_are_two_classes_of_a_labelled_set(tiny_fashion):
    images, labels = tiny_fashion
    meta = data.info("domains:fashion-mnist:7,5")
    assert (meta.kind, meta.channels, meta.image_size, meta.class_names) == ("domains", 1, 28, ("Sneaker", "Sandal"))
    loaded = data.load("domains:fashion-mnist:7,5")
    assert len(loaded) == int(((labels == 7) | (labels == 5)).sum())
    assert int((loaded.labels == 0).sum()) == int((labels == 7).sum())  # A = sneakers first
    assert np.array_equal(loaded.images[loaded.labels == 1].numpy()[:, 0], images[labels == 5])
    for bad, message in (
        ("domains:fashion-mnist:3,3", "must differ"),
        ("domains:fashion-mnist:1,12", "from 0 to 9"),
        ("domains:ring", "two classes of a labelled image set"),
    ):
        with pytest.raises(GandashError, match=message):
            data.info(bad)
    assert make_config(None, "domains:fashion-mnist:7,5").variant == "discogan"
    with pytest.raises(GandashError, match="trains on domains data"):
        make_config("discogan", "fashion-mnist")


def test_two_folders_are_two_domains(tmp_path, home):
    for folder, shade in (("horses", 40), ("zebras", 200)):
        (tmp_path / folder).mkdir()
        for i in range(3):
            Image.new("RGB", (40, 40), (shade, shade + i, shade)).save(tmp_path / folder / f"{i}.png")
    loaded = data.load(f"domains:folder:{tmp_path}", image_size=32, channels=3)
    assert loaded.info.class_names == ("horses", "zebras") and loaded.labels.tolist() == [0, 0, 0, 1, 1, 1]


def test_discogan_samples_show_the_round_trip(tiny_fashion, tmp_path):
    run = training.trainer_for(tiny("discogan"), tmp_path)
    picture = Image.open(run.save_samples())
    # 16 triplets, two per row: 8 rows of 6 images of 28 px with torchvision's 2 px padding
    assert picture.size == (6 * 30 + 2, 8 * 30 + 2)
    fakes = run.fakes(run.batch())
    assert fakes["aba"].shape == fakes["ab"].shape == (8, 1, 28, 28)


# --- SRGAN ---------------------------------------------------------------------------------------
def test_srgan_learns_x4_from_downsampled_originals(tiny_fashion, tmp_path):
    config = tiny("srgan")
    assert (config.image_size, config.channels, config.lr_g, config.beta1) == (28, 1, 1e-4, 0.9)
    run = training.trainer_for(config, tmp_path)
    low, sharp, condition = run._next_pair()
    assert condition is None and low.shape == (8, 1, 7, 7) and sharp.shape == (8, 1, 28, 28)
    assert (low - torch.nn.functional.avg_pool2d(sharp, 4)).abs().mean() < 0.1  # a x4 smaller copy
    assert any(isinstance(m, torch.nn.PixelShuffle) for m in run.generator.modules())
    values = run.train_step(measure=True)
    assert values["psnr_blurry"] > 10 and np.isfinite(values["psnr_restored"])  # the bicubic baseline
    picture = Image.open(run.save_samples())
    assert picture.size == (6 * 30 + 2, 4 * 30 + 2)  # low | SRGAN | original, two triplets per row


def test_srgan_without_an_adversarial_weight_learns_the_pixel_loss_alone_from_bicubic(tiny_fashion, tmp_path):
    run = training.trainer_for(tiny("srgan", adversarial_weight=0.0, pairs="clean"), tmp_path)
    untouched = [p.clone() for p in run.discriminator.parameters()]
    values = run.train_step(measure=True)
    assert "loss_d" not in values and values["loss_g"] == values["content"] > 0
    assert values["psnr_restored"] == pytest.approx(values["psnr_blurry"], abs=1e-4)  # it starts as bicubic
    assert all(torch.equal(a, b) for a, b in zip(untouched, run.discriminator.parameters()))  # no D step
    run.train_step()
    assert not torch.equal(run.generator.tail.weight, torch.zeros_like(run.generator.tail.weight))


def test_pair_and_domain_sets_are_listed_for_their_variants_only():
    rows = {row["name"]: row["kind"] for row in data.describe_all()}
    assert rows["lowres:photos"] == rows["lowres:folder:"] == "lowres"
    assert rows["domains:fashion-mnist:7,5"] == rows["domains:folder:"] == "domains"
    assert "domains:" not in rows and "lowres:" not in rows
    assert make_config(None, "lowres:photos").variant == "srgan"


# --- demo models of the new variants ---------------------------------------------------------------
@pytest.mark.parametrize("name, columns", [("infogan", 8), ("discogan", 6), ("srgan", 6)])
def test_a_bundled_demo_loads_and_shows_what_it_does(name, columns, tiny_fashion, tmp_path, monkeypatch):
    from gandash import gallery
    from gandash.variants import demos

    monkeypatch.setattr(demos, "FOLDER", tmp_path / "demos")
    config = tiny(name, max_steps=2)
    (tmp_path / "run").mkdir()
    config.save(tmp_path / "run" / "config.json")
    training.train(config, tmp_path / "run", Recorder())
    demos.bundle(tmp_path / "run", f"{name}-test", "a test demo")
    frames, nrow = gallery.demo_frames(f"{name}-test")
    assert nrow == columns and frames.shape[1:] == (1, 28, 28) and torch.isfinite(frames).all()
    assert len(frames) == (32 if name == "infogan" else 8 * 3)


@pytest.mark.parametrize("name", ["infogan", "discogan"])
def test_resume_is_exact_for_the_staged_trainers(name, tiny_fashion, tmp_path):
    """12 steps straight == 6 steps, stop, resume, 6 steps: the codes and the unpaired batches come
    from the checkpointed RNG."""
    from gandash.engine import checkpoints

    config = tiny(name, max_steps=12, checkpoint_every=6, sample_every=100)
    training.train(config, tmp_path / "straight", Recorder())
    first = Recorder()
    training.train(config, tmp_path / "stopped", first, should_stop=lambda: first.rows and first.rows[-1][0] >= 6)
    training.train(config, tmp_path / "stopped", Recorder())
    a = checkpoints.load(checkpoints.listing(tmp_path / "straight")[0])
    b = checkpoints.load(checkpoints.listing(tmp_path / "stopped")[0])
    assert a["step"] == b["step"] == 12
    for part in ("generator", "discriminator"):
        assert all(torch.equal(a[part][key], b[part][key]) for key in a[part]), part
