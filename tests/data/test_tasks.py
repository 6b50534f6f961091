"""Tasks and images (vlmsel.data.images, vlmsel.data.tasks): conversions to RGB, bad files, reproducible samples,
the LOVM registry, webdataset shards and a torchvision dataset built from tiny generated files."""

from __future__ import annotations

import errno
import hashlib
import io
import os
import re
import struct
import tarfile

import numpy as np
import pytest
from PIL import Image

from vlmsel.data import tasks
from vlmsel.data.images import ImageReadError, load_image, to_rgb


def _save(img: Image.Image, path, **kw):
    path.parent.mkdir(parents=True, exist_ok=True)
    img.save(path, **kw)
    return path


def _folder(tmp_path, n=8, name="task", size=(12, 10)):
    root = tmp_path / name
    rng = np.random.default_rng(0)
    for i in range(n):
        _save(Image.fromarray(rng.integers(0, 255, (*size[::-1], 3), dtype=np.uint8)), root / f"sub{i % 2}" / f"im{i}.png")
    return root


# ----------------------------------------------------------------------------------------- images
def test_grayscale_palette_rgba_become_rgb(tmp_path):
    gray = _save(Image.fromarray(np.full((4, 5), 77, np.uint8), mode="L"), tmp_path / "g.png")
    img = load_image(gray)
    assert img.mode == "RGB" and img.size == (5, 4)
    assert np.all(np.asarray(img) == 77)

    rgba = np.zeros((3, 3, 4), np.uint8)
    rgba[..., :3] = (10, 20, 30)
    rgba[..., 3] = 0  # fully transparent: the colour channels are kept, alpha dropped (as convert("RGB"))
    img = load_image(_save(Image.fromarray(rgba, mode="RGBA"), tmp_path / "a.png"))
    assert img.mode == "RGB" and np.all(np.asarray(img) == (10, 20, 30))

    pal = Image.new("P", (4, 4))
    pal.putpalette([255, 0, 0, 0, 255, 0] + [0] * 762)
    pal.putpixel((1, 1), 1)
    img = load_image(_save(pal, tmp_path / "p.png"))
    arr = np.asarray(img)
    assert tuple(arr[0, 0]) == (255, 0, 0) and tuple(arr[1, 1]) == (0, 255, 0)

    pal.info["transparency"] = 0
    img = load_image(_save(pal, tmp_path / "pt.png", transparency=0))
    assert img.mode == "RGB" and tuple(np.asarray(img)[1, 1]) == (0, 255, 0)


def test_16bit_is_scaled_not_clipped(tmp_path):
    arr = np.array([[0, 257 * 100, 65535]], dtype=np.uint16)
    path = _save(Image.fromarray(arr), tmp_path / "deep.png")
    with Image.open(path) as raw:
        assert raw.mode.startswith("I")  # PIL opens 16-bit PNGs as I;16 / I
    img = np.asarray(load_image(path))
    np.testing.assert_array_equal(img[0, :, 0], [0, 100, 255])
    assert np.all(img[..., 0] == img[..., 1])


def test_cmyk_and_exif_orientation(tmp_path):
    cmyk = Image.new("CMYK", (2, 2), (0, 255, 255, 0))  # no black, full magenta + yellow = red
    img = load_image(_save(cmyk, tmp_path / "c.jpg", quality=100))
    r, g, b = np.asarray(img)[0, 0].astype(int)
    assert r > 200 and g < 60 and b < 60

    # a 6x2 image (wide) whose EXIF says "rotate 90": it must come out 2 wide, 6 tall
    wide = np.zeros((2, 6, 3), np.uint8)
    wide[:, 0] = 255  # left column white
    exif = Image.Exif()
    exif[0x0112] = 6
    path = _save(Image.fromarray(wide), tmp_path / "rot.png", exif=exif.tobytes())
    img = load_image(path)
    assert img.size == (2, 6)
    arr = np.asarray(img)
    assert arr[0].mean() > 200 and arr[-1].mean() < 50  # the white column is now the top row


