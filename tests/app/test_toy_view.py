"""The GAN Lab-style 2D view, on the snapshots of a real toy run."""

import os

import numpy as np

from gandash.runs.store import Store
from gandash.ui import toy_view


def test_a_toy_snapshot_holds_each_generators_image_of_a_z_grid_drawn_as_meshes(populated):
    toy, _ = populated  # the toy recipe: a mixture of 50 generators, each with its own mesh
    shots = toy_view.snapshots(toy, Store())
    current = toy_view._snapshot(shots[-1][1])
    assert current["manifold"].shape == (50, 7, 7, 2) and np.isfinite(current["manifold"]).all()
    figure = toy_view.figure(current, toy_view._snapshot(shots[-2][1]), shots[-1][0])
    names = [trace.name for trace in figure.data]
    assert names[1:] == ["G(z-grid)", "real", "generated", "generator moved"]  # real under generated
    mesh = figure.data[1]
    assert np.isnan(mesh.x).sum() == 50 * 14  # each generator's 7 rows and 7 columns, each ended by a gap
    real, generated = figure.data[2], figure.data[3]
    assert real.marker.size > generated.marker.size, "the real points stay visible under the generated ones"


def test_a_snapshot_rewritten_in_place_is_read_again(tmp_path):
    """A D step while paused rewrites the same step's file: the cache must not serve the old one."""
    path = tmp_path / "step_00000010.npz"
    np.savez(path, points=np.zeros((4, 2)))
    assert toy_view._snapshot(str(path))["points"].sum() == 0
    np.savez(path, points=np.ones((4, 2)))
    later = os.stat(path).st_mtime + 1
    os.utime(path, (later, later))  # file systems with coarse timestamps: make the rewrite visible
    assert toy_view._snapshot(str(path))["points"].sum() == 8
