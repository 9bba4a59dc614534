import io
import zipfile

import numpy as np
import pytest
from PIL import Image

from gandash import data, uploads
from gandash.errors import GandashError


def png(colour, size=(20, 30)) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", size, colour).save(buffer, format="PNG")
    return buffer.getvalue()


def image_zip(count_per_class=10, extra: dict | None = None) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for klass, colour in (("shoes", "red"), ("bags", "blue")):
            for i in range(count_per_class):
                archive.writestr(f"set/{klass}/{i}.png", png(colour, (20 + i, 30)))
        for name, content in (extra or {}).items():
            archive.writestr(name, content)
    return buffer.getvalue()


def test_a_zip_of_images_becomes_a_trainable_folder_dataset(home):
    name, report = uploads.add_image_zip("My Shoes!", image_zip(extra={"set/shoes/broken.png": b"nope",
                                                                       "__MACOSX/._x.png": b"junk"}))
    assert name.startswith("folder:") and name.endswith("my-shoes")
    assert report["images"] == 20 and report["unreadable"] == ["set/shoes/broken.png"]
    assert report["classes"] == ["bags", "shoes"]
    dataset = data.load(name, image_size=16, channels=3)
    assert dataset.images.shape == (20, 3, 16, 16) and sorted(set(dataset.labels.tolist())) == [0, 1]
    assert name in uploads.existing()
    with pytest.raises(GandashError, match="exists already"):
        uploads.add_image_zip("my shoes", image_zip())


def test_bad_zips_are_refused_and_leave_nothing_behind(home):
    with pytest.raises(GandashError, match="not a readable zip"):
        uploads.add_image_zip("x", b"PK\x03\x04 truncated")
    with pytest.raises(GandashError, match="holds 4 readable image"):
        uploads.add_image_zip("few", image_zip(count_per_class=2))
    assert uploads.existing() == []
    with pytest.raises(GandashError, match="letters or digits"):
        uploads.add_image_zip("../../", image_zip())


def test_zip_paths_cannot_escape_the_dataset_folder(home):
    name, _ = uploads.add_image_zip("slip", image_zip(extra={"../../../../tmp/evil.png": png("green")}))
    folder = uploads.uploads_dir() / "slip"
    assert not (home.parent / "evil.png").exists()
    assert all(folder in path.parents for path in folder.rglob("*"))


def test_points_uploads(home):
    content = "x,y\n" + "\n".join(f"{np.cos(t):.4f},{np.sin(t):.4f}" for t in np.linspace(0, 6, 50))
    name, report = uploads.add_points("circle", "c.csv", content.encode())
    assert name.startswith("points:") and report["points"] == 50
    assert data.load(name).points.shape == (50, 2)
    with pytest.raises(GandashError, match="points must be"):
        uploads.add_points("bad", "b.json", b"{}")
    with pytest.raises(GandashError, match="could not be read as 2D points"):
        uploads.add_points("words", "w.csv", b"a,b\nhello,world\n")
    assert not (uploads.uploads_dir() / "words.csv").exists()
