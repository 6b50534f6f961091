"""Tasks: the 23 LOVM datasets, any folder of images, and a reproducible sample of N images from each.

A *task* is a source of images, optionally with labels, class names and prompt templates. The method
needs only a few unlabeled images per task (``N = 25`` by default, :ref:`method-notation`); zero-shot
evaluation (:mod:`vlmsel.data.zeroshot`) also needs the labels, class names and templates.

Where the images come from (:func:`open_task`, in this order):

1. an explicit ``path`` (a folder of images, or a folder of webdataset ``.tar`` shards);
2. for a LOVM dataset and a data ``root``: ``root/<dataset>/`` (folder or shards), then
   ``root/wds_<id>/`` (a download of CLIP_benchmark's webdataset, Hugging Face repo
   ``clip-benchmark/wds_<id>``; LOVM's numbers were made from these), then the torchvision class
   of the dataset with ``root`` (``download=True`` lets torchvision fetch it);
3. any existing folder given as the name: a task named after the folder.

Every LOVM dataset has a CLIP_benchmark webdataset; 17 of the 23 also have a torchvision class. A
folder is read recursively; hidden files and folders (a name starting with a dot) are ignored and counted;
every other file must be an image (:mod:`vlmsel.data.images` converts grayscale, palette, RGBA, 16-bit
and CMYK images to RGB and applies the EXIF orientation). A file that is not an image, or cannot be
decoded, and a folder that cannot be listed raise an error naming it, unless ``skip_bad=True``
(``--skip-bad``), which skips it and lists it in ``Sample.skipped``. Symbolic links are followed, also out
of the folder, but a folder is read once: a link back to a folder above it (a loop) or to a folder already
read is skipped and listed, as is a broken link. Labels of a folder are the names of its top-level
subfolders when every image lies in one.

:func:`sample` draws ``n`` images uniformly without replacement with a fixed seed: the same images
every time, in the same order (a smaller ``n`` gives a prefix of a larger one), each recorded with its
id and the sha256 of its bytes.

Taught in the chapter :ref:`ch-paper-scale` (datasets) and :ref:`ch-select` (folders of your own images).
"""

from __future__ import annotations

import errno
import functools
import hashlib
import os
import stat
import tarfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Protocol, Sequence

import numpy as np
from PIL import Image

from vlmsel.data.lovm import clip_benchmark_ids, lovm_classnames, lovm_datasets, lovm_templates
from vlmsel.data.images import (
    IMAGE_EXTENSIONS,
    ImageReadError,
    image_from_bytes,
    is_image_name,
    load_image,
    pixel_features,
    to_rgb,
)


@dataclass(frozen=True)
class DatasetSpec:
    """How to obtain one LOVM dataset.

    Attributes
    ----------
    name : LOVM dataset name (``"cifar100"``).
    clip_benchmark_id : CLIP_benchmark's id (``"vtab/cifar100"``), from LOVM's ``benchmark_rename.yml``.
    torchvision : torchvision.datasets class name, or ``None`` where torchvision has none.
    torchvision_kwargs : split arguments for that class (``{"split": "test"}``, ``{"train": False}``).
    label_offset : added to torchvision's target to get the LOVM label (clevr_count_all: count - 3).
    note : a caveat about the torchvision route, if any.
    """

    name: str
    clip_benchmark_id: str
    torchvision: str | None = None
    torchvision_kwargs: dict = field(default_factory=dict)
    label_offset: int = 0
    note: str = ""

    @property
    def wds_repo(self) -> str:
        """Hugging Face dataset repo of CLIP_benchmark's webdataset (``clip-benchmark/wds_vtab-cifar100``)."""
        return "clip-benchmark/wds_" + self.clip_benchmark_id.replace("/", "-")

    @property
    def wds_folder(self) -> str:
        """Folder name of a download of that repo under a data root (``wds_vtab-cifar100``)."""
        return self.wds_repo.split("/", 1)[1]

    @property
    def classnames(self) -> list[str]:
        """LOVM's class names, in label order (:func:`vlmsel.data.lovm.lovm_classnames`)."""
        return lovm_classnames(self.name)

    @property
    def templates(self) -> list[str]:
        """LOVM's prompt templates with ``{c}`` (:func:`vlmsel.data.lovm.lovm_templates`)."""
        return lovm_templates(self.name)