def test_corrupt_and_non_image_files_are_named(tmp_path):
    good = _save(Image.new("RGB", (8, 8), (1, 2, 3)), tmp_path / "ok.png")
    data = good.read_bytes()
    bad = tmp_path / "truncated.png"
    bad.write_bytes(data[: len(data) // 2])
    with pytest.raises(ImageReadError, match="truncated.png"):
        load_image(bad)
    text = tmp_path / "fake.jpg"
    text.write_text("not an image")
    with pytest.raises(ImageReadError, match="fake.jpg: not an image"):
        load_image(text)
    with pytest.raises(ImageReadError, match="file not found"):
        load_image(tmp_path / "missing.png")


def test_to_rgb_float_image():
    img = Image.fromarray(np.array([[0.0, 0.5, 1.0]], dtype=np.float32), mode="F")
    np.testing.assert_array_equal(np.asarray(to_rgb(img))[0, :, 0], [0, 128, 255])


# ------------------------------------------------------------------------------------------ folders
def test_sample_is_reproducible_and_recorded(tmp_path):
    root = _folder(tmp_path, n=9)
    a = tasks.sample(root, 5, seed=3)
    b = tasks.sample(root, 5, seed=3)
    assert a.ids == b.ids and a.sha256 == b.sha256 and len(a) == 5
    assert len(set(a.ids)) == 5  # without replacement
    for i, h in zip(a.ids, a.sha256):
        assert h == hashlib.sha256((root / i).read_bytes()).hexdigest()
    assert tasks.sample(root, 3, seed=3).ids == a.ids[:3]  # a smaller n is a prefix
    assert tasks.sample(root, 5, seed=4).ids != a.ids
    assert a.task == "task" and a.labels == [i.split("/")[0] for i in a.ids]  # labels = top-level subfolders
    # the whole folder, in any seed, is the same set
    assert sorted(tasks.sample(root, 9, seed=1).ids) == sorted(tasks.sample(root, 9, seed=2).ids)


def test_folder_is_recursive_and_ignores_hidden_files(tmp_path):
    root = tmp_path / "t"
    _save(Image.new("RGB", (4, 4)), root / "a.png")
    _save(Image.new("RGB", (4, 4)), root / "x" / "y" / "deep.jpg")
    (root / ".DS_Store").write_bytes(b"\0\1")
    _save(Image.new("RGB", (4, 4)), root / ".cache" / "thumb.png")
    task = tasks.open_task(root)
    assert task.source.ids() == ["a.png", "x/y/deep.jpg"]


def test_empty_folder_and_too_few_images(tmp_path):
    (tmp_path / "empty").mkdir()
    with pytest.raises(ValueError, match="has no images"):
        tasks.sample(tmp_path / "empty", 3)
    root = _folder(tmp_path, n=4, name="small")
    with pytest.raises(ValueError, match="only 4 images, fewer than the 6 requested"):
        tasks.sample(root, 6)


def test_min_n_accepts_fewer_images_down_to_it(tmp_path):
    root = _folder(tmp_path, n=4, name="small")
    s = tasks.sample(root, 6, seed=2, min_n=2)
    assert len(s) == 4 and sorted(s.ids) == sorted(tasks.sample(root, 4, seed=2).ids)
    assert tasks.sample(root, 3, seed=2, min_n=2).ids == s.ids[:3]  # enough images: n of them
    (tmp_path / "empty").mkdir()
    with pytest.raises(ValueError, match="0 usable image.*at least 2"):
        tasks.sample(tmp_path / "empty", 6, min_n=2)


def test_bad_files_raise_or_are_skipped_and_listed(tmp_path):
    root = _folder(tmp_path, n=6)
    (root / "notes.txt").write_text("hello")
    with pytest.raises(ImageReadError, match="notes.txt: not an image file"):
        tasks.sample(root, 3)
    (root / "notes.txt").unlink()
    corrupt = root / "sub0" / "broken.png"
    corrupt.write_bytes(b"\x89PNG\r\n\x1a\n garbage")
    with pytest.raises(ImageReadError, match="broken.png"):
        tasks.sample(root, 7)  # all 7 are needed, so the corrupt one is read
    (root / "notes.txt").write_text("hello")
    s = tasks.sample(root, 6, skip_bad=True)
    assert len(s) == 6 and "sub0/broken.png" not in s.ids
    skipped = dict(s.skipped)
    assert "notes.txt" in skipped and "sub0/broken.png" in skipped and "broken.png" in skipped["sub0/broken.png"]
    with pytest.raises(ValueError, match="only 6 readable images"):
        tasks.sample(root, 7, skip_bad=True)


def _image(path, seed=0):
    rng = np.random.default_rng(seed)
    return _save(Image.fromarray(rng.integers(0, 255, (6, 6, 3), dtype=np.uint8)), path)


def test_symlink_loops_are_skipped_and_listed_never_an_error(tmp_path):
    root = _folder(tmp_path, n=4)
    os.symlink("..", root / "sub0" / "loop")  # back to the root
    os.symlink(".", root / "sub1" / "here")  # to the folder holding the link
    os.symlink("self.png", root / "self.png")  # a link to itself
    task = tasks.open_task(root)
    assert task.source.ids() == [f"sub{i % 2}/im{i}.png" for i in (0, 2, 1, 3)]  # each image once, plain ids
    s = tasks.sample(task, 4)  # without skip_bad: a loop is not a bad image
    assert sorted(s.ids) == task.source.ids()
    assert dict(s.skipped) == {"sub0/loop": f"symlink loop (back to {root})",
                               "sub1/here": f"symlink loop (back to {root / 'sub1'})",
                               "self.png": "symlink loop (the link never reaches a file)"}


def test_symlinked_folders_are_read_once_per_real_path(tmp_path):
    root = tmp_path / "photos"
    _image(root / "real" / "a.png", 1)
    _image(tmp_path / "outside" / "b.png", 2)
    _image(tmp_path / "outside" / "inner" / "c.png", 3)
    os.symlink(root / "real", root / "alias")  # the same folder again: already read as real/
    os.symlink(tmp_path / "outside", root / "ext")  # out of the folder: followed (the user chose it)
    os.symlink(tmp_path / "outside" / "inner", root / "inner")  # read already through ext/
    os.symlink(tmp_path / "nowhere", root / "gone")
    task = tasks.open_task(root)
    assert task.source.ids() == ["ext/b.png", "ext/inner/c.png", "real/a.png"]
    s = tasks.sample(task, 3)
    assert sorted(s.ids) == task.source.ids() and sorted(s.labels) == ["ext", "ext", "real"]
    assert dict(s.skipped) == {
        "alias": f"already read through another path ({root / 'real'})",
        "inner": f"already read through another path ({root / 'ext' / 'inner'})",
        "gone": f"broken symlink (to {tmp_path / 'nowhere'}, which does not exist)",
    }


def test_too_few_images_says_what_was_ignored_and_skipped(tmp_path):
    root = tmp_path / "photos"
    for i, name in enumerate((".a.png", ".b.png", ".cache/c.png", "sub/.d.png")):
        _image(root / name, i)
    with pytest.raises(ValueError, match=r"has no images \(3 dot-files ignored, 1 dot-folder ignored\)$"):
        tasks.sample(root, 2)
    os.symlink("..", root / "sub" / "loop")
    (root / "notes.txt").write_text("hello")
    (root / "todo.md").write_text("hello")
    task = tasks.Task("photos", tasks.FolderSource(root, skip_bad=True))  # as vlmsel select reads a folder
    with pytest.raises(ValueError, match=re.escape(
            f"folder {root}: 0 usable image(s), at least 2 are needed (25 recommended; 3 dot-files ignored, "
            "1 dot-folder ignored, 1 symlink loop skipped, 2 non-image files); skipped: ")):
        tasks.sample(task, 25, min_n=2)


@pytest.mark.parametrize("code", [errno.EACCES, errno.ELOOP, errno.ENOTDIR])
def test_a_folder_that_cannot_be_listed_is_named_or_skipped(tmp_path, monkeypatch, code):
    """Root reads a chmod 000 folder anyway, so the listing error is simulated."""
    root = _folder(tmp_path, n=4)
    _image(root / "locked" / "x.png")
    real = os.scandir

    def scandir(path="."):
        if os.path.basename(path) == "locked":
            raise OSError(code, os.strerror(code), str(path))
        return real(path)

    monkeypatch.setattr(os, "scandir", scandir)
    why = f"cannot list this folder ({os.strerror(code)})"
    for task in (root, tasks.Task("t", tasks.FolderSource(root, skip_bad=True))):  # profile's and select's
        with pytest.raises(ImageReadError, match=re.escape(f"{root / 'locked'}: {why} in image folder {root}; "
                                                           "pass skip_bad=True / --skip-bad")):
            tasks.sample(task, 2)
    s = tasks.sample(root, 4, skip_bad=True)
    assert len(s) == 4 and s.skipped == [("locked", why)]
    with pytest.raises(ValueError, match=re.escape("only 4 images (1 unreadable folder), fewer than the 5")):
        tasks.sample(root, 5, skip_bad=True)


def test_unknown_dataset_and_missing_data(tmp_path):
    with pytest.raises(KeyError, match="unknown dataset 'cifar1000'"):
        tasks.open_task("cifar1000")
    with pytest.raises(FileNotFoundError, match="no data root"):
        tasks.open_task("dtd")
    with pytest.raises(FileNotFoundError, match="clip-benchmark/wds_vtab-resisc45"):
        tasks.open_task("resisc45", root=tmp_path)
    with pytest.raises(FileNotFoundError, match="torchvision.datasets.DTD not found"):
        tasks.open_task("dtd", root=tmp_path)


# ----------------------------------------------------------------------------------------- registry
def test_registry_covers_the_23_lovm_datasets():
    import torchvision

    from vlmsel.data.lovm import lovm_classnames, lovm_datasets, lovm_templates

    specs = tasks.lovm_dataset_specs()
    assert list(specs) == lovm_datasets() and len(specs) == 23
    with_tv = [s for s in specs.values() if s.torchvision]
    assert len(with_tv) == 17
    for s in with_tv:
        assert hasattr(torchvision.datasets, s.torchvision), s.torchvision
    assert specs["cifar100"].wds_repo == "clip-benchmark/wds_vtab-cifar100"
    assert specs["imagenet1k"].wds_repo == "clip-benchmark/wds_imagenet1k"
    assert specs["dtd"].classnames == lovm_classnames("dtd")
    assert specs["dtd"].templates == lovm_templates("dtd")
    assert len(specs["clevr_closest_object_distance"].classnames) == 6
    with pytest.raises(KeyError, match="unknown dataset"):
        tasks.dataset_spec("nope")


def _mnist_files(raw, n_test=7):
    raw.mkdir(parents=True)
    rng = np.random.default_rng(0)
    for prefix, n in (("train", 2), ("t10k", n_test)):
        imgs = rng.integers(0, 255, (n, 28, 28), dtype=np.uint8)
        (raw / f"{prefix}-images-idx3-ubyte").write_bytes(struct.pack(">IIII", 2051, n, 28, 28) + imgs.tobytes())
        labels = np.arange(n, dtype=np.uint8) % 10
        (raw / f"{prefix}-labels-idx1-ubyte").write_bytes(struct.pack(">II", 2049, n) + labels.tobytes())
    return imgs, labels


def test_torchvision_route_with_tiny_generated_mnist(tmp_path):
    imgs, labels = _mnist_files(tmp_path / "MNIST" / "raw")
    task = tasks.open_task("mnist", root=tmp_path)
    assert task.name == "mnist" and "MNIST" in task.description and task.classnames[:2] == ["0", "1"]
    s = tasks.sample(task, 4, seed=0)
    for i, img, lab, h in zip(s.ids, s.images, s.labels, s.sha256):
        k = int(i)
        assert img.mode == "RGB" and img.size == (28, 28)
        np.testing.assert_array_equal(np.asarray(img)[..., 0], imgs[k])
        assert lab == labels[k]
        assert h == tasks.pixels_sha256(img)
    assert tasks.sample(task, 4, seed=0).ids == s.ids


def test_webdataset_shards(tmp_path):
    shard_dir = tmp_path / "wds_vtab-dtd" / "test"
    shard_dir.mkdir(parents=True)
    payload = {}
    for s in range(2):
        with tarfile.open(shard_dir / f"{s}.tar", "w") as tar:
            for k in range(3):
                buf = io.BytesIO()
                Image.new("RGB", (5, 5), (s * 50, k * 40, 7)).save(buf, format="PNG")
                for name, data in ((f"s{s}k{k}.png", buf.getvalue()), (f"s{s}k{k}.cls", str(s * 3 + k).encode())):
                    info = tarfile.TarInfo(name)
                    info.size = len(data)
                    tar.addfile(info, io.BytesIO(data))
                payload[f"{s}.tar/s{s}k{k}"] = (buf.getvalue(), s * 3 + k)
    task = tasks.open_task("dtd", root=tmp_path)  # found as root/wds_vtab-dtd/
    assert "webdataset" in task.description
    smp = tasks.sample(task, 6, seed=1)
    assert sorted(smp.ids) == sorted(payload)
    for i, h, lab, img in zip(smp.ids, smp.sha256, smp.labels, smp.images):
        assert h == hashlib.sha256(payload[i][0]).hexdigest() and lab == payload[i][1]
        assert img.size == (5, 5)


def test_label_indices():
    assert tasks.label_indices([2, "cat", "1"], ["dog", "cat", "car"]).tolist() == [2, 1, 1]
    with pytest.raises(ValueError, match="'cow'"):
        tasks.label_indices(["cow"], ["dog", "cat"])
