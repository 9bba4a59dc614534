import io
import math
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from gandash import latent
from gandash.__main__ import main
from gandash.core.errors import GandashError
from gandash.engine import checkpoints
from gandash.quality import features
from gandash.runs import jobs, worker
from gandash.runs.store import Store
from gandash.variants import demos, loading
from gandash.variants.configure import make_config
from tests.conftest import make_fashion_files

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """A small conditional run trained on the squares data, in its own GANDASH_HOME."""
    home = tmp_path_factory.mktemp("latent-home")
    patch = pytest.MonkeyPatch()
    patch.setenv("GANDASH_HOME", str(home))
    make_fashion_files(home / "data" / "fashion-mnist", n=256)
    store = Store()
    config = make_config(
        "cgan",
        "fashion-mnist",
        width=8,
        batch_size=32,
        max_steps=20,
        log_every=10,
        sample_every=20,
        checkpoint_every=10,
    )
    run_id = jobs.create(config, store, foreground=True)
    run_dir = Path(store.run(run_id)["run_dir"])
    assert worker.run(run_dir, store) == "completed"
    yield home, run_id, run_dir
    patch.undo()


def test_lerp_and_slerp_end_at_the_anchors_and_slerp_keeps_the_norm():
    a, b = latent.anchor(1, 128), latent.anchor(2, 128)
    for method in latent.METHODS:
        z = latent.interpolate(a, b, 9, method)
        assert z.shape == (9, 128)
        assert torch.allclose(z[0], a, atol=1e-5) and torch.allclose(z[-1], b, atol=1e-5)
    norms_s = latent.interpolate(a, b, 9, "slerp").norm(dim=1)
    norms_l = latent.interpolate(a, b, 9, "lerp").norm(dim=1)
    expected = torch.linspace(0, 1, 9) * (b.norm() - a.norm()) + a.norm()
    assert torch.allclose(norms_s, expected, rtol=1e-4)  # slerp: the norm moves linearly between the ends
    assert norms_l[4] < 0.8 * min(a.norm(), b.norm())  # lerp's midpoint sinks toward the origin


def test_anchors_paths_planes_and_arithmetic():
    assert torch.equal(latent.anchor(7, 16), latent.anchor(7, 16))
    assert not torch.equal(latent.anchor(7, 16), latent.anchor(8, 16))
    anchors = [latent.anchor(s, 16) for s in (1, 2, 3)]
    open_path = latent.path(anchors, 5, "slerp")
    assert len(open_path) == 9 and torch.allclose(open_path[4], anchors[1], atol=1e-5)
    loop = latent.path(anchors, 5, "lerp", closed=True)
    assert len(loop) == 12 and torch.allclose(loop[0], anchors[0])
    grid = latent.plane(anchors[0], torch.eye(16)[0], torch.eye(16)[1], 3, 4, span=1.0)
    assert grid.shape == (12, 16) and torch.allclose(grid[5], anchors[0] + torch.tensor([-1 / 3] + [0] * 15))
    mixed = latent.arithmetic(*anchors)
    assert math.isclose(mixed.norm().item(), 4.0, rel_tol=1e-5)
    assert torch.allclose(latent.truncate(anchors[0], 0.5), anchors[0] / 2)


@pytest.mark.parametrize("bad", [dict(steps=0), dict(steps=10_000), dict(method="cubic")])
def test_impossible_interpolations_say_what_is_allowed(bad):
    settings = dict(steps=8, method="slerp") | bad
    with pytest.raises(GandashError, match="must be"):
        latent.interpolate(latent.anchor(0, 8), latent.anchor(1, 8), **settings)


def test_same_seeds_give_the_same_images(trained):
    _, _, run_dir = trained
    model = latent.load(run_dir)
    _, _, frames = latent.seeds_to_frames(model, 3, 4, 8, label=2)
    _, _, again = latent.seeds_to_frames(latent.load(run_dir), 3, 4, 8, label=2)
    assert torch.equal(frames, again) and frames.shape == (8, 1, 28, 28)
    _, _, other = latent.seeds_to_frames(model, 3, 5, 8, label=2)
    assert torch.allclose(frames[0], other[0], atol=1e-5) and not torch.allclose(frames[-1], other[-1])