_NO_SPLIT = "torchvision has no test split for it: the sample is drawn from all its images"

#: torchvision route per LOVM dataset: (class, split kwargs, label offset, note). Datasets missing here
#: have no torchvision class (use CLIP_benchmark's webdataset or your own folder).
_TORCHVISION: dict[str, tuple[str, dict, int, str]] = {
    "cars": ("StanfordCars", {"split": "test"}, 0, "torchvision's download link is broken upstream; place the files by hand"),
    "cifar100": ("CIFAR100", {"train": False}, 0, ""),
    "clevr_count_all": ("CLEVRClassification", {"split": "val"}, -3, "torchvision's target is the object count (3-10)"),
    "country211": ("Country211", {"split": "test"}, 0, ""),
    "dtd": ("DTD", {"split": "test", "partition": 1}, 0, ""),
    "eurosat": ("EuroSAT", {}, 0, _NO_SPLIT),
    "fer2013": ("FER2013", {"split": "test"}, 0, "torchvision's test.csv has no labels (profiling needs none)"),
    "flowers": ("Flowers102", {"split": "test"}, 0, ""),
    "gtsrb": ("GTSRB", {"split": "test"}, 0, ""),
    "imagenet1k": ("ImageNet", {"split": "val"}, 0, "cannot be downloaded by torchvision; place the archives by hand"),
    "mnist": ("MNIST", {"train": False}, 0, ""),
    "pcam": ("PCAM", {"split": "test"}, 0, ""),
    "pets": ("OxfordIIITPet", {"split": "test"}, 0, ""),
    "renderedsst2": ("RenderedSST2", {"split": "test"}, 0, ""),
    "stl10": ("STL10", {"split": "test"}, 0, ""),
    "sun397": ("SUN397", {}, 0, _NO_SPLIT),
    "svhn": ("SVHN", {"split": "test"}, 0, ""),
}


def lovm_dataset_specs() -> dict[str, DatasetSpec]:
    """The registry: every LOVM dataset (LOVM's order) -> its :class:`DatasetSpec`."""
    ids = clip_benchmark_ids()
    specs = {}
    for name in lovm_datasets():
        tv = _TORCHVISION.get(name)
        specs[name] = DatasetSpec(
            name=name,
            clip_benchmark_id=ids.get(name, name),
            torchvision=tv[0] if tv else None,
            torchvision_kwargs=dict(tv[1]) if tv else {},
            label_offset=tv[2] if tv else 0,
            note=tv[3] if tv else "no torchvision class: use CLIP_benchmark's webdataset or a folder",
        )
    return specs


def dataset_spec(name: str) -> DatasetSpec:
    """The :class:`DatasetSpec` of a LOVM dataset; a KeyError names the known datasets otherwise."""
    specs = lovm_dataset_specs()
    if name not in specs:
        raise KeyError(f"unknown dataset {name!r}; the LOVM datasets are {list(specs)} (or give a folder of images)")
    return specs[name]


# --------------------------------------------------------------------------------------- sources
class ImageSource(Protocol):
    """Where a task's images come from: a fixed list of ids, and a reader for one id."""

    description: str

    def ids(self) -> list[str]:
        """Every image id, in a fixed order."""

    def read(self, image_id: str) -> tuple[Image.Image, str, Any]:
        """``(RGB image, sha256 hex, label or None)``; raises :class:`ImageReadError` for a bad image."""


def _broken_link(path: Path) -> str:
    try:
        return f"broken symlink (to {os.readlink(path)}, which does not exist)"
    except OSError:
        return "broken symlink"


