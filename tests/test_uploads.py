import io
import os
import struct
import subprocess
import sys
import warnings
import zipfile
import zlib
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageFile

from gandash import data
from gandash.core.errors import GandashError
from gandash.data import uploads


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
    name, report = uploads.add_image_zip(
        "My Shoes!", image_zip(extra={"set/shoes/broken.png": b"nope", "__MACOSX/._x.png": b"junk"})
    )
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


# --- hostile zips and points files (issue #21, items 6, 7 and 9) ---------------------------------

LOCAL_FIELDS = {
    "flags": (6, "H"),
    "method": (8, "H"),
    "crc": (14, "I"),
    "compress_size": (18, "I"),
    "file_size": (22, "I"),
}
CENTRAL_FIELDS = {
    "flags": (8, "H"),
    "method": (10, "H"),
    "crc": (16, "I"),
    "compress_size": (20, "I"),
    "file_size": (24, "I"),
}


def patched(content: bytes, member: str, **fields) -> bytes:
    """The zip with `member`'s fields rewritten in both its local header and its directory entry, as a
    hostile or damaged archive would have them (zipfile itself writes only honest ones)."""
    out = bytearray(content)
    archive = zipfile.ZipFile(io.BytesIO(content))
    info = archive.getinfo(member)
    central = archive.start_dir
    while out[central + 46 : central + 46 + len(info.orig_filename.encode())] != info.orig_filename.encode():
        name_len, extra_len, comment_len = struct.unpack_from("<3H", out, central + 28)
        central += 46 + name_len + extra_len + comment_len
    for base, layout in ((info.header_offset, LOCAL_FIELDS), (central, CENTRAL_FIELDS)):
        for field, value in fields.items():
            offset, kind = layout[field]
            struct.pack_into("<" + kind, out, base + offset, value)
    return bytes(out)


def with_member(name: str, content: bytes, compress_type=zipfile.ZIP_STORED) -> bytes:
    """The 20-image zip with one more member written first."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr(zipfile.ZipInfo(name), content, compress_type=compress_type)
        for i in range(20):
            archive.writestr(f"set/{('shoes', 'bags')[i % 2]}/{i}.png", png("red", (20 + i, 30)))
    return buffer.getvalue()


def zeros_bomb(file_size: int | None = None) -> bytes:
    """A zip whose one member, bomb.png, is 1 GiB of zeros deflated to ~1 MB. The deflate stream is one
    MiB's worth of blocks repeated (each self-contained after a full flush), so building it takes a
    moment instead of compressing a gigabyte; `file_size` makes its headers lie about the size."""
    compressor = zlib.compressobj(9, zlib.DEFLATED, -15)
    block = compressor.compress(bytes(1 << 20)) + compressor.flush(zlib.Z_FULL_FLUSH)
    stream = block * 1024 + compressor.flush()
    crc = 0
    for _ in range(1024):
        crc = zlib.crc32(bytes(1 << 20), crc)
    content = with_member("bomb.png", stream)
    return patched(content, "bomb.png", method=zipfile.ZIP_DEFLATED, crc=crc, file_size=file_size or 1 << 30)


def leftovers(home) -> list[str]:
    folder = home / "data" / "uploads"
    return sorted(p.name for p in folder.iterdir()) if folder.exists() else []


CHILD = """
import resource, sys
from gandash.data import uploads
from gandash.core.errors import GandashError
content = open(sys.argv[1], "rb").read()
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
try:
    uploads.add_image_zip("bomb", content)
    print("accepted")
except GandashError as exc:
    print("refused:", exc)