@pytest.mark.skipif("cgan-fashion" not in demos.available(), reason="the cgan demo is not bundled")
def test_changing_the_class_changes_what_the_classifier_sees():
    """The bundled conditional demo, judged by the bundled Fashion-MNIST classifier: the same 50 z drawn
    as each label in turn are seen as one garment per label, a different one for most labels; and
    blending two class embeddings moves the prediction from one end's garment to the other's.
    (How often the garment is the one asked for is a training-quality figure: `gandash eval`.)"""
    model = latent.load(demo="cgan-fashion")
    classifier = features.load("fashion-mnist")
    z = torch.randn(50, model.config.z_dim, generator=torch.Generator().manual_seed(0))
    seen = []
    for label in range(10):
        predicted = classifier.logits(latent.render(model, z, torch.full((50,), label))).argmax(1)
        garment, count = torch.mode(predicted).values.item(), (predicted == torch.mode(predicted).values).sum()
        assert count >= 30, (label, predicted.tolist())  # mostly one garment per label, whatever z is
        seen.append(garment)
    assert len(set(seen)) >= 6, seen
    first, last = next((a, b) for a in range(10) for b in range(10) if seen[a] != seen[b])
    walk = latent.render(model, z[:10].repeat_interleave(5, 0), latent.class_mix(model, first, last, 5).repeat(10, 1))
    ends = classifier.logits(walk).argmax(1).view(10, 5)
    assert (ends[:, 0] == seen[first]).float().mean() >= 0.7 and (ends[:, -1] == seen[last]).float().mean() >= 0.7