def _cannot_list(root: Path, unreadable: list[tuple[str, str]]) -> ImageReadError:
    rel, why = unreadable[0]
    more = f" (and {len(unreadable) - 1} more)" if len(unreadable) > 1 else ""
    return ImageReadError(f"{root / rel}: {why}{more} in image folder {root}; "
                          "pass skip_bad=True / --skip-bad to skip it")


class FolderSource:
    """Every image file below a folder (recursive). Ids are paths relative to the folder (POSIX); an image
    reached through a symlinked folder has the path through the link.

    Listing the folder fills ``non_images`` (names without an image extension), ``hidden`` (dot-files, and
    dot-folders with a trailing ``/``: not entered, only counted), ``not_read`` (``(id, reason)`` of links
    not followed: loops, folders already read, broken links; and of special files) and ``unreadable``
    (``(id, reason)`` of what could not be listed or followed: an error unless ``skip_bad``). Plain folders
    are read first and symlinked folders after them, in path order, so a folder without links keeps the
    ids it always had.
    """

    def __init__(self, root: str | os.PathLike, skip_bad: bool = False):
        self.root = Path(root)
        if not self.root.is_dir():
            raise FileNotFoundError(f"image folder {self.root} does not exist or is not a folder")
        self.skip_bad = skip_bad
        self.description = f"folder {self.root}"
        self.non_images: list[str] = []
        self.hidden: list[str] = []
        self.not_read: list[tuple[str, str]] = []
        self.unreadable: list[tuple[str, str]] = []
        self._ids: list[str] | None = None

    def _list(self) -> list[str]:
        files: list[str] = []
        self.hidden, self.not_read, self.unreadable = [], [], []
        top = Path(os.path.realpath(self.root))
        seen: dict[Path, Path] = {}  # real path of every folder entered -> the path it was read through
        plain: list[tuple[Path, Path, Path | None]] = [(Path(), top, None)]  # (id, real path, real parent)
        links: list[tuple[Path, Path, Path | None]] = []  # symlinked folders: entered after every plain one
        while plain or links:
            if not plain:
                links.sort()
                plain.append(links.pop(0))
            rel, real, parent = plain.pop()
            if parent is not None and (real == parent or real in parent.parents):
                self.not_read.append((rel.as_posix(), f"symlink loop (back to {seen.get(real, real)})"))
                continue
            if real in seen:
                self.not_read.append((rel.as_posix(), f"already read through another path ({seen[real]})"))
                continue
            seen[real] = self.root / rel
            try:
                with os.scandir(self.root / rel) as it:
                    entries = sorted(it, key=lambda e: e.name)
            except OSError as err:
                self.unreadable.append((rel.as_posix(), f"cannot list this folder ({err.strerror or err})"))
                continue
            for entry in entries:
                child = rel / entry.name
                name = child.as_posix()
                error = None
                try:
                    mode = entry.stat().st_mode  # through a link
                except OSError as err:
                    mode, error = 0, err
                if entry.name.startswith("."):
                    self.hidden.append(name + ("/" if stat.S_ISDIR(mode) else ""))
                elif isinstance(error, FileNotFoundError) and entry.is_symlink():
                    self.not_read.append((name, _broken_link(self.root / child)))
                elif error is not None and error.errno == errno.ELOOP:
                    self.not_read.append((name, "symlink loop (the link never reaches a file)"))
                elif error is not None:
                    self.unreadable.append((name, f"cannot read it ({error.strerror or error})"))
                elif stat.S_ISDIR(mode) and entry.is_symlink():
                    links.append((child, Path(os.path.realpath(self.root / child)), real))
                elif stat.S_ISDIR(mode):
                    plain.append((child, real / entry.name, real))
                elif stat.S_ISREG(mode):
                    files.append(name)
                else:
                    self.not_read.append((name, "not a regular file (a FIFO, socket or device)"))
        return sorted(files)

    def ids(self) -> list[str]:
        if self._ids is None:
            files = self._list()
            if self.unreadable and not self.skip_bad:
                raise _cannot_list(self.root, self.unreadable)
            self.non_images = [f for f in files if not is_image_name(f)]
            if self.non_images and not self.skip_bad:
                shown = ", ".join(str(self.root / f) for f in self.non_images[:5])
                more = f" and {len(self.non_images) - 5} more" if len(self.non_images) > 5 else ""
                raise ImageReadError(
                    f"{shown}{more}: not an image file (unknown extension) in task folder {self.root}; "
                    "remove it or pass skip_bad=True (--skip-bad)"
                )
            self._ids = [f for f in files if is_image_name(f)]
        return self._ids

    def labels_available(self) -> bool:
        return bool(self.ids()) and all("/" in i for i in self.ids())

    def read(self, image_id: str) -> tuple[Image.Image, str, Any]:
        path = self.root / image_id
        img = load_image(path)
        digest = hashlib.sha256(path.read_bytes()).hexdigest()
        label = image_id.split("/", 1)[0] if "/" in image_id else None
        return img, digest, label