print(before, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)
"""


def upload_in_child(home, tmp_path, content: bytes) -> tuple[str, float]:
    """Upload `content` in a fresh Python; returns (outcome, MB of peak memory above its baseline)."""
    path = tmp_path / "upload.zip"
    path.write_bytes(content)
    done = subprocess.run(
        [sys.executable, "-c", CHILD, str(path)],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "GANDASH_HOME": str(home)},
        cwd=Path(__file__).parents[1],
    )
    assert done.returncode == 0, done.stderr
    outcome, peaks = done.stdout.strip().rsplit("\n", 1)
    before, after = map(int, peaks.split())
    return outcome, (after - before) / 1024  # ru_maxrss is in KiB on Linux


def test_the_bomb_really_inflates_to_a_gigabyte():
    archive = zipfile.ZipFile(io.BytesIO(zeros_bomb()))
    assert archive.getinfo("bomb.png").file_size == 1 << 30
    inflated = 0
    with archive.open("bomb.png") as stream:
        while inflated <= uploads.MAX_IMAGE_BYTES:
            chunk = stream.read(1 << 20)
            assert chunk == bytes(1 << 20)
            inflated += len(chunk)


def test_a_zip_bomb_is_refused_by_the_bytes_it_inflates_to_in_bounded_memory(home, tmp_path):
    content = zeros_bomb()
    assert len(content) < 2 * 1024**2
    outcome, peak_mb = upload_in_child(home, tmp_path, content)
    print(f"zip bomb: {peak_mb:.0f} MB above baseline")
    assert outcome.startswith("refused: 'bomb.png' in the zip unpacks to more than 64 MB"), outcome
    assert peak_mb < 100 and leftovers(home) == []


def test_a_member_whose_header_lies_about_its_size_is_refused_in_bounded_memory(home, tmp_path):
    outcome, peak_mb = upload_in_child(home, tmp_path, zeros_bomb(file_size=100))
    print(f"lying header: {peak_mb:.0f} MB above baseline")
    assert outcome.startswith("refused: 'bomb.png' in the zip could not be unpacked: its data is damaged"), outcome
    assert peak_mb < 100 and leftovers(home) == []


def huge_png(width=15000, height=15000) -> bytes:
    """A small PNG whose header claims width x height (the CRC fixed so the header itself is valid)."""
    content = bytearray(png("red", (4, 4)))
    struct.pack_into(">II", content, 16, width, height)
    struct.pack_into(">I", content, 29, zlib.crc32(content[12:29]))
    return bytes(content)


def test_an_image_declaring_too_many_pixels_is_refused_before_decoding(home, monkeypatch):
    real_load = ImageFile.ImageFile.load

    def guarded(image):
        assert image.width * image.height <= uploads.MAX_IMAGE_PIXELS, "decoded an image above the pixel cap"
        return real_load(image)

    monkeypatch.setattr(ImageFile.ImageFile, "load", guarded)
    # 225 megapixels: within twice Pillow's limit, which only warns (or, if gandash.images has not raised
    # that limit, beyond it): refused by the size in the header either way
    with pytest.raises(GandashError, match=r"'set/big.png' in the zip (is 15000x15000 \(|has )225 megapixels"):
        uploads.add_image_zip("big", with_member("set/big.png", huge_png()))
    with pytest.raises(GandashError, match="'set/big.png' in the zip has 900 megapixels"):  # Pillow refuses it too
        uploads.add_image_zip("bigger", with_member("set/big.png", huge_png(30000, 30000)))
    assert leftovers(home) == []


@pytest.mark.parametrize(
    "damage, message",
    [
        (lambda zip_: patched(zip_, "set/odd.png", flags=0x1), "it is encrypted"),
        (lambda zip_: patched(zip_, "set/odd.png", method=99), "it is compressed or encrypted in a way"),
        (lambda zip_: flip_data_byte(zip_, "set/odd.png"), r"its data is damaged \(BadZipFile\)"),
    ],
)
def test_damaged_or_unsupported_members_give_one_clear_error_and_leave_nothing(home, damage, message):
    with pytest.raises(GandashError, match=r"^'set/odd.png' in the zip could not be unpacked: " + message):
        uploads.add_image_zip("odd", damage(with_member("set/odd.png", png("green"))))
    assert leftovers(home) == []
    uploads.add_image_zip("odd", image_zip())  # the name is free again


def flip_data_byte(content: bytes, member: str) -> bytes:
    info = zipfile.ZipFile(io.BytesIO(content)).getinfo(member)
    name_len, extra_len = struct.unpack_from("<2H", content, info.header_offset + 26)
    at = info.header_offset + 30 + name_len + extra_len + 40
    return content[:at] + bytes([content[at] ^ 0xFF]) + content[at + 1 :]


def test_bzip2_is_refused_and_lzma_accepted(home):
    with pytest.raises(GandashError, match="'set/b.png' in the zip is bzip2-compressed"):
        uploads.add_image_zip("bz", with_member("set/b.png", png("green"), zipfile.ZIP_BZIP2))
    _, report = uploads.add_image_zip("xz", with_member("set/x.png", png("green"), zipfile.ZIP_LZMA))
    assert report["images"] == 21 and leftovers(home) == ["xz"]


def test_overlong_names_are_refused_shortened_in_the_message(home):
    with pytest.raises(GandashError, match="longer than 255 bytes") as caught:
        uploads.add_image_zip("long", with_member("set/" + "a" * 5000 + ".png", png("green")))
    assert len(str(caught.value)) < 300 and "set/aaa" in str(caught.value)
    with pytest.raises(GandashError, match="longer than 255 bytes"):  # 200 characters but 400 bytes
        uploads.add_image_zip("long", with_member("é" * 200 + "/x.png", png("green")))
    assert leftovers(home) == []


def test_repeated_names_count_once(home):
    buffer = io.BytesIO()
    with warnings.catch_warnings(), zipfile.ZipFile(buffer, "w") as archive:
        warnings.simplefilter("ignore", UserWarning)  # zipfile warns of the duplicate names we want
        for _ in range(2):
            for i in range(10):
                archive.writestr(f"set/{i}.png", png("red", (20 + i, 30)))
    with pytest.raises(GandashError, match="holds 10 readable image.*; 10 repeated a name"):
        uploads.add_image_zip("twice", buffer.getvalue())
    assert leftovers(home) == []


def test_the_caps_on_members_and_total_size(home, monkeypatch):
    monkeypatch.setattr(uploads, "MAX_UNPACKED", 1000)
    with pytest.raises(GandashError, match="unpacks to more than 0 GB"):
        uploads.add_image_zip("total", image_zip())
    monkeypatch.setattr(uploads, "MAX_MEMBERS", 19)
    with pytest.raises(GandashError, match="more than 19 files"):
        uploads.add_image_zip("count", image_zip())
    assert leftovers(home) == []


def test_a_realistic_set_of_thousands_of_small_images_fits(home):
    rng = np.random.default_rng(0)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for i in range(3000):
            image = io.BytesIO()
            Image.fromarray(rng.integers(0, 255, (28, 28), dtype=np.uint8)).save(image, format="PNG")
            archive.writestr(f"digits/{i % 10}/{i:05d}.png", image.getvalue())
    name, report = uploads.add_image_zip("digits", buffer.getvalue())
    assert report["images"] == 3000 and report["classes"] == [str(i) for i in range(10)]


def npy_header(shape, descr="<f8") -> bytes:
    buffer = io.BytesIO()
    np.lib.format.write_array_header_1_0(buffer, {"descr": descr, "fortran_order": False, "shape": shape})
    return buffer.getvalue()


def npy(array: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    np.save(buffer, array, allow_pickle=True)
    return buffer.getvalue()


CIRCLE = "x,y\n" + "\n".join(f"{np.cos(t):.4f},{np.sin(t):.4f}" for t in np.linspace(0, 6, 50))


@pytest.mark.parametrize(
    "filename, content, message",
    [
        ("p.csv", (CIRCLE + "\n1e308,0").encode(), r"point 51, column 1 is NaN, infinite or beyond float32"),
        ("p.csv", (CIRCLE + "\n0,nan").encode(), r"point 51, column 2 is NaN"),
        ("p.csv", (CIRCLE + "\n0,secret-word").encode(), r"line 52, column 2 is not a number"),
        ("p.csv", (CIRCLE + "\n0,1,2").encode(), r"line 52 has 3 columns"),
        ("p.csv", "\n".join(["1,2,3"] * 20).encode(), r"its shape is \(20, 3\)"),
        ("p.npy", npy_header((10**12, 2)) + bytes(160), "more than 10,000,000 points"),
        ("p.npy", npy_header((1000, 2)) + bytes(160), "truncated: its header promises 1,000 points"),
        ("p.npy", npy(np.zeros(20, dtype=[("x", "f4"), ("y", "f4")])), r"records \(a structured array\)"),
        ("p.npy", npy(np.array([[1, "secret-word"]] * 20, dtype=object)), "Python objects"),
        ("p.npy", npy(np.zeros((20, 3))), r"points must be \(N, 2\)"),
        ("p.npy", npy(np.full((20, 2), np.inf)), "point 1, column 1 is NaN, infinite"),
        ("p.npy", b"\x93NUMPY\x01\x00{'descr': 'secret-word'}", "not an .npy file numpy can read"),
    ],
)
def test_bad_points_give_one_clear_error_without_quoting_the_file_and_free_the_name(home, filename, content, message):
    with pytest.raises(GandashError, match=message) as caught:
        uploads.add_points("pts", filename, content)
    assert "secret-word" not in str(caught.value)
    assert leftovers(home) == []
    name, report = uploads.add_points("pts", "c.csv", CIRCLE.encode())
    assert report["points"] == 50


def test_points_files_are_removed_whatever_the_error(home, monkeypatch):
    def out_of_memory(*args, **kwargs):
        raise MemoryError

    monkeypatch.setattr(data, "load", out_of_memory)
    with pytest.raises(MemoryError):
        uploads.add_points("pts", "c.csv", CIRCLE.encode())
    assert leftovers(home) == []