def test_principal_directions_find_the_axis_the_generator_is_most_sensitive_to():
    """A generator whose first layer mostly listens to z[2]: GANSpace's first direction must come out
    as +-e2 after the PCA of the activations is carried back to z-space."""
    from gandash.core.config import TrainConfig
    from gandash.nets.mlp import MLPGenerator

    generator = MLPGenerator(4, (1, 4, 4), (32,))
    weights = torch.randn(32, 4, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        generator.net[0].weight.copy_(weights * torch.tensor([0.5, 0.02, 4.0, 0.02]))
    model = latent.Model(generator.eval(), TrainConfig(z_dim=4), 0, "test")
    directions = latent.principal_directions(model, k=2, samples=2000)
    assert directions.vectors.shape == (2, 4)
    assert torch.allclose(directions.vectors.norm(dim=1), torch.ones(2), atol=1e-5)
    assert directions.vectors[0, 2].abs() > 0.95
    assert directions.explained[0] > 0.8 > directions.explained[1] > 0


@pytest.mark.skipif("dcgan-fashion" not in demos.available(), reason="the dcgan demo is not bundled")
def test_direction_sliders_change_a_trained_models_image():
    model = latent.load(demo="dcgan-fashion")
    directions = latent.principal_directions(model, k=2, samples=1000)
    z = latent.anchor(5, model.config.z_dim)[None]
    change = (latent.render(model, latent.steer(z, directions, [3.0])) - latent.render(model, z)).abs().mean()
    assert change > 0.05


def test_the_nearest_training_image_of_a_training_image_is_itself(home):
    training = torch.from_numpy(make_fashion_files(home / "unused", n=64, seed=3)[0])[:, None]
    index, distance = latent.nearest_training(training[10].float().div(127.5).sub(1), training)
    assert index == 10 and distance == 0
    index, distance = latent.nearest_training(training[20].float().div(127.5).sub(1) + 0.1, training)
    assert index == 20 and 0.04 < distance < 0.06
    classifier = features.load("fashion-mnist")
    as_float = training.float().div(127.5).sub(1)
    index, distance = latent.nearest_in_features(as_float[7], classifier.features(as_float), classifier)
    assert index == 7 and distance < 1e-3  # the batch and the single image take different conv kernels: float noise


def test_rendering_is_made_fast_without_changing_the_images(trained):

    plain, config, _ = loading.load_generator(trained[2])
    model = latent.load(trained[2])
    assert not any(isinstance(m, torch.nn.BatchNorm2d) for m in model.generator.modules())
    z, labels = torch.randn(6, config.z_dim), torch.arange(6)
    with torch.no_grad():
        assert torch.allclose(plain(z, labels), latent.render(model, z, labels), atol=1e-5)


def test_exports_gif_frames_strip_and_npy(trained):
    model = latent.load(trained[2])
    z, labels, frames = latent.seeds_to_frames(model, 1, 2, 6, label=4)
    with Image.open(io.BytesIO(latent.export_bytes(".gif", model, z, labels, frames))) as gif:
        assert gif.n_frames == 10 and gif.size == (28 * latent.display_scale(model),) * 2  # 6 there, 4 back
    with Image.open(io.BytesIO(latent.export_bytes(".png", model, z, labels, frames))) as strip:
        assert strip.size == (6 * 30 + 2, 32)
    array = np.load(io.BytesIO(latent.export_bytes(".npy", model, z, labels, frames)))
    assert array.shape == (6, model.config.z_dim + 1) and np.allclose(array[:, :-1], z.numpy())
    with pytest.raises(GandashError, match="must end in"):
        latent.export_bytes(".jpg", model, z, labels, frames)


def test_bad_models_and_classes_get_clear_messages(trained, tmp_path):
    home, _, run_dir = trained
    model = latent.load(run_dir)
    with pytest.raises(GandashError, match="class must be from 0 to 9"):
        latent.seeds_to_frames(model, 1, 2, 4, label=10)
    newest = checkpoints.listing(run_dir)[0]
    corrupt = tmp_path / "step_00000001.pt"
    corrupt.write_bytes(newest.read_bytes()[:5000])
    with pytest.raises(GandashError, match="step_00000001.pt is damaged"):
        latent.load(run_dir, corrupt)
    state = checkpoints.load(newest)
    state["config"]["variant"] = "dcgan"
    other = tmp_path / "other.pt"
    torch.save(state, other)
    with pytest.raises(GandashError, match="variant 'dcgan'"):
        latent.load(run_dir, other)
    empty = Store().run(jobs.create(make_config("dcgan", "fashion-mnist", width=8), Store(), start=False))
    with pytest.raises(GandashError, match="no checkpoint yet"):
        latent.load(Path(empty["run_dir"]))


def test_interpolate_cli_end_to_end(trained, tmp_path, monkeypatch, capsys):
    home, run_id, _ = trained
    env = dict(os.environ, GANDASH_HOME=str(home), PYTHONPATH=str(ROOT))

    def cli(*args):
        return subprocess.run(
            [sys.executable, "-m", "gandash", "interpolate", run_id, *args],
            capture_output=True,
            text=True,
            env=env,
            cwd=tmp_path,
            timeout=120,
        )

    done = cli("--from", "1", "--to", "2", "--steps", "12", "--class", "3", "--out", "anim.gif")
    assert done.returncode == 0, done.stderr
    with Image.open(tmp_path / "anim.gif") as gif:
        assert gif.n_frames == 22
    failed = cli("--from", "1", "--to", "2", "--steps", "0", "--out", "s.png")
    assert failed.returncode == 2 and "steps must be from 2" in failed.stderr and "Traceback" not in failed.stderr
    # the rest in this process (same main(), no interpreter start-up each time)
    monkeypatch.setenv("GANDASH_HOME", str(home))
    monkeypatch.chdir(tmp_path)
    assert (
        main(
            [
                "interpolate",
                run_id,
                "--from",
                "1",
                "--to",
                "2",
                "--method",
                "lerp",
                "--checkpoint",
                "10",
                "--out",
                "z.npy",
            ]
        )
        == 0
    )
    assert np.load(tmp_path / "z.npy").shape[0] == 16
    for args, message in (
        (["--class", "12"], "class must be"),
        (["--checkpoint", "7"], "no checkpoint of step 7"),
        (["--out", "x.bmp"], "must end in"),
        (["--steps", "10000"], "steps must be from 2"),
    ):
        out = ["--out", "s.png"] if "--out" not in args else []
        assert main(["interpolate", run_id, "--from", "1", "--to", "2", *out, *args]) == 2
        assert message in capsys.readouterr().err


def test_interpolate_cli_exports_a_png_grid_end_to_end(trained, tmp_path, monkeypatch, capsys):
    """`interpolate --grid` in a real subprocess writes the latent page's Grid: rows x cols images around
    --from's z, the centre image being that seed's own, the same pixels as rendering the grid here."""
    home, run_id, run_dir = trained
    env = dict(os.environ, GANDASH_HOME=str(home), PYTHONPATH=str(ROOT))
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "gandash",
            "interpolate",
            run_id,
            "--from",
            "5",
            "--grid",
            "3x5",
            "--class",
            "2",
            "--out",
            "grid.png",
        ],
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert "3x5 grid (principal directions" in done.stdout
    with Image.open(tmp_path / "grid.png") as picture:
        written = np.asarray(picture.convert("L"), dtype=int)
    assert written.shape == (3 * 30 + 2, 5 * 30 + 2)  # 28 px images with images.grid_png's 2 px padding
    model = latent.load(run_dir)
    z, labels, frames = latent.grid_to_frames(model, 5, 3, 5, "principal", 2.0, label=2)
    assert torch.allclose(z[7], latent.anchor(5, model.config.z_dim, model))  # the middle of the grid is the seed
    with Image.open(io.BytesIO(latent.export_grid_bytes(".png", model, z, labels, frames, 5))) as picture:
        here = np.asarray(picture.convert("L"), dtype=int)
    assert np.abs(written - here).max() <= 1  # another process may round a pixel the other way
    assert not np.array_equal(here[2:30, 2:30], here[2:30, 32:60])  # the images change across the grid

    monkeypatch.setenv("GANDASH_HOME", str(home))
    monkeypatch.chdir(tmp_path)
    assert main(["interpolate", run_id, "--from", "5", "--grid", "2x3", "--axes", "random", "--out", "g.npy"]) == 0
    assert np.load(tmp_path / "g.npy").shape == (6, model.config.z_dim + 1)
    for args, message in (
        (["--grid", "3by4"], "ROWSxCOLS"),
        (["--grid", "3x4", "--to", "2"], "give one of them"),
        (["--grid", "40x2"], "1 to 32 rows"),
        (["--grid", "3x3", "--span", "0"], "reach must be"),
        ([], "give --to SEED"),
    ):
        out = ["--out", "g.png"]
        assert main(["interpolate", run_id, "--from", "1", *out, *args]) == 2
        assert message in capsys.readouterr().err
    assert main(["interpolate", run_id, "--from", "1", "--grid", "3x3", "--out", "g.gif"]) == 2
    assert "a grid is one picture" in capsys.readouterr().err