def _member_bytes(tar: tarfile.TarFile, name: str, shard: Path) -> bytes:
    fh = tar.extractfile(name)
    if fh is None:
        raise ImageReadError(f"{shard}: member {name!r} is not a regular file")
    return fh.read()


class WebDatasetSource:
    """Images in webdataset ``.tar`` shards (CLIP_benchmark's format: ``<key>.<jpg|png|webp>`` and
    ``<key>.cls`` per sample). ``path`` is a folder holding the shards, or their ``test/`` subfolder."""

    def __init__(self, path: str | os.PathLike, split: str = "test"):
        path = Path(path)
        if (path / split).is_dir() and list((path / split).glob("*.tar")):
            path = path / split
        self.shards = sorted(path.glob("*.tar"))
        if not self.shards:
            raise FileNotFoundError(f"no webdataset shards (*.tar) in {path}")
        self.path = path
        self.description = f"webdataset {path}"
        self._index: dict[str, tuple[Path, str, str | None]] | None = None

    def _build_index(self) -> dict[str, tuple[Path, str, str | None]]:
        index: dict[str, tuple[Path, str, str | None]] = {}
        for shard in self.shards:
            members: dict[str, dict[str, str]] = {}
            try:
                with tarfile.open(shard) as tar:
                    for m in tar:
                        if not m.isfile():
                            continue
                        base = m.name.rsplit("/", 1)[-1]
                        key, _, ext = base.partition(".")
                        prefix = m.name[: len(m.name) - len(base)]
                        members.setdefault(prefix + key, {})[ext.lower()] = m.name
            except tarfile.TarError as err:
                raise ImageReadError(f"{shard}: not a readable tar shard ({err})") from err
            for key, exts in members.items():
                img_ext = next((e for e in exts if "." + e in IMAGE_EXTENSIONS), None)
                if img_ext is None:
                    continue
                index[f"{shard.name}/{key}"] = (shard, exts[img_ext], exts.get("cls"))
        return index

    def _members(self) -> dict[str, tuple[Path, str, str | None]]:
        if self._index is None:
            self._index = self._build_index()
        return self._index

    def ids(self) -> list[str]:
        return sorted(self._members())

    def read(self, image_id: str) -> tuple[Image.Image, str, Any]:
        shard, img_name, cls_name = self._members()[image_id]
        with tarfile.open(shard) as tar:
            data = _member_bytes(tar, img_name, shard)
            label = int(_member_bytes(tar, cls_name, shard).decode().strip()) if cls_name else None
        return image_from_bytes(data, f"{shard}:{img_name}"), hashlib.sha256(data).hexdigest(), label


def pixels_sha256(img: Image.Image) -> str:
    arr = np.ascontiguousarray(np.asarray(img, dtype=np.uint8))
    h = hashlib.sha256(f"rgb8:{arr.shape[0]}x{arr.shape[1]}:".encode())
    h.update(arr.tobytes())
    return h.hexdigest()


class TorchvisionSource:
    """A torchvision dataset. Ids are indices; the sha256 is of the decoded RGB pixels (with the shape),
    since some torchvision datasets hold arrays rather than files."""

    def __init__(self, spec: DatasetSpec, root: str | os.PathLike, download: bool = False):
        import torchvision

        if spec.torchvision is None:
            raise KeyError(f"dataset {spec.name!r} has no torchvision class; {spec.note}")
        cls = getattr(torchvision.datasets, spec.torchvision)
        try:
            self.ds = cls(root=str(root), download=download, **spec.torchvision_kwargs) if "download" in _params(cls) else cls(
                root=str(root), **spec.torchvision_kwargs
            )
        except (RuntimeError, FileNotFoundError, OSError) as err:
            raise FileNotFoundError(
                f"dataset {spec.name!r}: torchvision.datasets.{spec.torchvision} not found under {root} ({err}). "
                f"Use download=True (--download), or give a folder / a download of {spec.wds_repo}"
            ) from err
        self.spec = spec
        self.description = f"torchvision.datasets.{spec.torchvision}({root}, {spec.torchvision_kwargs})"

    def ids(self) -> list[str]:
        return [str(i) for i in range(len(self.ds))]

    def read(self, image_id: str) -> tuple[Image.Image, str, Any]:
        img, target = self.ds[int(image_id)]
        if not isinstance(img, Image.Image):
            img = Image.fromarray(np.asarray(img))
        img = to_rgb(img)
        label = None if target is None else int(target) + self.spec.label_offset
        return img, pixels_sha256(img), label


def _params(cls: Callable) -> set[str]:
    import inspect

    return set(inspect.signature(cls).parameters)


# ------------------------------------------------------------------------------------------ tasks
@dataclass
class Task:
    """A named source of images; LOVM datasets also carry their class names and templates."""

    name: str
    source: ImageSource
    classnames: list[str] | None = None
    templates: list[str] | None = None

    @property
    def description(self) -> str:
        return self.source.description


def _source_at(path: Path, skip_bad: bool) -> ImageSource:
    if list(path.glob("*.tar")) or list(path.glob("test/*.tar")):
        return WebDatasetSource(path)
    return FolderSource(path, skip_bad=skip_bad)


def open_task(
    dataset: str | os.PathLike,
    *,
    root: str | os.PathLike | None = None,
    path: str | os.PathLike | None = None,
    download: bool = False,
    skip_bad: bool = False,
) -> Task:
    """Open a task by LOVM dataset name or folder (see the module docstring for the lookup order).

    Parameters
    ----------
    dataset : a LOVM dataset name, or the path of a folder of images (the task is named after it).
    root : data root for LOVM datasets (``root/<name>/``, ``root/wds_<id>/``, or torchvision's root).
    path : explicit folder (images or webdataset shards) for ``dataset``; the task keeps the name.
    download : let torchvision download the dataset.
    skip_bad : skip non-image and unreadable files instead of raising.

    Raises
    ------
    KeyError : unknown dataset name. FileNotFoundError : the dataset's files cannot be found (the
    message says where it looked and how to provide them).
    """
    specs = lovm_dataset_specs()
    name = str(dataset)
    spec = specs.get(name)
    meta = dict(classnames=spec.classnames, templates=spec.templates) if spec else {}
    if path is not None:
        p = Path(path)
        if not p.is_dir():
            raise FileNotFoundError(f"task {name!r}: folder {p} does not exist")
        return Task(name, _source_at(p, skip_bad), **meta)
    if spec is not None:
        if root is None:
            raise FileNotFoundError(
                f"dataset {name!r}: no data root given; pass root= (--data-root) holding {name}/ (a folder), "
                f"{spec.wds_folder}/ (a download of {spec.wds_repo}) or torchvision's files"
                + (f" (torchvision.datasets.{spec.torchvision})" if spec.torchvision else "")
            )
        root = Path(root)
        for cand in (root / name, root / spec.wds_folder):
            if cand.is_dir():
                return Task(name, _source_at(cand, skip_bad), **meta)
        if spec.torchvision:
            return Task(name, TorchvisionSource(spec, root, download=download), **meta)
        raise FileNotFoundError(
            f"dataset {name!r}: found neither {root / name}/ nor {root / spec.wds_folder}/ "
            f"(download {spec.wds_repo} there), and torchvision has no class for it"
        )
    p = Path(name)
    if p.is_dir():
        return Task(p.resolve().name, FolderSource(p, skip_bad=skip_bad))
    if p.exists():
        raise ValueError(f"task {name!r} is a file; a task is a LOVM dataset name or a folder of images")
    raise KeyError(f"unknown dataset {name!r}: not a LOVM dataset ({list(specs)}) and not a folder")