def test_the_ema_weights_are_used_when_the_run_kept_them(tiny_fashion):
    from gandash import variants

    store = Store()
    config = make_config(
        "dcgan",
        "fashion-mnist",
        width=8,
        batch_size=16,
        max_steps=4,
        checkpoint_every=4,
        log_every=2,
        sample_every=4,
        ema_decay=0.5,
    )
    run_id = jobs.create(config, store, foreground=True)
    run_dir = Path(store.run(run_id)["run_dir"])
    assert worker.run(run_dir, store) == "completed"
    state = checkpoints.load(checkpoints.listing(run_dir)[0])
    assert state.get("ema") is not None
    expected = {}
    for weights in ("ema", "generator"):
        generator = variants.get("dcgan").build(config)[0]
        generator.load_state_dict(state[weights])
        expected[weights] = generator.eval()
    z = torch.randn(6, config.z_dim, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        ema, raw = expected["ema"](z, None), expected["generator"](z, None)
        gap = (ema - raw).abs().mean()
        assert gap > 0.05 * raw.abs().mean()  # the averaged weights really draw other images
        assert (loading.load_generator(run_dir)[0](z, None) - ema).abs().max() < 0.01 * gap
    assert (latent.render(latent.load(run_dir), z) - ema).abs().max() < 0.01 * gap
    assert (latent.render(latent.load(run_dir, ema=False), z) - raw).abs().max() < 0.01 * gap


def test_latent_arithmetic_on_a_real_model(trained):
    model = latent.load(trained[2])
    dim = model.config.z_dim
    a, b, c = (latent.anchor(seed, dim) for seed in (1, 2, 3))
    result = latent.arithmetic(a, b, c)
    assert torch.allclose(result, (a - b + c) * math.sqrt(dim) / (a - b + c).norm(), atol=1e-5)
    label = torch.full((1,), 2)

    def picture(z):
        return latent.render(model, z[None], label)

    apart = (picture(c) - picture(a)).abs().mean()
    assert apart > 1e-3  # this model's images depend on z
    # taking b away and adding it back leaves a (rescaled to the typical norm), so a's image
    assert (picture(latent.arithmetic(a, b, b)) - picture(a)).abs().mean() < 0.25 * apart
    assert (picture(result) - picture(a)).abs().mean() > 0.25 * apart  # with c in place of b, it moves


def test_the_render_bench_times_the_pages_render_and_strip():
    """bench/latent_render.py is run by hand; this keeps its code working (4 frames of a tiny DCGAN)."""
    import importlib.util

    from gandash import variants

    spec = importlib.util.spec_from_file_location("latent_render", ROOT / "bench" / "latent_render.py")
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    config = make_config("dcgan", "fashion-mnist", image_size=32, channels=3, z_dim=16, width=8)
    model = latent.Model(latent.for_rendering(variants.get("dcgan").build(config)[0]), config, 0, "tiny")
    parts = bench.slider_move(model, 0, 4)
    assert set(parts) == {"render", "strip", "frame", "total"} and all(ms > 0 for ms in parts.values())
    assert math.isclose(parts["total"], parts["render"] + parts["strip"] + parts["frame"], rel_tol=1e-6)