@dataclass
class Sample:
    """``n`` images drawn from a task, with everything needed to recognise them again.

    Attributes
    ----------
    task : task name. source : where the images came from (text). seed : the sampling seed.
    ids : image ids (n,): relative paths (folders), ``shard/key`` (webdataset) or indices (torchvision).
    sha256 : hex digests (n,): of the file bytes (folders, webdataset) or of the RGB pixels (torchvision).
    images : the RGB PIL images (n,). labels : one label per image, or ``None`` when the task has none.
    skipped : ``(id, reason)`` of every file skipped with ``skip_bad=True``.
    """

    task: str
    source: str
    seed: int
    ids: list[str]
    sha256: list[str]
    images: list[Image.Image]
    labels: list[Any] | None
    skipped: list[tuple[str, str]] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.ids)

    @functools.cached_property
    def pixel_stats(self) -> np.ndarray:
        """The images' model-free statistics, array (n, 7) (:func:`vlmsel.data.images.pixel_features`),
        computed once per sample however many models are profiled on it."""
        return np.stack([pixel_features(img) for img in self.images])


#: How the "too few images" messages count what was skipped: (reason prefix, one, many); the first match counts.
_SKIP_KINDS = (
    ("symlink loop", "symlink loop skipped", "symlink loops skipped"),
    ("already read through another path", "folder already read through another path",
     "folders already read through another path"),
    ("broken symlink", "broken symlink", "broken symlinks"),
    ("cannot list", "unreadable folder", "unreadable folders"),
    ("cannot read", "unreadable path", "unreadable paths"),
    ("not a regular file", "special file", "special files"),
    ("not an image file", "non-image file", "non-image files"),
    ("the same image as", "duplicate image", "duplicate images"),
    ("", "unreadable image", "unreadable images"),
)


def _not_used(source: ImageSource, skipped: list[tuple[str, str]]) -> str:
    """What was not used, counted: ``"3 dot-files ignored, 1 symlink loop skipped, 2 non-image files"``."""
    hidden = getattr(source, "hidden", [])
    folders = sum(h.endswith("/") for h in hidden)
    kinds = [next(k for k, (prefix, _, _) in enumerate(_SKIP_KINDS) if why.startswith(prefix)) for _, why in skipped]
    counts = [(len(hidden) - folders, "dot-file ignored", "dot-files ignored"),
              (folders, "dot-folder ignored", "dot-folders ignored")]
    counts += [(kinds.count(k), one, many) for k, (_, one, many) in enumerate(_SKIP_KINDS)]
    return ", ".join(f"{c} {one if c == 1 else many}" for c, one, many in counts if c)


def sample(
    dataset: str | os.PathLike | Task,
    n: int = 25,
    seed: int = 0,
    *,
    root: str | os.PathLike | None = None,
    skip_bad: bool = False,
    download: bool = False,
    min_n: int | None = None,
) -> Sample:
    """Draw ``n`` images of a task uniformly without replacement, the same ones for the same seed.

    The ids are put in a fixed order and shuffled by ``numpy.random.default_rng(seed)``; the first
    ``n`` readable images of that order are the sample (so the sample for a smaller ``n`` is a prefix).
    An image whose content (sha256) equals an earlier one's is dropped and listed in ``Sample.skipped``.

    Parameters
    ----------
    dataset : a :class:`Task`, a LOVM dataset name, or a folder (see :func:`open_task`).
    n : number of images (default 25, the paper's N).
    seed : sampling seed (default 0).
    root, download : passed to :func:`open_task`.
    skip_bad : skip unreadable or non-image files (listed in ``Sample.skipped``) instead of raising.
    min_n : accept fewer than ``n`` readable images, down to ``min_n`` (default: exactly ``n`` are needed);
        :func:`vlmsel.recommend.target.target_sample` uses 2.

    Raises
    ------
    ValueError : the task has no images, or fewer than ``n`` (``min_n``) readable images.
    ImageReadError : a sampled file is not a readable image, or a subfolder cannot be listed (with
        ``skip_bad=False``).
    """
    if n < 1:
        raise ValueError(f"the number of images must be at least 1; got {n}")
    need = n if min_n is None else min(n, min_n)
    task = dataset if isinstance(dataset, Task) else open_task(dataset, root=root, skip_bad=skip_bad, download=download)
    ids = task.source.ids()
    unreadable = getattr(task.source, "unreadable", [])
    if unreadable and not skip_bad:
        raise _cannot_list(getattr(task.source, "root", Path(task.name)), unreadable)
    skipped: list[tuple[str, str]] = [(f, "not an image file") for f in getattr(task.source, "non_images", [])]
    skipped += getattr(task.source, "not_read", []) + unreadable
    why = _not_used(task.source, skipped)
    if not ids and min_n is None:
        raise ValueError(f"task {task.name!r} ({task.description}) has no images{why and f' ({why})'}")
    if len(ids) < n and min_n is None:
        raise ValueError(
            f"task {task.name!r} ({task.description}) has only {len(ids)} images{why and f' ({why})'}, "
            f"fewer than the {n} requested; ask for at most {len(ids)}"
        )
    order = np.random.default_rng(seed).permutation(len(ids))
    out_ids, digests, images, labels = [], [], [], []
    first_of: dict[str, str] = {}
    for idx in order:
        image_id = ids[int(idx)]
        try:
            img, digest, label = task.source.read(image_id)
        except ImageReadError as err:
            if not skip_bad:
                raise ImageReadError(f"{err} [task {task.name!r}; pass skip_bad=True / --skip-bad to skip it]") from err
            skipped.append((image_id, str(err)))
            continue
        if digest in first_of:  # the same image twice is one image: keep the first, list the copy
            skipped.append((image_id, f"the same image as {first_of[digest]} (duplicate dropped)"))
            continue
        first_of[digest] = image_id
        out_ids.append(image_id)
        digests.append(digest)
        images.append(img)
        labels.append(label)
        if len(out_ids) == n:
            break
    if len(out_ids) < need:
        why = _not_used(task.source, skipped)
        if min_n is not None:
            listed = f"; skipped: {[s[0] for s in skipped][:10]}" if skipped else ""
            raise ValueError(f"{task.description}: {len(out_ids)} usable image(s), at least {need} are needed "
                             f"({n} recommended{why and '; ' + why}){listed}")
        raise ValueError(
            f"task {task.name!r} ({task.description}) has only {len(out_ids)} readable images "
            f"({why}), fewer than the {n} requested"
        )
    has_labels = any(lab is not None for lab in labels)
    return Sample(task.name, task.description, seed, out_ids, digests, images, labels if has_labels else None, skipped)


def label_indices(labels: Sequence[Any], classnames: Sequence[str]) -> np.ndarray:
    """Labels as int indices into ``classnames``: ints pass through; strings (folder names) are looked
    up by class name, or read as an index when they are digits. Raises a ValueError naming a label
    that matches no class."""
    out = []
    lookup = {c: i for i, c in enumerate(classnames)}
    for lab in labels:
        if isinstance(lab, (int, np.integer)):
            out.append(int(lab))
        elif isinstance(lab, str) and lab in lookup:
            out.append(lookup[lab])
        elif isinstance(lab, str) and lab.isdigit():
            out.append(int(lab))
        else:
            raise ValueError(f"label {lab!r} is not one of the class names {list(classnames)[:10]}...")
    return np.asarray(out, dtype=np.int64)
